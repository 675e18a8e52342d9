"""A fast Chatterbox checkpoint of random weights, in the real file layout, for tests.

Contract:
- `ensure_checkpoint(stop_after=...)` returns a directory holding ve.safetensors, t3_cfg.safetensors,
  s3gen.safetensors, tokenizer.json and conds.pt that the unchanged `ChatterboxTTS.from_local` loads.
  It is built once (deterministically, from a fixed seed) and cached under `$CHATTERBOX_TEST_CKPT_DIR`
  or the system temp dir, keyed by `CKPT_VERSION`, the stop step and the T3 depth. Builds take a file
  lock (a racing process waits and reuses the result) and happen in a private temp dir renamed into
  place, so a crashed build never leaves a half-written checkpoint behind.
- T3 is `TEST_T3_LAYERS` deep instead of 30. Building constructs T3 inside
  `core.tts.chatterbox_checkpoint.t3_depth(layers)`; loading needs nothing from here, since the engine
  reads the depth from the checkpoint's t3_cfg.safetensors header itself.
- `generate()` stops after `stop_after` speech tokens (~25 per second of audio): speech position
  `stop_after` carries a huge value in one hidden dimension that only the stop token's logit reads,
  and one other dimension, present at every speech position, pushes the non-audio tokens
  (>= 6561, except stop) far down, so every sampled token becomes audio.
- Nothing here is imported by production code. Run as a script to build and print timings.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt

from core.tts.chatterbox_checkpoint import t3_depth
from core.tts.chatterbox_wire import SAMPLE_RATE

CKPT_VERSION = "cbx-random-v2"
TEST_T3_LAYERS = 2
DEFAULT_STOP_AFTER = 50  # speech tokens -> ~2 s of audio
FILES = ("ve.safetensors", "t3_cfg.safetensors", "s3gen.safetensors", "tokenizer.json", "conds.pt")

_STOP_DIM = 7  # hidden dimension that only the stop token's logit reads
_AUDIO_DIM = 11  # hidden dimension present at every speech position; penalises non-audio tokens
_STOP_VALUE = 1.0e4
_AUDIO_VALUE = 30.0
_SEED = 1234


def cache_root() -> Path:
    env = os.environ.get("CHATTERBOX_TEST_CKPT_DIR")
    return Path(env) if env else Path(tempfile.gettempdir()) / "chatterbox-test-ckpt"


def checkpoint_path(stop_after: int = DEFAULT_STOP_AFTER, layers: int = TEST_T3_LAYERS) -> Path:
    return cache_root() / f"{CKPT_VERSION}-l{layers}-stop{stop_after}"


def is_complete(path: Path) -> bool:
    return all((path / name).is_file() for name in FILES)


def ensure_checkpoint(stop_after: int = DEFAULT_STOP_AFTER, layers: int = TEST_T3_LAYERS) -> Path:
    """Return the cached checkpoint directory, building it first if needed (race-safe)."""
    final = checkpoint_path(stop_after, layers)
    if is_complete(final):
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    with _build_lock(final.parent / f".{final.name}.lock"):  # a racing process waits, then finds it built
        if is_complete(final):
            return final
        staging = final.parent / f".build-{final.name}-{uuid.uuid4().hex}"
        staging.mkdir()
        try:
            build_checkpoint(staging, stop_after=stop_after, layers=layers)
            shutil.rmtree(final, ignore_errors=True)  # a broken leftover, if anything
            os.rename(staging, final)  # atomic: `final` is either absent or complete
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return final


@contextlib.contextmanager
def _build_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock where fcntl exists (POSIX); elsewhere the atomic rename suffices."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def tokenizer_json() -> dict[str, object]:
    """A character-level `tokenizers` BPE vocabulary with chatterbox's special-token ids."""
    specials = {"[STOP]": 0, "[UNK]": 1, "[SPACE]": 2, "[PAD]": 3, "[SEP]": 4, "[CLS]": 5, "[MASK]": 6}
    chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'\"-():;&%$/"
    vocab = dict(specials)
    for ch in chars:
        vocab[ch] = len(vocab)
    vocab["[START]"] = 255
    added = [
        {
            "id": i,
            "content": tok,
            "single_word": False,
            "lstrip": False,
            "rstrip": False,
            "normalized": False,
            "special": True,
        }
        for tok, i in sorted(vocab.items(), key=lambda kv: kv[1])
        if tok.startswith("[")
    ]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": None,
        "post_processor": None,
        "decoder": None,
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": "[UNK]",
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": False,
            "byte_fallback": False,
            "vocab": vocab,
            "merges": [],
        },
    }


def synthetic_voice(seconds: float = 3.0, sr: int = SAMPLE_RATE, seed: int = 7) -> npt.NDArray[np.float32]:
    """A voiced, speech-like clip: harmonics under formant-ish peaks, gliding F0, syllable envelope."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    f0 = 120.0 + 25.0 * np.sin(2 * np.pi * 0.7 * t) + 10.0 * np.sin(2 * np.pi * 2.3 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    wav = np.zeros_like(t)
    for k in range(1, 30):
        freq = k * f0
        gain = np.full_like(t, 0.3 / k)
        for centre, width in ((500.0, 150.0), (1500.0, 250.0), (2500.0, 300.0)):  # formant-like peaks
            gain += np.exp(-(((freq - centre) / width) ** 2))
        wav += gain * np.sin(k * phase) * (freq < sr / 2 - 1000)
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 4.0 * t) ** 2
    wav = wav * envelope + 0.01 * rng.standard_normal(len(t))
    clip: npt.NDArray[np.float32] = (0.5 * wav / float(np.max(np.abs(wav)))).astype(np.float32)
    return clip


def _steer_t3(state: dict[str, object], stop_after: int) -> None:
    """Edit T3 weights in place so generation emits `stop_after` audio tokens and then stops."""
    import torch

    speech_emb = state["speech_emb.weight"]
    pos = state["speech_pos_emb.emb.weight"]
    head = state["speech_head.weight"]
    assert isinstance(speech_emb, torch.Tensor)
    assert isinstance(pos, torch.Tensor)
    assert isinstance(head, torch.Tensor)
    stop_token = 6562
    speech_emb[:, [_STOP_DIM, _AUDIO_DIM]] = 0.0
    pos[:, [_STOP_DIM, _AUDIO_DIM]] = 0.0
    pos[:, _AUDIO_DIM] = _AUDIO_VALUE
    # The forward pass whose input is at speech position p predicts token p (0-based).
    pos[stop_after, _STOP_DIM] = _STOP_VALUE
    head[:, [_STOP_DIM, _AUDIO_DIM]] = 0.0
    head[stop_token, _STOP_DIM] = 1.0
    head[6561:, _AUDIO_DIM] = -1.0
    head[stop_token, _AUDIO_DIM] = 0.0


def build_checkpoint(out: Path, *, stop_after: int = DEFAULT_STOP_AFTER, layers: int = TEST_T3_LAYERS) -> None:
    """Write a random-weight checkpoint into the existing directory `out`."""
    import soundfile as sf
    import torch
    from chatterbox.models.s3gen import S3Gen
    from chatterbox.models.t3 import T3
    from chatterbox.models.tokenizers import EnTokenizer
    from chatterbox.models.voice_encoder import VoiceEncoder
    from chatterbox.tts import ChatterboxTTS
    from safetensors.torch import save_file

    with torch.random.fork_rng(), t3_depth(layers):
        torch.manual_seed(_SEED)
        ve, t3, s3gen = VoiceEncoder(), T3(), S3Gen()
        t3_state = {k: v.detach().clone().contiguous() for k, v in t3.state_dict().items()}
        _steer_t3(t3_state, stop_after)
        t3.load_state_dict(t3_state)
        save_file({k: v.contiguous() for k, v in ve.state_dict().items()}, str(out / "ve.safetensors"))
        save_file(t3_state, str(out / "t3_cfg.safetensors"))
        save_file({k: v.contiguous() for k, v in s3gen.state_dict().items()}, str(out / "s3gen.safetensors"))
        (out / "tokenizer.json").write_text(json.dumps(tokenizer_json()))
        model = ChatterboxTTS(t3.eval(), s3gen.eval(), ve.eval(), EnTokenizer(str(out / "tokenizer.json")), "cpu")
        clip = out / "reference.wav"
        sf.write(str(clip), synthetic_voice(3.0), SAMPLE_RATE)  # S3Gen cost grows with the prompt
        model.prepare_conditionals(str(clip), exaggeration=0.5)
        clip.unlink()
        model.conds.save(out / "conds.pt")


def _main() -> None:  # pragma: no cover - manual measurement helper
    import resource

    started = time.perf_counter()
    path = ensure_checkpoint()
    built = time.perf_counter() - started
    size = sum(f.stat().st_size for f in path.iterdir())
    print(f"checkpoint {path}: {size / 1e6:.0f} MB, ensure {built:.1f} s")
    print(f"max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.0f} MB")


if __name__ == "__main__":
    _main()
