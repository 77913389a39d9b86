"""One organization's report for one request: the same extracts and report logic as the monthly
pack, narrowed to the request's organization, period and filters.

`build_request_document` is the whole path from a validated `ReportRequest` to a
`ReportDocument`; `read` runs a named query from `sql/extracts/` (PlatformDatabase.extract).
Extracts of several billing periods (a quarterly or annual schedule) are concatenated, except
for the comparison: each period is compared alone, since pairs never cross a billing period.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pandas as pd

from reporting_dagster.lib.rules import aging, comparison, listings, profitability, timesheet
from reporting_dagster.lib.requests.validate import ReportRequest
from reporting_dagster.lib.documents.reports import invoice_aging as aging_report
from reporting_dagster.lib.documents.reports import invoice_comparison as comparison_report
from reporting_dagster.lib.documents.reports import invoice_listings as listing_report
from reporting_dagster.lib.documents.reports import project_profitability as profitability_report
from reporting_dagster.lib.documents.reports import timesheet as timesheet_report
from reporting_dagster.lib.documents.reports.common import ReportContext, branding_from, sections_from
from reporting_dagster.lib.render.document import ReportDocument
from reporting_dagster.lib.infra.store import Store

Read = Callable[..., pd.DataFrame]
_LISTING_EXTRACTS = {"invoice_to_client": "client_invoice_lines", "invoice_expected": "expected_invoice_lines",
                     "invoice_received": "received_invoice_lines"}


def context_for(req: ReportRequest, store: Store | None, generated_at: dt.datetime) -> ReportContext:
    return ReportContext(
        organization_id=req.organization_id, organization_name=req.organization_name, period=req.span,
        generated_at=generated_at, branding=branding_from(req.template, store), sections=sections_from(req.template),
        template_id=req.template.id if req.template else None,
    )


def build_request_document(req: ReportRequest, read: Read, ctx: ReportContext) -> ReportDocument:
    builder = _BUILDERS[req.report_type]
    return builder(req, read, ctx)


def _per_period(req: ReportRequest, read: Read, query: str) -> pd.DataFrame:
    frames = [read(query, billing_period_id=p.id) for p in req.periods]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return _own(frame, req)


def _own(frame: pd.DataFrame, req: ReportRequest) -> pd.DataFrame:
    """Only this organization's rows: nothing of another organization reaches the report."""
    return frame[frame["organization_id"] == req.organization_id].reset_index(drop=True)


def _span_parameters(req: ReportRequest) -> dict[str, str]:
    out = {"billing_period": req.span.key if len(req.periods) == 1 else req.span.name}
    if len(req.periods) > 1:
        out["date_from"] = req.span.start_date.isoformat()
        out["date_to"] = req.span.end_date.isoformat()
    return out


def _listing(req: ReportRequest, read: Read, ctx: ReportContext) -> ReportDocument:
    extract = _directed(_per_period(req, read, _LISTING_EXTRACTS[req.report_type]), req)
    listing = listings.build_listing(extract, req.report_type, contract_id=req.contract_id, project_id=req.project_id)
    listing = listing.for_organization(req.organization_id)
    listing.parameters.update({**_span_parameters(req), **_direction_parameter(req)})
    return listing_report.build_document(listing, ctx)


def _comparison(req: ReportRequest, read: Read, ctx: ReportContext) -> ReportDocument:
    """Each billing period of the span compared alone (pairs never cross a period), then combined;
    every organization is compared and the request's taken after, as in the pack, so the same
    checks see the same pairs."""
    periods = []
    for p in req.periods:
        expected = _directed(_filtered(read("expected_invoice_lines", billing_period_id=p.id), req), req)
        received = _directed(_filtered(read("received_invoice_lines", billing_period_id=p.id), req), req)
        periods.append((p.key, expected, received, read("stored_invoice_comparisons", billing_period_id=p.id)))
    tolerance = comparison.Tolerance.parse(
        req.parameters.get("tolerance_absolute", comparison.DEFAULT_TOLERANCE_ABSOLUTE),
        req.parameters.get("tolerance_percent", comparison.DEFAULT_TOLERANCE_PERCENT))
    result = comparison.compare_periods(periods, tolerance)
    parameters = {**_span_parameters(req), **_filter_parameters(req), **_direction_parameter(req), **result.parameters}
    return comparison_report.build_checked_document(result, req.organization_id, ctx, parameters)


def _aging(req: ReportRequest, read: Read, ctx: ReportContext) -> ReportDocument:
    as_of: dt.date = req.parameters["as_of_date"]
    invoices = _filtered(_own(read("receivable_invoices", as_of_date=as_of), req), req)
    result = aging.age_receivables(invoices, as_of, customer_id=req.parameters.get("customer_id"),
                                   age_by=req.parameters.get("age_by", aging.DUE_DATE))
    result = result.for_organization(req.organization_id)
    # a request always gets its report, even when nothing is open for this organization
    result.organizations = [req.organization_id]
    return aging_report.build_document(result, ctx)


def _timesheet(req: ReportRequest, read: Read, ctx: ReportContext) -> ReportDocument:
    p = req.parameters
    entries = _own(read("time_entries", date_from=p["date_from"], date_to=p["date_to"]), req)
    result = timesheet.timesheet(entries, p["date_from"], p["date_to"], group_by=p.get("group_by", timesheet.MEMBER),
                                 project_id=req.project_id, member_id=p.get("member_id"))
    return timesheet_report.build_document(result.for_organization(req.organization_id), ctx)


def _profitability(req: ReportRequest, read: Read, ctx: ReportContext) -> ReportDocument:
    p = req.parameters
    entries = _own(read("time_entries", date_from=p["date_from"], date_to=p["date_to"]), req)
    customers = read("project_customers", date_from=p["date_from"], date_to=p["date_to"])
    result = profitability.profitability(entries, customers, p["date_from"], p["date_to"],
                                         project_id=req.project_id, customer_id=p.get("customer_id"))
    return profitability_report.build_document(result.for_organization(req.organization_id), ctx)


def _filtered(frame: pd.DataFrame, req: ReportRequest) -> pd.DataFrame:
    if req.contract_id is not None:
        frame = frame[frame["contract_id"] == req.contract_id]
    if req.project_id is not None:
        frame = frame[frame["project_id"] == req.project_id]
    return frame.reset_index(drop=True)


def _directed(frame: pd.DataFrame, req: ReportRequest) -> pd.DataFrame:
    """Only the asked direction's invoices (generated_report.invoice_direction or `direction`)."""
    direction = req.parameters.get("direction")
    if direction is None or "invoice_direction" not in frame:
        return frame
    return frame[frame["invoice_direction"] == direction].reset_index(drop=True)


def _direction_parameter(req: ReportRequest) -> dict[str, str]:
    direction = req.parameters.get("direction")
    return {"direction": str(direction)} if direction else {}


def _filter_parameters(req: ReportRequest) -> dict[str, Any]:
    out = {}
    if req.contract_id is not None:
        out["contract_id"] = str(req.contract_id)
    if req.project_id is not None:
        out["project_id"] = str(req.project_id)
    return out


_BUILDERS: dict[str, Callable[[ReportRequest, Read, ReportContext], ReportDocument]] = {
    "invoice_to_client": _listing,
    "invoice_expected": _listing,
    "invoice_received": _listing,
    "invoice_comparison": _comparison,
    "invoice_aging": _aging,
    "timesheet": _timesheet,
    "project_profitability": _profitability,
}
