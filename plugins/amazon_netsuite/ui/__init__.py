"""The "Amazon ⇄ NetSuite" page of the Airflow UI (registered by plugins/amazon_netsuite_plugin.py)."""
