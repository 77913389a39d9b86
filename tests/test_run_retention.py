"""Run retention deletes finished runs before the cutoff and leaves newer ones alone."""

import dagster as dg

from reporting_dagster.defs.maintenance.run_retention import dagster_run_retention


@dg.op
def _noop() -> int:
    return 1


@dg.job
def _tiny():
    _noop()


def test_finished_runs_before_the_cutoff_are_deleted():
    with dg.instance_for_test() as instance:
        old = [_tiny.execute_in_process(instance=instance).run_id for _ in range(3)]
        keep_all = dagster_run_retention.execute_in_process(
            instance=instance, run_config={"ops": {"delete_old_runs": {"config": {"keep_days": 1}}}})
        assert keep_all.output_for_node("delete_old_runs") == 0
        assert all(instance.has_run(r) for r in old)
        purge = dagster_run_retention.execute_in_process(
            instance=instance, run_config={"ops": {"delete_old_runs": {"config": {"keep_days": 0, "batch": 2}}}})
        # the three tiny runs and the first retention run; never the run doing the deleting
        assert purge.output_for_node("delete_old_runs") == 4
        assert not any(instance.has_run(r) for r in old + [keep_all.run_id])
        assert instance.has_run(purge.run_id)
