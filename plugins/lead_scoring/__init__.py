"""leadscore: open-source lead and account scoring, routing and SLAs on Airflow + dbt + DuckDB."""

__version__ = "0.1.0"
