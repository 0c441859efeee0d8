#!/usr/bin/env bash
# One-command LIIF-RDN fine-tune on a GPU machine (CUDA, bf16 autocast), under 10 minutes.
#
# Prepare on the CPU machine (pre-cuts 12 MB of patches and copies Set5 beside them):
#     .venv/bin/python -m training.precut training/configs/rdn-liif-gpu.json
# Run from the repository root on the GPU machine with training/runs/gpu present (the device
# tool: carry it and weights/edsr-baseline-liif.pth). Training starts from the exact embedding
# of the official EDSR-baseline-LIIF weights into RDN config B (training/embed.py):
#     bash training/gpu_run.sh
# Training stops after max_minutes (7) of the config, then the best checkpoint is exported
# (fp16) and evaluated on Set5 x2-x4. Results land in $OUT (or training/runs/gpu/out);
# the checkpoint is split into 15 MB parts there: rejoin with `cat rdn-liif-ours.pth.part-* >
# rdn-liif-ours.pth`.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT_DIR="${OUT:-training/runs/gpu/out}"
PYTHON="${PYTHON:-python3}"
mkdir -p "$OUT_DIR"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
"$PYTHON" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
"$PYTHON" -m training.train training/configs/rdn-liif-gpu.json \
    --run-dir training/runs/gpu/run --fresh \
    --set "export.path=\"$OUT_DIR/rdn-liif-ours.pth\"" 2>&1 | tee "$OUT_DIR/log.txt"
cp training/runs/gpu/run/results.json training/runs/gpu/run/history.json "$OUT_DIR/"
split -b 15m "$OUT_DIR/rdn-liif-ours.pth" "$OUT_DIR/rdn-liif-ours.pth.part-"
rm "$OUT_DIR/rdn-liif-ours.pth"
ls -la "$OUT_DIR"
