#!/usr/bin/env bash
# showcase.sh: the fault-injection showcase on a real multi-host cluster.
#
# As root, in one command: installs what the tests need
# (scripts/install-deps.sh), brings up a 6-node cluster of network namespaces
# with an sshd each (scripts/netns-cluster.sh), runs the ZooKeeper and Redis
# tests on it (leader killed and partitioned away, Sentinel failover, a paused
# replica, throughput under 0 and 50 ms of delay) under `cargo test`, then
# again under `cargo nextest run`, prints where each session's report is, and
# takes the cluster down on exit, whatever happened.
#
#   bash scripts/showcase.sh                  # the showcase: redis, zookeeper
#   bash scripts/showcase.sh zk_partition     # only tests whose name has this
#   bash scripts/showcase.sh --no-nextest …   # cargo test only
#
# Its cluster is the namespace cluster named "showcase" (its own bridge and
# subnet), beside any other namespace cluster of the machine (the crate's
# SSH tests, a developer's); it never takes down a cluster it did not bring
# up, and refuses to start while a cluster named "showcase" is up. It lives
# in $DUCKTAPE_NETNS_DIR (default /tmp/ducktape-showcase).
#
# Exit status: 0 when both runs passed, else the first failing run's.
set -euo pipefail
cd "$(dirname "$0")/.."

PROG=showcase
NODES=6
DIR=$(realpath -m -- "${DUCKTAPE_NETNS_DIR:-/tmp/ducktape-showcase}")
NAME=showcase
nextest=1
filters=()

die() { printf '%s: %s\n' "$PROG" "$*" >&2; exit 1; }
log() { printf '\n== %s: %s\n' "$PROG" "$*" >&2; }

while [ $# -gt 0 ]; do
    case $1 in
        --no-nextest) nextest=0; shift ;;
        -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) filters+=("$1"); shift ;;
    esac
done
[ ${#filters[@]} -gt 0 ] || filters=(redis:: zookeeper::)
[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces, nftables, tc)"

log "dependencies"
bash scripts/install-deps.sh
if [ "$nextest" = 1 ] && ! cargo nextest --version >/dev/null 2>&1; then
    die "cargo-nextest is not installed (cargo install cargo-nextest), or pass --no-nextest"
fi

# Build before the cluster is up: compiling is no part of the showcase.
log "building the tests"
cargo test --features ssh --test systest --no-run

# The directory of the namespace cluster named showcase, if one is up.
cluster_owner() {
    bash scripts/netns-cluster.sh list | awk -v n="$NAME" '$1 == n { print $3 }'
}
if [ -n "$(cluster_owner)" ]; then
    die "a namespace cluster named $NAME is already up ($(cluster_owner)); take it down first: bash scripts/netns-cluster.sh down --name $NAME"
fi

# From here on, whatever happens (a failed test, Ctrl-C), the cluster goes —
# but only if it is still ours: never take down one that replaced it.
cluster_up=0
# shellcheck disable=SC2317  # called by the EXIT trap
teardown() {
    local rc=$?
    if [ "$cluster_up" = 1 ]; then
        if [ "$(cluster_owner)" = "$DIR" ]; then
            log "taking the cluster down"
            bash scripts/netns-cluster.sh down --name "$NAME" --dir "$DIR" || rc=1
        else
            log "the cluster named $NAME was replaced during the run (now '$(cluster_owner)'); leaving it alone"
            rc=1
        fi
    fi
    exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "bringing up $NODES nodes in $DIR"
cluster_up=1
bash scripts/netns-cluster.sh up "$NODES" --name "$NAME" --dir "$DIR" >/dev/null

# The tests' gates (which systems are installed), the cluster, and the
# nodes' host keys. Tests marked `requires(network_faults)` run on it.
export DUCKTAPE_REDIS=1 DUCKTAPE_ZOOKEEPER=1
export DUCKTAPE_KNOWN_HOSTS=$DIR/known_hosts
cluster=(--cluster json --cluster-file "$DIR/cluster.json")

status=0
reports=()
# A run stopped by Ctrl-C or SIGTERM (its tests already torn down): stop
# here too, instead of starting the next run.
interrupted() {
    case $1 in
        130 | 143)
            for r in "${reports[@]}"; do echo "  $r"; done
            exit "$1"
            ;;
    esac
}
# The session directory a run just wrote (results/latest points at it).
report_of() { echo "$(readlink -f results/latest)/report.txt"; }

log "cargo test --features ssh --test systest -- ${cluster[*]} ${filters[*]}"
start=$SECONDS
if cargo test --features ssh --test systest -- "${cluster[@]}" "${filters[@]}"; then r=0; else r=$?; fi
reports+=("cargo test ($((SECONDS - start)) s, exit $r): $(report_of)")
[ "$status" != 0 ] || status=$r
interrupted "$r"

if [ "$nextest" = 1 ]; then
    log "cargo nextest run --features ssh --test systest ${filters[*]}"
    start=$SECONDS
    if DUCKTAPE_CLUSTER=json DUCKTAPE_CLUSTER_FILE=$DIR/cluster.json \
        cargo nextest run --features ssh --test systest --no-fail-fast "${filters[@]}"; then r=0; else r=$?; fi
    reports+=("cargo nextest ($((SECONDS - start)) s, exit $r): $(report_of)")
    [ "$status" != 0 ] || status=$r
fi

log "reports"
for r in "${reports[@]}"; do echo "  $r"; done
exit "$status"
