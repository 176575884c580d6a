#!/usr/bin/env bash
# Makes the Debian testing ("forky") root in which the second CI lane builds Synapse against
# LibTorch 2.14 (libtorch-dev, python3-torch), and keeps it up to date. Idempotent.
#
#   bash ci/libtorch2_root.sh [ROOT]     ROOT: ${SYNAPSE_LIBTORCH2_ROOT:-/var/lib/synapse/SUITE-root}
#   bash ci/in_libtorch2_root.sh ROOT COMMAND...   then runs COMMAND in it
#
# SYNAPSE_ROOT_SUITE picks the Debian suite (default forky); e.g. SYNAPSE_ROOT_SUITE=trixie
# makes the Debian 13 root (LibTorch 2.6) that `make test-libtorch26` uses.
#
# A fresh root is built in ROOT.tmp and renamed to ROOT once complete; ROOT/.synapse-root-ready,
# written last, holds the hash of the suite and package list. A root whose hash matches is left
# as it is (only resolv.conf and the host's local CA certificates are brought in line); one
# whose package list changed is updated in place (packages dropped from the list stay
# installed). Packages that the suite lacks are reported and left out (ROOT/.synapse-root-skipped;
# trixie has no python3-transformers or python3-tokenizers, so the tests that need them are
# not registered there). A root made for another suite is refused, not converted.
# The host gets debootstrap and nothing else; apt settings change only inside the root.
# SYNAPSE_DEBIAN_MIRROR overrides the mirror taken from the host's apt sources.
set -euo pipefail

suite=${SYNAPSE_ROOT_SUITE:-forky}
case "$suite" in
  "" | *[!a-z0-9-]*) echo "libtorch2_root: bad SYNAPSE_ROOT_SUITE=$suite" >&2; exit 2 ;;
esac
packages=(
  build-essential cmake make pkg-config git ccache
  libtorch-dev libopenblas0-pthread
  libgtest-dev libgmock-dev libbenchmark-dev libbenchmark-tools
  nlohmann-json3-dev libeigen3-dev
  python3-torch python3-transformers python3-tokenizers
  # Inductor's vector code includes <sleef.h>; without it every compiled kernel is scalar
  libsleef-dev
  python3-numpy python3-sklearn python3-jsonschema python3-yaml
  libicu-dev
  nodejs npm
  chromium python3-pil fonts-dejavu-core
  ca-certificates
)

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
self=$here/$(basename "${BASH_SOURCE[0]}")
if [ "$(id -u)" -ne 0 ]; then
  exec sudo --preserve-env bash "$self" "$@"
fi
root=$(realpath -m -- "${1:-${SYNAPSE_LIBTORCH2_ROOT:-/var/lib/synapse/$suite-root}}")
case "$root" in
  / | /bin | /boot | /dev | /etc | /home | /lib* | /proc | /root | /run | /sbin | /sys | /tmp | /usr | /var)
    echo "libtorch2_root: refusing ROOT=$root" >&2
    exit 2 ;;
esac
tmp=$root.tmp
marker=.synapse-root-ready
want_hash=$(printf '%s\n' "suite=$suite" "${packages[@]}" | sort | sha256sum | cut -d' ' -f1)
export DEBIAN_FRONTEND=noninteractive
log() { echo "libtorch2_root: $*"; }

# The first Debian archive URI in the host's apt sources (not -security, not ports).
host_mirror() {
  local f
  {
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -r "$f" ] && awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [ -r "$f" ] && sed -n 's/\[[^]]*\]//; s/^[[:space:]]*deb[[:space:]]\+\([^[:space:]]\+\).*/\1/p' "$f"
    done
  } | grep -E '^https?://[^ ]+/debian/?$' | head -n1 | sed 's:/*$::'
}
mirror=${SYNAPSE_DEBIAN_MIRROR:-$(host_mirror || true)}
mirror=${mirror:-http://deb.debian.org/debian}

in_root() { SYNAPSE_IN_ROOT_BIND_CHECKOUT=0 bash "$here/in_libtorch2_root.sh" "$1" "${@:2}"; }

# Host files the root needs as they are on the host: resolver, local CA certificates (the
# root's npm, git and python talk TLS through the same egress as the host).
sync_host_files() {
  local dir=$1 cas=$1/usr/local/share/ca-certificates
  if ! cmp -s /etc/resolv.conf "$dir/etc/resolv.conf"; then
    cp --remove-destination -L /etc/resolv.conf "$dir/etc/resolv.conf"
  fi
  mkdir -p /usr/local/share/ca-certificates "$cas"
  if ! diff -r -q /usr/local/share/ca-certificates "$cas" > /dev/null 2>&1 \
    || [ "${2:-}" = force ]; then
    find "$cas" -mindepth 1 -delete
    cp -a /usr/local/share/ca-certificates/. "$cas/"
    if [ -x "$dir/usr/sbin/update-ca-certificates" ]; then
      in_root "$dir" update-ca-certificates
    fi
  fi
}

# Unmounts whatever an interrupted run left mounted under DIR, then deletes DIR.
remove_tree() {
  local dir=$1 m
  [ -e "$dir" ] || return 0
  findmnt -rn -o TARGET | awk -v d="$dir" 'index($0, d "/") == 1 || $0 == d' | sort -r \
    | while read -r m; do umount "$m" || umount -l "$m"; done
  if findmnt -rn -o TARGET | awk -v d="$dir" 'index($0, d "/") == 1 { f = 1 } END { exit !f }'; then
    echo "libtorch2_root: $dir still has mounts under it; not deleting it" >&2
    exit 1
  fi
  rm -rf --one-file-system -- "$dir"
}

# Configures apt in DIR and installs the packages the suite has.
provision() {
  local dir=$1 p avail=() skipped=()
  mkdir -p "$dir/etc/apt/apt.conf.d"
  # The testing Release file can be older than its Valid-Until here (a pinned archive); a
  # stable suite's rarely is, but the setting is as harmless there.
  echo 'Acquire::Check-Valid-Until "false";' > "$dir/etc/apt/apt.conf.d/99synapse-no-valid-until"
  printf '%s\n' 'APT::Install-Recommends "false";' 'APT::Install-Suggests "false";' \
    > "$dir/etc/apt/apt.conf.d/99synapse-no-recommends"
  echo "deb $mirror $suite main" > "$dir/etc/apt/sources.list"
  # No daemons start inside the root.
  printf '#!/bin/sh\nexit 101\n' > "$dir/usr/sbin/policy-rc.d"
  chmod 755 "$dir/usr/sbin/policy-rc.d"
  sync_host_files "$dir"

  in_root "$dir" dpkg --configure -a
  in_root "$dir" apt-get update -q
  # shellcheck disable=SC2016 # expanded by the root's sh
  mapfile -t avail < <(in_root "$dir" sh -c \
    'for p; do apt-cache policy "$p" 2> /dev/null | grep -q "Candidate: [^(]" && echo "$p"; done; true' \
    sh "${packages[@]}")
  for p in "${packages[@]}"; do
    case " ${avail[*]} " in *" $p "*) ;; *) skipped+=("$p") ;; esac
  done
  if [ ${#skipped[@]} -gt 0 ]; then
    log "not in $suite, left out: ${skipped[*]}" >&2
  fi
  : > "$dir/.synapse-root-skipped"
  if [ ${#skipped[@]} -gt 0 ]; then printf '%s\n' "${skipped[@]}" > "$dir/.synapse-root-skipped"; fi
  in_root "$dir" apt-get install -y -q --no-install-recommends "${avail[@]}"
  in_root "$dir" apt-get clean
  sync_host_files "$dir" force
  # The checkout is bind-mounted and may belong to another user than root.
  in_root "$dir" git config --system safe.directory '*'
}

# 1. debootstrap on the host.
if ! command -v debootstrap > /dev/null 2>&1 && [ ! -x /usr/sbin/debootstrap ]; then
  log "installing debootstrap on the host"
  apt-get install -y -q --no-install-recommends debootstrap \
    || { apt-get update -q && apt-get install -y -q --no-install-recommends debootstrap; }
fi

# 2. Ready, to update, or to make.
if [ -f "$root/$marker" ] && [ "$(head -n1 "$root/$marker")" = "$want_hash" ]; then
  sync_host_files "$root"
  log "$root is ready ($suite, package list $want_hash)"
  exit 0
fi

if [ -f "$root/$marker" ]; then
  # Made for another suite (provision writes "deb MIRROR SUITE main"): not converted in place.
  had=$(awk '$1 == "deb" { print $3; exit }' "$root/etc/apt/sources.list" 2> /dev/null || true)
  if [ -n "$had" ] && [ "$had" != "$suite" ]; then
    echo "libtorch2_root: $root is a $had root, not $suite; pick another ROOT or move it away" >&2
    exit 1
  fi
  # Made by this script earlier; the package list changed, or an update was interrupted.
  log "updating $root in place (package list changed)"
  echo updating > "$root/$marker"
  provision "$root"
  echo "$want_hash" > "$root/$marker.new" && mv -f "$root/$marker.new" "$root/$marker"
  log "$root is ready ($suite, package list $want_hash)"
  exit 0
fi

if [ -e "$root" ]; then
  echo "libtorch2_root: $root exists but was not made by this script (no $marker); move it away" >&2
  exit 1
fi

# This host's debootstrap may predate the suite (forky): the sid script serves every later one.
script=
if [ ! -e "/usr/share/debootstrap/scripts/$suite" ]; then
  script=/usr/share/debootstrap/scripts/sid
fi
remove_tree "$tmp"
mkdir -p "$(dirname "$root")"
log "debootstrap --variant=minbase $suite $tmp $mirror ${script}"
debootstrap --variant=minbase "$suite" "$tmp" "$mirror" ${script:+"$script"}
provision "$tmp"
echo "$want_hash" > "$tmp/$marker"
mv -T "$tmp" "$root"
log "$root is ready ($suite, package list $want_hash)"
