"""The one module Airflow's plugin manager loads from plugins/ (the package is .airflowignore'd).

Registers the product as an Airflow plugin; the UI page for the sync ledger arrives with a later
issue. Keep it light: it is imported by every Airflow component.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin


class AmazonNetSuitePlugin(AirflowPlugin):
    name = "amazon_netsuite"
