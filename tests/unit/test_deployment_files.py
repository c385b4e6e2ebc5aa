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
    for pool in POOLS:
        assert f"airflow pools set {pool} " in init


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
