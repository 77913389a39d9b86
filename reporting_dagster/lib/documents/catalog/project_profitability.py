"""project_profitability: revenue, cost and margin per project and currency (seed 002 §19.3.7, §19.9.4)."""

from reporting_dagster.lib.documents.catalog import Parameter, ReportDefinition, Table, col

PARAMETERS = (
    Parameter("date_from", "date", "From Date", required=True),
    Parameter("date_to", "date", "To Date", required=True),
    Parameter("project_id", "id", "Project", entity_type="project"),
    Parameter("customer_id", "id", "Customer", entity_type="counterparty"),
)

DEFINITION = ReportDefinition(
    slug="project_profitability",
    name="Project Profitability Report",
    category="PROJECT",
    description="Per project and currency: billable hours, revenue (billable hours at the billing "
                "rate snapshot), cost (all hours at the cost rate snapshot), margin and margin %, "
                "with totals per currency. Amounts in different currencies are never added.",
    sort_order=70,
    csv_table="projects",
    parameters=PARAMETERS,
    tables=(
        Table("projects", "Profitability by project", (
            col("project_name", "Project"),
            col("customer_names", "Customer"),
            col("currency", "Currency"),
            col("billable_hours", "Billable Hrs", "decimal"),
            col("revenue", "Revenue", "currency"),
            col("cost", "Cost", "currency"),
            col("margin", "Margin", "currency"),
            col("margin_percent", "Margin %", "decimal"),
        )),
    ),
)
