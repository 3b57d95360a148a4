"""Development tools around the product: the synthetic data generator (``generate``), the
benchmark (``bench``), the DuckDB/Postgres/Spark portability check (``engines``), the
bad-input corpus (``corpus``), ``demo``, ``standalone`` (``make airflow``), ``calibration``,
``routing_check``, ``sql_lint`` and the installed ``leadscore`` command (``cli``).

Imports run one way: this package may import ``crm_sandbox`` and ``lead_scoring``; neither
imports it (``make lint`` checks the contract)."""
