#!/usr/bin/env bash
# Runs COMMAND inside the Debian testing (forky) root that ci/libtorch2_root.sh makes, in
# the current directory: the checkout holding it is bind-mounted at the same path inside
# the root, together with /proc, /sys, /dev, /dev/pts, /dev/shm and a compiler cache that
# outlives the run (host ${SYNAPSE_LIBTORCH2_CCACHE:-/var/cache/synapse/forky-ccache},
# /root/.cache/ccache inside, CCACHE_DIR points there).
#
#   bash ci/in_libtorch2_root.sh ROOT COMMAND [ARG...]
#   e.g. bash ci/in_libtorch2_root.sh /var/lib/synapse/forky-root make -j2 test
#
# Where it can, it runs in a private mount namespace (unshare), so its mounts are never
# seen by the host and vanish with it; otherwise it mounts in the host's namespace and
# an EXIT trap unmounts what it mounted. Mounts that are already present are used as they
# are and left alone. SYNAPSE_IN_ROOT_BIND_CHECKOUT=0 skips the checkout and compiler
# cache (ci/libtorch2_root.sh uses that for apt-get) and runs COMMAND in /.
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 ROOT COMMAND [ARG...]" >&2
  exit 2
fi
root=$(realpath -e -- "$1")
shift
self=$(realpath -e -- "${BASH_SOURCE[0]}")

if [ "$(id -u)" -ne 0 ]; then
  exec sudo --preserve-env bash "$self" "$root" "$@"
fi
if [ ! -x "$root/usr/bin/env" ] || [ "$root" = / ]; then
  echo "in_libtorch2_root: $root is not a Debian root (make it with ci/libtorch2_root.sh)" >&2
  exit 2
fi

# A private mount namespace when the kernel allows one.
if [ -z "${SYNAPSE_IN_ROOT_NS:-}" ] && unshare --mount --propagation private true 2> /dev/null; then
  SYNAPSE_IN_ROOT_NS=1 exec unshare --mount --propagation private bash "$self" "$root" "$@"
fi

bind_checkout=${SYNAPSE_IN_ROOT_BIND_CHECKOUT:-1}
workdir=/
if [ "$bind_checkout" != 0 ]; then
  workdir=$(pwd -P)
  top=$(git -C "$workdir" rev-parse --show-toplevel 2> /dev/null || echo "$workdir")
  top=$(realpath -e -- "$top")
  if [ "$top" = / ]; then
    echo "in_libtorch2_root: refusing to bind-mount / as the checkout" >&2
    exit 2
  fi
  case "$top/" in "$root"/*) echo "in_libtorch2_root: the checkout $top is inside the root" >&2; exit 2 ;; esac
  case "$root/" in "$top"/*) echo "in_libtorch2_root: the root $root is inside the checkout $top" >&2; exit 2 ;; esac
  # A worktree's shared .git lies outside it: bind that too, so git works inside.
  common=$(git -C "$top" rev-parse --path-format=absolute --git-common-dir 2> /dev/null || true)
  ccache_host=${SYNAPSE_LIBTORCH2_CCACHE:-/var/cache/synapse/forky-ccache}
  mkdir -p "$ccache_host"
fi

mounted=()
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount "${mounted[i]}" 2> /dev/null || umount -l "${mounted[i]}" || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# mount_in TARGET(inside the root) MOUNT-ARGS...: mounts unless something is mounted there.
mount_in() {
  local target=$root$1
  shift
  mkdir -p "$target"
  if mountpoint -q "$target"; then return 0; fi
  mount "$@" "$target"
  mounted+=("$target")
}

mount_in /proc -t proc proc
mount_in /sys --bind /sys
mount_in /dev --bind /dev
mount_in /dev/pts --bind /dev/pts
if mountpoint -q /dev/shm; then mount_in /dev/shm --bind /dev/shm; fi
if [ "$bind_checkout" != 0 ]; then
  mount_in "$top" --bind "$top"
  case "$common/" in
    /) ;;
    "$top"/*) ;;
    *) [ -d "$common" ] && mount_in "$common" --bind "$common" ;;
  esac
  mount_in /root/.cache/ccache --bind "$ccache_host"
fi

# Name resolution as on the host (the root has no resolver of its own).
if ! cmp -s /etc/resolv.conf "$root/etc/resolv.conf"; then
  cp --remove-destination -L /etc/resolv.conf "$root/etc/resolv.conf"
fi

set +e
# shellcheck disable=SC2016 # expanded by the root's sh
chroot "$root" /usr/bin/env \
  -u LD_LIBRARY_PATH -u LD_PRELOAD -u PYTHONPATH -u PYTHONHOME -u VIRTUAL_ENV \
  -u CMAKE_PREFIX_PATH -u SYNAPSE_IN_ROOT_NS \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  HOME=/root CCACHE_DIR=/root/.cache/ccache LANG=C.UTF-8 \
  /bin/sh -c 'cd "$1" && shift && exec "$@"' in_libtorch2_root "$workdir" "$@"
rc=$?
set -e
exit "$rc"
