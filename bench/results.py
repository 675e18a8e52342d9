"""Run profiles and results of the benchmarks: what a run measured, saved as JSON and printed.

Contract:
- `Profile` picks a size per run mode: "full" (the documented run), "quick" (`--quick`, ~3 minutes
  for all) and "smoke" (tiny: only proves the harness runs; used by tests/unit/test_bench_smoke.py).
- A benchmark builds a `Result` of `Figure`s (value, baseline, ratio, bar, PASS/MISS) and `Table`s,
  prints it (`print_result`) and saves it as JSON under `results_dir()` (`BENCH_RESULTS_DIR` or
  bench/results/); `load` reads one back (bench/report.py renders BENCHMARKS.md from them).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

from bench import ROOT

ProfileName = Literal["full", "quick", "smoke"]


T = TypeVar("T")


@dataclass(frozen=True)
class Profile:
    name: ProfileName = "full"
    flags: frozenset[str] = frozenset()  # extra command-line switches, e.g. "--skip-full-depth"

    def pick(self, full: T, quick: T, smoke: T) -> T:
        return {"full": full, "quick": quick, "smoke": smoke}[self.name]


def parse_profile(argv: Sequence[str]) -> Profile:
    flags = frozenset(a for a in argv if a.startswith("--"))
    if "--smoke" in flags:
        return Profile("smoke", flags)
    if "--quick" in flags:
        return Profile("quick", flags)
    return Profile("full", flags)


@dataclass
class Figure:
    """One measured figure next to its baseline. `passed` is None for figures without a bar."""

    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    ratio: float | None = None
    bar: str = ""
    passed: bool | None = None
    note: str = ""


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Any]]


@dataclass
class Result:
    name: str
    title: str
    profile: str
    started: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))
    duration_s: float = 0.0
    params: dict[str, Any] = field(default_factory=dict)
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    diagnostics: list[str] = field(default_factory=list)


def results_dir() -> Path:
    env = os.environ.get("BENCH_RESULTS_DIR")
    path = Path(env) if env else ROOT / "bench" / "results"
    path.mkdir(parents=True, exist_ok=True)
    return path


def ratio(value: float, baseline: float) -> float:
    return value / baseline if baseline else math.inf


def save(result: Result) -> Path:
    path = results_dir() / f"{result.name}.json"
    path.write_text(json.dumps(asdict(result), indent=2, default=str) + "\n")
    return path


def load(path: Path) -> Result:
    data = json.loads(path.read_text())
    data["figures"] = [Figure(**f) for f in data.get("figures", [])]
    data["tables"] = [Table(**t) for t in data.get("tables", [])]
    return Result(**data)


def verdict(passed: bool | None) -> str:
    return "—" if passed is None else ("PASS" if passed else "MISS")


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if math.isinf(value) or math.isnan(value):
            return str(value)
        magnitude = abs(value)
        if magnitude >= 1000:
            return f"{value:,.0f}"
        if magnitude >= 100:
            return f"{value:.1f}"
        return f"{value:.{digits}g}" if magnitude < 1 else f"{value:.{digits - 1}f}"
    return str(value)


def print_result(result: Result) -> None:
    print(f"\n== {result.title} [{result.profile}] ({result.duration_s:.0f} s)")
    for table in result.tables:
        print_table(table)
    if result.figures:
        print_table(
            Table(
                "figures",
                ["figure", "value", "baseline", "ratio", "bar", "verdict"],
                [
                    [
                        f.name,
                        f"{fmt(f.value)} {f.unit}",
                        f"{fmt(f.baseline)} ({f.baseline_name})" if f.baseline is not None else "—",
                        fmt(f.ratio),
                        f.bar or "—",
                        verdict(f.passed),
                    ]
                    for f in result.figures
                ],
            )
        )
    for note in result.notes + result.diagnostics:
        print(f"  * {note}")


def print_table(table: Table) -> None:
    cells = [[str(c) for c in table.columns]] + [[fmt(c) for c in row] for row in table.rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(table.columns))]
    print(f"-- {table.title}")
    for index, row in enumerate(cells):
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            print("  " + "  ".join("-" * width for width in widths))
