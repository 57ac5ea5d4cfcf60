# A throw-away one-node SLURM cluster on localhost with four fake GPUs, for tests. Source this file, then:
#
#   cluster_start DIR    # writes the config, starts munged (unless one answers), slurmctld and slurmd, waits for idle
#   cluster_stop         # cancels leftover jobs, stops every daemon cluster_start started (by PID), restores /etc/slurm
#
# Needs root and Debian's munge, slurmctld, slurmd and slurm-client (Slurm 22.05 on Debian 12). There is no slurmdbd:
# accounting is off, finished jobs are recorded in a jobcomp text file ($CLUSTER_JOBCOMP) and stay visible to squeue
# for MinJobAge=300 s, which is why Snakemake's SLURM plugin must poll with `squeue` (sacct would wait forever).
# Facts this rests on (each one cost a hung or drained cluster to learn):
#   - no systemd here: the daemons are started by hand; state/spool directories and pid files are made fresh each time;
#   - the config must be /etc/slurm/slurm.conf: job steps drop SLURM_CONF, so any other path breaks srun inside jobs;
#   - a GPU GRES needs File= device files (file-less or plain-file GRES drains the node): symlinks to /dev/null do;
#   - SlurmdParameters=config_overrides lets the node claim CPUs=8 on a 2-core machine, so four one-GPU jobs
#     (--cpus-per-task=1) run side by side;
#   - never set AccountingStorageTRES without slurmdbd (slurmctld exits).

CLUSTER_NAME=atspectrum-test
CLUSTER_CONF=/etc/slurm/slurm.conf
CLUSTER_GRES_CONF=/etc/slurm/gres.conf
CLUSTER_MARK="# written by atspectrum tests/slurm/cluster.sh"
CLUSTER_PIDS=()          # daemons started here, stopped by cluster_stop
CLUSTER_BACKUPS=()       # /etc/slurm files that existed before, put back by cluster_stop

_cluster_log() { echo "[cluster] $*" >&2; }

# Run a Slurm client command with a time limit (a dead controller must not hang the test).
_sl() { timeout 10 "$@"; }

cluster_write_config() {
    local dir=$1
    mkdir -p "$dir"/{state,spool,log,fakegpu} /etc/slurm
    for i in 0 1 2 3; do ln -sfn /dev/null "$dir/fakegpu/nvidia$i"; done
    for f in "$CLUSTER_CONF" "$CLUSTER_GRES_CONF"; do
        if [ -e "$f" ] && ! grep -qF "$CLUSTER_MARK" "$f"; then
            cp -p "$f" "$dir/$(basename "$f").orig"
            CLUSTER_BACKUPS+=("$f")
        fi
    done
    cat > "$CLUSTER_CONF" <<EOF
$CLUSTER_MARK ($dir)
ClusterName=$CLUSTER_NAME
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
# no slurmdbd: no accounting; finished jobs go to a text file and stay in squeue for MinJobAge seconds
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/log/jobcomp.log
MinJobAge=300
# no cgroups in a container: track processes by parentage, no task binding
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
KillWait=10
SlurmdParameters=config_overrides
GresTypes=gpu
NodeName=localhost CPUs=8 RealMemory=64000 Gres=gpu:4 State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
    {
        echo "$CLUSTER_MARK"
        for i in 0 1 2 3; do echo "NodeName=localhost Name=gpu File=$dir/fakegpu/nvidia$i"; done
    } > "$CLUSTER_GRES_CONF"
}

_munge_answers() { timeout 5 munge -n 2>/dev/null | timeout 5 unmunge >/dev/null 2>&1; }

cluster_start() {
    CLUSTER_DIR=$1
    CLUSTER_JOBCOMP=$CLUSTER_DIR/log/jobcomp.log
    local pid
    for daemon in slurmctld slurmd; do
        if pid=$(pgrep -x "$daemon"); then
            _cluster_log "a $daemon is already running (pid $pid): this test starts its own cluster and will not" \
                         "touch another one; stop it first"
            return 1
        fi
    done
    rm -rf "$CLUSTER_DIR"/{state,spool,log} "$CLUSTER_DIR"/*.pid   # no stale state from an earlier run
    cluster_write_config "$CLUSTER_DIR"

    # munge: reuse a munged that already answers on the default socket, else start one as user munge
    if ! _munge_answers; then
        if [ ! -s /etc/munge/munge.key ]; then
            mungekey --create 2>/dev/null || create-munge-key -f
            chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
        fi
        install -d -o munge -g munge -m 0755 /run/munge
        rm -f /run/munge/munged.pid /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock
        # --foreground: $! is munged's PID, and it logs to stderr
        setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged --foreground \
            >>"$CLUSTER_DIR/log/munged.log" 2>&1 &
        CLUSTER_PIDS+=($!)
        local i
        for i in $(seq 50); do _munge_answers && break; sleep 0.1; done
        _munge_answers || { _cluster_log "munged does not answer"; return 1; }
    fi

    # -D: stay in the foreground, so $! is the daemon's own PID
    slurmctld -D >>"$CLUSTER_DIR/log/slurmctld.stderr" 2>&1 &
    CLUSTER_PIDS+=($!)
    slurmd -D -N localhost >>"$CLUSTER_DIR/log/slurmd.stderr" 2>&1 &
    CLUSTER_PIDS+=($!)

    local deadline=$((SECONDS + 60)) state=""
    while [ $SECONDS -lt $deadline ]; do
        state=$(_sl sinfo -h -N -o %t 2>/dev/null | head -1)
        [ "$state" = idle ] && break
        # a node left down/drained by an earlier controller is told to resume
        case "$state" in down*|drain*) _sl scontrol update nodename=localhost state=resume >/dev/null 2>&1 ;; esac
        sleep 0.2
    done
    if [ "$state" != idle ]; then
        _cluster_log "the node did not become idle within 60 s (state: '${state:-no answer}'); logs in $CLUSTER_DIR/log"
        tail -n 20 "$CLUSTER_DIR"/log/slurm*.log >&2 2>/dev/null
        return 1
    fi
    _cluster_log "one-node cluster up (pids ${CLUSTER_PIDS[*]}): $(_sl sinfo -h -o '%P %D %t %G')"
}

# PIDs of processes started by jobs of this cluster: their environment names it (SLURM_CLUSTER_NAME). With
# proctrack/linuxproc, a job process whose parent died first (e.g. Snakemake in a cancelled job's batch step) is no
# longer found by SLURM's final SIGKILL, so cluster_stop ends such leftovers itself.
_cluster_job_pids() {
    local p
    for p in /proc/[0-9]*; do
        if { tr '\0' '\n' <"$p/environ" | grep -qx "SLURM_CLUSTER_NAME=$CLUSTER_NAME"; } 2>/dev/null; then
            echo "${p#/proc/}"
        fi
    done
}

cluster_stop() {
    local -        # errexit off here only: cleanup goes on whatever fails (callers may run with set -e)
    set +e
    # jobs first: slurmstepd outlives slurmd, so running jobs are cancelled and waited for while the daemons live
    if [ ${#CLUSTER_PIDS[@]} -gt 0 ] && _sl squeue -h -t PD,R,CG -o %i 2>/dev/null | grep -q .; then
        _sl scancel --full --state=RUNNING,PENDING >/dev/null 2>&1 || true
        local deadline=$((SECONDS + 30))
        while [ $SECONDS -lt $deadline ] && _sl squeue -h -t PD,R,CG -o %i 2>/dev/null | grep -q .; do sleep 0.5; done
    fi
    local pid i leftovers
    leftovers=$(_cluster_job_pids)
    if [ -n "$leftovers" ]; then
        _cluster_log "ending leftover job processes:" $leftovers
        kill -KILL $leftovers 2>/dev/null || true
    fi
    for ((i = ${#CLUSTER_PIDS[@]} - 1; i >= 0; i--)); do   # reverse order: slurmd, slurmctld, munged
        pid=${CLUSTER_PIDS[$i]}
        kill -TERM "$pid" 2>/dev/null || continue
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    CLUSTER_PIDS=()
    for f in "$CLUSTER_CONF" "$CLUSTER_GRES_CONF"; do
        if grep -qsF "$CLUSTER_MARK" "$f"; then rm -f "$f"; fi
    done
    for f in "${CLUSTER_BACKUPS[@]}"; do cp -p "$CLUSTER_DIR/$(basename "$f").orig" "$f"; done
    CLUSTER_BACKUPS=()
}
