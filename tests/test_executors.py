"""REPORTS_EXECUTOR picks the monthly pack's executor where the job is defined; a wrong value or a
Celery executor without a broker stops the code location from loading, saying what to set."""

import pytest
import yaml

from reporting_dagster.defs import executors


@pytest.mark.parametrize(("value", "name"), [(None, "in_process"), ("multiprocess", "multiprocess"),
                                             ("celery", "celery"), ("CELERY", "celery")])
def test_the_executor_comes_from_the_environment(monkeypatch, value, name):
    monkeypatch.setenv("REPORTS_CELERY_BROKER_URL", "redis://127.0.0.1:6379/3")
    if value is None:
        monkeypatch.delenv("REPORTS_EXECUTOR", raising=False)
    else:
        monkeypatch.setenv("REPORTS_EXECUTOR", value)
    assert executors.executor_from_env().name == name


def test_a_wrong_executor_or_a_missing_broker_is_refused(monkeypatch):
    monkeypatch.setenv("REPORTS_EXECUTOR", "k8s")
    with pytest.raises(ValueError, match="choose one of in_process, multiprocess, celery"):
        executors.executor_from_env()
    monkeypatch.setenv("REPORTS_EXECUTOR", "celery")
    monkeypatch.delenv("REPORTS_CELERY_BROKER_URL", raising=False)
    with pytest.raises(ValueError, match="needs REPORTS_CELERY_BROKER_URL"):
        executors.executor_from_env()


def test_celery_config_keeps_urls_as_references_and_picks_the_backend(monkeypatch):
    monkeypatch.delenv("REPORTS_CELERY_BACKEND_URL", raising=False)
    monkeypatch.delenv("REPORTS_CELERY_QUEUE", raising=False)
    monkeypatch.setenv("REPORTS_CELERY_BROKER_URL", "redis://:secret@broker:6379/0")
    config = executors.celery_config()
    assert config == {"broker": {"env": "REPORTS_CELERY_BROKER_URL"}, "backend": {"env": "REPORTS_CELERY_BROKER_URL"},
                      "config_source": {"task_default_queue": "dagster"}}
    assert "secret" not in yaml.safe_dump(config)  # what a worker's YAML would hold: no password
    monkeypatch.setenv("REPORTS_CELERY_BROKER_URL", "amqp://guest:guest@rabbit:5672//")
    monkeypatch.setenv("REPORTS_CELERY_QUEUE", "reports")
    assert executors.celery_config()["backend"] == "rpc://"
    assert executors.celery_config()["config_source"] == {"task_default_queue": "reports"}
    monkeypatch.setenv("REPORTS_CELERY_BACKEND_URL", "redis://results:6379/1")
    assert executors.celery_config()["backend"] == {"env": "REPORTS_CELERY_BACKEND_URL"}
