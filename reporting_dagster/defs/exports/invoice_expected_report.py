"""`invoice_expected_report`: every organization's invoice_expected files for the month."""

from reporting_dagster.defs.exports.invoice_listings import listing_export

invoice_expected_report = listing_export("invoice_expected")
