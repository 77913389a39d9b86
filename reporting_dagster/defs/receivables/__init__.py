"""Receivables: the client-invoice extract as of a month's end and the invoice_aging report data."""
