"""Which Dagster runs a pending row's run key already has (lib/requests/queue.run_key).

The request sensor launches only keys without a run (a key with one cannot start again: the
daemon drops it), and the reaper fails a pending row only when the run of its current key
has finished without taking it. Runs carry the key in the RUN_KEY_TAG tag.
"""

from collections.abc import Iterable

import dagster as dg

from reporting_dagster.lib.requests.queue import RUN_KEY_TAG

FINISHED = frozenset({dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED})
_CHUNK = 100  # keys per query


def runs_by_key(instance: dg.DagsterInstance, keys: Iterable[str]) -> dict[str, list[dg.DagsterRun]]:
    """key → the runs tagged with it (only keys that have some)."""
    wanted = sorted(set(keys))
    found: dict[str, list[dg.DagsterRun]] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start:start + _CHUNK]
        for run in instance.get_runs(filters=dg.RunsFilter(tags={RUN_KEY_TAG: chunk})):
            found.setdefault(run.tags[RUN_KEY_TAG], []).append(run)
    return found
