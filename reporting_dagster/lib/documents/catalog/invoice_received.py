"""invoice_received: the invoices contractors actually sent, for review (seed 000 §4–5)."""

from reporting_dagster.lib.documents.catalog import PERIOD_PARAMETER, SPAN_PARAMETERS, Parameter, ReportDefinition, Table, col
from reporting_dagster.lib.documents.catalog.invoice_to_client import QUANTITY_FORMAT, UNIT_PRICE_FORMAT

PARAMETERS = (
    PERIOD_PARAMETER,
    *SPAN_PARAMETERS,
    Parameter("contract_id", "id", "Contract", entity_type="contract"),
    Parameter("project_id", "id", "Project", entity_type="project"),
    Parameter("direction", "enum", "Invoice direction", options=("payable", "receivable")),
)

DEFINITION = ReportDefinition(
    slug="invoice_received",
    name="Received Invoice Report",
    category="INVOICING",
    description="The invoices received from contractors for a billing period: vendor invoice number, "
                "invoice and due dates, status, received date and lines, with totals per currency.",
    version=3,
    sort_order=30,
    csv_table="lines",
    parameters=PARAMETERS,
    tables=(
        Table("invoices", "Received invoices", (
            col("invoice_number", "Vendor invoice #"),
            col("counterparty_name", "Contractor"),
            col("contract_name", "Contract"),
            col("invoice_date", "Invoice date", "date"),
            col("due_date", "Due date", "date"),
            col("received_on", "Received", "date"),
            col("status", "Status"),
            col("currency", "Currency"),
            col("amount", "Invoice total", "currency"),
            col("lines_total", "Sum of lines", "currency"),
            col("difference", "Difference", "currency"),
            col("invoice_direction", "Direction"),
        )),
        Table("lines", "Received invoice lines", (
            col("header_id", "Invoice ID", "integer"),
            col("invoice_number", "Vendor invoice #"),
            col("counterparty_name", "Contractor"),
            col("contract_name", "Contract"),
            col("project_name", "Project"),
            col("currency", "Currency"),
            col("line_type", "Line type"),
            col("description", "Description"),
            col("quantity", "Quantity", "decimal", QUANTITY_FORMAT),
            col("unit_price", "Unit price", "decimal", UNIT_PRICE_FORMAT),
            col("line_total", "Line total", "currency"),
            col("invoice_direction", "Direction"),
        )),
    ),
)
