#!/usr/bin/env bash
# Installs everything Synapse needs on Debian 12. Idempotent: installs only what is
# missing, and runs `apt-get update` at most once per invocation.
set -euo pipefail

packages=(
  build-essential cmake make pkg-config git ccache
  libtorch-dev libopenblas0-pthread
  libgtest-dev libgmock-dev libbenchmark-dev libbenchmark-tools
  nlohmann-json3-dev libeigen3-dev
  python3-torch python3-numpy python3-sklearn python3-jsonschema python3-yaml
  libicu-dev
  chromium python3-pil fonts-dejavu-core
  clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node.js and npm build the tokenizer parity references; the image may ship its own.
command -v node > /dev/null 2>&1 || missing+=(nodejs)
command -v npm > /dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
