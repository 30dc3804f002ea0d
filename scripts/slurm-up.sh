#!/usr/bin/env bash
# Starts a single-node Slurm cluster on this machine, loopback only, for the Slurm deploy test
# (tests/Splitwise.Tests/Deploy/SlurmSweepTests.cs) and for trying docs/deploy/sweep-slurm.sh by hand.
# Debian/Ubuntu, as root: installs slurm-wlm and munge with apt if missing, writes /etc/slurm/slurm.conf for one node
# (this host's CPUs and memory), starts munged, slurmctld and slurmd without systemd, and waits until the node is idle.
# Idempotent: running it again with Slurm already up only checks that the node answers. `scripts/slurm-up.sh --down`
# stops the daemons this script started.
# Not for a real cluster: there the site's Slurm is used as it is (docs/deploy/README.md).
set -euo pipefail

log() { echo "slurm-up: $*" >&2; }
die() { echo "slurm-up: $*" >&2; exit 1; }

if [[ "${1:-}" == "--down" ]]; then
    # By the pid files this script's configuration names (slurm.conf below; munged's default).
    for pidfile in /run/slurmd.pid /run/slurmctld.pid /run/munge/munged.pid; do
        pid=$(cat "$pidfile" 2>/dev/null || true)
        if [[ -n $pid ]] && kill "$pid" 2>/dev/null; then log "stopped $(basename "$pidfile" .pid) ($pid)"; fi
    done
    exit 0
fi

[[ $(id -u) -eq 0 ]] || die "must run as root (installs packages and starts the Slurm daemons); try: sudo $0"
node=$(hostname -s)

if command -v sinfo >/dev/null && pgrep -x slurmctld >/dev/null && pgrep -x slurmd >/dev/null \
    && timeout 10 sinfo -h -N -o '%T' 2>/dev/null | grep -Eq '^(idle|mixed|allocated)'; then
    log "Slurm is already up on $node"
    exit 0
fi

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null \
    || ! command -v sbatch >/dev/null; then
    command -v apt-get >/dev/null || die "slurm-wlm and munge are not installed and apt-get is not available; install them with the system's package manager"
    log "installing slurm-wlm and munge (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 || die "apt-get update failed"
    apt-get install -y -qq --no-install-recommends slurm-wlm munge >&2 || die "apt-get install slurm-wlm munge failed"
fi

# munge: a key and a running daemon (slurm authenticates every RPC with it).
install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
install -d -o munge -g munge -m 0755 /run/munge
if [[ ! -s /etc/munge/munge.key ]]; then
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key
if ! pgrep -x munged >/dev/null; then
    runuser -u munge -- /usr/sbin/munged || die "munged did not start (see /var/log/munge/munged.log)"
fi
munge -n | unmunge >/dev/null || die "munge does not work (see /var/log/munge/munged.log)"

cpus=$(nproc)
mem_mb=$(( $(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) / 1024 - 512 ))
install -d /etc/slurm /var/lib/slurm/slurmctld /var/lib/slurm/slurmd /var/log/slurm
cat >/etc/slurm/slurm.conf <<EOF
# Written by scripts/slurm-up.sh: one node, loopback only, no cgroups, no accounting.
ClusterName=splitwise-test
SlurmctldHost=${node}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# A requeued job may start again after the credential lifetime (default 120 s); a test needs it sooner.
AuthInfo=cred_expire=5
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
JobRequeue=1
SlurmctldTimeout=30
SlurmdTimeout=30
MinJobAge=300
KillWait=5
NodeName=${node} NodeAddr=127.0.0.1 NodeHostname=${node} CPUs=${cpus} RealMemory=${mem_mb} State=UNKNOWN
PartitionName=debug Nodes=${node} Default=YES MaxTime=INFINITE State=UP
EOF
# Debian's packages also look in /etc/slurm-llnl on older releases.
[[ -d /etc/slurm-llnl ]] && ln -sf /etc/slurm/slurm.conf /etc/slurm-llnl/slurm.conf

pgrep -x slurmctld >/dev/null || slurmctld -c || die "slurmctld did not start (see /var/log/slurm/slurmctld.log)"
pgrep -x slurmd >/dev/null || slurmd || die "slurmd did not start (see /var/log/slurm/slurmd.log)"

for _ in $(seq 60); do
    state=$(timeout 5 sinfo -h -N -o '%T' 2>/dev/null | head -n1 || true)
    case "$state" in
        idle|mixed|allocated) log "Slurm is up: node $node ($cpus CPUs, ${mem_mb} MB), partition debug"; exit 0 ;;
        down*|drain*) scontrol update nodename="$node" state=resume >/dev/null 2>&1 || true ;;
    esac
    sleep 1
done
die "the Slurm node did not become idle in 60 s (sinfo: ${state:-no answer}; see /var/log/slurm/)"
