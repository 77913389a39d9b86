"""Every number the project reads from the environment is checked when the code location loads:
a value that is not a finite number in range stops it, naming the variable (lib/infra/env.py)."""

import pytest

from reporting_dagster.defs.resources import check_environment

NUMBER_VARIABLES = [
    "REPORTS_S3_CONNECT_TIMEOUT", "REPORTS_S3_READ_TIMEOUT", "REPORTS_S3_MAX_ATTEMPTS",
    "REPORTS_SES_CONNECT_TIMEOUT", "REPORTS_SES_READ_TIMEOUT", "REPORTS_SES_MAX_ATTEMPTS",
    "REPORTS_SMTP_TIMEOUT", "REPORTS_DB_CONNECT_TIMEOUT_SECONDS", "REPORTS_DB_STATEMENT_TIMEOUT_SECONDS",
    "REPORTS_DB_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS", "REPORTS_DB_MIGRATION_STATEMENT_TIMEOUT_SECONDS",
    "REPORTS_PRESIGNED_URL_EXPIRY", "REPORTS_RENDER_TIMEOUT_SECONDS", "REPORTS_MAX_FILE_BYTES",
    "REPORTS_RENDER_WORKERS", "REPORTS_RENDER_MAX_CELL_CHARS", "REPORTS_DELIVERY_LEASE_SECONDS",
    "REPORTS_DELIVERY_MAX_ATTEMPTS", "REPORTS_DELIVERY_RETRY_BASE_SECONDS", "REPORTS_DELIVERY_MAX_RECIPIENTS",
    "REPORTS_RENDER_WORKER_MEMORY_MB",
]


@pytest.fixture
def clean_environment(monkeypatch):
    for name in NUMBER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    check_environment()  # the defaults pass
    return monkeypatch


@pytest.mark.parametrize("name", NUMBER_VARIABLES)
@pytest.mark.parametrize("value", ["inf", "nan", "-1", "ten", "1e999"])
def test_a_bad_number_stops_the_load_naming_the_variable(clean_environment, name, value):
    clean_environment.setenv(name, value)
    with pytest.raises(ValueError, match=f"^{name}="):
        check_environment()


def test_good_values_pass(clean_environment):
    for name in NUMBER_VARIABLES:
        clean_environment.setenv(name, "200")
    check_environment()
