"""The same dbt project on DuckDB, Postgres and Spark gives identical outputs.

One synthetic raw warehouse (``engines.fixture``) is loaded into each engine, ``dbt build``
runs every model, seed and test there, and every model's fingerprint must equal DuckDB's.
Deliberately non-portable SQL in a copy of the project must make the check fail.

The engine tests are marked ``engines`` and run with ``make test-engines`` (it installs
requirements-engines.txt and Postgres); ``make test`` runs only the fingerprint unit tests.
Spark runs in the background from the first engine test on, the others meanwhile.
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from lead_scoring_dev.engines import fingerprint as fp

REPO = Path(__file__).resolve().parents[2]
PROJECT = REPO / "dbt_project"


# ------------------------------------------------------------------ fingerprint (unit)


def test_normalize_renders_values_the_same_whatever_the_driver():
    from datetime import date, datetime, timedelta, timezone
    from decimal import Decimal

    assert fp.normalize(None) is None
    assert fp.normalize(True) == "true"
    assert fp.normalize(Decimal("86")) == 86 and isinstance(fp.normalize(Decimal("86")), int)
    assert fp.normalize(Decimal("0.5")) == 0.5
    assert fp.normalize(datetime(2026, 11, 1, 10)) == "2026-11-01T10:00:00"
    aware = datetime(2026, 11, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    assert fp.normalize(aware) == "2026-11-01T10:00:00"
    assert fp.normalize(date(2026, 11, 1)) == "2026-11-01"
    assert [
        fp.kind_of(t) for t in ("VARCHAR", "character varying", "string", "DOUBLE", "double precision")
    ] == [
        "text",
        "text",
        "text",
        "float",
        "float",
    ]
    assert [
        fp.kind_of(t) for t in ("HUGEINT", "bigint", "int", "timestamp without time zone", "BOOLEAN")
    ] == [
        "integer",
        "integer",
        "integer",
        "timestamp",
        "boolean",
    ]


class _Rows:
    """An engine serving fixed rows, to test the statistics without a database."""

    name = "memory"

    def __init__(self, columns, rows):
        self.columns, self.rows = columns, rows

    def read(self, schema, table):
        return self.columns, self.rows


def _scores(rows):
    columns = [
        ("crm_id", "VARCHAR"),
        ("tier", "INTEGER"),
        ("fit_score", "DOUBLE"),
        ("score_reasons", "VARCHAR"),
    ]
    return fp.fingerprint_model(_Rows(columns, rows), fp.Model("lead_scores", "marts", "lead_scores"))


def test_fingerprint_ignores_row_order_and_last_bit_float_noise():
    rows = [("b", 1, 0.1 + 0.2, "Demo +30"), ("a", 2, 40.0, "")]
    shuffled_noisy = [("a", 2, 40.0, ""), ("b", 1, 0.3, "Demo +30")]
    assert fp.diff(_scores(rows), _scores(shuffled_noisy)) == []
    printed = _scores(rows)
    assert printed["tier.value_counts"] == {"1": 1, "2": 1}
    assert printed["sample_key"] == "crm_id" and printed["sample"][0]["crm_id"] == "a"


def test_a_difference_names_model_column_and_statistic():
    reference = {"lead_scores": _scores([("a", 1, 86.0, "Demo +30; Fit +20")])}
    other = {"lead_scores": _scores([("a", 1, 86.0001, "Fit +20; Demo +30")])}
    with pytest.raises(fp.MismatchError) as raised:
        fp.assert_same({"duckdb": reference, "spark": other})
    message = str(raised.value)
    assert "lead_scores.fit_score.sum: duckdb=86.0 spark=86.0001" in message
    assert "lead_scores.score_reasons.digest" in message
    assert "lead_scores.sample[0].score_reasons" in message


def test_spark_profile_and_the_check_build_the_same_session(monkeypatch):
    """dbt-spark's session method reuses the session the check creates first: the profile's
    server_side_parameters must be the settings of lead_scoring_dev.engines.spark."""
    import jinja2
    import yaml

    from lead_scoring_dev.engines import spark

    monkeypatch.setenv("LEADSCORE_SPARK_DIR", "/tmp/some-spark")
    for name in ("LEADSCORE_SPARK_MASTER", "LEADSCORE_SPARK_CATALOG", "LEADSCORE_SPARK_DRIVER_MEMORY"):
        monkeypatch.delenv(name, raising=False)
    profile = yaml.safe_load((PROJECT / "profiles.yml").read_text())["lead_scoring"]["outputs"]["spark"]
    assert profile["method"] == "session"
    environment = jinja2.Environment()
    environment.globals["env_var"] = lambda name, default=None: os.environ.get(name, default)
    rendered = {
        key: environment.from_string(str(value)).render()
        for key, value in profile["server_side_parameters"].items()
    }
    expected = spark.conf()
    assert expected.pop("spark.sql.ansi.enabled") == "false"  # dbt-spark sets it itself
    assert rendered == expected


# ------------------------------------------------------------------ engines (make test-engines)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    """The fixture: 300 leads over 60 days, generated and loaded by the project's own code."""
    from lead_scoring_dev.engines import fixture

    root = tmp_path_factory.mktemp("engines")
    fixture.build(root / "fixture", with_model=True)
    return root


@pytest.fixture(scope="module")
def spark_run(world: Path):
    """The Spark build, started in the background (its own process and JVM)."""
    from lead_scoring_dev.engines import check

    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool.submit(check.run_engine_process, "spark", world / "fixture", world / "spark")


@pytest.fixture(scope="module")
def cluster():
    """A throwaway Postgres cluster on a free loopback port."""
    from lead_scoring_dev.engines import postgres

    with postgres.cluster() as running:
        yield running


def run(
    target: str, world: Path, cluster=None, name: str | None = None, project: Path = PROJECT, select=None
):
    from lead_scoring_dev.engines import check

    name = name or target
    env = {**cluster.env(), "LEADSCORE_PG_DATABASE": f"leadscore_{name}"} if cluster else None
    return check.run_engine_process(target, world / "fixture", world / name, project, env, select=select)


@pytest.fixture(scope="module")
def reference(world: Path, spark_run: Future):
    """DuckDB, the product's engine (spark_run is requested first so Spark starts first)."""
    done = run("duckdb", world)
    assert done.success, "\n".join(done.errors)
    return done


def copy_project(tmp_path: Path, model: str, old: str, new: str) -> Path:
    """A copy of dbt_project with one edit in models/**/<model>.sql (the real one is untouched)."""
    target = tmp_path / "dbt_project"
    shutil.copytree(PROJECT, target, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    (path,) = target.glob(f"models/**/{model}.sql")
    text = path.read_text()
    assert old in text, f"{model}.sql no longer contains {old!r}: update this test"
    path.write_text(text.replace(old, new, 1))
    return target


@pytest.mark.engines
def test_postgres_builds_everything_and_matches_duckdb(reference, world, cluster):
    postgres = run("postgres", world, cluster)
    assert postgres.success, "\n".join(postgres.errors)
    assert postgres.nodes == reference.nodes
    fp.assert_same({"duckdb": reference.fingerprint, "postgres": postgres.fingerprint})
    scores = postgres.fingerprint["lead_scores"]
    assert scores["row_count"] > 300 and len(scores["tier.value_counts"]) == 4
    assert scores["scoring_model_version.distinct"] == 1
    # the fixture's promoted points table scored everyone (the bin join ran on this engine)
    assert scores["predictive_score.non_null"] == scores["row_count"]
    assert scores["predictive_score.max"] > scores["predictive_score.min"]


@pytest.mark.engines
def test_qualify_breaks_the_postgres_build(world, cluster, tmp_path):
    """`qualify` is DuckDB (and Snowflake) only: Postgres rejects the model, naming it."""
    project = copy_project(
        tmp_path,
        "stg_salesforce__leads",
        "    where systemmodstamp <= {{ lead_scoring.as_of() }}\n",
        "    where systemmodstamp <= {{ lead_scoring.as_of() }}\n"
        "    qualify row_number() over (partition by id order by systemmodstamp desc, _loaded_at desc) = 1\n",
    )
    duckdb = run("duckdb", world, name="qualify_duckdb", project=project, select="stg_salesforce__leads")
    assert duckdb.success, "\n".join(duckdb.errors)
    postgres = run("postgres", world, cluster, "qualify_postgres", project, select="stg_salesforce__leads")
    assert not postgres.success
    assert any("stg_salesforce__leads" in error and "qualify" in error for error in postgres.errors), (
        postgres.errors
    )


@pytest.mark.engines
def test_integer_division_shows_in_the_fingerprint(world, cluster, tmp_path):
    """A silent difference: int / int is a fraction on DuckDB and Spark, truncated on
    Postgres. Both builds pass; the fingerprint names the model and the column."""
    project = copy_project(
        tmp_path,
        "int_people_activity_summarized",
        "        count(*) as activity_count,\n",
        "        count(*) as activity_count,\n        sum(is_page_view) / count(*) as page_view_share,\n",
    )
    selection = "+int_people_activity_summarized"
    duckdb = run("duckdb", world, name="division_duckdb", project=project, select=selection)
    postgres = run("postgres", world, cluster, "division_postgres", project, select=selection)
    assert duckdb.success and postgres.success, duckdb.errors + postgres.errors
    with pytest.raises(fp.MismatchError) as raised:
        fp.assert_same({"duckdb": duckdb.fingerprint, "postgres": postgres.fingerprint})
    assert "int_people_activity_summarized.page_view_share.sum" in str(raised.value)
    assert "stg_" not in str(raised.value), "only the edited model may differ"


@pytest.mark.engines
def test_spark_builds_everything_and_matches_duckdb(reference, spark_run: Future, capsys):
    spark = spark_run.result(timeout=900)
    assert spark.success, "\n".join(spark.errors)
    assert spark.nodes == reference.nodes
    fp.assert_same({"duckdb": reference.fingerprint, "spark": spark.fingerprint})
    with capsys.disabled():
        print(f"\n{reference.summary()}\n{spark.summary()}  (Spark ran beside the other engines)")
