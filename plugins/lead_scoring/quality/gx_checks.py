"""Run the Great Expectations suites in ``expectations/`` on DataFrames read from DuckDB.

A suite file is GX 1.x JSON (``name``, ``expectations`` with ``type``/``kwargs``/``meta``)
plus ``meta.leadscore``: the ``table`` it validates and, for raw suites, ``scope: run`` (only
the rows loaded by this run's batches). Every expectation carries ``meta.severity``
``critical`` (blocks the write-back) or ``warning`` (reported). GX's SQL datasource returns
empty metrics on DuckDB (GX issues 10738, 11579), hence DataFrames.

Bounded memory: only the columns the suite's expectations name are read, and a suite whose
expectations are all row-wise (``ROW_WISE``: each row passes or fails on its own) is
validated ``LEADSCORE_GX_CHUNK_ROWS`` rows at a time (default 1,000,000); the chunks'
counts are added up and ``mostly`` is applied to the whole table, so the outcome is the one
GX gives on the whole frame. Suites with an aggregate expectation (unique, mean, row count)
see the whole (projected) table in one frame. The Data Docs show the first chunk.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from lead_scoring.warehouse import utc_now

log = logging.getLogger(__name__)

SEVERITIES = {"critical", "warning"}
# Columns holding personal data (tagged pii in dbt): their values never go to logs or errors.
PII_COLUMNS = {"email", "firstname", "lastname", "first_name", "last_name", "name", "phone", "title"}


class CriticalDataQualityError(RuntimeError):
    """A critical expectation failed: the write-back must not run."""


@dataclass
class ExpectationOutcome:
    suite: str
    expectation: str
    column: str | None
    severity: str
    success: bool
    unexpected_count: int | None
    sample: list = field(default_factory=list)

    def describe(self) -> str:
        """One line for logs and errors; values of personal-data columns are not shown (they
        stay in ops.gx_results and the run's GX files, which erasure requests clean)."""
        where = f" on {self.column}" if self.column else ""
        if self.sample and (self.column or "").lower() in PII_COLUMNS:
            sample = f"; sample bad values withheld ({self.column} is personal data): see ops.gx_results"
        else:
            sample = f"; sample bad values: {self.sample[:5]}" if self.sample else ""
        count = f" ({self.unexpected_count} unexpected)" if self.unexpected_count else ""
        return f"[{self.suite}] {self.expectation}{where}{count}{sample}"


@dataclass
class SuiteResult:
    suite: str
    table: str
    rows: int
    outcomes: list[ExpectationOutcome]

    @property
    def critical_failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success and o.severity == "critical"]

    @property
    def warnings(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success and o.severity == "warning"]

    @property
    def status(self) -> str:
        return "fail" if self.critical_failures else ("warn" if self.warnings else "pass")


def load_suite_spec(path: Path) -> dict:
    """Read and check a suite file; clear errors for a missing table or severity."""
    spec = json.loads(path.read_text())
    target = spec.get("meta", {}).get("leadscore", {})
    if "table" not in target:
        raise ValueError(f"{path}: meta.leadscore.table is required (the DuckDB table to validate)")
    for i, expectation in enumerate(spec.get("expectations", [])):
        severity = expectation.get("meta", {}).get("severity")
        if severity not in SEVERITIES:
            raise ValueError(
                f"{path}: expectation #{i} ({expectation.get('type')}) needs meta.severity "
                f"critical or warning, got {severity!r}"
            )
    return spec


# Expectations decided row by row: a table's outcome is the sum of its chunks' outcomes.
ROW_WISE = {
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_null",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_not_be_in_set",
    "expect_column_values_to_be_between",
    "expect_column_values_to_match_regex",
    "expect_column_values_to_not_match_regex",
    "expect_column_values_to_match_regex_list",
    "expect_column_values_to_not_match_regex_list",
    "expect_column_value_lengths_to_equal",
    "expect_column_value_lengths_to_be_between",
    "expect_column_values_to_match_like_pattern",
    "expect_column_values_to_match_strftime_format",
    "expect_column_values_to_be_dateutil_parseable",
    "expect_column_values_to_be_json_parseable",
}
# Table-level expectations that need no column (any projection keeps the row count).
COLUMNLESS = {"expect_table_row_count_to_be_between", "expect_table_row_count_to_equal"}
DEFAULT_CHUNK_ROWS = 1_000_000


def chunk_rows() -> int:
    """Rows per GX chunk (``LEADSCORE_GX_CHUNK_ROWS``)."""
    value = os.environ.get("LEADSCORE_GX_CHUNK_ROWS", str(DEFAULT_CHUNK_ROWS))
    try:
        rows = int(value)
    except ValueError:
        rows = 0
    if rows < 1:
        raise ValueError(f"LEADSCORE_GX_CHUNK_ROWS must be a positive integer of rows, got {value!r}")
    return rows


def suite_columns(spec: dict) -> list[str] | None:
    """The columns the suite's expectations read, or None when one may need every column."""
    columns: list[str] = []
    for expectation in spec["expectations"]:
        column = expectation.get("kwargs", {}).get("column")
        if column is not None and column not in columns:
            columns.append(column)
        elif column is None and expectation["type"] not in COLUMNLESS:
            return None
    return columns or None


def is_row_wise(spec: dict) -> bool:
    return bool(spec["expectations"]) and all(e["type"] in ROW_WISE for e in spec["expectations"])


def frame_query(spec: dict, batch_ids: list[str] | None, keys: list[str] | None = None) -> tuple[str, list]:
    """The select that reads the suite's rows (only its columns) from DuckDB, and its
    parameters. With ``keys``, a suite whose meta names a ``key`` column reads only the rows
    with those keys (the fast lane checks the scores it is about to write)."""
    target = spec["meta"]["leadscore"]
    table = target["table"]
    columns = suite_columns(spec)
    select = ", ".join(f'"{c}"' for c in columns) if columns else "*"
    if target.get("scope") == "run":
        if not batch_ids:
            return f"select {select} from {table} limit 0", []
        marks = ", ".join("?" for _ in batch_ids)
        return f"select {select} from {table} where _batch_id in ({marks})", list(batch_ids)
    if keys is not None and target.get("key"):
        return f'select {select} from {table} where list_contains(?, "{target["key"]}")', [list(keys)]
    return f"select {select} from {table}", []


def read_frame(
    con: duckdb.DuckDBPyConnection, spec: dict, batch_ids: list[str] | None, keys: list[str] | None = None
) -> pd.DataFrame:
    sql, params = frame_query(spec, batch_ids, keys)
    return con.execute(sql, params).df()


def read_chunks(
    con: duckdb.DuckDBPyConnection, spec: dict, batch_ids: list[str] | None, rows: int
) -> Iterator[pd.DataFrame]:
    """The suite's rows as DataFrames of ``rows`` rows rounded down to DuckDB's 2,048-row
    vectors (at least one); an empty table gives one empty frame."""
    sql, params = frame_query(spec, batch_ids)
    result = con.execute(sql, params)
    vectors = max(1, rows // 2048)  # DuckDB hands out 2,048-row vectors
    first = True
    while True:
        frame = result.fetch_df_chunk(vectors)
        if len(frame) == 0 and not first:
            return
        yield frame
        first = False
        if len(frame) == 0:
            return


DOCS_SITE = "leadscore"


def gx_context(docs_dir: Path | None = None):
    """An ephemeral GX context (nothing persisted but the Data Docs under ``docs_dir``)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx  # noqa: PLC0415 - slow import, only when validating
    from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: PLC0415

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    if docs_dir is not None:
        context.add_data_docs_site(
            site_name=DOCS_SITE,
            site_config={
                "class_name": "SiteBuilder",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_dir),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
    return context


def validate_frame(
    spec: dict, frame: pd.DataFrame, context=None, docs_resources: list | None = None
) -> SuiteResult:
    """Validate ``frame`` against the suite ``spec`` with GX (through a checkpoint); one
    outcome per expectation. See validate_chunks for ``docs_resources``."""
    return validate_chunks(spec, iter([frame]), context, docs_resources)


def _outcome(spec: dict, item) -> tuple[ExpectationOutcome, int]:
    """An outcome and its denominator (the rows the expectation judged: non-missing ones)."""
    config = item.expectation_config
    details = item.result or {}
    outcome = ExpectationOutcome(
        suite=spec["name"],
        expectation=config.type,
        column=config.kwargs.get("column"),
        severity=config.meta.get("severity", "critical"),
        success=bool(item.success),
        unexpected_count=details.get("unexpected_count"),
        sample=[str(v) for v in details.get("partial_unexpected_list", [])[:10]],
    )
    judged = (details.get("element_count") or 0) - (details.get("missing_count") or 0)
    return outcome, judged


def _merge(
    total: ExpectationOutcome, judged: int, chunk: ExpectationOutcome, chunk_judged: int, mostly: float | None
) -> int:
    """Add a chunk's outcome of a row-wise expectation to the running total (in place) and
    return the rows judged so far; ``mostly`` applies to the total, as GX applies it."""
    total.unexpected_count = (total.unexpected_count or 0) + (chunk.unexpected_count or 0)
    total.sample = (total.sample + chunk.sample)[:10]
    judged += chunk_judged
    if mostly is None:
        total.success = total.success and chunk.success
    else:
        total.success = judged == 0 or (judged - total.unexpected_count) / judged >= mostly
    return judged


def validate_chunks(
    spec: dict, frames: Iterator[pd.DataFrame], context=None, docs_resources: list | None = None
) -> SuiteResult:
    """Validate the suite on each frame of ``frames`` in turn and add the outcomes up (only
    meaningful for row-wise suites or a single frame); the first frame goes through the
    checkpoint, the others through the validation definition alone. The first frame's
    validation result and suite identifiers are appended to ``docs_resources``, for one Data
    Docs build after all the suites (build_data_docs)."""
    import great_expectations as gx  # noqa: PLC0415
    from great_expectations.expectations.registry import get_expectation_impl  # noqa: PLC0415

    context = context or gx_context()
    expectations = [
        get_expectation_impl(e["type"])(**e["kwargs"], meta=e.get("meta", {})) for e in spec["expectations"]
    ]
    suite = context.suites.add(gx.ExpectationSuite(name=spec["name"], expectations=expectations))
    asset = context.data_sources.add_pandas(f"{spec['name']}_source").add_dataframe_asset(name=spec["name"])
    batch = asset.add_batch_definition_whole_dataframe("whole")
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(data=batch, suite=suite, name=spec["name"])
    )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name=f"{spec['name']}_checkpoint",
            validation_definitions=[definition],
            result_format="SUMMARY",
        )
    )
    outcomes: list[ExpectationOutcome] = []
    judged: list[int] = []
    rows = 0
    for position, frame in enumerate(frames):
        if position == 0:
            run = checkpoint.run(batch_parameters={"dataframe": frame})
            result_id, result = next(iter(run.run_results.items()))
            if docs_resources is not None:
                docs_resources += [result_id, result_id.expectation_suite_identifier]
        else:
            result = definition.run(batch_parameters={"dataframe": frame}, result_format="SUMMARY")
        rows += len(frame)
        for i, item in enumerate(result.results):
            outcome, count = _outcome(spec, item)
            if position == 0:
                outcomes.append(outcome)
                judged.append(count)
            else:
                mostly = item.expectation_config.kwargs.get("mostly")
                judged[i] = _merge(outcomes[i], judged[i], outcome, count, mostly)
    return SuiteResult(spec["name"], spec["meta"]["leadscore"]["table"], rows, outcomes)


def run_suites(
    con: duckdb.DuckDBPyConnection,
    suite_paths: list[Path],
    run_id: str,
    out_dir: Path,
    batch_ids: list[str] | None = None,
    keys: list[str] | None = None,
) -> list[SuiteResult]:
    """Run each suite, store outcomes in ``ops.gx_results`` and ``out_dir/<suite>.json``, and
    the GX Data Docs of the run in ``out_dir/data_docs/index.html`` (built once, after the
    suites: rendering is most of a small run's validation time, and GX's UpdateDataDocsAction
    in each checkpoint re-rendered the index once per suite). With ``keys``, a suite with a
    ``key`` column checks only those rows (``frame_query``), and is skipped when none is
    there (no outcome: its table-level expectations, a row count, would judge an empty
    subset)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    context = gx_context(out_dir / "data_docs")
    results = []
    docs_resources: list = []
    for path in suite_paths:
        spec = load_suite_spec(path)
        keyed = keys is not None and bool(spec["meta"]["leadscore"].get("key"))
        if keyed:
            frame = read_frame(con, spec, batch_ids, keys)
            if frame.empty:
                log.info("GX suite %s: none of the %d keys has a row: skipped", spec["name"], len(keys))
                continue
            suite_result = validate_frame(spec, frame, context, docs_resources)
        elif is_row_wise(spec):
            frames = read_chunks(con, spec, batch_ids, chunk_rows())
            suite_result = validate_chunks(spec, frames, context, docs_resources)
        else:
            suite_result = validate_frame(spec, read_frame(con, spec, batch_ids), context, docs_resources)
        results.append(suite_result)
        now = utc_now()
        con.executemany(
            "insert into ops.gx_results values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    run_id,
                    o.suite,
                    o.expectation,
                    o.column,
                    o.severity,
                    o.success,
                    o.unexpected_count,
                    json.dumps(o.sample),
                    now,
                )
                for o in suite_result.outcomes
            ],
        )
        (out_dir / f"{spec['name']}.json").write_text(
            json.dumps(
                {
                    "suite": suite_result.suite,
                    "table": suite_result.table,
                    "rows": suite_result.rows,
                    "status": suite_result.status,
                    "outcomes": [o.__dict__ for o in suite_result.outcomes],
                },
                indent=2,
            )
        )
        for warning in suite_result.warnings:
            log.warning("GX warning: %s", warning.describe())
    if docs_resources:
        context.build_data_docs(site_names=[DOCS_SITE], resource_identifiers=docs_resources)
    return results


def raise_on_critical(results: list[SuiteResult], held: list[str] | None = None) -> None:
    """Stop the pipeline, naming each failed critical expectation and sample bad values
    (and the batches ``hold_failed_batches`` took out of raw)."""
    failures = [f for r in results for f in r.critical_failures]
    if failures:
        lines = "\n  ".join(f.describe() for f in failures)
        held_note = (
            f"\nHeld out of raw (rows in ops.quarantine, not loaded again): {', '.join(held)}; drop a "
            "corrected file, or fix the records in the CRM (the next run extracts them again)."
            if held
            else ""
        )
        raise CriticalDataQualityError(
            f"{len(failures)} critical data-quality check(s) failed; the CRM write-back is "
            f"blocked:\n  {lines}{held_note}\nFix the data or the model, then re-run this hour."
        )


def hold_failed_batches(
    con: duckdb.DuckDBPyConnection, results: list[SuiteResult], batch_ids: list[str]
) -> list[str]:
    """Take this run's batches that a critical raw check failed on out of the raw tables, so
    no later run scores them or writes anything derived from them to the CRM: their rows go
    to ``ops.quarantine`` (reason: the failed checks), the ledger row becomes ``held`` (rows
    read = 0 loaded + quarantined), and a CRM object's watermark goes back to the batch's
    window start, so the next run extracts those records again (fixed at the source, or
    held again). A held file is not re-loaded: fix it and drop the corrected file. Returns
    the held batch ids."""
    held: list[str] = []
    now = utc_now()
    for result in results:
        if not result.critical_failures or not batch_ids:
            continue
        failed = "; ".join(f.describe() for f in result.critical_failures)
        reason = f"batch held: critical check failed: {failed}"
        table = result.table
        columns = {r[0] for r in con.execute(f"describe {table}").fetchall()}
        line = "_line" if "_line" in columns else "row_number() over ()"
        marks = ", ".join("?" for _ in batch_ids)
        in_table = [
            r[0]
            for r in con.execute(
                f"select distinct _batch_id from {table} where _batch_id in ({marks})", batch_ids
            ).fetchall()
        ]
        for batch_id in in_table:
            con.execute("begin transaction")
            con.execute(
                "insert into ops.quarantine (source, file, line, record, reason, _batch_id, quarantined_at) "
                f"select batches.source, batches.file, {line}, left(cast(to_json(raw) as varchar), 2000), ?, "
                f"?, ? from {table} as raw, ops.batches as batches "
                "where raw._batch_id = ? and batches.batch_id = ?",
                [reason[:2000], batch_id, now, batch_id, batch_id],
            )
            con.execute(f"delete from {table} where _batch_id = ?", [batch_id])
            # a deletion check whose tombstones (or full extract) are held out covered nothing
            con.execute("delete from ops.crm_deletion_checks where batch_id = ?", [batch_id])
            con.execute(
                "update ops.batches set rows_quarantined = rows_quarantined + rows_loaded, rows_loaded = 0, "
                "status = 'held', notes = concat_ws('; ', notes, ?) where batch_id = ?",
                [reason[:1000], batch_id],
            )
            window = con.execute(
                "select batches.object, batches.window_start from ops.watermarks as marks "
                "join ops.batches as batches on batches.batch_id = marks.batch_id where marks.batch_id = ?",
                [batch_id],
            ).fetchall()
            for obj, start in window:
                if start is None:
                    con.execute("delete from ops.watermarks where object = ?", [obj])
                else:
                    con.execute(
                        "update ops.watermarks set watermark = ?, batch_id = null, updated_at = ? "
                        "where object = ?",
                        [start, now, obj],
                    )
            con.execute("commit")
            log.warning("batch %s held out of %s: %s", batch_id, table, reason[:300])
            held.append(batch_id)
    return held
