"""Benchmarks of the TTS API, each against a baseline measured in the same run.

Run all: `.venv/bin/python -m bench` (about 15 minutes on 2 cores; `--quick` about 3), or one:
`.venv/bin/python -m bench <name>`. Each benchmark prints a table and writes
`bench/results/<name>.json`; `bench.report` renders BENCHMARKS.md from those files.
Nothing here is imported by the product code, and nothing here is a timed test.
"""

from __future__ import annotations

BENCHMARKS = ("cold_start", "api_overhead", "synthesis", "chatterbox_voice", "growth", "memory", "abuse_memory")
