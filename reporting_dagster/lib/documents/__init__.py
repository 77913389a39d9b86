"""What a report is: the catalogue (columns, parameters) and the builders of ReportDocuments."""
