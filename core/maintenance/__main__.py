"""Command line: `python -m core.maintenance sweep [--dry-run] [--grace-minutes N]`.

Contract: runs one sweep (see `core.maintenance`) against the store and blobs that Settings configure
(the same environment as the server), prints its report as one JSON object on stdout and exits 0;
a storage failure exits 1 with the message on stderr. Grace defaults to SWEEP_GRACE_MINUTES; a grace of
0 also removes writes in flight, so use it only while no server runs.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from core import runtime
from core.config import get_settings
from core.errors import AppError
from core.maintenance import sweep


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.maintenance", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("sweep", help="remove orphan partitions, stale .tmp files and unreferenced blobs")
    run.add_argument("--dry-run", action="store_true", help="report what would be removed, remove nothing")
    run.add_argument("--grace-minutes", type=float, default=None, help="spare blobs younger than this")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    grace = args.grace_minutes if args.grace_minutes is not None else get_settings().sweep_grace_minutes
    if grace < 0:
        parser.error("--grace-minutes must be >= 0")
    try:
        report = sweep(runtime.store(), runtime.blobs(), grace_s=grace * 60, dry_run=args.dry_run)
    except AppError as exc:
        print(f"sweep failed: {exc.message}", file=sys.stderr)
        return 1
    print(json.dumps(report.as_dict(), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
