"""Cases, their variants and targets, and the interleaved runs that measure them.

A `Case` has variants: the first is ours, the others are baselines implemented in `bench/`.
Each repetition runs every variant once, in order (A, B, C, A, B, C, ...), so a slow moment of
the machine hits every variant alike; figures are medians (min and max kept). Ratios compare
medians of the same run. `Target`s are the issue's acceptance figures, checked and printed.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHILD_TIMEOUT_SECONDS = 3600


@dataclass(frozen=True)
class Variant:
    name: str
    target: str  # "module:function", see bench/child.py
    args: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Target:
    """`metric` of ours (or ours ÷ `baseline`'s when `baseline` is set) `op` `value`."""

    metric: str  # seconds | units_per_s | peak_rss_mb | cpu_utilisation | time_ratio | speed_ratio
    op: str  # ">=" | "<="
    value: float
    baseline: str | None = None

    def describe(self) -> str:
        against = f" vs {self.baseline}" if self.baseline else ""
        return f"{self.metric}{against} {self.op} {self.value:g}"

    def check(self, measured: float) -> bool:
        return measured >= self.value if self.op == ">=" else measured <= self.value


@dataclass(frozen=True)
class Case:
    name: str
    unit: str
    variants: tuple[Variant, ...]
    targets: tuple[Target, ...] = ()
    repeat: int | None = None  # None: the run's --repeat
    note: str = ""


@dataclass
class Size:
    heavy: bool = False
    _databases: dict[str, str] = field(default_factory=dict)

    def database_url(self, name: str, options: Any) -> str:
        """A database seeded with `options` (a demo_seed.SeedOptions), created once per run."""
        if name not in self._databases:
            from bench.databases import seeded_database

            self._databases[name] = seeded_database(name, options)
        return self._databases[name]


def run_child(variant: Variant) -> dict[str, Any]:
    spec = json.dumps({"target": variant.target, "args": variant.args})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           **variant.env}
    try:
        done = subprocess.run([sys.executable, "-m", "bench.child", spec], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=CHILD_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        return {"error": f"no result within {CHILD_TIMEOUT_SECONDS}s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("BENCH-RESULT ")]
    if not lines:
        return {"error": f"exit {done.returncode}: {(done.stderr or done.stdout)[-1500:]}"}
    result = json.loads(lines[-1].removeprefix("BENCH-RESULT "))
    if "units" in result and result.get("seconds"):
        result["units_per_s"] = result["units"] / result["seconds"]
    return result


def _median(runs: list[dict[str, Any]], metric: str) -> float | None:
    values = [r[metric] for r in runs if isinstance(r.get(metric), (int, float))]
    return statistics.median(values) if values else None


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in runs if "error" not in r]
    summary: dict[str, Any] = {"runs": len(runs), "failed": len(runs) - len(ok)}
    for metric in ("seconds", "units", "units_per_s", "cpu_utilisation", "peak_rss_mb", "rss_before_mb"):
        summary[metric] = _median(ok, metric)
    seconds = [r["seconds"] for r in ok]
    if seconds:
        summary["seconds_min"], summary["seconds_max"] = min(seconds), max(seconds)
        summary["peak_rss_mb_max"] = max(r["peak_rss_mb"] for r in ok)
    return summary


def measured(case_result: dict[str, Any], target: Target) -> float | None:
    ours = case_result["variants"][0]["summary"]
    if target.baseline is None:
        return ours.get(target.metric)
    base = next((v["summary"] for v in case_result["variants"] if v["name"] == target.baseline), None)
    if not base or not ours.get("seconds") or not base.get("seconds"):
        return None
    if target.metric == "time_ratio":  # ours' seconds ÷ the baseline's
        return ours["seconds"] / base["seconds"]
    if target.metric == "speed_ratio":  # ours' units per second ÷ the baseline's
        return (ours["units_per_s"] or 0) / base["units_per_s"] if base.get("units_per_s") else None
    raise ValueError(f"unknown ratio metric {target.metric!r}")


def run_case(case: Case, repeat: int, log: Callable[[str], None] = print) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {v.name: [] for v in case.variants}
    for rep in range(case.repeat or repeat):
        for variant in case.variants:
            result = run_child(variant)
            runs[variant.name].append(result)
            shown = [line for line in result.get("error", "").strip().splitlines()
                     if line.strip() and not line.startswith("(Background")][-1:] if "error" in result else None
            log(f"    {case.name} [{rep + 1}] {variant.name}: "
                + (f"FAILED {shown[0] if shown else ''}" if shown is not None else
                   f"{result['seconds']:.2f}s, cpu {result['cpu_utilisation']:.2f}, {result['peak_rss_mb']:.0f} MB"))
    out = {"name": case.name, "unit": case.unit, "note": case.note,
           "variants": [{"name": v.name, "target": v.target, "args": v.args, "runs": runs[v.name],
                         "summary": summarize(runs[v.name])} for v in case.variants]}
    out["targets"] = [{"target": t.describe(), "measured": (m := measured(out, t)),
                       "passed": m is not None and t.check(m)} for t in case.targets]
    return out


def _fmt(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.{digits}f}"


def report(results: list[dict[str, Any]]) -> str:
    lines = []
    for case in results:
        lines.append(f"\n{case['name']} ({case['unit']}){' — ' + case['note'] if case['note'] else ''}")
        lines.append(f"  {'variant':28s} {'median s':>9s} {'min s':>8s} {'max s':>8s} {case['unit'] + '/s':>12s} "
                     f"{'cpu':>5s} {'peak MB':>8s} {'runs':>5s}")
        ours = case["variants"][0]["summary"]
        for v in case["variants"]:
            s = v["summary"]
            lines.append(f"  {v['name']:28s} {_fmt(s['seconds']):>9s} {_fmt(s.get('seconds_min')):>8s} "
                         f"{_fmt(s.get('seconds_max')):>8s} {_fmt(s['units_per_s'], 1):>12s} "
                         f"{_fmt(s['cpu_utilisation']):>5s} {_fmt(s.get('peak_rss_mb_max')):>8s} "
                         f"{s['runs'] - s['failed']}/{s['runs']}")
        for v in case["variants"][1:]:
            s = v["summary"]
            if ours.get("seconds") and s.get("seconds"):
                lines.append(f"  ours ÷ {v['name']}: time {ours['seconds'] / s['seconds']:.2f}×"
                             + (f", speed {ours['units_per_s'] / s['units_per_s']:.2f}×" if s.get("units_per_s") else ""))
        for t in case["targets"]:
            lines.append(f"  target {t['target']}: {_fmt(t['measured'])} {'PASS' if t['passed'] else 'FAIL'}")
        for v in case["variants"]:
            for r in v["runs"]:
                if "error" in r:
                    lines.append(f"  error in {v['name']}: {r['error'].strip()[-600:]}")
                    break
    return "\n".join(lines)


def compare(results: list[dict[str, Any]], earlier: dict[str, Any]) -> str:
    """Ours' median seconds now vs in an earlier results file, case by case."""
    before = {c["name"]: c["variants"][0]["summary"] for c in earlier.get("cases", [])}
    lines = [f"\ncompared with {earlier.get('commit', '?')} ({earlier.get('started_at', '?')}):"]
    for case in results:
        old, new = before.get(case["name"]), case["variants"][0]["summary"]
        if old and old.get("seconds") and new.get("seconds"):
            lines.append(f"  {case['name']:32s} {old['seconds']:9.2f}s -> {new['seconds']:9.2f}s "
                         f"({new['seconds'] / old['seconds']:.2f}×)")
    return "\n".join(lines)
