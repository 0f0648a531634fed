#!/usr/bin/env bash
# Issue 24's one command on the lent GPU machine (H200/H100, no Node, no internet): unpack what
# bench/device/pack.sh made, then, each step bounded and logged into $OUT:
#   doctor        what tfjs and onnxruntime find (the WebGPU adapter), into the log
#   parity        a training step's gradients on webgpu = the cpu backend's; the project's WGSL
#                 kernels = their definitions; the ten-crop ONNX (shipped, and a paper-size export)
#                 on the WebGPU provider = the cpu provider, and through `serve --device webgpu`
#   kernels       a paper training step (batch 128) with tfjs's own WGSL kernels, the project's, the
#                 project's with each other input gradient, and with the loss read one step behind
#                 (bench/webgpu-kernels.ts)
#   torch         the PyTorch reference of the same network on the same GPU (bench/device/torch_reference.py)
#   train         bench:train, paper (batch 128) and mini, on webgpu, the data pipeline beside it
#   serve-webgpu  bench:serve of the paper-size model, --device webgpu (ceiling and Classify over gRPC)
#   serve-cpu     the same on onnxruntime's cpu provider on the machine's cores
#   profile       a paper training step kernel by kernel on webgpu (bench/device/profile-step.ts)
#   summary       one table of ratios (bench/device/summary.ts)
# From this machine, after `npm run device:pack`, with the device tool:
#   run(command: "bash bench/device/run.sh", carry: [".device", ".gl"], timeout_s: 540)
# (the steps share ALEXNET_DEVICE_BUDGET, 480 s by default, in the order above)
# Here, without a GPU, `ALEXNET_DEVICE_DRY=1 bash bench/device/run.sh` runs every step short, on the cpu
# (serving the shipped mini model: the paper-size network's ceiling alone outlasts the step on 2 cores)
# (ALEXNET_DEVICE_DRY=packed: the same from the unpacked pack, in a clean clone).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/alexnet-device-out}
mkdir -p "$OUT"
DRY=${ALEXNET_DEVICE_DRY:-}
log() { echo "== $(date +%T) $*" | tee -a "$OUT/log"; }
# The whole run stays inside ALEXNET_DEVICE_BUDGET seconds (the device call's timeout less the
# unpacking and the summary): each step gets at most what is left, and a step with under 20 s left
# is skipped and logged, so the steps that matter most run first and the summary always comes back.
START=$(date +%s)
BUDGET=${ALEXNET_DEVICE_BUDGET:-480}
step() { # step NAME LIMIT_S COMMAND...: its output into $OUT/NAME.txt, its exit code in the log
  local name=$1 limit=$2
  shift 2
  local left=$((BUDGET - ($(date +%s) - START)))
  if [ "$left" -lt 20 ]; then
    log "$name: skipped, ${left} s of the run's budget left"
    return
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  log "$name (at most ${limit} s): $*"
  timeout "$limit" "$@" > "$OUT/$name.txt" 2>&1
  log "$name: exit $?"
}

# ALEXNET_DEVICE_DRY=packed: the dry run from the pack itself, in a clean clone with .device/ copied in (never in a
# checkout whose dist/ and node_modules/ you want to keep: the pack replaces them).
if [ -f .device/node.xz ] && { [ -z "$DRY" ] || [ "$DRY" = packed ]; }; then
  # xz, or Python's lzma where the machine has no xz.
  unxz() { if command -v xz > /dev/null; then xz -dc "$1"; else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"; fi; }
  unxz .device/node.xz > /tmp/node && chmod +x /tmp/node
  unxz .device/app.tar.xz | tar -xf -
  NODE=/tmp/node
else
  NODE=$(command -v node)
fi
for f in .gl/*.deb; do [ -f "$f" ] && [ -z "$DRY" ] && dpkg -x "$f" /; done
[ -z "$DRY" ] && ldconfig 2> /dev/null
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && export VK_DRIVER_FILES=$icd
log "node $($NODE --version); $(nvidia-smi -L 2> /dev/null || echo 'no nvidia-smi')"

if [ -n "$DRY" ]; then
  GPU=cpu TRAIN_BACKENDS=wasm PRESETS=mini STEPS=2 SECONDS_PER=2 CONC=4 PROFILE_BATCH=32 SERVE_LAYOUTS=
  KERNELS="--presets tiny --batch 8 --rounds 1 --steps 1" TRAIN_BATCH="" # kernels: on lavapipe where Mesa >= 24 is installed
else
  GPU=webgpu TRAIN_BACKENDS=webgpu PRESETS=paper,mini STEPS=5 SECONDS_PER=6 CONC=16 PROFILE_BATCH=128
  # The GPU's serving defaults are 1 worker, max batch 16: measured against 2 workers (one
  # preparing a batch while the other's runs) and batches of 64, so they can be chosen from data.
  SERVE_LAYOUTS="--workers 1,2 --max-batch 16,64"
  KERNELS="--presets paper --batch 128 --rounds 2 --steps 3" TRAIN_BATCH="--batch 128" # the paper's batch, as PyTorch's reference
fi
step doctor 60 "$NODE" dist/src/cli.js doctor
cat "$OUT/doctor.txt" >> "$OUT/log" && rm "$OUT/doctor.txt" # (the tool brings back at most 8 files)
# A folder of this run's own: init refuses an --out that already holds a checkpoint, so a fixed path
# would leave a second run (or a dry run after another's) on an older export, or on none.
paper=$(mktemp -d /tmp/alexnet-paper.XXXXXX)
trap 'rm -rf "$paper"' EXIT
timeout 90 "$NODE" dist/src/cli.js init --preset paper --out "$paper/ckpt" > /dev/null && timeout 90 "$NODE" dist/src/cli.js export "$paper/ckpt" -o "$paper/model.onnx" > /dev/null ||
  log "paper-size export failed: the parity and serve steps lack its model"
ALEXNET_PAPER_ONNX="$paper/model.tencrop.onnx" step parity 120 "$NODE" node_modules/ava/entrypoints/cli.mjs --timeout 2m dist/test/parity/backend-training.test.js dist/test/parity/webgpu-kernels.test.js dist/test/parity/onnx-webgpu.test.js
# In order of what the issue's table needs most: the kernels' ratios, the PyTorch reference (every
# ratio's denominator), the training loop, serving on the GPU, then the cpu provider and the profile.
# shellcheck disable=SC2086
step kernels 120 "$NODE" dist/bench/webgpu-kernels.js $KERNELS
if python3 -c 'import torch; assert torch.cuda.is_available()' 2> /dev/null; then
  step torch 100 python3 bench/device/torch_reference.py --seconds "$SECONDS_PER"
else
  log "torch: no PyTorch with CUDA here: skipped"
fi
# shellcheck disable=SC2086
step train 120 "$NODE" dist/bench/train.js --presets "$PRESETS" --backends "$TRAIN_BACKENDS" --steps "$STEPS" $TRAIN_BATCH
# 2 layouts x 6 batch sizes of ceiling and 4 server settings, each 1 + 4 s: about 100 s.
# The dry run serves the shipped model: on 2 cores the paper-size ceiling (1 + 2 batches of up to
# 16 images at each of 10 layouts and sizes) took over its 120 s whenever the machine was shared.
SERVE_MODEL="$paper/model.onnx"
[ -n "$DRY" ] && SERVE_MODEL=models/fashion-mnist-mini/model.onnx
# shellcheck disable=SC2086
step serve-$GPU 120 "$NODE" dist/bench/serve.js --model "$SERVE_MODEL" --device "$GPU" --concurrency "$CONC" --seconds 4 --warmup-seconds 1 --images 16 --reload off $SERVE_LAYOUTS
[ -z "$DRY" ] && step serve-cpu 90 "$NODE" dist/bench/serve.js --model "$paper/model.onnx" --device cpu --concurrency 16 --seconds 4 --warmup-seconds 2 --images 16 --reload off
step profile 90 "$NODE" dist/bench/device/profile-step.js --backend "$TRAIN_BACKENDS" --preset "${PRESETS%%,*}" --batch "$PROFILE_BATCH" --steps 2
"$NODE" dist/bench/device/summary.js "$OUT" | tee "$OUT/summary.txt"
