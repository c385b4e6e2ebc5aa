"""plugins/ as Airflow sees it: only the plugin module is scanned, the package stays importable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PLUGINS = PROJECT_ROOT / "plugins"


def test_given_airflowignore_when_airflow_scans_plugins_then_package_is_excluded():
    from airflow._shared.module_loading import find_path_from_directory

    scanned = {
        Path(p).relative_to(PLUGINS).as_posix()
        for p in find_path_from_directory(str(PLUGINS), ".airflowignore", "glob")
        if p.endswith(".py")
    }
    assert scanned == {"amazon_netsuite_plugin.py"}
    # ...and the package it hides really is there (a __main__.py would run inside the scheduler)
    assert (PLUGINS / "amazon_netsuite" / "ledger" / "__main__.py").is_file()


def test_given_plugins_folder_when_airflow_loads_plugins_then_ours_registers_without_errors():
    env = dict(os.environ, AIRFLOW__CORE__PLUGINS_FOLDER=str(PLUGINS), PYTHONPATH=str(PLUGINS))
    code = (
        "import json; from airflow import plugins_manager as pm;"
        "plugins, errors = pm._get_plugins();"
        "print(json.dumps({'names': [p.name for p in plugins], 'errors': {str(k): str(v) for k, v in errors.items()}}))"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert "amazon_netsuite" in result["names"]
    assert result["errors"] == {}
