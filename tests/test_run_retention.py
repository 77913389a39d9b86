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


@dg.asset(partitions_def=dg.MonthlyPartitionsDefinition(start_date="2024-01", fmt="%Y-%m"))
def _monthly_thing() -> int:
    return 1


def test_asset_runs_and_their_materializations_survive():
    """A run of the monthly pack is the partition's history: deleting it would make the month look
    never materialized. Everything older than 0 days is past the cutoff here."""
    with dg.instance_for_test() as instance:
        pack = dg.materialize([_monthly_thing], partition_key="2024-11", instance=instance)
        request = _tiny.execute_in_process(instance=instance)
        purge = dagster_run_retention.execute_in_process(
            instance=instance, run_config={"ops": {"delete_old_runs": {"config": {"keep_days": 0, "batch": 1}}}})
        assert purge.output_for_node("delete_old_runs") == 1
        assert not instance.has_run(request.run_id)
        assert instance.has_run(pack.run_id)
        event = instance.get_latest_materialization_event(_monthly_thing.key)
        assert event is not None and event.run_id == pack.run_id
        assert instance.get_materialized_partitions(_monthly_thing.key) == {"2024-11"}
