"""Benchmarks of the TTS API, each against a baseline measured in the same run.

Run all: `.venv/bin/python -m bench` (about 15 minutes on 2 cores; `--quick` about 3), or one:
`.venv/bin/python -m bench <name>`. Each benchmark prints a table and writes
`bench/results/<name>.json`; `bench.report` renders BENCHMARKS.md from those files.
Nothing here is imported by the product code, and nothing here is a timed test. The shared pieces:
bench/results.py (profiles, results), bench/stats.py, bench/machine.py (machine facts, RSS),
bench/servers.py (server processes), bench/loadgen.py (load generation); users come from the one user
factory, tests/support/users.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the repository
PYTHON = sys.executable  # the interpreter that runs the benchmarks and their subprocesses
BENCHMARKS = (
    "cold_start",
    "api_overhead",
    "synthesis",
    "chatterbox_voice",
    "growth",
    "memory",
    "abuse_memory",
    "export_memory",
)
