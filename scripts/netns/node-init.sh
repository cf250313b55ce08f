#!/usr/bin/env bash
# PID 1 of one ducktape netns node. Started by scripts/netns-cluster.sh as
#
#   ip netns exec dt-nodeK \
#     unshare --pid --fork --kill-child --mount-proc --uts --propagation private \
#     bash node-init.sh K NODEDIR
#
# so it already runs in the node's network namespace and in fresh PID, mount
# and UTS namespaces (/proc shows only this node's processes). It builds the
# node's private view of the file system, then becomes the node's sshd, which
# stays PID 1 and reaps orphans. Killing this process (SIGKILL from the root
# namespace) kills every process of the node.
#
# Private per node (everything else is shared with the machine):
#   /root      <- NODEDIR/home   (empty: no .bashrc/.profile, so no pyenv init)
#   /tmp       <- NODEDIR/tmp
#   /mnt       <- NODEDIR/mnt
#   /run       <- fresh tmpfs (pid files, sockets; /run/sshd for privsep)
#   /run/dt    <- NODEDIR/sshd   (sshd_config, host key, authorized_keys, log)
#   /etc/hosts <- NODEDIR/hosts  (nodeK names of every node)
#   /etc/hostname <- NODEDIR/hostname, and the UTS hostname = nodeK
set -euo pipefail

k=$1
nodedir=$2

# Hold the node directory open: the mounts below may hide its path (the
# default lives under /tmp), so binds go through /proc/1/fd/3 instead.
exec 3<"$nodedir"
src=/proc/$$/fd/3
bind() { mount --no-canonicalize --bind "$src/$1" "$2"; }

mount -t tmpfs -o mode=0755,nosuid,nodev,size=64m "dt-node$k-run" /run
mkdir -m 0755 /run/sshd /run/dt
mkdir -m 1777 /run/lock
bind sshd /run/dt
bind home /root
bind mnt /mnt
bind tmp /tmp
bind hosts /etc/hosts
if [ -e /etc/hostname ]; then bind hostname /etc/hostname; fi
exec 3<&-

echo "node$k" >/proc/sys/kernel/hostname
cd /root
exec /usr/sbin/sshd -D -f /run/dt/sshd_config -E /run/dt/sshd.log
