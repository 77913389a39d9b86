"""One measurement in its own process: `python -m bench.child '<json spec>'`.

The spec names `target` ("module:function") and its `args`. `target(**args)` does its setup and
returns the callable to time; that callable returns a dict with at least {"units": n}. Printed on
the last line, after `BENCH-RESULT `: seconds, CPU seconds of this process and every process it
started (sampled every 50 ms, so a worker that ends between two samples loses at most that
slice), peak RSS of the process tree and of this process alone, and the RSS before the timed part.
"""

from __future__ import annotations

import gc
import importlib
import json
import resource
import sys
import threading
import time
import traceback

import psutil

SAMPLE_SECONDS = 0.05


class TreeSampler(threading.Thread):
    """CPU and RSS of this process and all its descendants, sampled until stopped."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.me = psutil.Process()
        self.cpu: dict[int, float] = {}
        self.cpu_start: dict[int, float] = {}
        self.peak_tree_rss = 0
        self.stop_event = threading.Event()

    def sample(self) -> None:
        processes = [self.me]
        try:
            processes += self.me.children(recursive=True)
        except psutil.Error:
            pass
        total_rss = 0
        for p in processes:
            try:
                with p.oneshot():
                    times = p.cpu_times()
                    total_rss += p.memory_info().rss
            except psutil.Error:
                continue
            used = times.user + times.system
            self.cpu_start.setdefault(p.pid, used if p.pid == self.me.pid else 0.0)
            self.cpu[p.pid] = used
        self.peak_tree_rss = max(self.peak_tree_rss, total_rss)

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.sample()
            self.stop_event.wait(SAMPLE_SECONDS)

    def finish(self) -> float:
        self.stop_event.set()
        self.join()
        self.sample()
        return sum(self.cpu[pid] - self.cpu_start.get(pid, 0.0) for pid in self.cpu)


def measure(spec: dict) -> dict:
    module, _, function = spec["target"].partition(":")
    timed = getattr(importlib.import_module(module), function)(**spec.get("args", {}))
    gc.collect()
    rss_before = psutil.Process().memory_info().rss
    sampler = TreeSampler()
    sampler.sample()
    sampler.start()
    started = time.perf_counter()
    outcome = timed() or {}
    seconds = time.perf_counter() - started
    cpu_seconds = sampler.finish()
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    return {
        **{k: v for k, v in outcome.items() if isinstance(v, (int, float, str, bool))},
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "cpu_utilisation": cpu_seconds / seconds if seconds else 0.0,
        "peak_rss_mb": max(sampler.peak_tree_rss, peak_self) / 2**20,
        "peak_self_rss_mb": peak_self / 2**20,
        "rss_before_mb": rss_before / 2**20,
    }


def main() -> int:
    spec = json.loads(sys.argv[1])
    try:
        result = measure(spec)
    except Exception:  # noqa: BLE001 - reported to the harness, which shows it
        result = {"error": traceback.format_exc(limit=8)[-2000:]}
    sys.stdout.flush()
    print("BENCH-RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
