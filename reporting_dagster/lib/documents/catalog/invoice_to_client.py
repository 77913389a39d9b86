"""invoice_to_client: the invoices issued to paying clients, with their lines (seed 000 §4–5)."""

from reporting_dagster.lib.documents.catalog import PERIOD_PARAMETER, SPAN_PARAMETERS, Parameter, ReportDefinition, Table, col

PARAMETERS = (
    PERIOD_PARAMETER,
    *SPAN_PARAMETERS,
    Parameter("contract_id", "id", "Contract", entity_type="contract"),
    Parameter("project_id", "id", "Project", entity_type="project"),
)

QUANTITY_FORMAT = "0.00###"  # 2 to 5 decimals: metered kWh keep their 3
UNIT_PRICE_FORMAT = "0.00####"  # 2 to 6 decimals: a tariff of 0.0825 per kWh stays 0.0825

DEFINITION = ReportDefinition(
    slug="invoice_to_client",
    name="Invoice to Client Report",
    category="INVOICING",
    description="The invoices issued to clients for a billing period, with their lines: metered quantity "
                "and unit, quantity, unit price, line type and line total (credits as negative lines), "
                "and totals per currency.",
    version=2,
    sort_order=10,
    csv_table="lines",
    parameters=PARAMETERS,
    tables=(
        Table("invoices", "Invoices", (
            col("invoice_number", "Invoice #"),
            col("counterparty_name", "Client"),
            col("contract_name", "Contract"),
            col("invoice_date", "Invoice date", "date"),
            col("due_date", "Due date", "date"),
            col("status", "Status"),
            col("currency", "Currency"),
            col("amount", "Invoice total", "currency"),
            col("lines_total", "Sum of lines", "currency"),
            col("difference", "Difference", "currency"),
        )),
        Table("lines", "Invoice lines", (
            col("header_id", "Invoice ID", "integer"),
            col("invoice_number", "Invoice #"),
            col("counterparty_name", "Client"),
            col("contract_name", "Contract"),
            col("project_name", "Project"),
            col("currency", "Currency"),
            col("line_type", "Line type"),
            col("description", "Description"),
            col("metered_quantity", "Metered quantity", "decimal", QUANTITY_FORMAT),
            col("metered_unit", "Unit"),
            col("quantity", "Quantity", "decimal", QUANTITY_FORMAT),
            col("unit_price", "Unit price", "decimal", UNIT_PRICE_FORMAT),
            col("line_total", "Line total", "currency"),
        )),
    ),
)
