"""Time tracking reports: the month's time entries, timesheet and project_profitability."""
