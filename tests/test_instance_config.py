"""The production dagster.yaml is a valid instance configuration (Dagster's own validation)."""

import shutil
from pathlib import Path

from dagster._core.instance.config import dagster_instance_config

ROOT = Path(__file__).resolve().parents[1]


def test_production_dagster_yaml_validates(tmp_path, monkeypatch):
    shutil.copy(ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    for name, value in {"DAGSTER_PG_HOST": "db.internal", "DAGSTER_PG_PORT": "5432", "DAGSTER_PG_USERNAME": "dagster",
                        "DAGSTER_PG_PASSWORD": "secret", "DAGSTER_PG_DB": "dagster",
                        "REPORTS_S3_BUCKET": "acme-reports"}.items():
        monkeypatch.setenv(name, value)
    config = dagster_instance_config(str(tmp_path))
    config = config[0] if isinstance(config, tuple) else config
    assert config["storage"]["postgres"]["postgres_db"]["hostname"] == {"env": "DAGSTER_PG_HOST"}
    runs = config["concurrency"]["runs"]
    assert runs["max_concurrent_runs"] == 8
    assert {"key": "reporting/queue", "value": "requests", "limit": 4} in runs["tag_concurrency_limits"]
    assert config["run_retries"]["retry_on_asset_or_op_failure"] is False
    assert config["run_monitoring"]["enabled"] is True
    assert config["compute_logs"]["class"] == "S3ComputeLogManager"
    assert config["compute_logs"]["config"]["bucket"] == {"env": "REPORTS_S3_BUCKET"}
