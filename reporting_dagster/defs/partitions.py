"""`billing_period`: monthly partitions of completed months (the newest is the month just ended)."""

import dagster as dg

billing_period = dg.MonthlyPartitionsDefinition(
    start_date="2024-01",
    fmt="%Y-%m",
    end_offset=0,  # only months whose end has passed: the current month is not a key yet
)
