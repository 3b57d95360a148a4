"""The same dbt project on several engines: DuckDB (the default), Postgres and Spark.

``fixture`` builds one synthetic raw warehouse with the project's own generator and loader
and exports it; ``postgres`` runs a throwaway cluster; ``spark`` holds the local Spark
session settings shared with dbt's ``session`` method; ``loaders`` copies the raw tables
into each engine with the same column types; ``fingerprint`` summarises every model so two
engines can be compared; ``check`` ties them together (``python -m lead_scoring_dev.engines.check``).
"""
