"""The renderer count follows the machine's (or container's) cores and memory."""

from pathlib import Path

from reporting_dagster.lib.infra import capacity, settings


def _cgroup(tmp_path: Path, **files: str) -> Path:
    for name, content in files.items():
        path = tmp_path / name.replace("__", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return tmp_path


def test_a_cpu_quota_bounds_the_cores(tmp_path):
    affinity = capacity.cores(tmp_path)  # no cgroup files: the affinity
    assert affinity >= 1
    assert capacity.cores(_cgroup(tmp_path / "v2", **{"cpu.max": "50000 100000"})) == 1  # half a core: one
    assert capacity.cores(_cgroup(tmp_path / "unl", **{"cpu.max": "max 100000"})) == affinity
    v1 = _cgroup(tmp_path / "v1", **{"cpu__cpu.cfs_quota_us": "-1", "cpu__cpu.cfs_period_us": "100000"})
    assert capacity.cores(v1) == affinity


def test_a_memory_limit_below_the_physical_memory_counts(tmp_path):
    physical = capacity.memory_bytes(tmp_path)
    assert capacity.memory_bytes(_cgroup(tmp_path / "v2", **{"memory.max": str(2 * 2**30)})) == 2 * 2**30
    assert capacity.memory_bytes(_cgroup(tmp_path / "max", **{"memory.max": "max"})) == physical
    huge = str(physical * 4)  # cgroup v1 "unlimited" is a huge number: the physical memory wins
    assert capacity.memory_bytes(_cgroup(tmp_path / "v1", **{"memory__memory.limit_in_bytes": huge})) == physical


def test_the_default_worker_count_is_the_cores_bounded_by_the_memory_budget(monkeypatch):
    for name in ("REPORTS_RENDER_WORKERS", "REPORTS_EXECUTOR", "REPORTS_EXECUTOR_MAX_CONCURRENT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(capacity, "cores", lambda: 8)
    monkeypatch.setattr(capacity, "memory_bytes", lambda: 4 * 2**30)  # 3 GiB usable at 75 %
    monkeypatch.setenv("REPORTS_RENDER_WORKER_MEMORY_MB", "1024")
    assert settings.render_workers() == 3
    monkeypatch.setenv("REPORTS_RENDER_WORKER_MEMORY_MB", "512")
    assert settings.render_workers() == 6
    monkeypatch.setattr(capacity, "memory_bytes", lambda: 64 * 2**30)
    assert settings.render_workers() == 8  # the cores bound it
    monkeypatch.setattr(capacity, "memory_bytes", lambda: 2**29)
    assert settings.render_workers() == 1  # never fewer than one
    monkeypatch.setattr(capacity, "memory_bytes", lambda: 4 * 2**30)
    monkeypatch.setenv("REPORTS_RENDER_WORKER_MEMORY_MB", "512")
    monkeypatch.setenv("REPORTS_EXECUTOR", "multiprocess")  # 8 steps at once (the cores) share the memory
    assert settings.render_workers() == 1
    monkeypatch.setenv("REPORTS_EXECUTOR_MAX_CONCURRENT", "2")  # 2 steps: 1.5 GiB each
    assert settings.render_workers() == 3
    monkeypatch.setenv("REPORTS_RENDER_WORKERS", "5")
    assert settings.render_workers() == 5  # an explicit count wins
