#!/usr/bin/env bash
# Packs what a run on the lent GPU machine needs (it has no Node and no npm, and nothing can be
# fetched there) into .device/ and .gl/ (both git-ignored; the device tool carries them):
#   .device/node.xz        this machine's node binary
#   .device/app.tar.xz     dist/ (built here) and node_modules without what a GPU run does not
#                          load (the working tree travels beside it: models/, proto/, bench/device/)
#   .gl/*.deb              Debian's Vulkan loader (libvulkan1), for Dawn (tfjs-webgpu, onnxruntime's WebGPU provider)
# Everything the device tool carries must stay under 64 MiB; this script says how much it made.
#   npm run device:pack
set -euo pipefail
cd "$(dirname "$0")/../.."
npx tsc -p .
rm -rf .device && mkdir -p .device .gl
# The official node binary carries its debug symbols: stripped, it is ~12 MB smaller (and runs the same).
strip -o .device/node "$(command -v node)" 2> /dev/null || cp "$(command -v node)" .device/node
xz -T0 -9 -c .device/node > .device/node.xz && rm .device/node
# What a GPU run does not load: other platforms' binaries, LanceDB and PGlite, the build tools,
# maps, typings, docs, and of each tfjs package every bundle but the one Node loads (main: *.node.js).
skip='^node_modules/(@lancedb|@electric-sql|apache-arrow|typescript|kubernetes-models|@kubernetes-models|dockerfile-ast|openai|@swc|@tensorflow/tfjs-node[^/]*)/'
skip+='|^node_modules/webgpu/dist/(win32|darwin|linux-arm64)|^node_modules/onnxruntime-node/bin/napi-v6/(win32|darwin|linux/arm64)/'
skip+='|\.(map|md|d\.ts|ts)$|^node_modules/@tensorflow/[^/]+/dist/(.*/|[^/]*\.(min|es2017|fesm)\.js$|[^/]*_test\.js$)'
{ find dist node_modules \( -type f -o -type l \) | grep -Ev "$skip" | grep -Ev '^node_modules/@tensorflow/[^/]+/dist/[^/]+\.js$'
  find node_modules/@tensorflow/*/dist -maxdepth 1 -name '*.node.js'; } > .device/files
tar -cf - -T .device/files | xz -T0 -9 > .device/app.tar.xz
rm .device/files
if ! ls .gl/libvulkan1_*.deb > /dev/null 2>&1; then
  (cd .gl && apt-get download libvulkan1 > /dev/null)
fi
du -b .device/* .gl/* | awk '{ total += $1; printf "%8.1f MiB  %s\n", $1 / 1048576, $2 } END { printf "%8.1f MiB  in all (the device tool carries at most 64 MiB with the working tree)\n", total / 1048576 }'
