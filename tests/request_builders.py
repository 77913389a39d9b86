"""Platform rows for the request tests: invoices, time entries, templates, schedules, requests."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import sqlalchemy as sa

from tests.listing_builders import ListingPlatform
from tests.time_builders import TimePlatform

D = Decimal
CANARY = "CANARY-7731"


class RequestPlatform(ListingPlatform, TimePlatform):
    def request(self, org_id: int, report_type: str, file_format: str = "csv", **values) -> int:
        if "parameters" in values:
            values["parameters"] = json.dumps(values["parameters"])
        with self.engine.begin() as conn:
            cols = ["organization_id", "report_type", "file_format", "generation_source", "name", *values]
            row = {"organization_id": org_id, "report_type": report_type, "file_format": file_format,
                   "generation_source": values.pop("generation_source", "on_demand"),
                   "name": values.pop("name", f"{report_type} request"), **values}
            cols = list(row)
            sql = (f"INSERT INTO generated_report ({', '.join(cols)}) VALUES "
                   f"({', '.join(':' + c if c != 'parameters' else 'CAST(:parameters AS jsonb)' for c in cols)}) RETURNING id")
            return int(conn.execute(sa.text(sql), row).scalar_one())

    def schedule(self, org_id: int, template_id: int, **values) -> int:
        if "recipients" in values:
            values["recipients"] = json.dumps(values["recipients"])
        row = {"organization_id": org_id, "report_template_id": template_id, "name": values.pop("name", "Monthly"),
               "report_frequency": values.pop("report_frequency", "monthly"), **values}
        cols = list(row)
        sql = (f"INSERT INTO scheduled_report ({', '.join(cols)}) VALUES "
               f"({', '.join(':' + c if c != 'recipients' else 'CAST(:recipients AS jsonb)' for c in cols)}) RETURNING id")
        with self.engine.begin() as conn:
            return int(conn.execute(sa.text(sql), row).scalar_one())

    def row(self, table: str, ident: int) -> dict:
        with self.engine.connect() as conn:
            return dict(conn.execute(sa.text(f"SELECT * FROM {table} WHERE id = :id"), {"id": ident}).mappings().one())

    def audit(self, report_id: int) -> list[str]:
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(sa.text(
                "SELECT event_type FROM audit_event WHERE entity_id = :id ORDER BY id"), {"id": report_id})]


def time_world(engine) -> dict:
    """Helios in October 2026: two members, two projects, USD/EUR entries; a canary organization.

    Bea: North 90 min billable on Oct 1, 30 min billable on Oct 31; East 45 min non-billable on Oct 15.
    Desk (no name): North 60 min non-billable on Oct 31. Outside: Sep 30 and Nov 1.
    """
    p = RequestPlatform(engine)
    p.period(2026, 9)
    p.period(2026, 10)
    helios = p.org("Helios Energy")
    north = p.project(helios, "North Farm")
    east = p.project(helios, "East Wind")
    bea = p.member(helios, "Bea Rossi", "bea@helios.example")
    desk = p.member(helios, None, "field.desk@helios.example")
    t_north, t_east = p.task(north), p.task(east)
    p.entry(t_north, bea, dt.date(2026, 10, 1), 90, True, ("100.00", "USD"), ("40.00", "USD"))
    p.entry(t_north, bea, dt.date(2026, 10, 31), 30, True, ("100.00", "USD"))
    p.entry(t_east, bea, dt.date(2026, 10, 15), 45, False, None, ("50.00", "EUR"))
    p.entry(t_north, desk, dt.date(2026, 10, 31), 60, False, None, ("40.00", "USD"))
    p.entry(t_north, bea, dt.date(2026, 9, 30), 600, True, ("100.00", "USD"))
    p.entry(t_east, bea, dt.date(2026, 11, 1), 600, True, ("120.00", "EUR"))
    canary = p.org(f"{CANARY} Org")
    cproj = p.project(canary, f"{CANARY} project")
    cmember = p.member(canary, f"{CANARY} person", "canary@else.example")
    p.entry(p.task(cproj), cmember, dt.date(2026, 10, 20), 555, True, ("9876.54", "USD"))
    return {"p": p, "helios": helios, "canary": canary, "north": north, "east": east, "bea": bea, "desk": desk,
            "cproj": cproj, "cmember": cmember}
