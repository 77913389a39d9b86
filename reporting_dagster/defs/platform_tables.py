"""The platform's tables as external assets, so lineage starts at the source tables."""

import dagster as dg

from reporting_dagster.lib.infra.paths import tables_read

PLATFORM_TABLES = {
    "organization": "Organizations (tenants); every report file belongs to one.",
    "project": "Projects; an invoice's organization is its project's.",
    "contract": "Contracts with counterparties; the fallback for an invoice's organization.",
    "counterparty": "Clients and contractors.",
    "currency": "ISO 4217 currencies; on invoice headers only.",
    "billing_period": "One row per calendar month; partitions resolve to it.",
    "invoice_line_item_type": "Line types (ENERGY, CAPACITY, LD_CREDIT, OM_FEE, ...).",
    "expected_invoice_header": "What each contract says the contractor should bill.",
    "expected_invoice_line_item": "Lines of expected invoices.",
    "received_invoice_header": "Invoices contractors actually sent.",
    "received_invoice_line_item": "Lines of received invoices.",
    "invoice_comparison": "Comparisons the platform stored itself (optional input).",
    "invoice_header": "Invoices issued to paying clients (receivables).",
    "invoice_line_item": "Lines of invoices to clients; energy lines point at a meter aggregate.",
    "meter_aggregate": "Monthly metered production per organization (billed quantity and unit).",
    "invoice_payment": "Payments received against invoices to clients.",
    "member": "People who log time; an organization's staff.",
    "task": "Tasks of projects; time entries reach their project through the task.",
    "time_entry": "Logged time with the billing and cost rate snapshots of the day.",
    "customer_project": "The customers each project works for.",
    "report_template": "Per-organization report templates: branding and sections.",
    "generated_report": "Every report file and request: lifecycle, path, size, hash, run id.",
    "scheduled_report": "Report schedules: frequency, local time, recipients, delivery.",
}


def table_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["platform", name])


def extract_deps(query_name: str) -> list[dg.AssetKey]:
    """The platform tables an extract depends on: those its .sql file reads, plus billing_period
    (every partition resolves its row first). Derived, so a join added to a query shows in the
    lineage; a table missing from PLATFORM_TABLES fails the code location's load, naming it."""
    tables = set(tables_read(query_name)) | {"billing_period"}
    unknown = sorted(tables - set(PLATFORM_TABLES))
    if unknown:
        raise ValueError(f"sql/extracts/{query_name}.sql reads {', '.join(unknown)}: add "
                         f"{'them' if len(unknown) > 1 else 'it'} to PLATFORM_TABLES (defs/platform_tables.py)")
    return [table_key(t) for t in sorted(tables)]


platform_tables = [
    dg.AssetSpec(key=table_key(name), description=text, group_name="platform", kinds={"postgres"})
    for name, text in PLATFORM_TABLES.items()
]
