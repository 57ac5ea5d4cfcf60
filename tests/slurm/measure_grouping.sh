#!/usr/bin/env bash
# Measures how the evaluation jobs are best handed to SLURM (not a test; docs/slurm.md quotes its output): the tiny
# workflow of tests/slurm/config.yaml with ten PGD cells (eps 0 and 16 x delta 0, 4, 8, 12, 16: five evaluate_pgd
# units since issue 15's PGD units; ten jobs when docs/slurm.md's first table was measured) runs on the
# one-node test cluster (tests/slurm/cluster.sh, four fake GPUs) three ways, each from scratch:
#   array   profiles/slurm as it is: evaluations that are ready together go out as one SLURM job array
#   single  the profile without `slurm-array-jobs`: one sbatch call and one SLURM job per evaluation
#   groups  single, plus Snakemake job groups of up to 16 evaluations sharing one GPU in one SLURM job
#           (--groups/--group-components with gpu scoped local; unsafe with checkpoints, see the profile)
# and prints, per way: sbatch calls, SLURM jobs (array tasks counted), the workflow's wall time and the summed run
# time of its SLURM jobs. Needs root, like cluster_test.sh.
# With TARGET=quantization the target is the transfer and BPDA tables instead (quantization at delta 16, beta 4 on
# both eps: two transfer_examples jobs and four evaluate_quantized units of two cells each), grouping
# evaluate_quantized and transfer_examples.
# Usage: bash tests/slurm/measure_grouping.sh [ROUNDS]    (WAYS="array groups" ... to run only some ways)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/tests/slurm
VENV=${VENV:-$ROOT/.venv}
ROUNDS=${1:-1}
WAYS=${WAYS:-array single groups}
TARGET=${TARGET:-overdesign}
[ "$(id -u)" = 0 ] || { echo "needs root (starts a SLURM cluster)"; exit 1; }

DIR=$(mktemp -d /tmp/atspectrum-slurm-measure.XXXXXX)
# shellcheck source=tests/slurm/cluster.sh
source "$HERE/cluster.sh"
KEEP=""  # set when a run fails: its logs are kept
trap 'cluster_stop; if [ -z "$KEEP" ]; then rm -rf "$DIR"; else echo "logs kept in $DIR"; fi' EXIT
cluster_start "$DIR/cluster"

if [ "$TARGET" = quantization ]; then
    cp "$HERE/config.yaml" "$DIR/config.yaml"
    echo 'quantization: {delta: [16], beta: [4], transfer: {steps: 5}, bpda: {steps: 5}}' >> "$DIR/config.yaml"
    TARGETS=(results/slurm/tables/quantization_rn_transfer_beta4.csv results/slurm/tables/quantization_rn_bpda_beta4.csv)
    GROUPED=(evaluate_quantized=eval transfer_examples=eval)
    RUNTIMES=(evaluate_quantized:runtime=10 transfer_examples:runtime=10)
else
    sed 's/^  delta: \[16\]$/  delta: [4, 8, 12, 16]/' "$HERE/config.yaml" > "$DIR/config.yaml"
    grep -q 'delta: \[4, 8, 12, 16\]' "$DIR/config.yaml"
    TARGETS=(results/slurm/tables/overdesign_rn.csv)
    GROUPED=(evaluate_pgd=eval)
    RUNTIMES=(evaluate_pgd:runtime=10)
fi
# the profile without job arrays (everything else unchanged)
mkdir -p "$DIR/single"
"$VENV/bin/python" - "$ROOT/profiles/slurm/config.yaml" "$DIR/single/config.yaml" <<'PY'
import sys, yaml
profile = yaml.safe_load(open(sys.argv[1]))
profile.pop("slurm-array-jobs")
yaml.safe_dump(profile, open(sys.argv[2], "w"), sort_keys=False)
PY

run() {  # run NAME PROFILE_DIR [extra snakemake args]
    local name=$1 profile=$2 work=$DIR/work-$1-$round
    shift 2
    mkdir -p "$work"
    local before start
    before=$(wc -l < "$CLUSTER_JOBCOMP" 2>/dev/null || echo 0)
    start=$SECONDS
    # the target first: options such as --resources take every word after them
    ATSPECTRUM_SLURM_PARTITION=test timeout 900 "$VENV/bin/snakemake" "${TARGETS[@]}" \
        -s "$ROOT/Snakefile" -d "$work" --configfile "$DIR/config.yaml" --workflow-profile "$profile" \
        --slurm-init-seconds-before-status-checks 1 --seconds-between-status-checks 1 "$@" >"$work.log" 2>&1 || {
        echo "| $name | failed: $(tail -n 3 "$work.log" | tr '\n' ' ') |"
        KEEP=1
        return 0
    }
    local wall=$((SECONDS - start))
    "$VENV/bin/python" - "$name" "$wall" "$work.log" "$CLUSTER_JOBCOMP" "$before" <<'PY'
import re, sys
import pandas as pd
name, wall, log, jobcomp, before = sys.argv[1:]
text = open(log).read()
sbatch = len(re.findall(r"has been submitted with SLURM jobid", text)) + len(re.findall(r"Submitted array job", text))
rows = open(jobcomp).read().splitlines()[int(before):]
def get(line, key):
    return re.search(rf"(?:^|\s){key}=(\S*)", line).group(1)
seconds = sum((pd.Timestamp(get(r, "EndTime")) - pd.Timestamp(get(r, "StartTime"))).total_seconds() for r in rows)
print(f"| {name} | {sbatch} | {len(rows)} | {wall} s | {seconds:.0f} s |", flush=True)
PY
}

echo "| way | sbatch calls | SLURM jobs (array tasks) | workflow wall time | summed job run time |"
echo "|---|---|---|---|---|"
for round in $(seq "$ROUNDS"); do
    for way in $WAYS; do
        case $way in
            array) run array "$ROOT/profiles/slurm" ;;
            single) run single "$DIR/single" ;;
            groups) run groups "$DIR/single" --groups "${GROUPED[@]}" --group-components eval=16 \
                        --set-resource-scopes gpu=local --resources gpu=1 --set-resources "${RUNTIMES[@]}" ;;
        esac
    done
done
