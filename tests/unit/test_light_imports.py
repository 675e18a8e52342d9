"""Light Lambda handlers must not import heavy engines at import time (cold start), and the project's
own modules are imported at the top unless that would load a heavy library at import.

Each handler module is imported in a fresh interpreter, then sys.modules is inspected. Every import of a
project module inside a function (core/, handlers/, local_server.py) is found by parsing the sources;
the imported module, loaded alone in a fresh interpreter, must load one of HEAVY or FIRST_USE (that is
why it waits for first use), or be listed in LAZY_FOR_CYCLES with the import cycle it breaks.
"""

from __future__ import annotations

import ast
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


LAZY_FOR_CYCLES = {
    ("core.config", "core.edge.proxies"): "core.edge reads Settings at import",
    ("core.config", "core.edge.cors"): "core.edge reads Settings at import",
    ("core.config", "core.secrets"): "core.secrets imports core.config",
}


def _is_module(name: str) -> bool:
    path = ROOT / name.replace(".", "/")
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        subs = [f"{node.module}.{alias.name}" for alias in node.names]
        return [sub if _is_module(sub) else node.module for sub in subs]
    return []


def lazy_imports() -> set[tuple[str, str]]:
    """(module, project module it imports inside a function) across core/, handlers/ and local_server.py."""
    found: set[tuple[str, str]] = set()
    for path in [*ROOT.glob("core/**/*.py"), *ROOT.glob("handlers/*.py"), ROOT / "local_server.py"]:
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for func in ast.walk(ast.parse(path.read_text())):
            if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                for node in ast.walk(func):
                    found |= {(module, name) for name in _imported(node) if name.split(".")[0] in ("core", "handlers")}
    return found


def test_the_parser_finds_imports_inside_functions() -> None:
    assert ("core.services.voices", "core.tts.codecs") in lazy_imports()
    assert ("core.config", "core.edge.proxies") in lazy_imports()


def test_project_modules_are_imported_inside_functions_only_to_keep_a_heavy_library_out() -> None:
    lazy = lazy_imports()
    assert set(LAZY_FOR_CYCLES) <= lazy, f"stale LAZY_FOR_CYCLES entries: {sorted(set(LAZY_FOR_CYCLES) - lazy)}"
    code = "import importlib, json, sys; importlib.import_module(sys.argv[1]); print(json.dumps(sorted(sys.modules)))"
    for target in sorted({name for pair, name in ((p, p[1]) for p in lazy) if pair not in LAZY_FOR_CYCLES}):
        out = subprocess.run([sys.executable, "-c", code, target], cwd=ROOT, capture_output=True, text=True, check=True)
        loaded = {name.split(".")[0] for name in json.loads(out.stdout.strip().splitlines()[-1])}
        importers = sorted(module for module, name in lazy if name == target)
        assert loaded & {*HEAVY, *FIRST_USE}, (
            f"{importers} import {target} inside a function, but it loads no heavy library: import it at the top"
        )
