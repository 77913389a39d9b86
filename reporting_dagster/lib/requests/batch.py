"""Several pending rows in one generate_report run when the queue is backed up.

A run costs seconds before its first row is touched: the daemon launches runs one after the
other, and each run's process imports the whole code location (bench/requests.py measures
it) — against a fraction of a second of work for a typical request. So when more rows wait
than runs may run at once, each run takes up to `batch_size()` rows; a short queue still gets
a run per row, so a lone request starts at once and never waits behind others.

Every row of a batch keeps its own lifecycle (lib/requests/run.py: claimed, completed and
failed on its own, one failure never touching the others); the run carries each row's run key
in a tag of its own (`run_key_tags`), so the sensor, the reaper and the run-failure sensor
judge each row by its own key exactly as for a run of one.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from typing import TypeVar

from reporting_dagster.lib.infra.env import env_number
from reporting_dagster.lib.requests.queue import RUN_KEY_TAG

BATCH_VARIABLE = "REPORTS_REQUEST_BATCH"
MAX_BATCH = 10  # rows per run at most: a run key tag per row, and every lookup asks each slot
DEFAULT_BATCH = 10
SPREAD = 4  # up to this many rows get a run each (the requests' share of the run queue, dagster.yaml)
REPORT_IDS_TAG = "generated_report_ids"  # on a batch run: its rows, comma-separated

T = TypeVar("T")


def batch_size() -> int:
    """`REPORTS_REQUEST_BATCH`: rows per run at most when the queue is backed up (1: a run per row)."""
    size = int(env_number(BATCH_VARIABLE, DEFAULT_BATCH, integer=True, minimum=1))
    if size > MAX_BATCH:
        raise ValueError(f"{BATCH_VARIABLE}={size}: at most {MAX_BATCH} rows per run")
    return size


def groups(rows: Sequence[T], size: int, spread: int = SPREAD) -> list[list[T]]:
    """Rows in order, cut into runs: one run per row up to `spread` rows, else as few runs of at
    most `size` rows as hold them (never fewer than `spread`), as even as possible."""
    if not rows:
        return []
    runs = max(min(len(rows), spread), math.ceil(len(rows) / size))
    base, extra = divmod(len(rows), runs)
    out, start = [], 0
    for i in range(runs):
        end = start + base + (1 if i < extra else 0)
        out.append(list(rows[start:end]))
        start = end
    return out


def key_tag(slot: int) -> str:
    """The tag holding the run key of a run's row number `slot` (the first: RUN_KEY_TAG, as for a run of one)."""
    return RUN_KEY_TAG if slot == 0 else f"{RUN_KEY_TAG}.{slot}"


KEY_TAGS = tuple(key_tag(slot) for slot in range(MAX_BATCH))


def run_key_tags(keys: Sequence[str]) -> dict[str, str]:
    if not 1 <= len(keys) <= MAX_BATCH:
        raise ValueError(f"{len(keys)} rows in one run: 1 to {MAX_BATCH}")
    return {key_tag(slot): key for slot, key in enumerate(keys)}


def keys_of(tags: Mapping[str, str]) -> list[str]:
    """The run keys a run was launched for (one for a run of one row)."""
    return [tags[t] for t in KEY_TAGS if t in tags]


def batch_run_key(keys: Sequence[str]) -> str:
    """The sensor's run key of a batch: the same rows in the same states give the same key."""
    digest = hashlib.sha256("\n".join(keys).encode()).hexdigest()[:20]
    return f"generated_report-batch-{len(keys)}-{digest}"


def report_ids_of(tags: Mapping[str, str]) -> list[int]:
    """The rows a run was launched for: its batch's, or its one `generated_report_id`; [] if neither."""
    text = tags.get(REPORT_IDS_TAG) or tags.get("generated_report_id") or ""
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        return []
