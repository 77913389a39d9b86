"""`python -m bench` (what `make bench` runs); see bench/__init__.py."""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

from bench.harness import ROOT, Size, compare, report, run_case

AREAS = ("pdf", "extract", "formats", "requests", "pack")


def _commit() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True,
                               timeout=10).stdout.strip()
        return f"{sha}{'+dirty' if dirty else ''}" or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__)
    parser.add_argument("--heavy", action="store_true", help="the heavy month and the large sizes (tens of minutes)")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved repetitions per case (default 3)")
    parser.add_argument("--only", default="", help=f"comma-separated areas or case names ({', '.join(AREAS)})")
    parser.add_argument("--out", type=Path, help="results file (default .reporting/bench/<time>-<commit>.json)")
    parser.add_argument("--compare", type=Path, help="an earlier results file to compare ours' medians with")
    args = parser.parse_args(argv)
    wanted = {w.strip() for w in args.only.split(",") if w.strip()}
    size = Size(heavy=args.heavy)
    started = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    commit = _commit()
    print(f"bench at {commit}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}, "
          f"{'heavy' if args.heavy else 'default'} sizes, {args.repeat} interleaved repetitions", flush=True)
    results = []
    for area in AREAS:
        if wanted and not any(w == area or w.startswith(f"{area}_") for w in wanted):
            continue  # before cases(): building a case may seed its database
        try:
            module = importlib.import_module(f"bench.{area}")
        except ModuleNotFoundError as exc:
            if exc.name != f"bench.{area}":
                raise
            continue
        for case in module.cases(size):
            if wanted and area not in wanted and case.name not in wanted and not case.name.startswith(tuple(wanted)):
                continue
            print(f"  {case.name}: {len(case.variants)} variant(s) × {case.repeat or args.repeat}", flush=True)
            results.append(run_case(case, args.repeat, log=lambda line: print(line, flush=True)))
    document = {
        "commit": commit, "started_at": started.isoformat(),
        "finished_at": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "load_at_end": os.getloadavg()},
        "heavy": args.heavy, "repeat": args.repeat, "cases": results,
    }
    out = args.out or ROOT / ".reporting" / "bench" / f"{started:%Y%m%dT%H%M%S}-{commit}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=2, default=str), encoding="utf-8")
    print(report(results))
    if args.compare:
        print(compare(results, json.loads(args.compare.read_text(encoding="utf-8"))))
    failed = [t["target"] for c in results for t in c["targets"] if not t["passed"]]
    print(f"\nresults: {out}\ntargets: {sum(len(c['targets']) for c in results) - len(failed)} passed, "
          f"{len(failed)} not met{': ' + '; '.join(failed) if failed else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
