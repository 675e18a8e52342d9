"""The benchmark harness runs end to end at tiny sizes and renders its report (no timing is asserted).

`python -m bench growth --smoke` starts the local server, an engine worker and the sqlite fixtures,
and writes a result; bench.report renders it. The statistics helpers are checked on exact inputs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.stats import linear_fit, percentile
from bench.texts import text_of_length

ROOT = Path(__file__).resolve().parents[2]


def test_statistics_helpers() -> None:
    slope, intercept, r2 = linear_fit([1.0, 2.0, 3.0], [3.0, 5.0, 7.0])
    assert (slope, intercept, r2) == pytest.approx((2.0, 1.0, 1.0))
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0
    assert percentile([0.0, 10.0], 99) == pytest.approx(9.9)


@pytest.mark.parametrize("chars", [2, 100, 2000, 5000])
def test_texts_have_the_requested_length(chars: int) -> None:
    text = text_of_length(chars)
    assert chars - 20 <= len(text) <= chars
    assert text.endswith(".")


@pytest.mark.slow
def test_harness_runs_and_reports(tmp_path: Path) -> None:
    env = {**os.environ, "BENCH_RESULTS_DIR": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-m", "bench", "growth", "--smoke"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    result = json.loads((tmp_path / "growth.json").read_text())
    assert result["profile"] == "smoke"
    assert result["figures"], result
    for figure in result["figures"]:
        assert figure["value"] > 0
        assert figure["passed"] in (True, False, None)
    report = tmp_path / "BENCHMARKS.md"
    code = (
        "from pathlib import Path; from bench import report; "
        f"report.render(command='python -m bench growth --smoke', output=Path({str(report)!r}))"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, timeout=60)
    text = report.read_text()
    assert "## Summary" in text
    assert "growth" in text


@pytest.mark.parametrize(
    ("argv", "code", "says"),
    [(["--help"], 0, "Command line"), (["-h"], 0, "--skip-full-depth"), (["--qiuck"], 2, "unknown flag")],
)
def test_the_command_line_answers_help_and_refuses_unknown_flags(argv: list[str], code: int, says: str) -> None:
    """Nothing is benchmarked: help and a mistyped flag answer at once (a typo used to start the full run)."""
    out = subprocess.run(
        [sys.executable, "-m", "bench", *argv], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == code, out.stderr
    assert says in out.stdout + out.stderr
