"""`invoice_to_client_report`: every organization's invoice_to_client files for the month."""

from reporting_dagster.defs.exports.invoice_listings import listing_export

invoice_to_client_report = listing_export("invoice_to_client")
