"""invoice_aging: receivables aging as of a date (seed 002 §19.3.6, §19.9.3; issue #3 item 2)."""

import dataclasses

from reporting_dagster.lib.documents.catalog import Parameter, ReportDefinition, Table, col

# the aging basis: by due date (the bucket is the days overdue) unless a request asks to age by
# invoice date (the bucket is the days since the invoice date); lib/rules/aging.py
AGE_BY_OPTIONS = ("due_date", "invoice_date")

PARAMETERS = (
    Parameter("billing_period", "date", "Billing period"),
    Parameter("as_of_date", "date", "As of", required=True),
    Parameter("customer_id", "id", "Customer", entity_type="counterparty"),
    Parameter("age_by", "enum", "Age by", default=AGE_BY_OPTIONS[0], options=AGE_BY_OPTIONS),
)
# aged by invoice date, the invoice list also shows the days the bucket counts (before Days Overdue)
AGE_DAYS_COLUMN = col("age_days", "Days Since Invoice", "integer")

DEFINITION = ReportDefinition(
    slug="invoice_aging",
    name="Invoice Aging Report",
    category="FINANCIAL",
    description="Invoices to clients still open at the as-of date (the last day of the billing "
                "period): open balance after the payments received by then, days overdue and age "
                "bucket (Current, 1-30, 31-60, 61-90, 90+ days), with totals per bucket, currency "
                "and customer. Aged by due date unless age_by=invoice_date asks for the days since "
                "the invoice date.",
    version=2,
    sort_order=50,
    csv_table="invoices",
    parameters=PARAMETERS,
    tables=(
        Table("invoices", "Outstanding invoices", (
            col("invoice_number", "Invoice #"),
            col("customer_name", "Customer"),
            col("project_name", "Project"),
            col("issue_date", "Issue Date", "date"),
            col("due_date", "Due Date", "date"),
            col("currency", "Currency"),
            col("total_amount", "Total", "currency"),
            col("paid_to_date", "Paid to Date", "currency"),
            col("open_amount", "Open Amount", "currency"),
            col("days_overdue", "Days Overdue", "integer"),
            col("bucket_label", "Bucket"),
            col("status", "Status"),
            col("note", "Note"),
        )),
        Table("buckets", "Aging buckets", (
            col("currency", "Currency"),
            col("bucket_label", "Bucket"),
            col("invoice_count", "Invoices", "integer"),
            col("open_amount", "Open Amount", "currency"),
            col("share_percent", "Share %", "decimal"),
        )),
        Table("customers", "Outstanding by customer", (
            col("customer_name", "Customer"),
            col("currency", "Currency"),
            col("invoice_count", "Invoices", "integer"),
            col("amount_current", "Current", "currency"),
            col("amount_1_30", "1-30 Days", "currency"),
            col("amount_31_60", "31-60 Days", "currency"),
            col("amount_61_90", "61-90 Days", "currency"),
            col("amount_90_plus", "90+ Days", "currency"),
            col("open_amount", "Total Open", "currency"),
        )),
    ),
)


def invoices_table(age_by: str) -> Table:
    """The invoice list for an aging basis: aged by invoice date it gains the days since invoice."""
    table = DEFINITION.table("invoices")
    if age_by != "invoice_date":
        return table
    keys = [c.key for c in table.columns]
    at = keys.index("days_overdue")
    return dataclasses.replace(table, columns=(*table.columns[:at], AGE_DAYS_COLUMN, *table.columns[at:]))
