"""Command line: `python -m bench [NAME ...] [--quick] [--no-report] [--report] [--skip-full-depth]`.

- No NAME: runs every benchmark (bench.BENCHMARKS), each in its own fresh process (so one's models
  and imports never weigh on the next), then renders BENCHMARKS.md from bench/results/ (a `--quick`
  or `--smoke` run renders it only with `--report`, so small sizes never replace the full figures).
- NAME ...: runs those benchmarks in this process, prints their tables, writes bench/results/NAME.json.
- `--quick`: small sizes (all benchmarks in about 3 minutes); `--smoke`: tiny sizes, for the test
  that the harness works. `--skip-full-depth`: no full-size Chatterbox load in the memory benchmark.
A benchmark that fails still writes its result file, with the error in its diagnostics.
`-h` / `--help` prints this text; an unknown flag or NAME is refused (exit 2) before anything runs.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import time
import traceback

from bench import BENCHMARKS, PYTHON, ROOT
from bench.machine import code_version, machine_info
from bench.results import Result, parse_profile, print_result, save


def run_one(name: str, argv: list[str]) -> bool:
    profile = parse_profile(argv)
    load_before = [round(x, 2) for x in os.getloadavg()]
    version = code_version()
    started = time.perf_counter()
    try:
        module = importlib.import_module(f"bench.{name}")
        result: Result = module.run(profile)
        ok = True
    except Exception:
        result = Result(name, name, profile.name)
        result.diagnostics.append("FAILED:\n" + traceback.format_exc()[-4000:])
        ok = False
    result.duration_s = time.perf_counter() - started
    result.params["machine"] = machine_info()
    result.params["code"] = version
    result.params["load_avg_1_5_15_min"] = {"before": load_before, "after": [round(x, 2) for x in os.getloadavg()]}
    print_result(result)
    path = save(result)
    print(f"  -> {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return ok


FLAGS = frozenset({"--quick", "--smoke", "--report", "--no-report", "--skip-full-depth"})


def main(argv: list[str]) -> int:
    if {"-h", "--help"} & set(argv):
        print(__doc__)
        return 0
    names = [a for a in argv if not a.startswith("-")]
    flags = [a for a in argv if a.startswith("-")]
    if bad := sorted(set(flags) - FLAGS):
        print(f"unknown flag(s) {bad}; known: {', '.join(sorted(FLAGS))} (see --help)", file=sys.stderr)
        return 2
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    if names:
        return 0 if all([run_one(name, flags) for name in names]) else 1
    failed: list[str] = []
    started = time.perf_counter()
    for name in BENCHMARKS:
        print(f"\n### {name}", flush=True)
        if subprocess.run([PYTHON, "-m", "bench", name, *flags], cwd=ROOT, check=False).returncode != 0:
            failed.append(name)
    print(f"\nall benchmarks: {time.perf_counter() - started:.0f} s; failed: {', '.join(failed) or 'none'}")
    full = not ({"--quick", "--smoke"} & set(flags))
    if "--no-report" not in flags and (full or "--report" in flags):
        from bench import report

        print(f"report -> {report.render(command=' '.join(['python -m bench', *flags]).strip())}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
