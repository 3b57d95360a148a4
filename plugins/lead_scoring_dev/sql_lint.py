"""Lint the dbt project for DuckDB-only SQL (see DESIGN.md, "Portable SQL").

The scoring project runs unchanged on DuckDB, Postgres and Spark only while models and
macros stick to dbt's cross-database macros; engine-specific SQL belongs in the
adapter-dispatched implementations (``duckdb__…``, ``postgres__…``, ``spark__…``,
``default__…``) in ``macros/portable.sql``. This check reads every ``.sql`` file under
``models/``, ``macros/`` and ``tests/``, blanks comments (Jinja, ``--``, ``/* */``), string
literals and the bodies of dispatched implementations, and reports each construct with its
file, line and the portable replacement. ``make lint`` runs it; so does the test suite.

    python -m lead_scoring_dev.sql_lint [dbt_project_dir]
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

SCANNED_DIRS = ("models", "macros", "tests")
ADAPTER_PREFIXES = (
    "default",
    "duckdb",
    "postgres",
    "spark",
    "databricks",
    "snowflake",
    "bigquery",
    "redshift",
)
_DISPATCH = "an adapter-dispatched macro in macros/portable.sql (duckdb__/postgres__/spark__ implementations)"
_ROW_NUMBER = "a `row_number() over (...) = 1` CTE"
_AS_OF = "`{{ lead_scoring.as_of() }}` (scoring time is var('as_of'))"

# (construct shown in the error, pattern, what to use instead)
RULES: list[tuple[str, re.Pattern[str], str]] = [
    (name, re.compile(pattern, re.IGNORECASE), fix)
    for name, pattern, fix in [
        ("qualify", r"\bqualify\b", f"{_ROW_NUMBER} and a where on it"),
        ("arg_max/max_by/arg_min/min_by", r"\b(arg_max|max_by|arg_min|min_by)\s*\(", _ROW_NUMBER),
        ("list()", r"\blist\s*\(", "`lead_scoring.ordered_listagg` or `dbt.listagg`"),
        ("select * exclude", r"\*\s*exclude\b", "an explicit column list"),
        ("group by all", r"\bgroup\s+by\s+all\b", "the grouped columns by name"),
        ("count_if", r"\bcount_if\s*\(", "`sum(case when ... then 1 else 0 end)`"),
        ("median()", r"\bmedian\s*\(", _DISPATCH),
        ("try_cast", r"\btry_cast\s*\(", "`dbt.safe_cast` (overridden per engine in macros/portable.sql)"),
        (
            "date_diff()",
            r"\bdate_diff\s*\(",
            "`dbt.datediff` or `lead_scoring.age_in_days` / `epoch_seconds`",
        ),
        ("extract(epoch ...)", r"\bextract\s*\(\s*epoch\b", "`lead_scoring.epoch_seconds`"),
        ("distinct on", r"\bdistinct\s+on\b", _ROW_NUMBER),
        (":: cast", r"::", "`cast(x as {{ dbt.type_...() }})`"),
        (
            "bare type in a cast",
            r"\bas\s+(double(\s+precision)?|string|text|varchar)\s*\)",
            "`{{ dbt.type_float() }}` / `{{ dbt.type_string() }}`",
        ),
        ("strftime", r"\bstrftime\s*\(", _DISPATCH),
        ("regexp_matches", r"\bregexp_matches\s*\(", _DISPATCH),
        ("epoch()", r"\bepoch\s*\(", "`lead_scoring.epoch_seconds`"),
        ("struct_pack", r"\bstruct_pack\s*\(", _DISPATCH),
        ("now()", r"\bnow\s*\(\s*\)", _AS_OF),
        ("current_timestamp", r"\bcurrent_timestamp\b", _AS_OF),
        ("current_date", r"\bcurrent_date\b", _AS_OF),
    ]
]

_MACRO_START = re.compile(r"\{%-?\s*macro\s+(\w+?)__\w+\s*\(.*?%\}", re.DOTALL)
_MACRO_END = re.compile(r"\{%-?\s*endmacro\s*-?%\}")


@dataclass(frozen=True)
class Finding:
    path: Path
    line: int
    construct: str
    fix: str
    text: str

    def describe(self, root: Path | None = None) -> str:
        shown = self.path.relative_to(root) if root and self.path.is_relative_to(root) else self.path
        return (
            f"{shown}:{self.line}: `{self.construct}` is DuckDB-only SQL ({self.text.strip()[:80]!r}); "
            f"use {self.fix}, or move engine-specific SQL into {_DISPATCH}"
        )


def _blank(text: str) -> str:
    """Spaces for every character but newlines (keeps line numbers and offsets)."""
    return re.sub(r"[^\n]", " ", text)


def strip_non_code(sql: str) -> str:
    """``sql`` with Jinja comments, SQL comments and the contents of single-quoted string
    literals blanked out, so that only code is matched."""
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        if sql.startswith("{#", i):
            end = sql.find("#}", i + 2)
            end = n if end < 0 else end + 2
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            end = n if end < 0 else end + 2
        elif sql[i] == "'":
            end = i + 1
            while end < n and not (sql[end] == "'" and not sql.startswith("''", end)):
                end += 2 if sql.startswith("''", end) else 1
            end = min(end + 1, n)
            out.append("'" + _blank(sql[i + 1 : end - 1]) + ("'" if end - i > 1 else ""))
            i = end
            continue
        else:
            out.append(sql[i])
            i += 1
            continue
        out.append(_blank(sql[i:end]))
        i = end
    return "".join(out)


def strip_dispatched_macros(sql: str) -> str:
    """Blank the bodies of ``<adapter>__name`` macros: engine-specific SQL is allowed there."""
    out, pos = [], 0
    for start in _MACRO_START.finditer(sql):
        if start.start() < pos or start.group(1).lower() not in ADAPTER_PREFIXES:
            continue
        end = _MACRO_END.search(sql, start.end())
        stop = end.end() if end else len(sql)
        out.append(sql[pos : start.start()])
        out.append(_blank(sql[start.start() : stop]))
        pos = stop
    out.append(sql[pos:])
    return "".join(out)


def lint_text(sql: str, path: Path) -> list[Finding]:
    """The DuckDB-only constructs in one file's text."""
    code = strip_dispatched_macros(strip_non_code(sql))
    original = sql.splitlines()
    findings = []
    for construct, pattern, fix in RULES:
        for match in pattern.finditer(code):
            line = code.count("\n", 0, match.start()) + 1
            findings.append(Finding(path, line, construct, fix, original[line - 1] if original else ""))
    return sorted(findings, key=lambda f: (str(f.path), f.line, f.construct))


def lint_project(project_dir: Path) -> list[Finding]:
    """Every finding in the project's models, macros and singular/generic tests."""
    project_dir = Path(project_dir)
    if not (project_dir / "dbt_project.yml").exists():
        raise FileNotFoundError(f"{project_dir} is not a dbt project (no dbt_project.yml)")
    findings: list[Finding] = []
    for folder in SCANNED_DIRS:
        for path in sorted((project_dir / folder).rglob("*.sql")):
            findings.extend(lint_text(path.read_text(encoding="utf-8"), path))
    return findings


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    project = (Path(args[0]) if args else Path(__file__).resolve().parents[2] / "dbt_project").resolve()
    findings = lint_project(project)
    for finding in findings:
        print(finding.describe(project.parent), file=sys.stderr)
    if findings:
        print(
            f"{len(findings)} DuckDB-only construct(s) in {project}; see DESIGN.md 'Portable SQL'",
            file=sys.stderr,
        )
        return 1
    print(f"portable SQL: {project} is clean")
    return 0


if __name__ == "__main__":
    sys.exit(main())
