#!/usr/bin/env bash
# Installs the Debian 12 packages libmlops needs to build and test, if any are missing.
# Uses apt-get (as root, or through sudo). Safe to run repeatedly: with everything
# present it does nothing and touches no network.
set -euo pipefail
packages=(
  build-essential cmake pkg-config git
  libsqlite3-dev libcurl4-openssl-dev libjansson-dev libxxhash-dev libopenblas-dev
  libssl-dev libcmocka-dev
  abigail-tools clang libclang-rt-14-dev
  python3 python3-clang-14 golang-go
)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#packages[@]} Debian packages present"
  exit 0
fi
echo "deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo > /dev/null || { echo "deps: not root and no sudo; install: ${missing[*]}"; exit 1; }
  sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
