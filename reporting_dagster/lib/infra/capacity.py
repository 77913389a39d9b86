"""What this machine (or container) offers the renderers: usable cores and memory.

A container's limits count, not the host's: the CPU quota (cgroup v2 `cpu.max`, v1
`cpu.cfs_quota_us`) and the CPU affinity bound the cores; the cgroup memory limit (v2
`memory.max`, v1 `memory.limit_in_bytes`) bounds the memory, else the physical memory.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None


def _cpu_quota(root: Path = CGROUP) -> float | None:
    v2 = _read(root / "cpu.max")
    if v2:
        quota, _, period = v2.partition(" ")
        if quota != "max" and quota.isdigit() and period.isdigit() and int(period):
            return int(quota) / int(period)
        return None
    quota, period = _read(root / "cpu" / "cpu.cfs_quota_us"), _read(root / "cpu" / "cpu.cfs_period_us")
    if quota and period and quota.lstrip("-").isdigit() and period.isdigit() and int(quota) > 0 and int(period):
        return int(quota) / int(period)
    return None


def cores(root: Path = CGROUP) -> int:
    """Cores this process may use: its affinity, bounded by a CPU quota (rounded up)."""
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count() or 1
    quota = _cpu_quota(root)
    if quota:
        usable = min(usable, max(1, math.ceil(quota)))
    return max(1, usable)


def memory_bytes(root: Path = CGROUP) -> int:
    """Memory this process's container may use: the cgroup limit, else the physical memory."""
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for limit in (_read(root / "memory.max"), _read(root / "memory" / "memory.limit_in_bytes")):
        if limit and limit.isdigit() and 0 < int(limit) < physical:
            return int(limit)
    return physical
