#!/usr/bin/env bash
# Install the Debian packages that ducktape-rs's system tests need.
#
# Idempotent and quiet: packages that are already installed are skipped, and
# apt's output is only shown when something fails. Works with no tty (CI).
#
#   bash scripts/install-deps.sh            # install what is missing
#   bash scripts/install-deps.sh --check    # exit 1 (and list them) if any are missing
#
# Services shipped by these packages (sshd, redis, zookeeper) are NOT started
# by the install: the test cluster (scripts/netns-cluster.sh) and the tests
# start their own copies inside the node namespaces. A temporary
# /usr/sbin/policy-rc.d is put in place for the install if none exists.
set -euo pipefail

PACKAGES=(
    openssh-server
    openssh-client
    iproute2
    nftables
    iptables
    procps
    util-linux
    zookeeper
    redis-server
    redis-sentinel
    python3
    chromium
)

log() { printf 'install-deps: %s\n' "$*" >&2; }

is_installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = installed ]
}

missing=()
for p in "${PACKAGES[@]}"; do
    is_installed "$p" || missing+=("$p")
done

if [ "${1:-}" = "--check" ]; then
    if [ "${#missing[@]}" -gt 0 ]; then
        log "missing: ${missing[*]}"
        exit 1
    fi
    exit 0
fi

if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    log "must run as root to install: ${missing[*]}"
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
export APT_LISTCHANGES_FRONTEND=none
export NEEDRESTART_MODE=a

logfile=$(mktemp /tmp/install-deps.XXXXXX.log)
policy_added=0
cleanup() {
    if [ "$policy_added" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
}
trap cleanup EXIT

# Keep package installs from starting daemons in the root namespace.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    policy_added=1
fi

apt_install() {
    apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        -o Dpkg::Use-Pty=0 "$@" </dev/null >>"$logfile" 2>&1
}

apt_update() {
    apt-get update -qq </dev/null >>"$logfile" 2>&1
}

log "installing: ${missing[*]}"
# Try with the current package lists first; refresh them only if needed
# (lists may be empty on a fresh machine, or stale).
if ! apt_install "${missing[@]}"; then
    if ! apt_update || ! apt_install "${missing[@]}"; then
        log "apt-get failed; last lines of $logfile:"
        tail -n 30 "$logfile" >&2
        exit 1
    fi
fi

still=()
for p in "${missing[@]}"; do
    is_installed "$p" || still+=("$p")
done
if [ "${#still[@]}" -gt 0 ]; then
    log "still missing after install: ${still[*]} (log: $logfile)"
    exit 1
fi
rm -f "$logfile"
log "done"
