"""The report rules: pairing and variance, aging, timesheets, profitability, listings, checks."""
