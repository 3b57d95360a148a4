"""The weekly RevOps report: ``reports/weekly_report.html`` from the ``reporting.rpt_*`` tables.

One self-contained HTML file (inline CSS and SVG charts, no script, no external URL), so it
can be mailed, attached to a ticket or opened from disk. Sections whose table is missing
(the routing/SLA tables, a backtest that never ran) say so instead of failing.

``collect`` reads the tables (side effect: DuckDB), ``render`` turns them into HTML (pure),
``write_report`` does both and writes the file atomically. Each ``section_*`` function works
out its section's figures, tables and numbers; the markup and the prose are Jinja2 templates in
``templates/`` (``sections/<key>.html.j2``), rendered with autoescape on, so a value read from
the warehouse (a rep name, a score reason, a URL) is always escaped.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from lead_scoring import warehouse as wh
from lead_scoring.reporting import svg

log = logging.getLogger(__name__)

TIER_NAMES = {1: "Tier 1 Hot", 2: "Tier 2 Warm", 3: "Tier 3 Nurture", 4: "Tier 4 Disqualified"}

# section id -> (title, the table it needs)
SECTIONS: dict[str, tuple[str, str]] = {
    "conversion": ("Conversion by tier", "reporting.rpt_conversion_by_tier_weekly"),
    "funnel": ("Funnel", "reporting.rpt_funnel"),
    "distribution": ("Score and tier distribution", "reporting.rpt_score_distribution_weekly"),
    "sla": ("SLA compliance and speed to lead", "reporting.rpt_sla_compliance_weekly"),
    "calibration": ("Calibration", "reporting.rpt_score_calibration"),
    "lift": ("Win analysis: attribute lift", "reporting.rpt_icp_attribute_lift"),
    "accuracy": ("Scoring accuracy", "reporting.rpt_scoring_accuracy"),
    "thresholds": ("Threshold recommendations", "reporting.rpt_threshold_recommendations"),
    "backtest": ("Backtest", "reporting.rpt_backtest"),
    "model": ("Predictive model", "ops.model_versions"),
    "versions": ("Scoring change log", "ops.scoring_versions"),
    "pilot": ("A/B pilot", "reporting.rpt_pilot"),
}

OPTIONAL_TABLES = (
    "reporting.rpt_speed_to_lead",
    "reporting.rpt_routing_fairness",
    "reporting.rpt_rep_load",
    "reporting.rpt_backtest_daily",
)


@dataclass
class ReportData:
    """Rows per table (``None`` when the table does not exist) and when they were read."""

    tables: dict[str, list[dict[str, Any]] | None] = field(default_factory=dict)
    generated_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    as_of: Any = None

    def rows(self, table: str) -> list[dict[str, Any]] | None:
        return self.tables.get(table)


def _existing_tables(con) -> set[str]:
    rows = con.execute(
        "select table_schema || '.' || table_name from information_schema.tables "
        "where table_schema in ('reporting', 'marts', 'ops')"
    ).fetchall()
    return {r[0] for r in rows}


# The header's week-over-week numbers: the newest weeks first (this week so far, then complete ones)
KPI_TABLE = "reporting.rpt_kpi_weekly"
KPI_WEEKS = 8


# The bins of the model card's version (the promoted one, else the newest) that add the most
# points above their feature's lowest bin (what a score's "Model: ..." reasons show).
MODEL_POINTS_SQL = """
with version as (
    select version_id from ops.model_versions order by is_promoted desc, trained_at desc limit 1
),
bins as (
    select p.feature, p.bin_label, p.points - min(p.points) over (partition by p.feature) as above_lowest
    from ops.model_points as p
    inner join version on p.version_id = version.version_id
    where p.bin_label <> 'Special'
)
select * from bins where above_lowest > 0 order by above_lowest desc, feature limit 15
"""


def collect(con) -> ReportData:
    """Read every table the report shows (missing tables become ``None``)."""
    existing = _existing_tables(con)
    data = ReportData()
    for _, table in SECTIONS.values():
        data.tables[table] = wh.fetch_dicts(con, f"select * from {table}") if table in existing else None
    for table in OPTIONAL_TABLES:
        data.tables[table] = (
            wh.fetch_dicts(con, f"select * from {table} limit 200") if table in existing else None
        )
    if KPI_TABLE in existing:
        data.tables[KPI_TABLE] = wh.fetch_dicts(
            con,
            f"select * from {KPI_TABLE} where week_start_date > "
            f"(select max(week_start_date) from {KPI_TABLE}) - interval {7 * KPI_WEEKS} day",
        )
    if data.rows("ops.model_versions"):
        data.tables["model_points"] = wh.fetch_dicts(con, MODEL_POINTS_SQL)
    if "marts.lead_scores" in existing:
        rows = con.execute("select max(scored_at), count(*) from marts.lead_scores").fetchall()
        data.as_of, data.tables["people_scored"] = rows[0][0], [{"people": rows[0][1]}]
    return data


# ------------------------------------------------------------------------------------------
# templates and formatting helpers

NUMERIC_CELL = re.compile(r"^[-+–]?[\d.,%x→ ()–*/]*$")


def _is_numeric(cell: Any) -> bool:
    """Whether a table cell reads as a number (right-aligned): its text as written in the page
    (plain values escaped, ``Markup`` kept), tags stripped."""
    return NUMERIC_CELL.match(re.sub(r"<[^>]+>", "", str(escape(cell)))) is not None


TEMPLATES = Environment(
    loader=PackageLoader("lead_scoring.reporting", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
TEMPLATES.tests["numeric"] = _is_numeric


def _render(template: str, **context: Any) -> Markup:
    return Markup(TEMPLATES.get_template(template).render(**context))


def _macro(name: str, *args: Any) -> Markup:
    return Markup(getattr(TEMPLATES.get_template("_macros.html.j2").module, name)(*args))


@dataclass(frozen=True)
class Table:
    """A table for the ``table`` macro: cells are text (escaped) or ``Markup`` (kept)."""

    headers: list[str]
    rows: list[list[str]]
    cls: str = ""


def _pct(value: Any) -> str:
    return "–" if value is None else f"{float(value) * 100:.1f}%"


def _num(value: Any, digits: int = 0) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _missing(table: str, hint: str) -> Markup:
    return _macro("missing", table, hint)


def _week(value: Any) -> str:
    return value.strftime("%d %b") if hasattr(value, "strftime") else str(value)


def _chart(svg_text: str) -> Markup:
    """An SVG from ``reporting.svg``, which escapes every label it draws."""
    return Markup(svg_text)


# ------------------------------------------------------------------------------------------
# the header: headline numbers, week over week

# label, rpt_kpi_weekly column, kind ("count", "rate" or "minutes"), whether higher is better
KPIS = (
    ("People first scored", "people_first_scored", "count", True),
    ("New MQLs", "new_mqls", "count", True),
    ("New SQLs", "new_sqls", "count", True),
    ("Opportunities after a first score", "new_opportunities", "count", True),
    ("Won after a first score", "new_won", "count", True),
    ("SLA compliance (clocks started)", "sla_compliance_rate", "rate", True),
    ("Median minutes to first response", "median_minutes_to_first_response", "minutes", False),
)


def kpi_header(data: ReportData) -> Markup:
    """The report's opening table: each headline number this week so far, last week and the
    week before, the change between the two complete weeks and an 8-week trend line."""
    rows = data.rows(KPI_TABLE)
    if rows is None:
        return _missing(KPI_TABLE, "Run the weekly DAG (dbt build -s tag:weekly).")
    if not rows:
        return _macro("note", "No week of scores yet.")
    rows = _every_week(rows)
    current = rows[0] if not rows[0]["is_complete_week"] else None
    complete = [r for r in rows if r["is_complete_week"]]
    last, before = (complete + [None, None])[:2]
    trend = list(reversed(rows[:KPI_WEEKS]))
    headers = [
        "",
        *(
            f"{label} ({_week(r['week_start_date'])})"
            for label, r in (("this week so far", current), ("last week", last), ("week before", before))
            if r
        ),
    ]
    table_rows = []
    for label, column, kind, higher_is_better in KPIS:
        cells = [label, *(_kpi_value(r[column], kind) for r in (current, last, before) if r)]
        change = _kpi_change(last, before, column, kind, higher_is_better) if last and before else "–"
        spark = svg.sparkline([_kpi_number(r[column]) for r in trend], f"{label}, last {len(trend)} weeks")
        table_rows.append([*cells, change, _chart(spark) if spark else "–"])
    return _render(
        "kpi.html.j2",
        table=Table([*headers, "change, last week vs before", f"last {len(trend)} weeks"], table_rows),
        first_week=_first_scored_week(rows),
    )


def _first_scored_week(rows: list[dict[str, Any]]) -> str | None:
    """The first week anyone was scored, when it is inside the window (earlier weeks show
    zeros because the history starts there, not because nothing happened)."""
    scored = [r["week_start_date"] for r in rows if r["people_first_scored"]]
    return _week(min(scored)) if scored and min(scored) > rows[-1]["week_start_date"] else None


def _every_week(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The last ``KPI_WEEKS`` weeks, newest first; a week without a row (nothing happened)
    counts zero, and has no rate or median."""
    by_week = {r["week_start_date"]: r for r in rows}
    newest = max(by_week)
    weeks = [newest - timedelta(weeks=i) for i in range(KPI_WEEKS)]
    empty = {column: 0 if kind == "count" else None for _, column, kind, _ in KPIS}
    # (a week without a row is never the newest one, so it has ended)
    return [by_week.get(w) or {**empty, "week_start_date": w, "is_complete_week": True} for w in weeks]


def _kpi_number(value: Any) -> float | None:
    return None if value is None else float(value)


def _kpi_value(value: Any, kind: str) -> str:
    if value is None:
        return "–"
    if kind == "rate":
        return _pct(value)
    return _num(float(value), 0) if kind == "minutes" else _num(int(value))


def _kpi_change(
    last: dict[str, Any], before: dict[str, Any], column: str, kind: str, higher_is_better: bool
) -> Markup | str:
    """The change from the week before to last week: points for a rate, % otherwise; green
    when it moved the good way, red the other."""
    new, old = _kpi_number(last[column]), _kpi_number(before[column])
    if new is None or old is None:
        return "–"
    delta = new - old
    if kind == "rate":
        text = f"{delta * 100:+.1f} pts"
    elif old:
        text = f"{delta / old * 100:+.0f}%"
    else:
        text = "from 0" if new else "0"
    if not delta:
        return text
    arrow = "▲" if delta > 0 else "▼"
    cls = "ok" if (delta > 0) == higher_is_better else "warn"
    return Markup('<span class="{}">{} {}</span>').format(cls, arrow, text)


# ------------------------------------------------------------------------------------------
# sections


def section_conversion(data: ReportData) -> Markup:
    rows = data.rows("reporting.rpt_conversion_by_tier_weekly")
    if rows is None:
        return _missing(
            "reporting.rpt_conversion_by_tier_weekly", "Run the weekly DAG (dbt build -s tag:weekly)."
        )
    totals = _tier_totals(rows)
    measured = any(acc[1] for acc in totals.values())
    return _render(
        "sections/conversion.html.j2",
        chart=_conversion_chart(rows) if measured else None,
        table=_conversion_table(totals),
        in_order=_converts_in_order(totals) if measured else None,
        earlier=sum(acc[3] for acc in totals.values()),
    )


def _conversion_chart(rows: list[dict[str, Any]]) -> Markup:
    weeks = sorted({r["cohort_week_start_date"] for r in rows})
    by_key = {(r["cohort_week_start_date"], r["tier"]): r for r in rows}
    series = {
        TIER_NAMES[t]: [by_key[(w, t)]["opportunity_rate"] if (w, t) in by_key else None for w in weeks]
        for t in (1, 2, 3, 4)
    }
    return _chart(
        svg.bar_chart(
            [_week(w) for w in weeks],
            series,
            title="Opportunity rate by first tier and cohort week",
            fmt=svg.percent,
        )
    )


def _tier_totals(rows: list[dict[str, Any]]) -> dict[int, list[int]]:
    """People, opportunities and won after the first score, and the people left out (an
    opportunity before it), per first tier over every cohort week."""
    totals: dict[int, list[int]] = {}
    for r in rows:
        acc = totals.setdefault(r["tier"], [0, 0, 0, 0])
        acc[0] += r["people"]
        acc[1] += r["opportunities"]
        acc[2] += r["won"]
        acc[3] += r.get("people_with_earlier_opportunity") or 0
    return totals


def _conversion_table(totals: dict[int, list[int]]) -> Table:
    return Table(
        [
            "first tier",
            "people",
            "opportunities",
            "won",
            "lead → opportunity",
            "opportunity → won",
            "lead → won",
            "left out: opportunity before first score",
        ],
        [
            [
                TIER_NAMES[t],
                _num(p),
                _num(o),
                _num(w),
                _pct(o / p if p else None),
                _pct(w / o if o else None),
                _pct(w / p if p else None),
                _num(e),
            ]
            for t, (p, o, w, e) in sorted(totals.items())
        ],
    )


def _converts_in_order(totals: dict[int, list[int]]) -> bool:
    rates = [totals[t][1] / totals[t][0] for t in sorted(totals) if totals[t][0]]
    return all(a >= b for a, b in zip(rates, rates[1:], strict=False))


FUNNEL_STAGES = (
    # label, rpt_funnel column
    ("people", "people"),
    ("MQL", "mqls"),
    ("SQL", "sqls"),
    ("opportunity", "opportunities"),
    ("won", "won"),
)
FUNNEL_SOURCES = 12


def section_funnel(data: ReportData) -> Markup:
    rows = data.rows("reporting.rpt_funnel")
    if rows is None:
        return _missing("reporting.rpt_funnel", "Run the weekly DAG (dbt build -s tag:weekly).")
    if not rows:
        return _macro("note", "No one scored yet.")
    total = _funnel_sum(rows)
    by_tier = _funnel_groups(rows, lambda r: TIER_NAMES[r["tier"]], sort_key=lambda name: name)
    by_source = _funnel_groups(rows, lambda r: r["lead_source"], sort_key=None)[:FUNNEL_SOURCES]
    labels = [label for label, _ in FUNNEL_STAGES]
    return _render(
        "sections/funnel.html.j2",
        chart=_chart(
            svg.bar_chart(
                labels, {"people": [total[c] for _, c in FUNNEL_STAGES]}, title="The funnel, every cohort"
            )
        ),
        steps=" → ".join(f"{_num(total[c])} {label}" for label, c in FUNNEL_STAGES),
        by_tier=_funnel_table("first tier", by_tier),
        by_source=_funnel_table("lead source", by_source),
        sources_more=max(0, len({r["lead_source"] for r in rows}) - FUNNEL_SOURCES),
        outside=total["opportunities_outside_funnel"],
        earlier=total["people_with_earlier_opportunity"],
        measured=bool(total["opportunities"] or total["opportunities_outside_funnel"]),
        first_week=_week(min(r["cohort_week_start_date"] for r in rows)),
    )


FUNNEL_COUNTS = (
    *(c for _, c in FUNNEL_STAGES),
    "opportunities_outside_funnel",
    "people_with_earlier_opportunity",
)


def _funnel_sum(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {c: sum(int(r[c] or 0) for r in rows) for c in FUNNEL_COUNTS}


def _funnel_groups(rows: list[dict[str, Any]], key, sort_key) -> list[tuple[str, dict[str, int]]]:
    """The funnel summed per group; sorted by ``sort_key`` on the name, else the most people first."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(key(r), []).append(r)
    summed = [(name, _funnel_sum(members)) for name, members in groups.items()]
    if sort_key is None:
        return sorted(summed, key=lambda item: (-item[1]["people"], item[0]))
    return sorted(summed, key=lambda item: sort_key(item[0]))


def _funnel_table(group: str, groups: list[tuple[str, dict[str, int]]]) -> Table:
    """Each stage's count and, after the first, its rate from the stage before."""
    headers = [group, "people"]
    for (_, previous), (label, _) in zip(FUNNEL_STAGES, FUNNEL_STAGES[1:], strict=False):
        headers += [label, f"{label} / {FUNNEL_LABELS[previous]}"]
    headers.append("opportunities outside the funnel")
    table_rows = []
    for name, counts in groups:
        cells = [name, _num(counts["people"])]
        for (_, previous), (_, column) in zip(FUNNEL_STAGES, FUNNEL_STAGES[1:], strict=False):
            cells += [
                _num(counts[column]),
                _pct(counts[column] / counts[previous] if counts[previous] else None),
            ]
        cells.append(_num(counts["opportunities_outside_funnel"]))
        table_rows.append(cells)
    return Table(headers, table_rows, "small")


FUNNEL_LABELS = {column: label for label, column in FUNNEL_STAGES}


def section_distribution(data: ReportData) -> Markup:
    rows = data.rows("reporting.rpt_score_distribution_weekly")
    if rows is None:
        return _missing("reporting.rpt_score_distribution_weekly", "Run the weekly DAG.")
    if not rows:
        return _macro("note", "No score history yet.")
    weeks = sorted({r["week_start_date"] for r in rows})
    return _render(
        "sections/distribution.html.j2",
        histogram=_score_histogram(rows, weeks[-1]),
        shares=_tier_share_chart(rows, weeks),
    )


def _score_histogram(rows: list[dict[str, Any]], week: Any) -> Markup:
    bands = list(range(0, 100, 10))
    hist = {
        TIER_NAMES[t]: [
            sum(
                r["people"]
                for r in rows
                if r["week_start_date"] == week and r["tier"] == t and r["score_band_start"] == b
            )
            or None
            for b in bands
        ]
        for t in (1, 2, 3, 4)
    }
    return _chart(
        svg.bar_chart(
            [f"{b}–{b + 9 if b < 90 else 100}" for b in bands],
            hist,
            title=f"Composite score distribution, week of {_week(week)}",
            stacked=True,
        )
    )


def _tier_share_chart(rows: list[dict[str, Any]], weeks: list[Any]) -> Markup:
    shares = {
        TIER_NAMES[t]: [
            sum(r["share_of_week"] for r in rows if r["week_start_date"] == w and r["tier"] == t)
            for w in weeks
        ]
        for t in (1, 2, 3, 4)
    }
    return _chart(
        svg.bar_chart(
            [_week(w) for w in weeks], shares, title="Tier shares by week", stacked=True, fmt=svg.percent
        )
    )


def _find(columns: list[str], *needles: str) -> str | None:
    for needle in needles:
        for column in columns:
            if needle in column.lower():
                return column
    return None


SLA_WEEKS = 12  # the SLA section shows the last 12 weeks of the data


def section_sla(data: ReportData) -> Markup:
    rows = data.rows("reporting.rpt_sla_compliance_weekly")
    if rows is None:
        return _missing(
            "reporting.rpt_sla_compliance_weekly",
            "SLA compliance comes from the routing/SLA models (marts.lead_routing, marts.lead_sla).",
        )
    if not rows:
        return _macro("note", "No SLA clocks yet.")
    speed = data.rows("reporting.rpt_speed_to_lead")
    window, older = _recent_weeks(rows, "week_start_date", SLA_WEEKS)
    return _render(
        "sections/sla.html.j2",
        chart=_sla_chart(window),
        by_owner=_sla_by_owner(window),
        speed=_speed_table(speed) if speed else None,
        weeks=SLA_WEEKS,
        older=older,
    )


def _recent_weeks(rows: list[dict[str, Any]], column: str, weeks: int) -> tuple[list[dict[str, Any]], int]:
    """The rows of the last ``weeks`` weeks of the data, and how many older weeks were left out
    (a CRM holds Leads years older than the scoring history: their clocks are long closed)."""
    dated = [r for r in rows if r.get(column) is not None]
    if not dated:
        return rows, 0
    start = max(r[column] for r in dated) - timedelta(weeks=weeks - 1)
    kept = [r for r in dated if r[column] >= start]
    return kept, len({r[column] for r in dated} - {r[column] for r in kept})


def _sla_by_owner(rows: list[dict[str, Any]]) -> Table:
    """Per owner (rep or queue, by name) over the window: clocks, met, breached, still open,
    compliance and the average minutes to a first response; the most breaches first."""
    owners: dict[str, dict[str, Any]] = {}
    for r in rows:
        name = r.get("owner_name") or r.get("owner_id") or "unassigned"
        acc = owners.setdefault(name, {"team": r.get("team"), "leads": 0, "met": 0, "breached": 0, "open": 0,
                                       "minutes": 0.0, "answered": 0})  # fmt: skip
        acc["leads"] += r.get("leads") or 0
        acc["met"] += r.get("met") or 0
        acc["breached"] += r.get("breached") or 0
        acc["open"] += r.get("open_clocks") or 0
        if r.get("avg_minutes_to_first_response") is not None:
            answered = (r.get("met") or 0) + (r.get("breached") or 0) - (r.get("breached_unanswered") or 0)
            acc["minutes"] += float(r["avg_minutes_to_first_response"]) * max(answered, 1)
            acc["answered"] += max(answered, 1)
    ordered = sorted(owners.items(), key=lambda item: (-item[1]["breached"], item[0]))
    return Table(
        [
            "owner",
            "team",
            "SLA clocks",
            "met",
            "breached",
            "still open",
            "compliance",
            "avg minutes to respond",
        ],
        [
            [
                name,
                acc["team"] or "–",
                _num(acc["leads"]),
                _num(acc["met"]),
                _num(acc["breached"]),
                _num(acc["open"]),
                _pct(acc["met"] / (acc["met"] + acc["breached"]) if acc["met"] + acc["breached"] else None),
                _num(acc["minutes"] / acc["answered"] if acc["answered"] else None),
            ]
            for name, acc in ordered
        ],
    )


def _speed_table(rows: list[dict[str, Any]]) -> Table:
    """Speed to lead per rep, by name: responses, still waiting, median and p90 minutes."""
    return Table(
        ["rep", "team", "responded", "waiting", "median minutes", "p90 minutes", "within SLA"],
        [
            [
                r.get("owner_name") or r.get("owner_id") or "–",
                r.get("team") or "–",
                _num(r.get("responded_leads")),
                _num(r.get("waiting_leads")),
                _num(r.get("median_minutes_to_first_response")),
                _num(r.get("p90_minutes_to_first_response")),
                _pct(r.get("share_within_sla")),
            ]
            for r in rows
        ],
    )


def _sla_chart(rows: list[dict[str, Any]]) -> Markup | None:
    """Compliance by week, one line per tier, from whichever columns name the week, the rate
    and the tier (``None`` without a week or a rate column)."""
    columns = list(rows[0])
    week_col = _find(columns, "week")
    rate_col = _find(columns, "compliance_rate", "compliance", "met_rate", "rate")
    group_col = _find(columns, "tier")
    if not (week_col and rate_col):
        return None
    weeks = sorted({r[week_col] for r in rows})
    groups = sorted({r[group_col] for r in rows if r[group_col] is not None}) if group_col else ["all"]
    series = {}
    for g in groups:
        values = []
        for w in weeks:
            matching = [
                r[rate_col] for r in rows if r[week_col] == w and (not group_col or r[group_col] == g)
            ]
            matching = [float(v) for v in matching if v is not None]
            values.append(sum(matching) / len(matching) if matching else None)
        name = TIER_NAMES.get(g, str(g)) if isinstance(g, int) else f"Tier {g}" if group_col else "all"
        series[name] = values
    return _chart(
        svg.line_chart(
            [_week(w) for w in weeks], series, title="SLA compliance by week", fmt=svg.percent, y_max=1.0
        )
    )


def section_calibration(data: ReportData) -> Markup:
    rows = data.rows("reporting.rpt_score_calibration")
    if rows is None:
        return _missing("reporting.rpt_score_calibration", "Run the weekly DAG.")
    rows = sorted(rows, key=lambda r: r["score_decile"])
    labels = [f"D{r['score_decile']}" for r in rows]
    return _render(
        "sections/calibration.html.j2",
        chart=_calibration_chart(rows, labels),
        table=_calibration_table(rows, labels),
    )


def _calibration_chart(rows: list[dict[str, Any]], labels: list[str]) -> Markup:
    return _chart(
        svg.line_chart(
            labels,
            {
                "observed": [r["observed_conversion_rate"] for r in rows],
                "predicted (proportional to score)": [r["predicted_conversion_rate"] for r in rows],
            },
            title="Predicted vs observed conversion per score decile",
            fmt=svg.percent,
            dashed=["predicted (proportional to score)"],
        )
    )


def _calibration_table(rows: list[dict[str, Any]], labels: list[str]) -> Table:
    return Table(
        ["decile", "scores", "people", "conversions", "predicted", "observed", "lift", "cumulative gain"],
        [
            [
                label,
                f"{_num(r['min_score'])}–{_num(r['max_score'])}",
                _num(r["people"]),
                _num(r["conversions"]),
                _pct(r["predicted_conversion_rate"]),
                _pct(r["observed_conversion_rate"]),
                f"{r['lift']:.2f}x" if r["lift"] is not None else "–",
                _pct(r["cumulative_share_of_conversions"]),
            ]
            for label, r in zip(labels, rows, strict=True)
        ],
        "small",
    )


LIFT_COMPONENT_COLORS = {"fit": 0, "intent": 2, "negative": 1}  # index into svg.PALETTE


def section_lift(data: ReportData) -> Markup:
    rows = data.rows("reporting.rpt_icp_attribute_lift")
    if rows is None:
        return _missing("reporting.rpt_icp_attribute_lift", "Run the weekly DAG.")
    usable = [r for r in rows if r["has_enough_people"] and r["lift"] is not None]
    return _render(
        "sections/lift.html.j2",
        base_rate=_pct(rows[0]["base_rate"] if rows else None),
        chart=_lift_chart(sorted(usable, key=lambda r: r["lift"], reverse=True)[:15]),
        fit=_lift_table([r for r in usable if r["has_rule"] or r["attribute"] in RULELESS_FIT], "fit"),
        intent=_lift_table([r for r in usable if r["has_rule"]], "intent"),
        negative=_lift_table(usable, "negative"),
        uncovered=_uncovered_table([r for r in usable if not r["has_rule"]]),
    )


# Fit attributes whose values the fit table always listed, rule or not (the seeds' own)
RULELESS_FIT = ("industry", "country", "title_seniority", "title_function")


def _uncovered_table(rows: list[dict[str, Any]], limit: int = 15) -> Table:
    """Values no seed rule covers (field values, event types, pages) that convert above or
    below the base rate, with the points a new rule would start from."""
    significant = [r for r in rows if r["is_significant"]]
    chosen = sorted(significant, key=lambda r: abs(math.log(max(r["lift"], 1e-9))), reverse=True)
    return Table(
        ["attribute", "value", "people", "lift", "suggested points for a new rule"],
        [
            [
                r["attribute"],
                str(r["attribute_value"]),
                _num(r["people"]),
                f"{r['lift']:.2f}x",
                _suggestion({**r, "is_change_suggested": bool(r["suggested_points"])}),
            ]
            for r in chosen[:limit]
        ],
        "small",
    )


def _lift_chart(top: list[dict[str, Any]]) -> Markup:
    colors = [svg.PALETTE[LIFT_COMPONENT_COLORS.get(r["component"], 5)] for r in top]
    return _chart(
        svg.interval_bars(
            [_lift_label(r) for r in top],
            [r["lift"] for r in top],
            [r["lift_lower"] for r in top],
            [r["lift_upper"] for r in top],
            title="Top attribute values by lift (95% Wilson interval)",
            colors=colors,
        )
    )


def _lift_table(usable: list[dict[str, Any]], component: str, limit: int = 12) -> Table:
    chosen = sorted([r for r in usable if r["component"] == component], key=lambda r: r["lift"], reverse=True)
    return Table(
        ["attribute", "value", "people", "conv. rate (95% CI)", "lift", "current pts", "suggested pts"],
        [
            [
                r["attribute"],
                str(r["label"] or r["attribute_value"]),
                _num(r["people"]),
                f"{_pct(r['conversion_rate'])} "
                f"({_pct(r['conversion_rate_lower'])}–{_pct(r['conversion_rate_upper'])})",
                f"{r['lift']:.2f}x" + (" *" if r["is_significant"] else ""),
                _num(r["current_points"]),
                _suggestion(r),
            ]
            for r in chosen[:limit]
        ],
        "small",
    )


def _lift_label(row: dict[str, Any]) -> str:
    """Rule labels already name their attribute ("Industry: Software"); other values get it."""
    if row["has_rule"] and row["label"]:
        label = str(row["label"])
    else:
        label = f"{row['attribute'].replace('_', ' ')}: {row['attribute_value']}"
    return label if len(label) <= 36 else label[:35] + "…"


def _suggestion(row: dict[str, Any]) -> str:
    """The suggested points, in bold when they differ enough from the current ones."""
    suggested, current = row["suggested_points"], row["current_points"]
    if suggested is None:
        return "–"
    if row.get("is_change_suggested", current is not None and abs(suggested - current) >= 5):
        return Markup("<b>{:+d}</b>").format(suggested)
    return f"{suggested:+d}"


def section_accuracy(data: ReportData) -> Markup:
    rows = data.rows("reporting.rpt_scoring_accuracy")
    if rows is None:
        return _missing("reporting.rpt_scoring_accuracy", "Run the weekly DAG.")
    fps = [r for r in rows if r["error_type"] == "false_positive"]
    fns = [r for r in rows if r["error_type"] == "false_negative"]
    people = (data.rows("people_scored") or [{"people": None}])[0]["people"]
    return _render(
        "sections/accuracy.html.j2",
        people=_num(people),
        summary=_accuracy_summary(fps, fns),
        false_negatives=_accuracy_examples(fns, "tier_before_opportunity"),
        false_positives=_accuracy_examples(fps, "assigned_tier"),
    )


# What each sales feedback (dbt_project/seeds/sales_feedback_statuses.csv) says about a false positive.
FEEDBACK_MEANING = {
    "unqualified": "sales marked it not a fit: the score was wrong",
    "could_not_contact": "sales could not reach them: no verdict on the score",
    "duplicate": "closed as a duplicate of another record: no verdict",
    "in_progress": "still being worked",
    "not_worked_yet": "no rep touch yet",
    "recycled": "sent back to nurture",
    "converted": "converted without an opportunity",
    "unmapped": "a Lead Status the seed does not list",
    "no_status": "no Lead Status (a Contact)",
}


def _accuracy_summary(fps: list[dict[str, Any]], fns: list[dict[str, Any]]) -> Table:
    """False positives, split by the sales feedback of their Lead Status, and false negatives."""
    feedback: dict[str, int] = {}
    for row in fps:
        key = row.get("sales_feedback") or "no_status"
        feedback[key] = feedback.get(key, 0) + 1
    return Table(
        ["error", "people", "meaning"],
        [
            [
                "false positives",
                _num(len(fps)),
                "first assigned Tier 1–2, no opportunity after the accuracy window",
            ],
            *[
                [f"… {key.replace('_', ' ')}", _num(count), FEEDBACK_MEANING.get(key, "")]
                for key, count in sorted(feedback.items(), key=lambda item: (-item[1], item[0]))
            ],
            ["false negatives", _num(len(fns)), "got an opportunity while in Tier 3–4"],
        ],
        "small",
    )


def _accuracy_examples(chosen: list[dict[str, Any]], tier_key: str) -> Table | None:
    """The first ten people of one error type (``None`` when there are none)."""
    if not chosen:
        return None
    return Table(
        ["crm_id", "tier then", "score then", "reasons then", "tier now"],
        [
            [
                r["crm_id"],
                _num(r[tier_key]),
                _num(r["assigned_composite_score"]),
                r["score_reasons_at_assignment"] or "",
                _num(r["current_tier"]),
            ]
            for r in chosen[:10]
        ],
        "small",
    )


def section_thresholds(data: ReportData) -> Markup:
    rows = data.rows("reporting.rpt_threshold_recommendations")
    if rows is None:
        return _missing("reporting.rpt_threshold_recommendations", "Run the weekly DAG.")
    rows = sorted(rows, key=lambda r: (r["method"], r["tier"]))
    return _render("sections/thresholds.html.j2", table=_threshold_table(rows))


def _threshold_table(rows: list[dict[str, Any]]) -> Table:
    return Table(
        [
            "method",
            "parameter",
            "target",
            "current",
            "recommended",
            "share now → rec.",
            "conv. rate now → rec.",
            "Tier 1 / rep / day",
            "within capacity",
        ],
        [
            [
                r["method"].replace("_", " "),
                Markup("<code>{}</code>").format(r["parameter"]),
                _pct(r["target"]),
                _num(r["current_threshold"]),
                _num(r["recommended_threshold"])
                if r["recommended_threshold"] is not None
                else "not reachable",
                f"{_pct(r['share_at_current'])} → {_pct(r['share_at_recommended'])}",
                f"{_pct(r['conversion_rate_at_current'])} → {_pct(r['conversion_rate_at_recommended'])}",
                (
                    f"{_num(r['tier1_per_rep_per_day_at_recommended'], 2)} "
                    f"(cap {_num(r['tier1_capacity_per_rep_per_day'], 0)})"
                    if r["tier"] == 1
                    else "–"
                ),
                "yes" if r["is_within_capacity"] else Markup('<b class="warn">no</b>'),
            ]
            for r in rows
        ],
    )


BACKTEST_TIERS = (1, 2, 3, 4)


def section_backtest(data: ReportData) -> Markup:
    rows = data.rows("reporting.rpt_backtest")
    if rows is None:
        return _missing(
            "reporting.rpt_backtest",
            Markup("Run <code>leadscore backtest</code> or the lead_scoring_backtest DAG."),
        )
    if not rows:
        return _macro("note", "The last backtest produced no rows.")
    has_candidate = any(r.get("candidate_value") is not None for r in rows)
    return _render(
        "sections/backtest.html.j2",
        run=_backtest_run(rows[0], has_candidate),
        chart=_backtest_chart(rows, has_candidate),
        daily_chart=_backtest_daily_chart(data.rows("reporting.rpt_backtest_daily") or []),
        table=_backtest_table(rows, has_candidate),
    )


def _backtest_run(first: dict[str, Any], has_candidate: bool) -> dict[str, str | None]:
    """What the run was (every row of ``rpt_backtest`` repeats it)."""
    return {
        "step_days": str(first.get("step_days")),
        "first_day": _week(first.get("first_as_of")),
        "last_day": _week(first.get("last_as_of")),
        "horizon_days": str(first.get("horizon_days")),
        # (absent from backtests run before it was recorded)
        "observed_until": _week(first["outcomes_observed_until"])
        if first.get("outcomes_observed_until")
        else None,
        "backtest_id": str(first.get("backtest_id")),
        "duration": _num(first.get("duration_s"), 0),
        "current_model": str(first.get("current_model_version")),
        "candidate_model": str(first.get("candidate_model_version")) if has_candidate else None,
    }


def _backtest_chart(rows: list[dict[str, Any]], has_candidate: bool) -> Markup:
    by_metric = {(r["metric"], r["tier"]): r for r in rows}
    variants = ["current", "candidate"] if has_candidate else ["current"]
    conversion = {
        variant: [by_metric.get(("conversion_rate", t), {}).get(f"{variant}_value") for t in BACKTEST_TIERS]
        for variant in variants
    }
    return _chart(
        svg.bar_chart(
            [TIER_NAMES[t] for t in BACKTEST_TIERS],
            conversion,
            title="Backtest conversion by tier",
            fmt=svg.percent,
            colors=["#4575b4", "#1a9850"][: len(variants)],
        )
    )


def _backtest_daily_chart(daily: list[dict[str, Any]]) -> Markup:
    """AUC per scoring day and variant (empty when the backtest kept no daily rows)."""
    if not daily:
        return Markup("")
    days = sorted({r["as_of"] for r in daily})
    by_key = {(r["variant"], r["as_of"]): r["auc"] for r in daily}
    variants = sorted({r["variant"] for r in daily}, key=lambda v: (v != "current", v))
    return _chart(
        svg.line_chart(
            [_week(d) for d in days],
            {v: [by_key.get((v, d)) for d in days] for v in variants},
            title="AUC by scoring day",
            fmt=lambda v: f"{v:.2f}",
            y_max=1.0,
            dashed=["candidate"],
            colors=["#4575b4", "#1a9850", *svg.PALETTE[3:]][: len(variants)],
        )
    )


def _backtest_value(metric: str, value: Any) -> str:
    if value is None:
        return "–"
    if metric in ("conversion_rate", "tier_share"):
        return _pct(value)
    if metric in ("person_days", "positives", "days_scored"):
        return _num(int(value))
    return f"{float(value):.3f}"


def _backtest_table(rows: list[dict[str, Any]], has_candidate: bool) -> Table:
    headers = ["metric", "tier", "current"] + (["candidate", "difference"] if has_candidate else [])
    table_rows = []
    for r in rows:
        cells = [
            r["metric"],
            _num(r["tier"]) if r["tier"] is not None else "",
            _backtest_value(r["metric"], r["current_value"]),
        ]
        if has_candidate:
            cells += [
                _backtest_value(r["metric"], r["candidate_value"]),
                _backtest_value(r["metric"], r["difference"]),
            ]
        table_rows.append(cells)
    return Table(headers, table_rows, "small")


MODEL_METRICS = (
    # label, model metric, rules metric, yardstick metric, format
    ("AUC (validation days)", "auc", "rules_auc", "yardstick_auc", "{:.3f}"),
    ("Top-decile lift", "top_decile_lift", None, None, "{:.2f}"),
    ("Precision at the MQL volume", "precision", "rules_precision", None, "pct"),
    ("Recall at the MQL volume", "recall", "rules_recall", None, "pct"),
    ("Calibration error", "calibration_error", None, None, "{:.3f}"),
)


def section_model(data: ReportData) -> Markup:
    versions = data.rows("ops.model_versions")
    if versions is None:
        return _missing("ops.model_versions", Markup("Run <code>leadscore model train</code>."))
    if not versions:
        return _macro("note", "No model version trained yet: see docs/predictive-scoring.md.")
    versions = sorted(versions, key=lambda v: v["trained_at"], reverse=True)
    metrics_of = {v["version_id"]: json.loads(v["metrics"] or "{}") for v in versions}
    promoted = next((v for v in versions if v["is_promoted"]), None)
    shown = promoted or versions[0]
    metrics = metrics_of[shown["version_id"]]
    refused = json.loads(shown["features_refused"] or "[]")
    return _render(
        "sections/model.html.j2",
        promoted=promoted is not None,
        version=shown["version_id"],
        trained_at=_week(shown["trained_at"]),
        horizon_days=shown["horizon_days"],
        person_days=_num(metrics.get("deployed_person_days")),
        features_used=len(json.loads(shown["features_used"] or "[]")),
        metrics=_model_metrics_table(metrics),
        points=Table(
            ["feature", "bin", "points above the feature's lowest bin"],
            [
                [r["feature"], r["bin_label"], f"+{r['above_lowest']:.0f}"]
                for r in data.rows("model_points") or []
            ],
            "small",
        ),
        refused=[f"{r['feature']}: {r['reason']}" for r in refused[:10]],
        refused_more=max(0, len(refused) - 10),
        versions=Table(
            ["version", "trained as of", "AUC", "rules AUC", "promoted"],
            [
                [
                    v["version_id"],
                    _week(v["trained_at"]),
                    _model_value(metrics_of[v["version_id"]].get("auc"), "{:.3f}"),
                    _model_value(metrics_of[v["version_id"]].get("rules_auc"), "{:.3f}"),
                    "yes" if v["is_promoted"] else "no",
                ]
                for v in versions[:5]
            ],
            "small",
        ),
    )


def _model_value(value: Any, fmt: str) -> str:
    if value is None:
        return "–"
    return _pct(value) if fmt == "pct" else fmt.format(float(value))


def _model_metrics_table(metrics: dict[str, Any]) -> Table:
    rows = [
        [
            label,
            _model_value(metrics.get(model), fmt),
            _model_value(metrics.get(rules), fmt) if rules else "–",
            _model_value(metrics.get(yardstick), fmt) if yardstick else "–",
        ]
        for label, model, rules, yardstick, fmt in MODEL_METRICS
    ]
    return Table(["metric", "points table", "rules (seeds)", "gradient-boosting yardstick"], rows, "small")


CHANGE_LOG_ROWS = 10


def section_versions(data: ReportData) -> Markup:
    """The scoring versions that went live, newest first: when, who, why and what changed."""
    rows = data.rows("ops.scoring_versions")
    if rows is None:
        return _missing("ops.scoring_versions", "The first run's write-back records the first version.")
    rows = sorted(rows, key=lambda r: r["number"], reverse=True)
    return _render(
        "sections/versions.html.j2",
        table=Table(
            ["version", "live", "since", "by", "model", "why", "what changed"],
            [
                [
                    r["version_id"],
                    "live" if r["is_live"] else "",
                    r["created_at"].strftime("%Y-%m-%d %H:%M")
                    if hasattr(r["created_at"], "strftime")
                    else "",
                    r["created_by"] or "",
                    r["model_version"] or "–",
                    r["reason"] or "",
                    r["changes"] or "",
                ]
                for r in rows[:CHANGE_LOG_ROWS]
            ],
            "small",
        ),
        more=max(0, len(rows) - CHANGE_LOG_ROWS),
    )


def section_pilot(data: ReportData) -> Markup:
    """The pilot's arms (leads, MQLs, opportunities, conversion with its 95% interval, speed
    to lead, SLA compliance) and the test: p-value, detectable effect, sample and verdict."""
    rows = data.rows("reporting.rpt_pilot")
    if not rows:
        return _missing(
            "reporting.rpt_pilot", "No A/B pilot yet: `leadscore pilot start` (docs/scoring.md#pilot)."
        )
    rows = sorted(rows, key=lambda r: r["arm"], reverse=True)  # champion first
    first = rows[0]
    needed = first["sample_size_needed"]
    days = first["days_to_sample"]
    return _render(
        "sections/pilot.html.j2",
        pilot=first,
        table=Table(
            [
                "arm",
                "leads",
                "share",
                "MQLs",
                "opportunities",
                "conversion",
                "95% interval",
                "median minutes to response",
                "SLA met",
            ],
            [
                [
                    r["arm"],
                    _num(r["leads"]),
                    _pct(r["lead_share"]),
                    _num(r["mqls"]),
                    _num(r["opportunities"]),
                    _pct(r["conversion_rate"]),
                    f"{_pct(r['conversion_rate_low'])} – {_pct(r['conversion_rate_high'])}",
                    _num(r["median_minutes_to_first_response"]),
                    _pct(r["sla_compliance"]),
                ]
                for r in rows
            ],
        ),  # fmt: skip
        p_value="–" if first["p_value"] is None else f"{first['p_value']:.3f}",
        mde=_pct(first["minimum_detectable_effect"]),
        needed="–" if needed is None else f"{int(needed):,}",
        days="–" if days is None else f"{days:.1f}",
    )


RENDERERS = {
    "kpi": kpi_header,
    "conversion": section_conversion,
    "funnel": section_funnel,
    "distribution": section_distribution,
    "sla": section_sla,
    "calibration": section_calibration,
    "lift": section_lift,
    "accuracy": section_accuracy,
    "thresholds": section_thresholds,
    "backtest": section_backtest,
    "model": section_model,
    "versions": section_versions,
    "pilot": section_pilot,
}


def _section(key: str, title: str, data: ReportData) -> dict[str, Any]:
    """One section's title and body, or the error it failed with (it must not hide the others)."""
    try:
        return {"key": key, "title": title, "body": RENDERERS[key](data), "error": None}
    except Exception as error:
        log.exception("report section %s failed", key)
        return {"key": key, "title": title, "body": None, "error": str(error)}


def render(data: ReportData) -> str:
    """The whole report as one HTML document (no external resources)."""
    return render_page(data)[0]


def render_page(data: ReportData) -> tuple[str, dict[str, str]]:
    """The HTML and the sections that failed to render, by key, with their error."""
    header = _section("kpi", "Headline numbers", data)
    sections = [_section(key, title, data) for key, (title, _) in SECTIONS.items()]
    html = TEMPLATES.get_template("weekly_report.html.j2").render(
        as_of=data.as_of.strftime("%Y-%m-%d %H:%M UTC") if hasattr(data.as_of, "strftime") else "–",
        generated_at=data.generated_at.strftime("%Y-%m-%d %H:%M UTC"),
        header=header,
        sections=sections,
    )
    return html, {part["key"]: part["error"] for part in [header, *sections] if part["error"] is not None}


def report_path(settings) -> Path:
    """``$LEADSCORE_REPORTS/weekly_report.html`` (default ``reports/`` under the home)."""
    folder = Path(os.environ.get("LEADSCORE_REPORTS") or "reports")
    return (folder if folder.is_absolute() else settings.home / folder) / "weekly_report.html"


def write_report(warehouse: Path, out: Path, read_only: bool = False) -> dict[str, Any]:
    """Read the reporting tables, render and write ``out``; returns what was written.
    ``read_only`` (the ``leadscore report`` command): never in a running task's way. A DAG
    task opens the warehouse as its process's other connections do."""

    with wh.reading(warehouse) if read_only else wh.connect(warehouse) as con:
        data = collect(con)
    html, failed = render_page(data)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out)
    missing = [key for key, (_, table) in SECTIONS.items() if data.rows(table) is None]
    if data.rows(KPI_TABLE) is None:
        missing.insert(0, "kpi")
    size = len(html.encode("utf-8"))
    log.info("weekly report written to %s (%d bytes; sections not available: %s)", out, size, missing)
    if failed:
        log.error("report sections failed to render: %s", failed)
    return {"path": str(out), "bytes": size, "sections_not_available": missing, "sections_failed": failed}
