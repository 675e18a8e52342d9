"""Loading a Chatterbox checkpoint: T3's depth read from the safetensors header, file checks (no model loaded)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from core.errors import EngineUnavailable
from core.tts.chatterbox_checkpoint import MODEL_FILES, T3_CONFIG, load_model, t3_depth, t3_layers


def write_header(directory: Path, header: Any) -> None:
    data = json.dumps(header).encode()
    (directory / "t3_cfg.safetensors").write_bytes(len(data).to_bytes(8, "little") + data + b"\0" * 16)


def test_t3_layers_counts_the_layers_named_in_the_header(tmp_path: Path) -> None:
    header: dict[str, Any] = {f"tfmr.layers.{i}.mlp.up_proj.weight": {} for i in range(3)}
    header |= {"tfmr.layers.1.self_attn.q_proj.weight": {}, "speech_emb.weight": {}, "__metadata__": {}}
    write_header(tmp_path, header)
    assert t3_layers(tmp_path) == 3


@pytest.mark.parametrize(
    "content",
    [None, b"", b"\x05\x00", (10**12).to_bytes(8, "little") + b"{}", (4).to_bytes(8, "little") + b"nope"],
)
def test_t3_layers_is_none_when_the_header_says_nothing(tmp_path: Path, content: bytes | None) -> None:
    if content is not None:
        (tmp_path / "t3_cfg.safetensors").write_bytes(content)
    assert t3_layers(tmp_path) is None


def test_t3_layers_is_none_without_layer_tensors(tmp_path: Path) -> None:
    write_header(tmp_path, {"speech_emb.weight": {}, "tfmr.norm.weight": {}})
    assert t3_layers(tmp_path) is None


def test_missing_checkpoint_or_files_are_engine_unavailable(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailable, match="does not exist"):
        load_model(tmp_path / "nowhere", device="cpu")
    (tmp_path / MODEL_FILES[0]).write_bytes(b"x")
    missing = re.escape("lacks t3_cfg.safetensors, s3gen.safetensors, tokenizer.json")
    with pytest.raises(EngineUnavailable, match=missing):
        load_model(tmp_path, device="cpu")


@pytest.mark.slow  # imports chatterbox (and torch): ~30 s on a busy 2-core machine
def test_t3_depth_sets_chatterbox_depth_inside_the_block_only() -> None:
    configs = pytest.importorskip("chatterbox.models.t3.llama_configs")
    before = configs.LLAMA_CONFIGS[T3_CONFIG]["num_hidden_layers"]
    with t3_depth(2):
        assert configs.LLAMA_CONFIGS[T3_CONFIG]["num_hidden_layers"] == 2
    assert configs.LLAMA_CONFIGS[T3_CONFIG]["num_hidden_layers"] == before
    with pytest.raises(RuntimeError), t3_depth(4):
        raise RuntimeError("a failed load restores the depth too")
    assert configs.LLAMA_CONFIGS[T3_CONFIG]["num_hidden_layers"] == before
    with t3_depth(None):  # depth unknown: chatterbox's own
        assert configs.LLAMA_CONFIGS[T3_CONFIG]["num_hidden_layers"] == before
