"""invoice_comparison: expected versus received contractor invoices (seed 000 §4)."""

from reporting_dagster.lib.documents.catalog import PERIOD_PARAMETER, SPAN_PARAMETERS, Parameter, ReportDefinition, Table, col

# The one place the tolerances' defaults live: the catalogue's parameters, the pack's run config
# (defs/invoices/comparison.py), requests and lib/comparison.Tolerance all read these.
DEFAULT_TOLERANCE_ABSOLUTE = "0.01"
DEFAULT_TOLERANCE_PERCENT = "0"

PARAMETERS = (
    PERIOD_PARAMETER,
    *SPAN_PARAMETERS,
    Parameter("contract_id", "id", "Contract", entity_type="contract"),
    Parameter("project_id", "id", "Project", entity_type="project"),
    Parameter("direction", "enum", "Invoice direction", options=("payable", "receivable")),
    Parameter("tolerance_absolute", "decimal", "Absolute tolerance", default=DEFAULT_TOLERANCE_ABSOLUTE),
    Parameter("tolerance_percent", "decimal", "Percent tolerance", default=DEFAULT_TOLERANCE_PERCENT),
)

DEFINITION = ReportDefinition(
    slug="invoice_comparison",
    name="Invoice Comparison Report",
    category="INVOICING",
    description="Expected versus received contractor invoices for a billing period: variance per "
                "invoice and per line, with the status of each, why a row is a discrepancy, and "
                "totals per currency that keep the variance on paired invoices apart from amounts "
                "not received and not expected.",
    version=4,
    sort_order=40,
    csv_table="lines",
    parameters=PARAMETERS,
    tables=(
        Table("invoices", "Invoices", (
            col("contract_name", "Contract"),
            col("counterparty_name", "Contractor"),
            col("received_invoice_numbers", "Vendor invoice #"),
            col("currency", "Currency"),
            col("expected_amount", "Expected", "currency"),
            col("received_amount", "Received", "currency"),
            col("variance", "Variance", "currency"),
            col("variance_percent", "Variance %", "decimal"),
            col("status", "Status"),
            col("stored_status", "Stored status"),
            col("discrepancy_reason", "Discrepancy"),
            col("final_amount", "Final amount", "currency"),
            col("adjustment_amount", "Adjustment", "currency"),
            col("invoice_direction", "Direction"),
            col("billing_period", "Period"),
        )),
        Table("lines", "Line detail", (
            col("contract_name", "Contract"),
            col("received_invoice_numbers", "Vendor invoice #"),
            col("currency", "Currency"),
            col("line_type", "Line type"),
            col("description", "Description"),
            col("expected_amount", "Expected", "currency"),
            col("received_amount", "Received", "currency"),
            col("variance", "Variance", "currency"),
            col("variance_percent", "Variance %", "decimal"),
            col("status", "Status"),
            col("discrepancy_reason", "Discrepancy"),
            col("invoice_direction", "Direction"),
            col("billing_period", "Period"),
        )),
    ),
)
