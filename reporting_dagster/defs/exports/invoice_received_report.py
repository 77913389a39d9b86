"""`invoice_received_report`: every organization's invoice_received files for the month."""

from reporting_dagster.defs.exports.invoice_listings import listing_export

invoice_received_report = listing_export("invoice_received")
