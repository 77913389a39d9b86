"""A report request: one generated_report row, checked against the catalogue and the organization.

The platform (or a schedule, or the Dagster launchpad) inserts a `pending` generated_report row.
`load_request` reads it (`parameters` as bounded text, never parsed by the driver);
`check_fields` turns the row's own values into typed, bounded ones without the database
(lib/requests/parameters.py), before the row is claimed; `validate` then checks them against
the organization and the billing periods. Every problem a user can fix is an `InvalidRequest`
whose message says what to change: unknown report type, format or parameter, a value out of
its bounds, a template of another organization or type, a contract / project / member outside
the organization, a period the platform does not have. Nothing here renders or writes.

The period a request covers, in order of precedence: `parameters.date_from`/`date_to`, then
`parameters.billing_period` (YYYY-MM), then the row's billing_period_id, then the latest completed
billing period. Invoice reports cover whole billing periods; time reports any date range; the
aging report is as of `parameters.as_of_date`, else the last day of the period.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from reporting_dagster.lib.documents import catalog
from reporting_dagster.lib.documents.catalog import ReportDefinition
from reporting_dagster.lib.infra.periods import BillingPeriod, month_bounds, month_end
from reporting_dagster.lib.infra.paths import read_named_sql
from reporting_dagster.lib.operations.records import Template, active_template, template_from_row
from reporting_dagster.lib.requests.parameters import (
    MAX_PARAMETERS_BYTES,
    InvalidRequest,
    date_value,
    decimal_value,
    enum_value,
    id_value,
    month_value,
    parameters_object,
    shown,
    text_value,
)

_SQL = read_named_sql("requests.sql")
DATE_RANGE_TYPES = ("timesheet", "project_profitability")
MAX_RANGE_DAYS = 366 * 2
_ENTITY_CHECKS = {"contract": "contract_organization", "project": "project_organization",
                  "member": "member_organization"}


@dataclass(frozen=True)
class ReportRequest:
    id: int
    organization_id: int
    organization_name: str
    report_type: str
    file_format: str
    name: str
    generation_source: str
    report_status: str
    template: Template | None
    span: BillingPeriod  # the whole period covered (id of its last billing period)
    periods: tuple[BillingPeriod, ...]  # the billing periods inside the span (invoice reports)
    parameters: dict[str, Any] = field(default_factory=dict)  # typed: dates, ints, Decimals, str
    contract_id: int | None = None
    project_id: int | None = None
    scheduled_report_id: int | None = None

    @property
    def definition(self) -> ReportDefinition:
        return catalog.get(self.report_type)


def load_request(engine: Engine, generated_report_id: int) -> dict[str, Any] | None:
    """The raw generated_report row (with the organization's name), or None when it is gone.
    `parameters` is the JSON text (None when NULL or larger than MAX_PARAMETERS_BYTES, whose
    size `parameters_bytes` then says)."""
    with engine.connect() as conn:
        row = conn.execute(sa.text(_SQL["load_request"]), {
            "id": generated_report_id, "max_bytes": MAX_PARAMETERS_BYTES}).mappings().first()
    return dict(row) if row else None


@dataclass(frozen=True)
class RequestFields:
    """What a row asks for, typed and bounded, before anything is claimed or looked up: its
    report definition, format and catalogue parameters (ids not yet checked against the
    organization; dates not yet against the billing periods)."""

    definition: ReportDefinition
    file_format: str
    parameters: dict[str, Any]
    row_ids: dict[str, int | None]


def check_fields(row: dict[str, Any]) -> RequestFields:
    """The row's own values as typed values; InvalidRequest says what to fix. No database."""
    try:
        definition = catalog.get(str(row["report_type"]))
    except KeyError as exc:
        raise InvalidRequest(str(exc.args[0])) from None
    if row["file_format"] not in definition.formats:
        raise InvalidRequest(f"{definition.name} has no {shown(row['file_format'])} format; "
                             f"choose one of {', '.join(definition.formats)}")
    params = parameters_object(row.get("parameters"), size=row.get("parameters_bytes"))
    typed = _typed_parameters(definition, params)
    _direction(definition, row.get("invoice_direction"), typed)
    row_ids = {name: (None if row.get(name) is None else id_value(name, row[name]))
               for name in ("report_template_id", "scheduled_report_id", "contract_id", "project_id",
                            "billing_period_id")}
    return RequestFields(definition, str(row["file_format"]), typed, row_ids)


def validate(engine: Engine, row: dict[str, Any], *, today: dt.date,
             fields: RequestFields | None = None) -> ReportRequest:
    """Check a generated_report row and resolve its template, period and parameters."""
    fields = fields or check_fields(row)
    definition, typed, ids = fields.definition, dict(fields.parameters), fields.row_ids
    report_type = definition.slug
    org = int(row["organization_id"])
    with engine.connect() as conn:
        template = _template(conn, engine, ids["report_template_id"], definition, org)
        for p in definition.parameters:
            if p.type == "id" and p.name in typed:
                _owned(conn, p.entity_type or "", typed[p.name], org, label=p.name)
        contract_id = _owned(conn, "contract", ids["contract_id"] or typed.get("contract_id")
                             or (template.default_contract_id if template else None), org)
        project_id = _owned(conn, "project", ids["project_id"] or typed.get("project_id"), org)
        span, periods = _period(conn, definition, ids["billing_period_id"], typed, today)
        if ids["scheduled_report_id"] is not None:
            owner = conn.execute(sa.text(_SQL["schedule_organization"]), {"id": ids["scheduled_report_id"]}).first()
            if owner is None or int(owner[0]) != org:
                raise InvalidRequest(f"scheduled report {ids['scheduled_report_id']} is not a schedule of this organization")
    if report_type == "invoice_aging":
        as_of = typed.get("as_of_date") or span.end_date
        if as_of > today:
            raise InvalidRequest(f"as_of_date {as_of} is in the future; an aging report is as of a past day")
        typed["as_of_date"] = as_of
    return ReportRequest(
        id=int(row["id"]), organization_id=org, organization_name=str(row["organization_name"]),
        report_type=report_type, file_format=fields.file_format, name=str(row["name"]),
        generation_source=str(row["generation_source"]), report_status=row["report_status"], template=template,
        span=span, periods=periods, parameters=typed, contract_id=contract_id, project_id=project_id,
        scheduled_report_id=ids["scheduled_report_id"],
    )


def _direction(definition: ReportDefinition, column: str | None, typed: dict[str, Any]) -> None:
    """generated_report.invoice_direction (NULL = both) and the `direction` parameter narrow the
    invoice reports that have a direction; they must agree. Other reports ignore the column (the
    platform may set it on any row)."""
    declared = next((p for p in definition.parameters if p.name == "direction"), None)
    if declared is None:
        return
    if column is not None:
        column = enum_value("invoice_direction", column, declared.options)
    asked = typed.get("direction")
    if column and asked and column != asked:
        raise InvalidRequest(f"invoice_direction {column!r} and the direction parameter {asked!r} disagree; "
                             "set one of them (or both to the same value)")
    if column or asked:
        typed["direction"] = column or asked


def _template(conn: Connection, engine: Engine, template_id: int | None, definition: ReportDefinition,
              org: int) -> Template | None:
    if template_id is None:
        return active_template(engine, org, definition.slug)
    found = conn.execute(sa.text(_SQL["template_by_id"]), {"id": template_id}).mappings().first()
    if found is None:
        raise InvalidRequest(f"report template {template_id} does not exist; pick one of the organization's templates")
    if int(found["organization_id"]) != org:
        raise InvalidRequest(f"report template {template_id} belongs to another organization")
    if found["report_type"] != definition.slug:
        raise InvalidRequest(f"report template {template_id} is a {found['report_type']} template, "
                             f"not {definition.slug}")
    if not found["is_active"]:
        raise InvalidRequest(f"report template {template_id} is inactive; activate it or pick another")
    return template_from_row(found)


def _typed_parameters(definition: ReportDefinition, params: dict[str, Any]) -> dict[str, Any]:
    known = {p.name: p for p in definition.parameters}
    unknown = sorted(set(params) - set(known))
    if unknown:
        named = ", ".join(shown(k, 40) if not k.isidentifier() or len(k) > 40 else k for k in unknown[:5])
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        raise InvalidRequest(f"unknown parameter(s) {named}{more} for {definition.slug}; "
                             f"it takes {', '.join(known) or 'none'}")
    out: dict[str, Any] = {}
    for name, value in params.items():
        if value is None or value == "":
            continue
        p = known[name]
        if p.type == "date" and name == "billing_period":
            out[name] = month_value(value)
        elif p.type == "date":
            out[name] = date_value(name, value)
        elif p.type == "enum":
            out[name] = enum_value(name, value, p.options)
        elif p.type == "decimal":
            out[name] = decimal_value(name, value)
        elif p.type == "id":
            out[name] = id_value(name, value)
        else:
            out[name] = text_value(name, value)
    for p in definition.parameters:
        if p.default is not None and p.name not in out:
            out[p.name] = p.default
    if ("date_from" in out) != ("date_to" in out):
        raise InvalidRequest("give both date_from and date_to, or neither")
    if "date_from" in out:
        if out["date_from"] > out["date_to"]:
            raise InvalidRequest(f"date_from {out['date_from']} is after date_to {out['date_to']}")
        if (out["date_to"] - out["date_from"]).days > MAX_RANGE_DAYS:
            raise InvalidRequest(f"the date range is longer than {MAX_RANGE_DAYS} days; ask for a shorter one")
    return out


def _owned(conn: Connection, entity: str, value: Any, org: int, *, label: str | None = None) -> int | None:
    """An id that must exist and, for contracts, projects and members, belong to the organization."""
    if value is None:
        return None
    label = label or f"{entity}_id"
    ident = id_value(label, value)
    if entity == "counterparty":
        if conn.execute(sa.text(_SQL["counterparty_exists"]), {"id": ident}).first() is None:
            raise InvalidRequest(f"{label} {ident}: no such customer")
        return ident
    owner = conn.execute(sa.text(_SQL[_ENTITY_CHECKS[entity]]), {"id": ident}).first()
    if owner is None or owner[0] is None or int(owner[0]) != org:
        raise InvalidRequest(f"{label} {ident} is not a {entity} of this organization")
    return ident


def _period_row(row: Any) -> BillingPeriod:
    return BillingPeriod(int(row["id"]), str(row["name"]), row["start_date"], row["end_date"])


def _period(conn: Connection, definition: ReportDefinition, billing_period_id: int | None,
            typed: dict[str, Any], today: dt.date) -> tuple[BillingPeriod, tuple[BillingPeriod, ...]]:
    if "date_from" in typed:
        return _range(conn, definition, typed["date_from"], typed["date_to"])
    if "billing_period" in typed:
        period = _month_period(conn, typed["billing_period"])
    elif billing_period_id is not None:
        found = conn.execute(sa.text(_SQL["billing_period_by_id"]), {"id": billing_period_id}).mappings().first()
        if found is None:
            raise InvalidRequest(f"billing period {billing_period_id} does not exist")
        period = _period_row(found)
    else:
        period = _latest_period(conn, today, "give a billing period or dates")
    if definition.slug in DATE_RANGE_TYPES:
        typed.setdefault("date_from", period.start_date)
        typed.setdefault("date_to", period.end_date)
    return period, (period,)


def _month_period(conn: Connection, key: str) -> BillingPeriod:
    """The billing period of a YYYY-MM month."""
    start, end = month_bounds(key)
    found = conn.execute(sa.text(_SQL["billing_periods_within"]), {"date_from": start, "date_to": end}).mappings().first()
    if found is None:
        raise InvalidRequest(f"the platform has no billing period {key}")
    return _period_row(found)


def _latest_period(conn: Connection, today: dt.date, hint: str) -> BillingPeriod:
    """seed 000 get_latest_completed_billing_period(): the newest period that has ended."""
    found = conn.execute(sa.text(_SQL["latest_completed_billing_period"]), {"today": today}).mappings().first()
    if found is None:
        raise InvalidRequest(f"the platform has no completed billing period yet; {hint}")
    return _period_row(found)


def _range(conn: Connection, definition: ReportDefinition, date_from: dt.date,
           date_to: dt.date) -> tuple[BillingPeriod, tuple[BillingPeriod, ...]]:
    found = [_period_row(r) for r in conn.execute(
        sa.text(_SQL["billing_periods_within"]), {"date_from": date_from, "date_to": date_to}).mappings()]
    if definition.slug in DATE_RANGE_TYPES:
        last = found[-1].id if found else None
        return BillingPeriod(last or 0, range_label(date_from, date_to), date_from, date_to), tuple(found)
    if not found or found[0].start_date != date_from or found[-1].end_date != date_to:
        raise InvalidRequest(f"{definition.name} covers whole billing periods: date_from must be the first day "
                             f"and date_to the last day of a billing period (got {date_from} to {date_to})")
    if len(found) == 1:
        return found[0], tuple(found)
    return BillingPeriod(found[-1].id, range_label(date_from, date_to), date_from, date_to), tuple(found)


def range_label(date_from: dt.date, date_to: dt.date) -> str:
    """'Q1 2026', '2026', 'March 2026', or '3 March 2026 – 9 April 2026'."""
    whole_months = date_from.day == 1 and date_to == month_end(date_to)
    if whole_months:
        months = (date_to.year - date_from.year) * 12 + date_to.month - date_from.month + 1
        if months == 1:
            return f"{date_from:%B %Y}"
        if months == 3 and date_from.month in (1, 4, 7, 10):
            return f"Q{(date_from.month - 1) // 3 + 1} {date_from.year}"
        if months == 12 and date_from.month == 1:
            return str(date_from.year)
        return f"{date_from:%B %Y} – {date_to:%B %Y}"
    return f"{date_from.day} {date_from:%B %Y} – {date_to.day} {date_to:%B %Y}"


def launchpad_request(engine: Engine, *, template_id: int, billing_period: str | None, file_format: str | None,
                      contract_id: int | None, project_id: int | None, parameters: dict[str, Any],
                      today: dt.date) -> dict[str, Any]:
    """The generated_report row a launchpad request stands for (seed 000 workflow 1): the
    template gives organization, type and default format; the period defaults to the latest
    completed one. Everything else is checked when the row is processed; what the row's columns
    must hold (ids in BIGINT, a known format) is checked here, so the insert cannot fail."""
    template_id = id_value("template_id", template_id)
    contract_id = None if contract_id is None else id_value("contract_id", contract_id)
    project_id = None if project_id is None else id_value("project_id", project_id)
    if file_format is not None:
        file_format = enum_value("file_format", file_format, catalog.FORMATS)
    with engine.connect() as conn:
        template = conn.execute(sa.text(_SQL["template_by_id"]), {"id": template_id}).mappings().first()
        if template is None:
            raise InvalidRequest(f"report template {template_id} does not exist")
        period = (_month_period(conn, month_value(billing_period)) if billing_period
                  else _latest_period(conn, today, "give billing_period"))
    return {
        "organization_id": int(template["organization_id"]), "report_type": template["report_type"],
        "name": f"{template['name']} — {period.name}", "file_format": file_format or template["file_format"],
        "generation_source": "on_demand", "report_template_id": int(template["id"]),
        "billing_period_id": period.id, "contract_id": contract_id, "project_id": project_id,
        "parameters": parameters,
    }
