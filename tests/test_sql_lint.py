"""The portable-SQL lint: DuckDB-only constructs in models and macros are caught with file,
line and the replacement; comments, strings and dispatched implementations are not flagged."""

from __future__ import annotations

import pytest

from conftest import REPO
from lead_scoring_dev.sql_lint import lint_project, lint_text, main, strip_dispatched_macros, strip_non_code


def make_project(root, files: dict[str, str]):
    (root / "dbt_project.yml").write_text("name: lint_fixture\n")
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_the_project_is_portable():
    findings = lint_project(REPO / "dbt_project")
    assert findings == [], "\n".join(f.describe(REPO) for f in findings)


def test_qualify_in_a_model_is_caught_with_file_line_and_fix(tmp_path, capsys):
    project = make_project(
        tmp_path,
        {
            "models/staging/stg_latest.sql": (
                "with source as (select * from {{ source('raw', 'lead') }})\n"
                "select *\n"
                "from source\n"
                "qualify row_number() over (partition by id order by systemmodstamp desc) = 1\n"
            )
        },
    )
    [finding] = lint_project(project)
    assert finding.path.name == "stg_latest.sql" and finding.line == 4 and finding.construct == "qualify"
    assert main([str(project)]) == 1
    err = capsys.readouterr().err
    assert "models/staging/stg_latest.sql:4: `qualify`" in err
    assert "row_number()" in err and "macros/portable.sql" in err


@pytest.mark.parametrize(
    ("sql", "construct"),
    [
        ("select arg_max(score, scored_at) from t", "arg_max/max_by/arg_min/min_by"),
        ("select max_by(score, scored_at) from t", "arg_max/max_by/arg_min/min_by"),
        ("select list(reason) from t", "list()"),
        ("select * exclude (email) from t", "select * exclude"),
        ("select tier, count(*) from t group by all", "group by all"),
        ("select count_if(is_mql) from t", "count_if"),
        ("select median(score) from t", "median()"),
        ("select try_cast(x as integer) from t", "try_cast"),
        ("select date_diff('minute', a, b) from t", "date_diff()"),
        ("select extract(epoch from created_at) from t", "extract(epoch ...)"),
        ("select distinct on (id) id from t", "distinct on"),
        ("select score::integer from t", ":: cast"),
        ("select cast(score as double) from t", "bare type in a cast"),
        ("select cast(tier AS String ) from t", "bare type in a cast"),
        ("select cast(x as text) from t", "bare type in a cast"),
        ("select cast(x as varchar) from t", "bare type in a cast"),
        ("select strftime(created_at, '%Y') from t", "strftime"),
        ("select regexp_matches(url, 'pricing') from t", "regexp_matches"),
        ("select epoch(created_at) from t", "epoch()"),
        ("select struct_pack(a := 1) from t", "struct_pack"),
        ("select now() as scored_at", "now()"),
        ("select current_timestamp as scored_at", "current_timestamp"),
    ],
)
def test_each_duckdb_only_construct_is_caught(sql, construct, tmp_path):
    assert [f.construct for f in lint_text(sql, tmp_path / "m.sql")] == [construct]


@pytest.mark.parametrize(
    "sql",
    [
        "{# a qualify here is only a comment #} select 1",
        "-- select now() was the old way\nselect 1",
        "/* select list(x)\n group by all */ select 1",
        "select 'qualify::text' as note, 'it''s now()' as other",
        "select is_disqualified, epoch_seconds, cast(x as {{ dbt.type_string() }}) from t",
        "select cast(x as varchar(40)), {{ lead_scoring.epoch_seconds('created_at') }} as a alias_text",
    ],
)
def test_comments_strings_and_portable_code_are_not_flagged(sql, tmp_path):
    assert lint_text(sql, tmp_path / "m.sql") == []


def test_only_adapter_dispatched_implementations_may_use_engine_sql(tmp_path):
    macros = (
        "{% macro epoch_of(ts) -%}\n  {{ return(adapter.dispatch('epoch_of', 'x')(ts)) }}\n{%- endmacro %}\n"
        "{% macro duckdb__epoch_of(ts) -%}\n  epoch({{ ts }})\n{%- endmacro %}\n"
        "{% macro postgres__epoch_of(ts) -%}\n  extract(epoch from {{ ts }})\n{%- endmacro %}\n"
        "{% macro helper(ts) -%}\n  {{ ts }}::date\n{%- endmacro %}\n"
    )
    project = make_project(tmp_path, {"macros/engine.sql": macros})
    [finding] = lint_project(project)
    assert (finding.construct, finding.line) == (":: cast", 11)  # the helper is not dispatched


def test_stripping_keeps_line_numbers():
    sql = "{# one\ntwo #}\n-- three\nselect 'four\nfive'\n{% macro spark__x() %}\nsix\n{% endmacro %}\n"
    stripped = strip_dispatched_macros(strip_non_code(sql))
    assert stripped.count("\n") == sql.count("\n") and len(stripped) == len(sql)
    assert "two" not in stripped and "five" not in stripped and "six" not in stripped


def test_a_folder_that_is_not_a_dbt_project_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a dbt project"):
        lint_project(tmp_path)
