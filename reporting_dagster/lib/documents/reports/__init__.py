"""Report builders: one module per report_type, turning report data into a ReportDocument."""
