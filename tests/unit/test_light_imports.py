"""Light Lambda handlers must not import heavy engines at import time (cold start).

Each handler module is imported in a fresh interpreter, then sys.modules is inspected.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "chatterbox", "onnxruntime", "piper", "parselmouth", "faster_whisper", "scipy", "perth")
# Not heavy, but each costs cold-start time and is only needed once a request uses it.
FIRST_USE = ("numpy", "soundfile", "soxr", "passlib", "runpod", "jwt", "cryptography")
MODULES = sorted(
    f"handlers.{p.stem}" for p in (ROOT / "handlers").glob("*.py") if p.stem not in ("__init__", "runpod_worker")
)


def test_there_are_handlers_to_check() -> None:
    assert "handlers.auth" in MODULES
    assert len(MODULES) >= 3


@pytest.mark.parametrize("module", MODULES)
def test_handler_import_is_light(module: str) -> None:
    code = (
        f"import importlib, json, sys; m = importlib.import_module({module!r}); "
        f"assert callable(m.handler) and hasattr(m, 'router'); "
        f"print(json.dumps(sorted({{n.split('.')[0] for n in sys.modules}})))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert not loaded & set(HEAVY), f"{module} imports {sorted(loaded & set(HEAVY))}"
    assert not loaded & set(FIRST_USE), f"{module} imports {sorted(loaded & set(FIRST_USE))} at import time"
