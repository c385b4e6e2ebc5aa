"""The one module Airflow's plugin manager loads from plugins/ (the package is .airflowignore'd).

Registers the "Amazon ⇄ NetSuite" page (amazon_netsuite/ui/app.py): a FastAPI app the api-server mounts
at /amazon-netsuite (``fastapi_apps``) and an external view putting it in the UI's navigation
(``external_views``, shown in an iframe; the browser's Airflow session cookie authenticates it). Airflow 3.3
builds the app only in the api-server (``get_fastapi_plugins``); other components import this module
too, so the app module stays light (FastAPI and the ledger are imported by Airflow already).
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from amazon_netsuite.ui.app import URL_PREFIX, app

ui_app = {"app": app, "url_prefix": URL_PREFIX, "name": "Amazon ⇄ NetSuite"}

sync_page = {
    "name": "Amazon ⇄ NetSuite",
    "href": f"{URL_PREFIX}/",
    "destination": "nav",
    "url_route": "amazon-netsuite",
    "category": "browse",
}


class AmazonNetSuitePlugin(AirflowPlugin):
    name = "amazon_netsuite"
    fastapi_apps = [ui_app]
    external_views = [sync_page]
