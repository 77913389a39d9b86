"""reporting_dagster: financial reports from the platform database, built by Dagster."""
