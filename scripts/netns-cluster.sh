#!/usr/bin/env bash
# netns-cluster.sh: a real multi-host ducktape test cluster on ONE Linux machine.
#
# Clusters have names (--name, default "default") and coexist: each has its
# own slot S, which gives it its own bridge, name prefixes and subnet. The
# default cluster has slot 0 (bridge dt-br0, namespaces dt-nodeK, veths dt-vK,
# subnet 10.251.0.0/24); a named one gets the lowest free slot S >= 1 (dt-brS,
# dtS-nodeK, dtS-vK, 10.251.S.0/24). Below, for the default cluster:
#
# Each node K (K = 1..N) is
#   * a network namespace dt-nodeK whose eth0 (10.251.0.(10+K)/24) is one end of
#     a veth pair; the other end, dt-vK, is a port of the bridge dt-br0
#     (10.251.0.1/24) in the root namespace. Nodes reach each other and the
#     machine (10.251.0.1) over plain L2 bridging: no IP forwarding, no default
#     route in a node, no NAT. 10.251.0.0/24 exists only inside this machine.
#   * its own PID, mount and UTS namespaces: `ps -e` on a node shows only that
#     node's processes, `hostname` says nodeK. The node's PID 1 is its own
#     OpenSSH sshd (key auth only, root login with key, UsePAM no, UseDNS no).
#   * private directories DIR/nodeK/{home,tmp,mnt} mounted (in the node's mount
#     namespace only) over /root, /tmp and /mnt, plus a private tmpfs /run and
#     its own /etc/hosts. Root's home on a node is empty, so remote shells run
#     no start-up files (the machine's ~/.bashrc runs pyenv init: ~130 ms).
#     The rest of the file system (/usr, /etc, /var, ...) is the machine's.
#
# Usage (as root; every command takes --name NAME, default "default"):
#   netns-cluster.sh up [N] [--name NAME] [--dir DIR] [--quickack]
#                                         bring up N nodes (default 3, max 200);
#                                         prints DIR/cluster.json on stdout.
#                                         Refuses when a cluster NAME is up.
#                                         --quickack: no TCP delayed ACKs on the
#                                         cluster subnet (hides Nagle stalls of
#                                         clients without TCP_NODELAY; off by
#                                         default, as on a real network)
#   netns-cluster.sh down [--dir DIR]     kill every process of cluster NAME's
#                                         nodes, delete its namespaces, veths,
#                                         bridge and DIR (no other cluster's)
#   netns-cluster.sh cut K                partition node K: its bridge-side veth
#                                         dt-vK is set link-down (both directions,
#                                         silent drops, like a pulled cable)
#   netns-cluster.sh restore K            set dt-vK link-up again
#   netns-cluster.sh status               list nodes and whether each sshd answers
#   netns-cluster.sh list                 list the clusters that are up: NAME SLOT DIR
#   netns-cluster.sh exec K [CMD...]      run CMD (default: bash) inside node K's
#                                         namespaces (nsenter), HOME=/root, cwd /root
#   netns-cluster.sh ssh K [CMD...]       ssh to node K with the cluster's key
#
# DIR defaults to $DUCKTAPE_NETNS_DIR or /tmp/ducktape-netns, with "-NAME"
# appended for a named cluster. After `up`, the bridge remembers NAME and DIR
# (its ifalias), so later commands need only --name.
# Files in DIR: id_ed25519(.pub) client key, known_hosts (every node's host key,
# under "nodeK" and its IP), cluster.json (ducktape JSON cluster file),
# ssh_config (Host nodeK entries), nodeK/ (the node's private directories,
# its sshd config, host key and log in nodeK/sshd/).
set -euo pipefail

PROG=netns-cluster
DEFAULT_NAME=default
NAME_RE='^[a-z0-9][a-z0-9_-]{0,31}$'
MAX_SLOT=250
BASE_DIR=${DUCKTAPE_NETNS_DIR:-/tmp/ducktape-netns}
MAX_NODES=200
READY_TIMEOUT=${DT_NETNS_READY_TIMEOUT:-30}
MARKER=.ducktape-netns-cluster
SSHD=/usr/sbin/sshd
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NODE_INIT=$SCRIPT_DIR/netns/node-init.sh
STD_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

die() { printf '%s: %s\n' "$PROG" "$*" >&2; exit 1; }
log() { printf '%s: %s\n' "$PROG" "$*" >&2; }

usage() {
    sed -n '/^# Usage/,/^# DIR defaults/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit "${1:-2}"
}

need_root() {
    [ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces need CAP_NET_ADMIN)"
}

need_tools() {
    local t
    for t in ip unshare nsenter setsid flock; do
        command -v "$t" >/dev/null 2>&1 ||
            die "'$t' not found; install iproute2/util-linux: scripts/install-deps.sh"
    done
    [ -x "$SSHD" ] || die "$SSHD not found; install openssh-server: scripts/install-deps.sh"
    for t in ssh ssh-keygen; do
        command -v "$t" >/dev/null 2>&1 ||
            die "'$t' not found; install openssh-client: scripts/install-deps.sh"
    done
    [ -r "$NODE_INIT" ] || die "missing helper $NODE_INIT"
}

# Serialise up/down/cut/restore. Locks this script file itself, so nothing is
# left behind; fd 9 is closed for every long-lived child.
take_lock() {
    exec 9<"${BASH_SOURCE[0]}"
    flock 9
}

# Sets the names and subnet of slot $1 (see the top of this file).
set_slot() {
    SLOT=$1
    if [ "$SLOT" = 0 ]; then
        NS_PREFIX=dt-node VETH_PREFIX=dt-v
    else
        NS_PREFIX=dt$SLOT-node VETH_PREFIX=dt$SLOT-v
    fi
    BRIDGE=dt-br$SLOT
    NET=10.251.$SLOT
    HOST_IP=$NET.1
}

# "NAME DIR" of every cluster's bridge, one per line, as "SLOT NAME DIR". A
# bridge of an older version of this script holds only DIR: the default.
clusters() {
    local f b alias name dir
    for f in /sys/class/net/dt-br[0-9]*/ifalias; do
        [ -e "$f" ] || continue
        b=${f%/ifalias}
        b=${b##*/}
        [[ $b =~ ^dt-br([0-9]+)$ ]] || continue
        alias=$(<"$f") || continue
        read -r name dir <<<"$alias"
        if [ -z "$dir" ]; then
            # Not ours, unless an older version of this script made it.
            [ "${BASH_REMATCH[1]}" = 0 ] && [ -n "$name" ] || continue
            dir=$name name=$DEFAULT_NAME
        fi
        echo "${BASH_REMATCH[1]} $name $dir"
    done
}

# The slot of the cluster named $1 that is up, or nothing.
slot_of() {
    local slot name dir
    while read -r slot name dir; do
        [ "$name" = "$1" ] && { echo "$slot"; return; }
    done < <(clusters)
    [ "$1" = "$DEFAULT_NAME" ] && echo 0
    return 0
}

# Whether anything of slot $1 exists: bridge, namespaces, veths or an
# address of its subnet (someone else's network).
slot_used() (
    set_slot "$1"
    bridge_exists || [ -n "$(existing_nodes)" ] || [ -n "$(existing_veths)" ] ||
        ip -4 -o addr show 2>/dev/null | grep -q " $NET\."
)

# The lowest slot >= 1 nothing uses.
free_slot() {
    local s
    for ((s = 1; s <= MAX_SLOT; s++)); do
        slot_used "$s" || { echo "$s"; return; }
    done
    die "no free cluster slot (1..$MAX_SLOT): bring a cluster down ('$0 list')"
}

node_ip() { echo "$NET.$((10 + $1))"; }
ns_name() { echo "$NS_PREFIX$1"; }
veth_name() { echo "$VETH_PREFIX$1"; }

# Node numbers of existing namespaces, sorted.
existing_nodes() {
    ip netns list 2>/dev/null | awk '{print $1}' | sed -n "s/^$NS_PREFIX\([0-9][0-9]*\)\$/\1/p" | sort -n
}

# Node numbers of bridge-side veths left in the root namespace.
existing_veths() {
    local d
    for d in /sys/class/net/"$VETH_PREFIX"*; do
        [ -e "$d" ] || continue
        d=${d##*/}
        [[ $d =~ ^$VETH_PREFIX([0-9]+)$ ]] && echo "${BASH_REMATCH[1]}"
    done | sort -n
}

bridge_exists() { [ -e "/sys/class/net/$BRIDGE" ]; }

bridge_dir() {
    local alias name dir
    if [ -n "$SLOT" ] && bridge_exists; then
        alias=$(cat "/sys/class/net/$BRIDGE/ifalias" 2>/dev/null || true)
        read -r name dir <<<"$alias"
        echo "${dir:-$name}"
    fi
}

default_dir() {
    if [ "$NAME" = "$DEFAULT_NAME" ]; then echo "$BASE_DIR"; else echo "$BASE_DIR-$NAME"; fi
}

# DIR for commands other than up: --dir, else what the bridge remembers, else default.
resolve_dir() {
    if [ -n "$OPT_DIR" ]; then echo "$OPT_DIR"; return; fi
    local d
    d=$(bridge_dir)
    if [ -n "$d" ]; then echo "$d"; else default_dir; fi
}

canon_dir() {
    local d=$1
    case $d in /*) ;; *) d=$PWD/$d ;; esac
    d=$(realpath -m -- "$d")
    [[ $d =~ ^/[A-Za-z0-9._+/-]+$ ]] ||
        die "--dir must be a path of letters, digits and ._+-/ only (it goes into sshd and JSON files): $d"
    case $d in
        / | /root | /tmp | /mnt | /run | /etc | /usr | /var | /home | /proc | /sys | /dev)
            die "refusing to use $d as the cluster directory (it is removed at down)" ;;
    esac
    echo "$d"
}

# Host PID of node K's PID-namespace init (its sshd), or nothing.
node_init_pid() {
    local k=$1 ns p pidfile
    ns=$(ns_name "$k")
    pidfile=$(resolve_dir)/node$k/init.pid
    if [ -r "$pidfile" ]; then
        p=$(<"$pidfile")
        if [ -n "$p" ] && is_ns_init "$p" && [ "$(stat -L -c %i "/proc/$p/ns/net" 2>/dev/null)" = "$(stat -L -c %i "/run/netns/$ns" 2>/dev/null)" ]; then
            echo "$p"; return
        fi
    fi
    for p in $(ip netns pids "$ns" 2>/dev/null); do
        if is_ns_init "$p"; then echo "$p"; return; fi
    done
}

# True if host PID $1 is PID 1 of a nested PID namespace (bash builtins only).
is_ns_init() {
    local key f2 rest
    while read -r key _ f2 rest; do
        if [ "$key" = NSpid: ]; then
            [ -n "$f2" ] && [ -z "$rest" ] && [ "$f2" = 1 ]
            return
        fi
    done 2>/dev/null <"/proc/$1/status"
    return 1
}

# True while host PID $1 exists and is not a zombie.
alive() {
    local key val
    while read -r key val _; do
        if [ "$key" = State: ]; then [ "$val" != Z ]; return; fi
    done 2>/dev/null <"/proc/$1/status"
    return 1
}

ssh_opts() {
    local dir=$1
    # curve25519 first: the default sntrup761 hybrid costs ~85 ms of client
    # CPU per connection on this machine (libssh2 never uses it anyway).
    # shellcheck disable=SC2054
    SSH_OPTS=(-F /dev/null -i "$dir/id_ed25519" -o IdentitiesOnly=yes
        -o KexAlgorithms=curve25519-sha256,curve25519-sha256@libssh.org,sntrup761x25519-sha512@openssh.com
        -o UserKnownHostsFile="$dir/known_hosts" -o GlobalKnownHostsFile=/dev/null
        -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=2
        -o LogLevel=ERROR -l root)
}

# ---------------------------------------------------------------- down

cmd_down() {
    local dirs=() d k p pids n deadline
    [ -n "$OPT_DIR" ] && dirs+=("$(canon_dir "$OPT_DIR")")
    d=$(bridge_dir)
    [ -n "$d" ] && dirs+=("$d")
    [ ${#dirs[@]} -eq 0 ] && dirs+=("$(default_dir)")

    # Only this cluster's slot: another cluster's nodes are never touched.
    if [ -z "$SLOT" ]; then
        log "no cluster named $NAME is up"
        cleanup_dirs "${dirs[@]}"
        return
    fi

    # 1. Kill every process of this cluster's nodes: everything in its node
    #    network namespaces (the unshare parent, the PID-namespace init = sshd
    #    and with it, by the kernel, every process of that PID namespace), plus
    #    any node init whose network namespace was already deleted by hand
    #    (found through the init.pid files in DIR).
    local nodes
    nodes=$(existing_nodes)
    pids=()
    for k in $nodes; do
        for p in $(ip netns pids "$(ns_name "$k")" 2>/dev/null); do pids+=("$p"); done
    done
    for d in "${dirs[@]}"; do
        for f in "$d"/node[0-9]*/init.pid; do
            [ -r "$f" ] || continue
            p=$(<"$f")
            [[ $p =~ ^[0-9]+$ ]] && is_ns_init "$p" && pids+=("$p")
        done
    done
    if [ ${#pids[@]} -gt 0 ]; then
        kill -KILL "${pids[@]}" 2>/dev/null || true
        deadline=$((SECONDS + 10))
        while :; do
            n=0
            for p in "${pids[@]}"; do alive "$p" && n=$((n + 1)); done
            [ $n -eq 0 ] && break
            [ $SECONDS -ge $deadline ] && { log "warning: $n node process(es) did not exit"; break; }
            sleep 0.02
        done
        # Anything that entered a node namespace meanwhile (e.g. `exec K`).
        for k in $nodes; do
            for p in $(ip netns pids "$(ns_name "$k")" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
        done
    fi

    # 2. Network: veths (deleting one end deletes its peer), namespaces, bridge.
    for k in $(existing_veths); do
        ip link del "$(veth_name "$k")" 2>/dev/null || true
    done
    for k in $nodes; do
        ip netns del "$(ns_name "$k")" 2>/dev/null || true
    done
    if bridge_exists; then ip link del "$BRIDGE" 2>/dev/null || true; fi

    # 3. Directories.
    cleanup_dirs "${dirs[@]}"
}

# Removes directories this script made (marker file), or empty ones, unless
# a cluster that is up uses one.
cleanup_dirs() {
    local d slot name other
    for d in "$@"; do
        while read -r slot name other; do
            if [ "$other" = "$d" ]; then
                log "$d belongs to the cluster named $name; left in place"
                continue 2
            fi
        done < <(clusters)
        [ -e "$d" ] || continue
        if [ -e "$d/$MARKER" ]; then
            rm -rf -- "$d"
        elif [ -d "$d" ] && [ -z "$(ls -A "$d")" ]; then
            rmdir -- "$d"
        else
            log "warning: $d is not a netns-cluster directory; left in place"
        fi
    done
}

# ---------------------------------------------------------------- up

write_sshd_config() {
    local f=$1
    cat >"$f" <<'EOF'
# sshd of one ducktape netns node (paths as seen inside the node).
Port 22
AddressFamily inet
ListenAddress 0.0.0.0
HostKey /run/dt/ssh_host_ed25519_key
PidFile none
LogLevel INFO
PermitRootLogin prohibit-password
AuthenticationMethods publickey
PubkeyAuthentication yes
AuthorizedKeysFile /run/dt/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitEmptyPasswords no
UsePAM no
UseDNS no
StrictModes yes
PermitUserEnvironment no
PermitUserRC no
PrintMotd no
PrintLastLog no
X11Forwarding no
AllowTcpForwarding yes
AllowStreamLocalForwarding yes
AllowAgentForwarding no
PermitTTY yes
TCPKeepAlive yes
LoginGraceTime 20
MaxAuthTries 10
MaxSessions 100
MaxStartups 100:30:300
AcceptEnv LANG LC_*
Subsystem sftp internal-sftp
EOF
}

cmd_up() {
    local n=$1 dir k ip nd pubkey t0 extra="" slot name other
    t0=$EPOCHREALTIME
    dir=$(canon_dir "${OPT_DIR:-$(default_dir)}")

    # Never take down a cluster that is up: it may be in use by someone else.
    local again="bring it down first: $0 down"
    [ "$NAME" = "$DEFAULT_NAME" ] || again+=" --name $NAME"
    if [ -n "$SLOT" ] && slot_used "$SLOT"; then
        die "a cluster named $NAME is already up (or left over) as ${BRIDGE}, dir $(resolve_dir); $again"
    fi
    while read -r slot name other; do
        [ "$other" = "$dir" ] && die "$dir is the directory of the cluster named $name; choose another --dir"
    done < <(clusters)
    [ -n "$SLOT" ] || set_slot "$(free_slot)"
    if [ -e "$dir" ]; then
        if [ ! -e "$dir/$MARKER" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
            die "$dir exists and is not a netns-cluster directory; choose another --dir"
        fi
        # Left by a cluster of this script that is gone (no bridge names it).
        cleanup_dirs "$dir"
    fi

    # --- files
    mkdir -p "$dir" && chmod 0755 "$dir"
    : >"$dir/$MARKER"
    ssh-keygen -q -t ed25519 -N '' -C "ducktape-netns-client" -f "$dir/id_ed25519"
    pubkey=$(<"$dir/id_ed25519.pub")

    # OpenSSH >= 9.8 penalises clients that fail auth; tests must not be.
    if "$SSHD" -t -f /dev/null -o PerSourcePenalties=no -o HostKey="$dir/id_ed25519" >/dev/null 2>&1; then
        extra="PerSourcePenalties no"
    fi

    {
        echo "127.0.0.1 localhost"
        echo "::1 localhost ip6-localhost ip6-loopback"
        echo "$HOST_IP dt-host"
        for ((k = 1; k <= n; k++)); do echo "$(node_ip "$k") node$k"; done
    } >"$dir/hosts"

    for ((k = 1; k <= n; k++)); do
        nd=$dir/node$k
        mkdir -p "$nd/home" "$nd/sshd" "$nd/mnt" "$nd/tmp"
        chmod 0700 "$nd/home" "$nd/sshd"
        chmod 1777 "$nd/tmp"
        cp "$dir/hosts" "$nd/hosts"
        echo "node$k" >"$nd/hostname"
        write_sshd_config "$nd/sshd/sshd_config"
        [ -n "$extra" ] && echo "$extra" >>"$nd/sshd/sshd_config"
        printf '%s\n' "$pubkey" >"$nd/sshd/authorized_keys"
        chmod 0600 "$nd/sshd/authorized_keys"
        ssh-keygen -q -t ed25519 -N '' -C "node$k" -f "$nd/sshd/ssh_host_ed25519_key" &
    done
    wait

    : >"$dir/known_hosts"
    : >"$dir/ssh_config"
    for ((k = 1; k <= n; k++)); do
        ip=$(node_ip "$k")
        read -r t pubkey _ <"$dir/node$k/sshd/ssh_host_ed25519_key.pub"
        echo "node$k,$ip $t $pubkey" >>"$dir/known_hosts"
        cat >>"$dir/ssh_config" <<EOF
Host node$k
    HostName $ip
    User root
    IdentityFile $dir/id_ed25519
    IdentitiesOnly yes
    KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org,sntrup761x25519-sha512@openssh.com
    UserKnownHostsFile $dir/known_hosts
    StrictHostKeyChecking yes
    BatchMode yes
EOF
    done
    {
        printf '{"nodes": ['
        for ((k = 1; k <= n; k++)); do
            ip=$(node_ip "$k")
            [ "$k" -gt 1 ] && printf ','
            printf '\n  {"externally_routable_ip": "%s", "ssh_config": {"host": "node%d", "hostname": "%s", "port": 22, "user": "root", "identityfile": "%s", "password": null}}' \
                "$ip" "$k" "$ip" "$dir/id_ed25519"
        done
        printf '\n]}\n'
    } >"$dir/cluster.json"

    # --- network: bridge in the root namespace, L2 only (no forwarding, no NAT).
    ip link add "$BRIDGE" type bridge stp_state 0 forward_delay 0 \
        nf_call_iptables 0 nf_call_ip6tables 0 nf_call_arptables 0 2>/dev/null ||
        ip link add "$BRIDGE" type bridge stp_state 0 forward_delay 0
    ip link set dev "$BRIDGE" alias "$NAME $dir"
    echo 1 >"/proc/sys/net/ipv6/conf/$BRIDGE/disable_ipv6" 2>/dev/null || true
    ip addr add "$HOST_IP/24" dev "$BRIDGE"
    ip link set dev "$BRIDGE" up

    # IPv4 only on the bridge (no IPv6 link-local chatter: RS/MLD/DAD), so
    # IPv6 is disabled on each veth before it goes up; a node keeps ::1 on lo.
    {
        for ((k = 1; k <= n; k++)); do
            echo "netns add $(ns_name "$k")"
            echo "link add $(veth_name "$k") type veth peer name eth0 netns $(ns_name "$k")"
        done
    } | ip -batch -
    for ((k = 1; k <= n; k++)); do
        echo 1 >"/proc/sys/net/ipv6/conf/$(veth_name "$k")/disable_ipv6" 2>/dev/null || true
    done
    for ((k = 1; k <= n; k++)); do
        echo "link set dev $(veth_name "$k") master $BRIDGE up"
    done | ip -batch -
    for ((k = 1; k <= n; k++)); do
        # shellcheck disable=SC2016
        nsenter --net="/run/netns/$(ns_name "$k")" sh -c '
            echo 1 >/proc/sys/net/ipv6/conf/eth0/disable_ipv6 2>/dev/null
            printf "%s\n" "addr add $1/24 dev eth0" "link set dev lo up" "link set dev eth0 up" | ip -batch -
            [ -z "$3" ] || ip route change "$2" dev eth0 proto kernel scope link src "$1" quickack 1
        ' sh "$(node_ip "$k")" "$NET.0/24" "$QUICKACK"
    done
    if [ -n "$QUICKACK" ]; then
        ip route change "$NET.0/24" dev "$BRIDGE" proto kernel scope link src "$HOST_IP" quickack 1
    fi

    # --- nodes: own session, no inherited fds (callers may wait on pipes).
    for ((k = 1; k <= n; k++)); do
        (
            for fd in "/proc/$BASHPID/fd/"*; do
                fd=${fd##*/}
                [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null
            done
            exec setsid env -i PATH="$STD_PATH" LANG=C.UTF-8 \
                ip netns exec "$(ns_name "$k")" \
                unshare --pid --fork --kill-child --mount-proc --uts --propagation private \
                bash "$NODE_INIT" "$k" "$dir/node$k" \
                </dev/null >>"$dir/node$k/init.log" 2>&1
        ) &
        # The subshell execs setsid, env, ip and unshare in turn: $! is
        # unshare, whose only child becomes the node's PID 1.
        echo "$!" >"$dir/node$k/unshare.pid"
    done

    # --- wait until every sshd accepts the cluster key
    ssh_opts "$dir"
    local deadline pids=() failed=()
    deadline=$((SECONDS + READY_TIMEOUT))
    for ((k = 1; k <= n; k++)); do
        (
            ip=$(node_ip "$k")
            exec 9<&-
            until ssh "${SSH_OPTS[@]}" "$ip" true </dev/null 2>"$dir/node$k/probe.err"; do
                [ $SECONDS -ge $deadline ] && exit 1
                sleep 0.05
            done
            rm -f "$dir/node$k/probe.err"
        ) &
        pids[k]=$!
    done
    for ((k = 1; k <= n; k++)); do
        wait "${pids[k]}" || failed+=("$k")
    done
    if [ ${#failed[@]} -gt 0 ]; then
        for k in "${failed[@]}"; do
            log "node$k ($(node_ip "$k")) did not answer ssh within ${READY_TIMEOUT}s:"
            sed 's/^/    /' "$dir/node$k/probe.err" "$dir/node$k/init.log" "$dir/node$k/sshd/sshd.log" 2>/dev/null >&2 || true
        done
        die "cluster not ready; inspect with '$0 status', clean up with '$0 down'"
    fi
    local u c
    for ((k = 1; k <= n; k++)); do
        u=$(<"$dir/node$k/unshare.pid")
        c=$(cat "/proc/$u/task/$u/children" 2>/dev/null || true)
        c=${c%% *}
        if [ -n "$c" ] && is_ns_init "$c"; then echo "$c"; else node_init_pid "$k"; fi >"$dir/node$k/init.pid"
    done
    log "cluster $NAME: $n node(s) on $NET.0/24 up in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.2f", b-a}')s"
    echo "$dir/cluster.json"
}

# ---------------------------------------------------------------- other commands

need_node() {
    local k=$1
    [[ $k =~ ^[0-9]+$ ]] || die "node number expected, got '$k'"
    ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$(ns_name "$k")" ||
        die "node $k does not exist (run '$0 up' first)"
}

cmd_cut() {
    local k=$1
    need_node "$k"
    ip link set dev "$(veth_name "$k")" down
    log "node$k cut (link down on $(veth_name "$k"))"
}

cmd_restore() {
    local k=$1
    need_node "$k"
    ip link set dev "$(veth_name "$k")" up
    log "node$k restored (link up on $(veth_name "$k"))"
}

cmd_status() {
    local dir k nodes pids=() ip init link rc=0
    if [ -z "$SLOT" ]; then
        echo "no cluster named $NAME"
        return 1
    fi
    dir=$(resolve_dir)
    nodes=$(existing_nodes)
    if [ -z "$nodes" ]; then
        echo "no cluster named $NAME (bridge $BRIDGE $(bridge_exists && echo present || echo absent))"
        return 1
    fi
    echo "name: $NAME"
    echo "dir: $dir"
    echo "cluster file: $dir/cluster.json"
    ssh_opts "$dir"
    local tmp
    tmp=$(mktemp -d)
    for k in $nodes; do
        ( ssh "${SSH_OPTS[@]}" "$(node_ip "$k")" true </dev/null >/dev/null 2>&1 && echo ok >"$tmp/$k" || echo FAIL >"$tmp/$k" ) &
    done
    wait
    printf '%-8s %-13s %-8s %-6s %s\n' NODE IP INIT_PID LINK SSH
    for k in $nodes; do
        init=$(node_init_pid "$k")
        link=up
        if [ "$(cat "/sys/class/net/$(veth_name "$k")/operstate" 2>/dev/null)" = down ]; then link=CUT; fi
        [ -e "/sys/class/net/$(veth_name "$k")" ] || link=none
        printf '%-8s %-13s %-8s %-6s %s\n' "node$k" "$(node_ip "$k")" "${init:--}" "$link" "$(cat "$tmp/$k")"
        [ "$(cat "$tmp/$k")" = ok ] || rc=1
    done
    rm -rf "$tmp"
    return $rc
}

cmd_list() {
    local slot name dir
    printf '%-24s %-5s %s\n' NAME SLOT DIR
    while read -r slot name dir; do
        printf '%-24s %-5s %s\n' "$name" "$slot" "$dir"
    done < <(clusters | sort -n)
}

cmd_exec() {
    local k=$1 init
    shift
    need_node "$k"
    init=$(node_init_pid "$k")
    [ -n "$init" ] || die "node $k has no running init (sshd); try '$0 up' again"
    [ $# -gt 0 ] || set -- bash
    exec nsenter --target "$init" --mount --uts --net --pid --wdns=/root -- \
        env -i HOME=/root USER=root LOGNAME=root SHELL=/bin/bash PATH="$STD_PATH" \
        LANG="${LANG:-C.UTF-8}" TERM="${TERM:-dumb}" "$@"
}

cmd_ssh() {
    local k=$1 dir
    shift
    need_node "$k"
    dir=$(resolve_dir)
    ssh_opts "$dir"
    exec ssh "${SSH_OPTS[@]}" "$(node_ip "$k")" "$@"
}

# ---------------------------------------------------------------- main

OPT_DIR=""
NAME=$DEFAULT_NAME
QUICKACK=""
ARGS=()
while [ $# -gt 0 ]; do
    case $1 in
        --dir) [ $# -ge 2 ] || die "--dir needs a value"; OPT_DIR=$2; shift 2 ;;
        --dir=*) OPT_DIR=${1#--dir=}; shift ;;
        --name) [ $# -ge 2 ] || die "--name needs a value"; NAME=$2; shift 2 ;;
        --name=*) NAME=${1#--name=}; shift ;;
        --quickack) QUICKACK=1; shift ;;
        -h | --help | help) usage 0 ;;
        --) shift; ARGS+=("$@"); break ;;
        *)
            ARGS+=("$1"); shift
            # exec/ssh: everything after K belongs to the command.
            if [ ${#ARGS[@]} -eq 2 ] && [[ ${ARGS[0]} == exec || ${ARGS[0]} == ssh ]]; then
                ARGS+=("$@"); break
            fi
            ;;
    esac
done
[ ${#ARGS[@]} -ge 1 ] || usage 2
cmd=${ARGS[0]}
set -- "${ARGS[@]:1}"

[[ $NAME =~ $NAME_RE ]] ||
    die "--name must be 1-32 of a-z, 0-9, _ and - (starting with a letter or digit), got '$NAME'"
need_root
# The cluster's slot: that of the cluster of this name that is up, slot 0
# for the default name, else none (up picks a free one). Found after the
# lock is taken by the commands that change clusters.
SLOT=""
find_cluster() {
    SLOT=$(slot_of "$NAME")
    if [ -n "$SLOT" ]; then set_slot "$SLOT"; fi
}
need_cluster() {
    find_cluster
    [ -n "$SLOT" ] || die "no cluster named $NAME is up ('$0 list' shows those that are)"
}
case $cmd in
    up)
        need_tools
        n=${1:-3}
        if ! [[ $n =~ ^[0-9]+$ ]] || [ "$n" -lt 1 ] || [ "$n" -gt $MAX_NODES ]; then
            die "up: node count must be 1..$MAX_NODES, got '$n'"
        fi
        [ $# -le 1 ] || die "up: unexpected arguments: $*"
        take_lock
        find_cluster
        cmd_up "$n"
        ;;
    down)
        [ $# -eq 0 ] || die "down: unexpected arguments: $*"
        take_lock
        find_cluster
        cmd_down
        ;;
    cut | restore)
        [ $# -eq 1 ] || die "$cmd: exactly one node number expected"
        take_lock
        need_cluster
        "cmd_$cmd" "$1"
        ;;
    status) find_cluster; cmd_status ;;
    list) cmd_list ;;
    exec | ssh)
        [ $# -ge 1 ] || die "$cmd: node number expected"
        need_cluster
        "cmd_$cmd" "$@"
        ;;
    *) usage 2 ;;
esac
