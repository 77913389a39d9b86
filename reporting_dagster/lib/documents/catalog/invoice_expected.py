"""invoice_expected: what the contracts say each contractor should bill, with lines (seed 000 §4–5)."""

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
    slug="invoice_expected",
    name="Expected Invoice Report",
    category="INVOICING",
    description="The contractor invoices expected from the contract terms for a billing period: contract, "
                "project, contractor and the expected lines, with totals per currency.",
    version=3,
    sort_order=20,
    csv_table="lines",
    parameters=PARAMETERS,
    tables=(
        Table("invoices", "Expected invoices", (
            col("contract_name", "Contract"),
            col("project_name", "Project"),
            col("counterparty_name", "Contractor"),
            col("currency", "Currency"),
            col("amount", "Expected total", "currency"),
            col("lines_total", "Sum of lines", "currency"),
            col("difference", "Difference", "currency"),
            col("invoice_direction", "Direction"),
        )),
        Table("lines", "Expected invoice lines", (
            col("header_id", "Expected invoice ID", "integer"),
            col("contract_name", "Contract"),
            col("project_name", "Project"),
            col("counterparty_name", "Contractor"),
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
