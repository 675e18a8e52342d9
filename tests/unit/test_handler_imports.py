"""No module in handlers/ imports another module of handlers/: each Lambda function ships only its own file
(infra/lambda/Makefile), so what two handlers share lives in core/.

Reproduction (issue 11): handlers/openai_speech.py imported `stream_headers` from handlers.synthesize, and the
packaged OpenaiSpeechFunction failed with `ModuleNotFoundError: No module named 'handlers.synthesize'`.
Every form is caught, wherever it stands (module level, inside a function, under TYPE_CHECKING):
`from handlers.x import y`, `from handlers import x`, `import handlers.x`, relative imports (`from . import x`,
`from .x import y`) and `importlib.import_module("handlers.x")` / `__import__("handlers.x")` with a literal name.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = sorted(p for p in (ROOT / "handlers").glob("*.py") if p.name != "__init__.py")


def _names_handlers(name: str) -> bool:
    return name == "handlers" or name.startswith("handlers.")


def handler_imports(source: str) -> list[str]:
    """Each import of a handlers/ module in `source`, as `line N: <the statement>`."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            bad = node.level > 0 or _names_handlers(node.module or "")
        elif isinstance(node, ast.Import):
            bad = any(_names_handlers(alias.name) for alias in node.names)
        elif isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            first = node.args[0] if node.args else None
            literal = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else ""
            bad = called in ("import_module", "__import__") and (_names_handlers(literal) or literal.startswith("."))
        else:
            continue
        if bad:
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def test_there_are_handlers() -> None:
    assert {p.stem for p in HANDLERS} >= {"auth", "synthesize", "openai_speech"}


@pytest.mark.parametrize("path", HANDLERS, ids=lambda p: p.name)
def test_handler_imports_no_other_handler(path: Path) -> None:
    found = handler_imports(path.read_text())
    assert not found, f"handlers/{path.name} imports handlers/ (move what is shared into core/): {found}"


@pytest.mark.parametrize(
    "source",
    [
        "from handlers.synthesize import stream_headers",
        "from handlers import synthesize",
        "import handlers.synthesize as s",
        "import json, handlers",
        "from . import synthesize",
        "from .synthesize import stream_headers",
        "def f():\n    from handlers.audio import router\n",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from handlers.voices import router\n",
        "import importlib\nimportlib.import_module('handlers.audio')",
        "__import__('handlers.audio')",
    ],
)
def test_every_form_is_caught(source: str) -> None:
    assert handler_imports(source)


@pytest.mark.parametrize(
    "source", ["from core.responses import stream_headers", "import core.api", "import handlers_extra", "x = 1"]
)
def test_other_imports_pass(source: str) -> None:
    assert handler_imports(source) == []
