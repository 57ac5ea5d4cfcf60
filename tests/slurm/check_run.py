"""Checks of tests/slurm/cluster_test.sh, after the workflow ran through SLURM (run with the project's Python).

    check_run.py WORKDIR SNAKEMAKE_LOG JOBCOMP_LOG PREEMPTED_JOBID

Evidence comes from three independent places: Snakemake's log (which SLURM job ids it submitted), slurmctld
(`scontrol -o show job`: every job of the last MinJobAge=300 s, with its comment, partition and GPU request) and the
job-completion log slurmctld writes when a job ends. Prints a one-line summary; exits non-zero naming what failed.
"""

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd

GPU_RULES = {"train", "evaluate_pgd", "evaluate_quantized", "transfer_examples", "evaluate_corruptions"}
GPU_GROUPS = {"eval", "transfer"}  # profiles/slurm/config.yaml: groups of GPU rules
EPOCHS = 5  # tests/slurm/config.yaml: train.epochs
PARTITION = "test"  # given through ATSPECTRUM_SLURM_PARTITION, the profile's documented key


def field(line: str, key: str) -> str | None:
    m = re.search(rf"(?:^|\s){key}=(\S*)", line)
    return m.group(1) if m else None


def main(workdir: str, snakemake_log: str, jobcomp_log: str, preempted: str) -> list[str]:
    work, errors = Path(workdir), []
    log = Path(snakemake_log).read_text()

    # 1. what slurmctld knows (finished jobs stay for MinJobAge = 300 s); an array task has a JobId of its own
    out = subprocess.run(["scontrol", "-o", "show", "job"], capture_output=True, text=True, timeout=20).stdout
    jobs = {field(line, "JobId"): line for line in out.splitlines() if field(line, "JobId")}
    task_ids = {(field(line, "ArrayJobId"), field(line, "ArrayTaskId")): jobid for jobid, line in jobs.items()}

    # 2. what Snakemake submitted, one sbatch call each: "Job <id> has been submitted with SLURM jobid <n> (log: ...)"
    # and "Submitted array job with Snakemake IDs <ids> and SLURM job ID <n>. The individual task IDs are <a>-<b>."
    single = re.findall(r"Job \S+ has been submitted with SLURM jobid (\d+)", log)
    arrays = re.findall(
        r"Submitted array job with Snakemake IDs \S+ and SLURM job ID (\d+)\. "
        r"The individual task IDs are (\d+)-(\d+)",
        log,
    )
    if not single and not arrays:
        return ["Snakemake submitted no SLURM job (was --executor slurm used?)"]
    submitted = list(single)  # SLURM JobIds, in submission order
    for array_id, first, last in arrays:
        for task in range(int(first), int(last) + 1):
            if (array_id, str(task)) in task_ids:
                submitted.append(task_ids[array_id, str(task)])
            else:
                errors.append(f"task {task} of SLURM array job {array_id} is unknown to slurmctld")
    submitted_ids = set(submitted)
    for jobid in sorted(submitted_ids - set(jobs), key=int):
        errors.append(f"SLURM job {jobid} was submitted but slurmctld does not know it")

    # 3. the job-completion log: every submitted job ended there, on our node
    ended = {}
    for line in Path(jobcomp_log).read_text().splitlines():
        ended[field(line, "JobId")] = line
    first_start = min((field(line, "StartTime") for line in ended.values()), default="")
    for jobid in sorted(submitted_ids, key=int):
        if jobid not in ended:
            errors.append(f"SLURM job {jobid} has no job-completion record")
        elif field(ended[jobid], "NodeList") != "localhost":
            errors.append(f"SLURM job {jobid} did not run on the test node: {ended[jobid]}")

    # 4. per job: the rule (from the comment the plugin sets), its state, its partition and its GPU request
    summary = []
    for jobid in sorted(submitted_ids & set(jobs), key=int):
        line = jobs[jobid]
        # the plugin's comment: rule_<rule>[_wildcards_<values>], for a group job rule_<group>_<rules>
        comment, state = field(line, "Comment") or "", field(line, "JobState")
        gpus = field(line, "TresPerJob") or ""
        times = (
            [
                pd.Timestamp(field(ended.get(jobid, ""), k) or first_start) - pd.Timestamp(first_start)
                for k in ("StartTime", "EndTime")
            ]
            if first_start
            else []
        )
        span = "-".join(f"{t.total_seconds():.0f}" for t in times)
        summary.append(f"{jobid}:{comment.removeprefix('rule_')}:{state}:{span}s")
        wants_gpu = any(
            comment == f"rule_{name}" or comment.startswith(f"rule_{name}_") for name in GPU_RULES | GPU_GROUPS
        )
        if wants_gpu and "gpu:1" not in gpus:
            errors.append(f"job {jobid} ({comment}) is a GPU job but asked for TresPerJob={gpus!r}, not one GPU")
        if not wants_gpu and "gpu" in gpus:
            errors.append(f"job {jobid} ({comment}) asked for a GPU: {gpus}")
        if field(line, "Partition") != PARTITION:
            errors.append(f"job {jobid} ran in partition {field(line, 'Partition')}, not {PARTITION}")
        expected = "FAILED" if jobid == preempted else "COMPLETED"
        if state != expected:
            errors.append(f"job {jobid} ({comment}) ended {state}, expected {expected}")

    # 5. the signalled training: stopped on SIGTERM, failed, resubmitted, resumed, complete
    if not preempted:
        errors.append("the eps-16 training job was never signalled: it finished before the test could send SIGTERM")
    else:
        if preempted not in submitted_ids:
            errors.append(f"the signalled job {preempted} is not one Snakemake submitted")
        slurm_logs = list(work.glob(f".snakemake/slurm_logs/**/{preempted}.log"))
        text = slurm_logs[0].read_text() if slurm_logs else ""
        if "received SIGTERM: training stopped" not in text:
            errors.append(
                f"the log of the signalled job {preempted} does not show training stopping on SIGTERM: "
                f"{slurm_logs or 'no log kept'}"
            )
        train_jobs = [j for j in submitted if field(jobs.get(j, ""), "Comment") == "rule_train_wildcards_rn_0_16"]
        if len(train_jobs) != 2:
            errors.append(f"eps-16 training was submitted {len(train_jobs)} times, expected 2 (one retry)")
        rule_log = (work / "results/slurm/logs/train/rn_seed0_eps16.log").read_text()
        if "resuming from" not in rule_log:
            errors.append("the retried eps-16 training did not resume from its checkpoint")
        epochs = list(pd.read_csv(work / "results/slurm/models/rn/seed0/eps16/train_log.csv")["epoch"])
        if epochs != list(range(1, EPOCHS + 1)):
            errors.append(f"eps-16 train_log.csv holds epochs {epochs}")

    target = work / "results/slurm/tables/overdesign_rn.csv"
    if not target.is_file():
        errors.append(f"the workflow's target {target} is missing")
    print(
        f"[check] {len(single) + len(arrays)} sbatch calls ({len(arrays)} of them job arrays), {len(submitted)} SLURM "
        f"jobs (job:rule:state:start-end seconds): {' '.join(summary)}"
    )
    return errors


if __name__ == "__main__":
    problems = main(*sys.argv[1:5])
    for p in problems:
        print(f"[check] FAIL: {p}", file=sys.stderr)
    sys.exit(1 if problems else 0)
