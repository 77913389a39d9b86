"""A month's timesheet document with a chosen number of detail rows, made in memory.

The rows come from the real rules and builder (`lib/rules/timesheet.timesheet`, group_by=all, and
`lib/documents/reports/timesheet.build_document`), fed with entries shaped like the demo seed's:
a member logs on every weekday of the month on two projects, so one member gives about 44
member × project × date rows. Deterministic: the same `rows` give the same document.
"""

from __future__ import annotations

import datetime as dt
import random

import pandas as pd

from reporting_dagster.lib.documents.reports.common import ReportContext
from reporting_dagster.lib.documents.reports.timesheet import build_document
from reporting_dagster.lib.infra.periods import BillingPeriod
from reporting_dagster.lib.render.document import Branding, ReportDocument, Sections
from reporting_dagster.lib.rules.timesheet import ALL, timesheet

FIRST = ("James", "Maria", "Robert", "Aisha", "David", "Jennifer", "Carlos", "Emily", "Jürgen", "Anna",
         "Lukas", "Sophie", "Thabo", "Anika", "Sipho", "Naledi")
LAST = ("Carter", "Gonzalez", "Nguyen", "Johnson", "Patel", "O'Brien", "Müller", "Schröder", "Fischer",
        "van der Merwe", "Dlamini", "Botha", "Mokoena", "Naidoo")
SITES = ("Karoo Ridge", "Harbour Point", "Blue Hills", "Westbank", "Nordsee Cluster", "Red Rock",
         "Silver Creek", "Eastfield", "Sunvalley", "Windhoek North", "Lakeside", "Granite Peak")
KINDS = ("Solar Farm", "Wind Park", "Substation Upgrade")
PERIOD = BillingPeriod(1, "October 2026", dt.date(2026, 10, 1), dt.date(2026, 10, 31))
GENERATED_AT = dt.datetime(2026, 11, 1, 6, 0, tzinfo=dt.timezone.utc)


def entries(rows: int, seed: int = 7) -> pd.DataFrame:
    """Time entries of one organization giving exactly `rows` member × project × date rows."""
    rng = random.Random(seed)
    days = [PERIOD.start_date + dt.timedelta(days=i) for i in range(31)]
    weekdays = [d for d in days if d.weekday() < 5]
    projects = [(i + 1, f"{SITES[i % len(SITES)]} {KINDS[i % len(KINDS)]}") for i in range(12)]
    out = []
    member = 0
    while len(out) < rows:
        member += 1
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        mine = rng.sample(projects, 2)
        for day in weekdays:
            for project_id, project_name in mine:
                if len(out) >= rows:
                    break
                out.append({
                    "entry_id": len(out) + 1, "organization_id": 1, "member_organization_id": 1,
                    "member_id": member, "member_name": name, "member_email": f"m{member}@example.org",
                    "task_id": project_id * 10, "task_name": "Field work", "project_id": project_id,
                    "project_name": project_name, "entry_date": day,
                    "duration_minutes": 15 * int(rng.triangular(2, 32, 16)), "billable": rng.random() < 0.8,
                })
    return pd.DataFrame(out)


def document(rows: int, sections: Sections | None = None) -> ReportDocument:
    """The monthly pack's timesheet document (all groupings plus `rows` detail rows)."""
    result = timesheet(entries(rows), PERIOD.start_date, PERIOD.end_date, group_by=ALL)
    ctx = ReportContext(organization_id=1, organization_name="Helios Energy", period=PERIOD,
                        generated_at=GENERATED_AT, branding=Branding(brand_color="#0B6E4F"),
                        sections=sections or Sections())
    return build_document(result.for_organization(1), ctx)
