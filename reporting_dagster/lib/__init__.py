"""Pure logic under the Dagster objects: no Dagster imports in this package."""
