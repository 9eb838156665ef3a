#!/usr/bin/env bash
# On a machine with an NVIDIA GPU (the device tool's 'cuda' image: PyTorch, no package access, maybe no node), from the
# repository root with .device/ carried (built here by `npm run device:prepare -w @sphereface/models`):
#   1. the Vulkan loader (.device/deb) when the machine has none, and NVIDIA's Vulkan driver manifest;
#   2. node (the machine's if >= 20, else .device/node.xz) runs .device/bench-webgpu.mjs: the webgpu correctness
#      checks against cpu, then the training-step benchmark (SphereFace-4/-20, 112×96, batch 32/128) on webgpu
#      and in PyTorch on CUDA (libs/models/scripts/bench_step_torch.py) for the ratio.
# Results go to $OUT (webgpu-check.json, webgpu-bench.json, bench-webgpu.log). Exit status: the benchmark's
# (1 when a correctness check failed). Arguments are passed on to bench-webgpu (e.g. --steps 10).
set -euo pipefail
cd "$(dirname "$0")/../../.."
D=.device
OUT=${OUT:-$(mktemp -d)}
[ -f "$D/bench-webgpu.mjs" ] || { echo "$D/bench-webgpu.mjs missing: run npm run device:prepare -w @sphereface/models and carry .device" >&2; exit 2; }

PY=$(command -v /opt/torch/.venv/bin/python3 || command -v python3)
unxz_to() { "$PY" -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; }

if ! ldconfig -p | grep -q 'libvulkan\.so\.1 '; then
  for f in "$D"/deb/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
export VK_DRIVER_FILES=${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}
if [ ! -f "$VK_DRIVER_FILES" ]; then
  echo "warning: no Vulkan driver manifest at $VK_DRIVER_FILES; found:" >&2
  ls /usr/local/nvidia/share/vulkan/icd.d /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>&1 >&2 || true
fi

dawn="$D/node_modules/webgpu/dist/linux-x64/dawn.node"
[ -f "$dawn" ] || unxz_to "$dawn.xz" "$dawn"
NODE=$(command -v node || true)
if [ -z "$NODE" ] || [ "$("$NODE" -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  NODE=/tmp/sphereface-node
  unxz_to "$D/node.xz" "$NODE"
  chmod +x "$NODE"
fi
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}

nvidia-smi -L || true
echo "node $("$NODE" --version) ($NODE), python $PY, VK_DRIVER_FILES=$VK_DRIVER_FILES"
"$NODE" "$D/bench-webgpu.mjs" --out "$OUT" --python "$PY" --torch-script libs/models/scripts/bench_step_torch.py "$@" 2>&1 | tee "$OUT/bench-webgpu.log"
