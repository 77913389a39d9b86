"""timesheet: hours by member, project and date (seed 002 §19.3.5, §19.9.2; issue #3 item 3)."""

from reporting_dagster.lib.documents.catalog import Parameter, ReportDefinition, Table, col

PARAMETERS = (
    Parameter("date_from", "date", "From Date", required=True),
    Parameter("date_to", "date", "To Date", required=True),
    Parameter("group_by", "enum", "Group By", default="member", options=("member", "project", "date")),
    Parameter("project_id", "id", "Project", entity_type="project"),
    Parameter("member_id", "id", "Member", entity_type="member"),
)

_HOURS = (
    col("total_hours", "Total Hours", "decimal"),
    col("billable_hours", "Billable Hours", "decimal"),
    col("non_billable_hours", "Non-Billable Hours", "decimal"),
    col("entry_count", "Entries", "integer"),
)

DEFINITION = ReportDefinition(
    slug="timesheet",
    name="Timesheet Report",
    category="TIME_ATTENDANCE",
    description="Hours logged in a date range (both ends inclusive), grouped by team member, by "
                "project or by date: total, billable and non-billable hours and the number of "
                "entries per group, with totals. The monthly pack holds all three groupings and "
                "the member × project × date detail.",
    sort_order=60,
    csv_table="detail",
    parameters=PARAMETERS,
    tables=(
        Table("by_member", "Hours by team member", (col("member_name", "Team Member"), *_HOURS)),
        Table("by_project", "Hours by project", (col("project_name", "Project"), *_HOURS)),
        Table("by_date", "Hours by date", (col("entry_date", "Date", "date"), col("weekday", "Day"), *_HOURS)),
        Table("detail", "Daily detail by member", (
            col("member_name", "Team Member"),
            col("entry_date", "Date", "date"),
            col("weekday", "Day"),
            col("project_name", "Project"),
            *_HOURS,
        )),
    ),
)
