"""Loading a Chatterbox model (chatterbox-tts) from a checkpoint, the way `ChatterboxEngine` needs it.

Contract:
- `load_model(checkpoint_dir, device=...)` returns `ChatterboxTTS.from_local(checkpoint_dir, device)`
  when a directory is given, else `from_pretrained(device)` (the Hugging Face cache). A missing
  directory, a missing model file or any failure while loading raises `EngineUnavailable`.
- `device="auto"` picks cuda, then mps, then cpu (`resolve_device`).
- T3's depth is read from the checkpoint itself: `t3_layers` counts the `tfmr.layers.N.` tensors named
  in t3_cfg.safetensors' header (no tensor is read). chatterbox builds T3 from its global
  `LLAMA_CONFIGS["Llama_520M"]` (30 layers), so `load_model` builds it inside `t3_depth(layers)`, which
  sets that depth and restores the previous one afterwards, under a lock (one patched load at a time).
  A checkpoint of any depth (the full model, or a small random-weight test checkpoint) thus loads
  with no caller knowing about it.
- Speaker conditionals (what `prepare_voice` returns, and a checkpoint's conds.pt) are bytes in
  `Conditionals.save`'s layout: `dump_conditionals` writes them (CPU tensors, T3's prompt-embedding
  cache left out), `load_conditionals` reads them back (`EngineError` code bad_conditionals if unreadable).
- Importing this module imports neither torch nor chatterbox.
"""

from __future__ import annotations

import contextlib
import io
import json
import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from core.errors import EngineError, EngineUnavailable

MODEL_FILES = ("ve.safetensors", "t3_cfg.safetensors", "s3gen.safetensors", "tokenizer.json")
T3_FILE = "t3_cfg.safetensors"
T3_CONFIG = "Llama_520M"  # the LLAMA_CONFIGS entry chatterbox's T3 is built from
_LAYER_PREFIX = "tfmr.layers."
_MAX_HEADER_BYTES = 100 * 1024 * 1024  # safetensors' own limit on the JSON header
_depth_lock = threading.Lock()


def resolve_device(preference: str) -> str:
    """Map "auto" to cuda if available, else mps, else cpu; return any other value unchanged."""
    if preference != "auto":
        return preference
    import torch

    return "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"


def t3_layers(checkpoint_dir: Path) -> int | None:
    """Number of transformer layers of the checkpoint's T3 (from the safetensors header), or None."""
    try:
        with (checkpoint_dir / T3_FILE).open("rb") as handle:
            (size,) = struct.unpack("<Q", handle.read(8))
            if size > _MAX_HEADER_BYTES:
                return None
            header = json.loads(handle.read(size))
    except (OSError, ValueError, struct.error):
        return None
    if not isinstance(header, dict):
        return None
    indices = {key[len(_LAYER_PREFIX) :].split(".", 1)[0] for key in header if key.startswith(_LAYER_PREFIX)}
    layers = [int(index) for index in indices if index.isdigit()]
    return max(layers) + 1 if layers else None


@contextlib.contextmanager
def t3_depth(layers: int | None) -> Iterator[None]:
    """Build T3 (`T3()`, `from_local`) with `layers` transformer layers inside this block (None: as is)."""
    if layers is None:
        yield
        return
    from chatterbox.models.t3.llama_configs import LLAMA_CONFIGS

    with _depth_lock:
        config = LLAMA_CONFIGS[T3_CONFIG]
        previous = config["num_hidden_layers"]
        config["num_hidden_layers"] = layers
        try:
            yield
        finally:
            config["num_hidden_layers"] = previous


def load_model(checkpoint_dir: Path | None, *, device: str = "auto") -> Any:
    """The `ChatterboxTTS` of `checkpoint_dir` (None: the Hugging Face cache) on `device`."""
    where = str(checkpoint_dir) if checkpoint_dir else "the Hugging Face cache"
    if checkpoint_dir is not None:
        if not checkpoint_dir.is_dir():
            raise EngineUnavailable(f"Chatterbox checkpoint directory {where} does not exist")
        missing = [name for name in MODEL_FILES if not (checkpoint_dir / name).is_file()]
        if missing:
            raise EngineUnavailable(f"Chatterbox checkpoint {where} lacks {', '.join(missing)}")
    try:
        import perth
        from chatterbox.tts import ChatterboxTTS

        if perth.PerthImplicitWatermarker is None:
            raise RuntimeError("resemble-perth's watermarker did not import (needs setuptools < 81)")
        resolved = resolve_device(device)
        if checkpoint_dir is None:
            return ChatterboxTTS.from_pretrained(resolved)
        with t3_depth(t3_layers(checkpoint_dir)):
            return ChatterboxTTS.from_local(checkpoint_dir, resolved)
    except Exception as exc:
        raise EngineUnavailable(f"could not load Chatterbox from {where}: {exc}") from exc


def dump_conditionals(conds: Any) -> bytes:
    """Serialise chatterbox `Conditionals` (CPU tensors, the `Conditionals.save` layout)."""
    import torch

    def cpu(value: Any) -> Any:
        return value.detach().cpu() if isinstance(value, torch.Tensor) else value

    t3 = {key: cpu(value) for key, value in vars(conds.t3).items()}
    t3["cond_prompt_speech_emb"] = None  # a cache T3 fills from its own weights; never stored
    buffer = io.BytesIO()
    torch.save({"t3": t3, "gen": {key: cpu(value) for key, value in conds.gen.items()}}, buffer)
    return buffer.getvalue()


def load_conditionals(data: bytes, device: str = "cpu") -> Any:
    """Inverse of `dump_conditionals` (also reads a conds.pt file's bytes); `EngineError` if unreadable."""
    import torch
    from chatterbox.models.t3.modules.cond_enc import T3Cond
    from chatterbox.tts import Conditionals

    try:
        kwargs = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        return Conditionals(T3Cond(**kwargs["t3"]), dict(kwargs["gen"])).to(device)
    except Exception as exc:
        raise EngineError(f"stored voice conditionals are unreadable: {exc}", code="bad_conditionals") from exc
