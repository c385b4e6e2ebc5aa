"""The deployment files stay consistent with the code (no Docker engine here to run them)."""

from __future__ import annotations

from pathlib import Path

import yaml

from amazon_netsuite.dags_common import POOLS

ROOT = Path(__file__).resolve().parents[2]


def test_compose_has_the_distributed_shape_and_creates_the_pools():
    compose = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
    services = compose["services"]
    for name in ("postgres", "redis", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                 "airflow-triggerer", "airflow-worker", "airflow-init"):
        assert name in services
    assert services["airflow-worker"]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    init = "\n".join(services["airflow-init"]["command"])
    for pool, (slots, _) in POOLS.items():
        assert f"airflow pools set {pool} {slots} " in init
    assert "python -m amazon_netsuite.mappings validate" in init  # bad mapping tables stop the deployment
    assert init.index("mappings validate") < init.index("db migrate")


def test_compose_follows_the_official_shape_with_the_sandbox_as_an_optional_profile():
    """Airflow's official 3.3 file: a healthcheck per long-running service, workers depend on a healthy
    api-server (their tasks talk to its execution API), warm shutdown of Celery workers."""
    services = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())["services"]
    for name, service in services.items():
        if name != "airflow-init":
            assert "healthcheck" in service, name
            assert service.get("restart") == "always", name
    worker = services["airflow-worker"]
    assert worker["depends_on"]["airflow-apiserver"]["condition"] == "service_healthy"
    assert worker["environment"]["DUMB_INIT_SETSID"] == "0"
    env = services["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://")
    # the sandbox runs only when asked for, and no Airflow service needs it
    assert services["sandbox"]["profiles"] == ["sandbox"]
    assert services["flower"]["profiles"] == ["flower"]
    for name, service in services.items():
        assert "sandbox" not in (service.get("depends_on") or {}), name
    assert services["sandbox"]["entrypoint"][:4] == ["python", "-m", "sandbox", "serve"]


def test_requirements_are_pinned_and_in_constraints():
    constraints = {
        line.split("==")[0].lower(): line.split("==")[1]
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, version = line.partition("==")
        assert sep, f"requirements.txt: {line!r} is not pinned with =="
        assert constraints.get(name.lower()) == version, f"{name} {version} differs in constraints.txt"
