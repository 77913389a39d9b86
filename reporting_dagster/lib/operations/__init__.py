"""Bookkeeping and upkeep: generated_report rows, the pack export, retention, statistics, demo data."""
