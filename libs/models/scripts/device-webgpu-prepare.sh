#!/usr/bin/env bash
# Builds .device/ (git-ignored, about 35 MB) for scripts/device-webgpu.sh, which runs on a GPU machine that has no
# package access and maybe no node, and gets the working tree without node_modules:
#   bench-webgpu.mjs   scripts/bench-webgpu.ts with every JS dependency (tfjs, the models, the loss) in one ESM file
#   node_modules/      the `webgpu` package (index.js + linux-x64 dawn.node, xz) and tfjs-backend-webgpu's package.json
#                      (read for the version in the run record)
#   deb/               Debian's libvulkan1 (the Vulkan loader Dawn needs), unpacked on the device when it has none
#   node.xz            this machine's node binary, used on the device only when it has no node >= 20
# Usage (repository root): npm run device:prepare -w @sphereface/models
set -euo pipefail
cd "$(dirname "$0")/../../.."
D=.device
rm -rf "$D"
mkdir -p "$D/node_modules/webgpu/dist/linux-x64" "$D/node_modules/@tensorflow/tfjs-backend-webgpu" "$D/deb"

# webgpu stays external: its index.js loads dawn.node beside it. CJS dependencies bundled into ESM need `require`.
npx esbuild libs/models/scripts/bench-webgpu.ts --bundle --platform=node --format=esm --target=node20 \
  --external:webgpu --log-level=warning --outfile="$D/bench-webgpu.mjs" \
  --banner:js="import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);"

cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$D/node_modules/webgpu/"
xz -T2 -6 -c node_modules/webgpu/dist/linux-x64/dawn.node > "$D/node_modules/webgpu/dist/linux-x64/dawn.node.xz"
cp node_modules/@tensorflow/tfjs-backend-webgpu/package.json "$D/node_modules/@tensorflow/tfjs-backend-webgpu/"

(cd "$D/deb" && apt-get download libvulkan1 >/dev/null)
xz -T2 -6 -c "$(node -p process.execPath)" > "$D/node.xz"

tree_bytes=$(git ls-files -z | du -cb --files0-from=- | tail -1 | cut -f1)
device_bytes=$(du -sb "$D" | cut -f1)
echo "$D: $((device_bytes / 1024 / 1024)) MiB (node $(node --version)); with the tracked tree $(((tree_bytes + device_bytes) / 1024 / 1024)) MiB of the 64 MiB a device run carries"
du -sh "$D"/*
