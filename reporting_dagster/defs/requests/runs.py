"""Which Dagster runs a pending row's run key already has (lib/requests/queue.run_key).

The request sensor launches only keys without a run (a key with one cannot start again: the
daemon drops it), and the reaper fails a pending row only when the run of its current key
has finished without taking it. A run carries the key of each of its rows in a tag of its own
(lib/requests/batch.py: RUN_KEY_TAG for the first, as for a run of one row).
"""

from collections.abc import Iterable

import dagster as dg

from reporting_dagster.lib.requests.batch import KEY_TAGS

FINISHED = frozenset({dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED})
_CHUNK = 100  # keys per query


def runs_by_key(instance: dg.DagsterInstance, keys: Iterable[str]) -> dict[str, list[dg.DagsterRun]]:
    """key → the runs tagged with it, newest first (only keys that have some)."""
    wanted = sorted(set(keys))
    found: dict[str, dict[str, dg.DagsterRun]] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start:start + _CHUNK]
        for tag in KEY_TAGS:
            for run in instance.get_runs(filters=dg.RunsFilter(tags={tag: chunk})):
                found.setdefault(run.tags[tag], {})[run.run_id] = run
    return {key: _newest_first(instance, runs) for key, runs in found.items()}


def _newest_first(instance: dg.DagsterInstance, runs: dict[str, dg.DagsterRun]) -> list[dg.DagsterRun]:
    if len(runs) == 1:
        return list(runs.values())
    records = instance.get_run_records(filters=dg.RunsFilter(run_ids=list(runs)))
    return [r.dagster_run for r in sorted(records, key=lambda r: r.create_timestamp, reverse=True)]
