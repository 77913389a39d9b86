"""Dagster objects only, one module or folder per concern; the logic lives in `lib/`."""
