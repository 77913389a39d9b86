"""The store key a test expects for a generated_report row of a test database."""

from __future__ import annotations

import datetime as dt

from reporting_dagster.lib.operations import records
from reporting_dagster.lib.infra.installation import installation_token
from reporting_dagster.lib.infra.store import report_key


def expected_key(engine, organization_id: int, period: str, report_type: str, report_id: int, ext: str) -> str:
    """`period` is YYYY-MM; the token comes from this database's installation token."""
    year, month = (int(x) for x in period.split("-"))
    return report_key(organization_id, dt.date(year, month, 1), report_type, report_id, ext,
                      installation_token=installation_token(engine), created_at=records.created_at(engine, report_id))
