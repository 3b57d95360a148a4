"""Build the dbt project on DuckDB, Postgres and Spark from the same raw data and prove the
outputs are identical.

    python -m lead_scoring_dev.engines.check                       # all engines, prints timings
    python -m lead_scoring_dev.engines.check --targets duckdb,postgres
    python -m lead_scoring_dev.engines.check --target spark --fixture DIR --workdir DIR --out F

The first forms build the fixture (``fixture.build``), start a throwaway Postgres cluster
and run each engine in its own Python process (``--target``: load the raw tables, ``dbt
build`` in-process, fingerprint every model, write a JSON result), sampling the process
tree's memory; then compare every engine's fingerprint with DuckDB's. Exit code 1 on a
failed build or a difference (the message names model, column and statistic).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from lead_scoring_dev.engines import fingerprint as fp
from lead_scoring_dev.engines import fixture, postgres
from lead_scoring_dev.engines import spark as spark_engine
from lead_scoring_dev.engines.loaders import load_postgres, load_spark

TARGETS = ("duckdb", "postgres", "spark")
# Incremental models built a second time at the same as_of after the full build.
INCREMENTAL_RERUN = (
    "lead_score_history int_activities_matched_to_people int_activities_signalled int_activities_capped"
)
REPO = Path(__file__).resolve().parents[3]


@dataclass
class EngineRun:
    """One engine's build: outcome, timings, memory and fingerprint."""

    target: str
    success: bool
    errors: list[str] = field(default_factory=list)
    load_s: float = 0.0
    build_s: float = 0.0
    fingerprint_s: float = 0.0
    process_s: float = 0.0
    peak_rss_mb: float = 0.0
    nodes: int = 0
    fingerprint: dict = field(default_factory=dict)

    def summary(self) -> str:
        state = "ok" if self.success else "FAILED"
        return (
            f"{self.target:<9} {state:<6} dbt build {self.build_s:6.1f} s ({self.nodes} nodes)  "
            f"load {self.load_s:5.1f} s  fingerprint {self.fingerprint_s:5.1f} s  "
            f"process {self.process_s:6.1f} s  peak RSS {self.peak_rss_mb:6.0f} MiB"
        )


# ----------------------------------------------------------------- one engine, in-process


def _as_of_var(as_of: datetime) -> str:
    return as_of.strftime("%Y-%m-%dT%H:%M:%S")


def _dbt_build(
    target: str, project_dir: Path, workdir: Path, as_of: datetime, select: str | None = None
) -> tuple[bool, list[str], int, list[str]]:
    """``dbt build`` in this process: (success, failures, node count, models built)."""
    from dbt.cli.main import dbtRunner  # noqa: PLC0415 - heavy import

    args = [
        "build",
        "--target", target,
        "--project-dir", str(project_dir),
        "--profiles-dir", str(project_dir),
        "--target-path", str(workdir / "target"),
        "--log-path", str(workdir / "logs"),
        "--vars", f"{{as_of: '{_as_of_var(as_of)}'}}",
    ]  # fmt: skip
    if select:
        args += ["--select", select]
    result = dbtRunner().invoke(args)
    errors, nodes, models = [], 0, []
    if result.result is not None and hasattr(result.result, "results"):
        nodes = len(result.result.results)
        for node in result.result.results:
            if str(node.status) in {"error", "fail"}:
                errors.append(f"{node.node.unique_id}: {str(node.message).strip()}")
            elif node.node.resource_type == "model" and str(node.status) == "success":
                models.append(node.node.name)
    if not result.success and not errors:
        errors.append(f"dbt build --target {target} failed: {result.exception}")
    return result.success, errors, nodes, models


def _reset_postgres_database() -> None:
    """Drop and re-create the profile's database so no relation of an earlier run survives."""
    import psycopg2  # noqa: PLC0415

    database = os.environ.get("LEADSCORE_PG_DATABASE", "leadscore")
    admin = psycopg2.connect(
        host=os.environ.get("LEADSCORE_PG_HOST", "127.0.0.1"),
        port=int(os.environ.get("LEADSCORE_PG_PORT", "5432")),
        user=os.environ.get("LEADSCORE_PG_USER", "postgres"),
        password=os.environ.get("LEADSCORE_PG_PASSWORD", ""),
        dbname="postgres",
    )
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'drop database if exists "{database}" with (force)')
        cur.execute(f'create database "{database}"')
    admin.close()


def _postgres_connection():
    import psycopg2  # noqa: PLC0415

    con = psycopg2.connect(
        host=os.environ.get("LEADSCORE_PG_HOST", "127.0.0.1"),
        port=int(os.environ.get("LEADSCORE_PG_PORT", "5432")),
        user=os.environ.get("LEADSCORE_PG_USER", "postgres"),
        password=os.environ.get("LEADSCORE_PG_PASSWORD", ""),
        dbname=os.environ.get("LEADSCORE_PG_DATABASE", "leadscore"),
    )
    con.autocommit = True
    return con


def run_engine(
    target: str,
    fixture_dir: Path,
    workdir: Path,
    project_dir: Path,
    as_of: datetime,
    select: str | None = None,
) -> EngineRun:
    """Load the fixture into ``target``, ``dbt build`` it and fingerprint every model built."""
    os.environ["TZ"] = "UTC"
    time.tzset()
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    workdir.mkdir(parents=True, exist_ok=True)
    export_dir = fixture_dir / "export"
    run = EngineRun(target=target, success=False)

    started = time.perf_counter()
    spark = None
    if target == "duckdb":
        database = workdir / "warehouse.duckdb"
        shutil.copyfile(fixture_dir / "fixture.duckdb", database)
        os.environ["LEADSCORE_WAREHOUSE"] = str(database)
    elif target == "postgres":
        _reset_postgres_database()
        con = _postgres_connection()
        load_postgres(con, export_dir)
        con.close()
    elif target == "spark":
        os.environ["LEADSCORE_SPARK_DIR"] = str(workdir / "spark")
        spark = spark_engine.session()
        load_spark(spark, export_dir)
    else:
        raise ValueError(f"unknown target {target!r}; use one of {', '.join(TARGETS)}")
    run.load_s = time.perf_counter() - started

    started = time.perf_counter()
    run.success, run.errors, run.nodes, built = _dbt_build(target, project_dir, workdir, as_of, select)
    run.build_s = time.perf_counter() - started
    if not run.success:
        return run
    if select is None:
        # The incremental models' second pass: re-running the same as_of must leave the same
        # rows (their tests, e.g. unique (crm_id, scored_at), run again after it); the activity
        # match and the models that follow it take their incremental path where the engine
        # has one (docs/incremental.md).
        started = time.perf_counter()
        success, errors, nodes, _ = _dbt_build(target, project_dir, workdir, as_of, INCREMENTAL_RERUN)
        run.build_s += time.perf_counter() - started
        run.nodes += nodes
        if not success:
            run.success, run.errors = False, [f"re-run of {INCREMENTAL_RERUN}: {error}" for error in errors]
            return run

    started = time.perf_counter()
    models = fp.models_from_manifest(workdir / "target" / "manifest.json", only=built)
    if target == "duckdb":
        import duckdb  # noqa: PLC0415

        con = duckdb.connect(os.environ["LEADSCORE_WAREHOUSE"])
        run.fingerprint = fp.fingerprint(fp.DuckDBEngine(con), models)
        con.close()
    elif target == "postgres":
        con = _postgres_connection()
        run.fingerprint = fp.fingerprint(fp.PostgresEngine(con), models)
        con.close()
    else:
        run.fingerprint = fp.fingerprint(fp.SparkEngine(spark), models)
    run.fingerprint_s = time.perf_counter() - started
    return run


# --------------------------------------------------------------- orchestration (parent)


def _peak_rss_sampler(pid: int, stop: threading.Event, peak: list[float]) -> None:
    """Highest summed RSS (MiB) of ``pid`` and its descendants (Spark's JVM), every 0.1 s."""
    import psutil  # noqa: PLC0415

    try:
        root = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    while not stop.is_set():
        try:
            total = root.memory_info().rss
            for child in root.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except psutil.NoSuchProcess:
                    pass
        except psutil.NoSuchProcess:
            return
        peak[0] = max(peak[0], total / 2**20)
        stop.wait(0.1)


def run_engine_process(
    target: str,
    fixture_dir: Path,
    workdir: Path,
    project_dir: Path = REPO / "dbt_project",
    env: dict[str, str] | None = None,
    as_of: datetime = fixture.END,
    select: str | None = None,
    timeout: float = 900,
) -> EngineRun:
    """``run_engine`` in a fresh Python process (its own JVM for Spark); adds wall time and
    the peak RSS of the process tree. The process's output is in ``workdir/check.log``."""
    fixture_dir, workdir, project_dir = (Path(p).resolve() for p in (fixture_dir, workdir, project_dir))
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / "result.json"
    out.unlink(missing_ok=True)
    command = [
        sys.executable, "-m", "lead_scoring_dev.engines.check",
        "--target", target,
        "--fixture", str(fixture_dir),
        "--workdir", str(workdir),
        "--project-dir", str(project_dir),
        "--as-of", _as_of_var(as_of),
        "--out", str(out),
    ]  # fmt: skip
    if select:
        command += ["--select", select]
    full_env = {**os.environ, **(env or {}), "TZ": "UTC", "SPARK_LOCAL_IP": "127.0.0.1"}
    started = time.perf_counter()
    peak = [0.0]
    stop = threading.Event()
    with (workdir / "check.log").open("w") as log:
        # its own process group: a timeout ends Spark's JVM too
        process = subprocess.Popen(
            command, env=full_env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        sampler = threading.Thread(target=_peak_rss_sampler, args=(process.pid, stop, peak), daemon=True)
        sampler.start()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        except BaseException:  # interrupted: do not leave the engine (or its JVM) running
            os.killpg(process.pid, signal.SIGKILL)
            raise
        finally:
            stop.set()
            sampler.join()
    elapsed = time.perf_counter() - started
    if not out.exists():
        tail = (workdir / "check.log").read_text()[-3000:]
        return EngineRun(target, False, [f"{target} check process exited {process.returncode}: {tail}"])
    run = EngineRun(**json.loads(out.read_text()))
    run.process_s, run.peak_rss_mb = elapsed, peak[0]
    return run


def compare(runs: list[EngineRun], reference: str = "duckdb") -> None:
    """Raise ``fingerprint.MismatchError`` for a failed build or any difference from DuckDB."""
    failed = [run for run in runs if not run.success]
    if failed:
        raise fp.MismatchError(
            "\n".join(
                f"dbt build --target {run.target} failed:\n  " + "\n  ".join(run.errors) for run in failed
            )
        )
    printed = {run.target: run.fingerprint for run in runs}
    fp.assert_same(printed, reference=reference if reference in printed else runs[0].target)


def check_all(
    root: Path,
    targets: tuple[str, ...] = TARGETS,
    project_dir: Path = REPO / "dbt_project",
) -> list[EngineRun]:
    """Fixture, Postgres cluster, one process per engine, one after the other."""

    fixture_dir = root / "fixture"
    fixture.build(fixture_dir, with_model=True)
    runs = []
    if "postgres" in targets:
        with postgres.cluster() as cluster:
            for target in targets:
                runs.append(
                    run_engine_process(target, fixture_dir, root / target, project_dir, cluster.env())
                )
    else:
        for target in targets:
            runs.append(run_engine_process(target, fixture_dir, root / target, project_dir))
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lead_scoring_dev.engines.check", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--target", choices=TARGETS, help="run one engine in this process (internal)")
    parser.add_argument("--targets", default=",".join(TARGETS), help="engines to compare (default: all)")
    parser.add_argument("--fixture", type=Path, help="fixture folder (with --target)")
    parser.add_argument("--workdir", type=Path, help="scratch folder (default: a temporary one)")
    parser.add_argument("--project-dir", type=Path, default=REPO / "dbt_project")
    parser.add_argument("--as-of", default=_as_of_var(fixture.END))
    parser.add_argument("--select", help="dbt node selection (default: the whole project)")
    parser.add_argument("--out", type=Path, help="result JSON (with --target)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)

    if args.target:
        if not (args.fixture and args.workdir and args.out):
            parser.error("--target needs --fixture, --workdir and --out")
        as_of = datetime.fromisoformat(args.as_of)
        run = run_engine(args.target, args.fixture, args.workdir, args.project_dir, as_of, args.select)
        args.out.write_text(json.dumps(asdict(run), indent=1, default=str) + "\n")
        print(run.summary())
        return 0 if run.success else 1

    targets = tuple(t.strip() for t in args.targets.split(",") if t.strip())
    root = args.workdir or Path(tempfile.mkdtemp(prefix="leadscore-engines-"))
    started = time.perf_counter()
    try:
        runs = check_all(root, targets, args.project_dir)
        for run in runs:
            print(run.summary())
        compare(runs)
        print(
            f"identical fingerprints on {', '.join(targets)} ({time.perf_counter() - started:.0f} s in all)"
        )
        return 0
    except fp.MismatchError as error:
        print(error, file=sys.stderr)
        return 1
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
