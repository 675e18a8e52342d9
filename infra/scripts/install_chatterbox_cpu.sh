#!/usr/bin/env bash
# Installs chatterbox-tts 0.1.7 with a CPU torch into the current Python environment.
# chatterbox-tts pins torch==2.6.0 (+ gradio and friends); resolving those pins pulls GBs of CUDA
# wheels, so the model's real runtime dependencies are installed explicitly and chatterbox with --no-deps.
# Usage: PYTHON=.venv/bin/python infra/scripts/install_chatterbox_cpu.sh
set -euo pipefail
PY=${PYTHON:-python3}
"$PY" -m pip install -q "torch==2.13.0"
"$PY" -m pip install -q --no-deps chatterbox-tts==0.1.7 torchaudio==2.11.0 s3tokenizer==0.3.0 \
    conformer==0.3.2 resemble-perth==1.0.1
"$PY" -m pip install -q "numpy<2" librosa==0.11.0 transformers==5.2.0 diffusers==0.29.0 \
    safetensors==0.5.3 omegaconf pyloudnorm einops onnx scipy soundfile "setuptools<81"
# The PyPI torchaudio is a CUDA build: without its native libraries it runs in pure-Python mode,
# which is all chatterbox uses.
site=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
rm -f "$site"/torchaudio/lib/*.so
"$PY" -c 'import chatterbox.tts, perth; assert perth.PerthImplicitWatermarker is not None' \
    || { echo "chatterbox import check failed" >&2; exit 1; }
echo "chatterbox CPU stack installed"
