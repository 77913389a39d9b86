"""`billing_period`: monthly partitions of completed months (the newest is the month just ended).

The first month is `REPORTS_FIRST_BILLING_PERIOD` (default 2024-01, where the platform's
pre-seeded billing periods begin), so the grid offers no month that can only fail. A fixed
monthly time window rather than partitions derived from the billing_period table: schedules
built from the partitioned job, partition ranges in backfills and "the month that just
closed" all rely on a time window, and the platform keeps one billing period per month.
"""

import dagster as dg

from reporting_dagster.lib.infra.settings import first_billing_period

billing_period = dg.MonthlyPartitionsDefinition(
    start_date=first_billing_period(),
    fmt="%Y-%m",
    end_offset=0,  # only months whose end has passed: the current month is not a key yet
)


def monthly_check_specs(asset: str, checks: dict[str, str]) -> list[dg.AssetCheckSpec]:
    """Check specs partitioned like their asset, so every result names its month in the UI.

    Partitioned checks are a preview feature of Dagster 1.13; its PreviewWarning is silenced
    here, the one place that uses it (if a release drops it, only this function changes: the
    per-month outcome is also in each asset's materialization metadata)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return [dg.AssetCheckSpec(name, asset=asset, description=text, partitions_def=billing_period)
                for name, text in checks.items()]
