#!/usr/bin/env bash
# End-to-end test on a real SLURM cluster: a one-node cluster on localhost with 4 fake GPUs (tests/slurm/cluster.sh)
# runs the tiny workflow of tests/slurm/config.yaml through `--executor slurm` with the project's profile
# (profiles/slurm). Part of `make test`; two to three minutes on two CPU cores.
#
# It checks (tests/slurm/check_run.py) that every job went through sbatch and ended in the job-completion log, that
# GPU rules asked for one GPU (--gpus=1) and the others for none, that the partition came from
# ATSPECTRUM_SLURM_PARTITION, and that a training job sent SIGTERM mid-training (what the profile's
# `--signal=TERM@120` makes SLURM send before a time limit) stopped cleanly, failed, was resubmitted by --retries and
# resumed from its last epoch checkpoint.
# Every daemon it started is stopped by PID when it exits, whatever the outcome.
#
# Needs root (it installs Debian's munge/slurm packages when missing and starts daemons): skipped otherwise.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/tests/slurm
VENV=${VENV:-$ROOT/.venv}

if [ "$(id -u)" != 0 ]; then
    echo "SKIPPED tests/slurm/cluster_test.sh: the SLURM cluster test needs root (it installs munge and slurm and" \
         "starts slurmctld/slurmd); run it as root, e.g. in CI: bash .ci/run"
    exit 0
fi

missing=()
for cmd in munged slurmctld slurmd sbatch; do command -v "$cmd" >/dev/null || missing+=("$cmd"); done
dpkg -s dataset-fashion-mnist >/dev/null 2>&1 || missing+=(dataset-fashion-mnist)
if [ ${#missing[@]} -gt 0 ]; then
    echo "[slurm-test] installing munge slurmctld slurmd slurm-client dataset-fashion-mnist (missing: ${missing[*]})"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends munge slurmctld slurmd slurm-client dataset-fashion-mnist \
        >/dev/null
fi

START=$SECONDS
DIR=$(mktemp -d /tmp/atspectrum-slurm-test.XXXXXX)
WORK=$DIR/work
mkdir -p "$WORK"
# shellcheck source=tests/slurm/cluster.sh
source "$HERE/cluster.sh"

PREEMPTOR=""
finish() {
    local rc=$?
    set +e  # clean up whatever fails
    [ -n "$PREEMPTOR" ] && kill "$PREEMPTOR" 2>/dev/null
    cluster_stop
    if [ $rc = 0 ]; then
        rm -rf "$DIR"
    else
        echo "[slurm-test] FAILED (status $rc); logs kept in $DIR" >&2
    fi
}
trap finish EXIT
trap 'exit 130' INT TERM

cluster_start "$DIR/cluster"

# Once the eps-16 training job has checkpointed an epoch, send SIGTERM to its job step (the processes srun started:
# Snakemake and the training script), as slurmctld does for the profile's `--signal=TERM@120` before a time limit.
preempt_training() {
    local state=$WORK/results/slurm/models/rn/seed0/eps16/state/last.pt id
    while :; do
        if [ -e "$state" ]; then
            id=$(_sl squeue -h -t R -o '%i %k' | awk '$2 == "rule_train_wildcards_rn_0_16" {print $1}')
            if [ -n "$id" ]; then
                _sl scancel --signal=TERM "$id" && echo "$id" > "$DIR/preempted"
                echo "[slurm-test] sent SIGTERM to training job $id after its first checkpoint"
                return
            fi
        fi
        sleep 0.2
    done
}
preempt_training &
PREEMPTOR=$!

# The test's own choices on top of the profile: the partition through the profile's documented variable, status
# polls starting 1 s after a job ends instead of 40 s (the jobs here take seconds), and every job's SLURM log kept.
echo "[slurm-test] running the tiny workflow through SLURM (log: $DIR/snakemake.log)"
WF_START=$SECONDS
status=0
ATSPECTRUM_SLURM_PARTITION=test ATSPECTRUM_SLURM_ACCOUNT="" \
    timeout 600 "$VENV/bin/snakemake" -s "$ROOT/Snakefile" -d "$WORK" --configfile "$HERE/config.yaml" \
    --workflow-profile "$ROOT/profiles/slurm" \
    --slurm-init-seconds-before-status-checks 1 --seconds-between-status-checks 1 --slurm-keep-successful-logs \
    results/slurm/tables/overdesign_rn.csv >"$DIR/snakemake.log" 2>&1 || status=$?
WF_SECONDS=$((SECONDS - WF_START))
kill "$PREEMPTOR" 2>/dev/null || true
wait "$PREEMPTOR" 2>/dev/null || true
PREEMPTOR=""
if [ $status != 0 ]; then
    echo "[slurm-test] snakemake failed (status $status); its log ends with:" >&2
    tail -n 40 "$DIR/snakemake.log" >&2
    exit 1
fi

"$VENV/bin/python" "$HERE/check_run.py" "$WORK" "$DIR/snakemake.log" "$CLUSTER_JOBCOMP" \
    "$(cat "$DIR/preempted" 2>/dev/null || true)"
echo "[slurm-test] PASSED: the workflow took ${WF_SECONDS} s through SLURM, the whole test $((SECONDS - START)) s"
