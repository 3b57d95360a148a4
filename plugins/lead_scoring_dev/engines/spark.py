"""Local Spark for dbt-spark's ``session`` method: one SparkSession (Hive catalog, Derby
metastore and warehouse in a temporary folder) shared by the loader, dbt and the
fingerprint in one Python process.

dbt-spark builds its session with ``SparkSession.builder.enableHiveSupport()`` plus the
profile's ``server_side_parameters`` and ``getOrCreate()``; ``conf`` returns the same
settings as dbt_project/profiles.yml (both read ``LEADSCORE_SPARK_DIR``), so the session
created here first is the one dbt reuses.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DIR = "/tmp/leadscore-spark"


def spark_dir() -> Path:
    return Path(os.environ.get("LEADSCORE_SPARK_DIR") or DEFAULT_DIR)


def conf(root: Path | None = None) -> dict[str, str]:
    """The session settings; keep in step with the ``spark`` target in profiles.yml."""
    root = Path(root or spark_dir())
    return {
        "spark.master": os.environ.get("LEADSCORE_SPARK_MASTER") or "local[2]",
        "spark.sql.warehouse.dir": str(root / "warehouse"),
        "javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={root / 'metastore_db'};create=true",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={root}",
        "spark.sql.shuffle.partitions": "2",
        "spark.sql.catalogImplementation": os.environ.get("LEADSCORE_SPARK_CATALOG") or "hive",
        "spark.driver.memory": os.environ.get("LEADSCORE_SPARK_DRIVER_MEMORY") or "2g",
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        # dbt-spark forces this for the session method; set it from the start.
        "spark.sql.ansi.enabled": "false",
    }


def session(root: Path | None = None):
    """The process's SparkSession with ``conf`` (created on first call)."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession  # noqa: PLC0415 - optional dependency

    builder = SparkSession.builder.enableHiveSupport()
    for key, value in conf(root).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark
