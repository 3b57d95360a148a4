"""The weekly RevOps report: ``reports/weekly_report.html`` from the ``reporting.rpt_*`` tables.

One self-contained HTML file (inline CSS and SVG charts, no script, no external URL), so it
can be mailed, attached to a ticket or opened from disk. Sections whose table is missing
(the routing/SLA tables, a backtest that never ran) say so instead of failing.

``collect`` reads the tables (side effect: DuckDB), ``render`` turns them into HTML (pure),
``write_report`` does both and writes the file atomically.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import Any

from lead_scoring import warehouse as wh
from lead_scoring.reporting import svg

log = logging.getLogger(__name__)

TIER_NAMES = {1: "Tier 1 Hot", 2: "Tier 2 Warm", 3: "Tier 3 Nurture", 4: "Tier 4 Disqualified"}

# section id -> (title, the table it needs)
SECTIONS: dict[str, tuple[str, str]] = {
    "conversion": ("Conversion by tier", "reporting.rpt_conversion_by_tier_weekly"),
    "distribution": ("Score and tier distribution", "reporting.rpt_score_distribution_weekly"),
    "sla": ("SLA compliance and speed to lead", "reporting.rpt_sla_compliance_weekly"),
    "calibration": ("Calibration", "reporting.rpt_score_calibration"),
    "lift": ("Win analysis: attribute lift", "reporting.rpt_icp_attribute_lift"),
    "accuracy": ("Scoring accuracy", "reporting.rpt_scoring_accuracy"),
    "thresholds": ("Threshold recommendations", "reporting.rpt_threshold_recommendations"),
    "backtest": ("Backtest", "reporting.rpt_backtest"),
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
        "where table_schema in ('reporting', 'marts')"
    ).fetchall()
    return {r[0] for r in rows}


def _fetch(con, sql: str) -> list[dict[str, Any]]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def collect(con) -> ReportData:
    """Read every table the report shows (missing tables become ``None``)."""
    existing = _existing_tables(con)
    data = ReportData()
    for _, table in SECTIONS.values():
        data.tables[table] = _fetch(con, f"select * from {table}") if table in existing else None
    for table in OPTIONAL_TABLES:
        data.tables[table] = _fetch(con, f"select * from {table} limit 200") if table in existing else None
    if "marts.lead_scores" in existing:
        rows = con.execute("select max(scored_at), count(*) from marts.lead_scores").fetchall()
        data.as_of, data.tables["people_scored"] = rows[0][0], [{"people": rows[0][1]}]
    return data


# ------------------------------------------------------------------------------------------
# formatting helpers


def _pct(value: Any) -> str:
    return "–" if value is None else f"{float(value) * 100:.1f}%"


def _num(value: Any, digits: int = 0) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else escape(str(value))


def _table(headers: list[str], rows: list[list[str]], cls: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _cell(content: str) -> str:
    """Numbers right-aligned, text (reasons, labels) left-aligned."""
    text = re.sub(r"<[^>]+>", "", content or "")
    numeric = re.match(r"^[-+–]?[\d.,%x→ ()–*/]*$", text) is not None
    return f"<td>{content}</td>" if numeric else f'<td class="text">{content}</td>'


def _missing(table: str, hint: str) -> str:
    return f'<p class="missing">not available: <code>{escape(table)}</code> does not exist yet. {hint}</p>'


def _week(value: Any) -> str:
    return value.strftime("%d %b") if hasattr(value, "strftime") else str(value)


# ------------------------------------------------------------------------------------------
# sections


def section_conversion(data: ReportData) -> str:
    rows = data.rows("reporting.rpt_conversion_by_tier_weekly")
    if rows is None:
        return _missing(
            "reporting.rpt_conversion_by_tier_weekly", "Run the weekly DAG (dbt build -s tag:weekly)."
        )
    weeks = sorted({r["cohort_week_start_date"] for r in rows})
    by_key = {(r["cohort_week_start_date"], r["tier"]): r for r in rows}
    series = {
        TIER_NAMES[t]: [by_key[(w, t)]["opportunity_rate"] if (w, t) in by_key else None for w in weeks]
        for t in (1, 2, 3, 4)
    }
    chart = svg.bar_chart(
        [_week(w) for w in weeks],
        series,
        title="Opportunity rate by first tier and cohort week",
        fmt=svg.percent,
    )
    totals: dict[int, list[int]] = {}
    for r in rows:
        acc = totals.setdefault(r["tier"], [0, 0, 0])
        acc[0] += r["people"]
        acc[1] += r["opportunities"]
        acc[2] += r["won"]
    table = _table(
        [
            "first tier",
            "people",
            "opportunities",
            "won",
            "lead → opportunity",
            "opportunity → won",
            "lead → won",
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
            ]
            for t, (p, o, w) in sorted(totals.items())
        ],
    )
    rates = [totals[t][1] / totals[t][0] for t in sorted(totals) if totals[t][0]]
    ordered = all(a >= b for a, b in zip(rates, rates[1:], strict=False))
    verdict = (
        '<p class="ok">Tiers convert in order (Tier 1 ≥ 2 ≥ 3 ≥ 4).</p>'
        if ordered
        else '<p class="warn">Tiers do not convert in order: check the thresholds and the win analysis.</p>'
    )
    return (
        "<p>People grouped by the week and tier they were <em>first assigned</em> (score history), "
        "and what followed: lead → opportunity → won.</p>"
        f'<div class="row"><div>{chart}</div><div>{table}{verdict}</div></div>'
    )


def section_distribution(data: ReportData) -> str:
    rows = data.rows("reporting.rpt_score_distribution_weekly")
    if rows is None:
        return _missing("reporting.rpt_score_distribution_weekly", "Run the weekly DAG.")
    if not rows:
        return "<p>No score history yet.</p>"
    weeks = sorted({r["week_start_date"] for r in rows})
    latest = weeks[-1]
    bands = list(range(0, 100, 10))
    hist = {
        TIER_NAMES[t]: [
            sum(
                r["people"]
                for r in rows
                if r["week_start_date"] == latest and r["tier"] == t and r["score_band_start"] == b
            )
            or None
            for b in bands
        ]
        for t in (1, 2, 3, 4)
    }
    histogram = svg.bar_chart(
        [f"{b}–{b + 9 if b < 90 else 100}" for b in bands],
        hist,
        title=f"Composite score distribution, week of {_week(latest)}",
        stacked=True,
    )
    shares = {
        TIER_NAMES[t]: [
            sum(r["share_of_week"] for r in rows if r["week_start_date"] == w and r["tier"] == t)
            for w in weeks
        ]
        for t in (1, 2, 3, 4)
    }
    share_chart = svg.bar_chart(
        [_week(w) for w in weeks], shares, title="Tier shares by week", stacked=True, fmt=svg.percent
    )
    return (
        "<p>Each person's latest score at the end of each week (carried forward), by 10-point band "
        "and tier.</p>"
        f'<div class="row"><div>{histogram}</div><div>{share_chart}</div></div>'
    )


def _find(columns: list[str], *needles: str) -> str | None:
    for needle in needles:
        for column in columns:
            if needle in column.lower():
                return column
    return None


def section_sla(data: ReportData) -> str:
    rows = data.rows("reporting.rpt_sla_compliance_weekly")
    if rows is None:
        return _missing(
            "reporting.rpt_sla_compliance_weekly",
            "SLA compliance comes from the routing/SLA models (marts.lead_routing, marts.lead_sla).",
        )
    if not rows:
        return "<p>No SLA clocks yet.</p>"
    columns = list(rows[0])
    week_col = _find(columns, "week")
    rate_col = _find(columns, "compliance_rate", "compliance", "met_rate", "rate")
    group_col = _find(columns, "tier")
    parts = []
    if week_col and rate_col:
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
        parts.append(
            svg.line_chart(
                [_week(w) for w in weeks], series, title="SLA compliance by week", fmt=svg.percent, y_max=1.0
            )
        )
    parts.append(_generic_table(rows[-20:]))
    speed = data.rows("reporting.rpt_speed_to_lead")
    if speed:
        parts.append("<h3>Speed to lead</h3>" + _generic_table(speed[:20]))
    return "".join(parts)


def _generic_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p>No rows.</p>"
    headers = list(rows[0])

    def cell(column: str, value: Any) -> str:
        if isinstance(value, float) and ("rate" in column or "share" in column) and abs(value) <= 1:
            return _pct(value)
        return _num(value, 1) if isinstance(value, float) else _num(value)

    return _table(headers, [[cell(h, r[h]) for h in headers] for r in rows], "small")


def section_calibration(data: ReportData) -> str:
    rows = data.rows("reporting.rpt_score_calibration")
    if rows is None:
        return _missing("reporting.rpt_score_calibration", "Run the weekly DAG.")
    rows = sorted(rows, key=lambda r: r["score_decile"])
    labels = [f"D{r['score_decile']}" for r in rows]
    chart = svg.line_chart(
        labels,
        {
            "observed": [r["observed_conversion_rate"] for r in rows],
            "predicted (proportional to score)": [r["predicted_conversion_rate"] for r in rows],
        },
        title="Predicted vs observed conversion per score decile",
        fmt=svg.percent,
        dashed=["predicted (proportional to score)"],
    )
    table = _table(
        ["decile", "scores", "people", "conversions", "predicted", "observed", "lift", "cumulative gain"],
        [
            [
                labels[i],
                f"{_num(r['min_score'])}–{_num(r['max_score'])}",
                _num(r["people"]),
                _num(r["conversions"]),
                _pct(r["predicted_conversion_rate"]),
                _pct(r["observed_conversion_rate"]),
                f"{r['lift']:.2f}x" if r["lift"] is not None else "–",
                _pct(r["cumulative_share_of_conversions"]),
            ]
            for i, r in enumerate(rows)
        ],
        "small",
    )
    return (
        "<p>Decile 1 = the highest first-assigned scores. A calibrated score has observed ≈ predicted "
        "and falling lift from D1 to D10.</p>"
        f'<div class="row"><div>{chart}</div><div>{table}</div></div>'
    )


def section_lift(data: ReportData) -> str:
    rows = data.rows("reporting.rpt_icp_attribute_lift")
    if rows is None:
        return _missing("reporting.rpt_icp_attribute_lift", "Run the weekly DAG.")
    usable = [r for r in rows if r["has_enough_people"] and r["lift"] is not None]
    top = sorted(usable, key=lambda r: r["lift"], reverse=True)[:15]
    colors = [svg.PALETTE[{"fit": 0, "intent": 2, "negative": 1}.get(r["component"], 5)] for r in top]
    chart = svg.interval_bars(
        [_lift_label(r) for r in top],
        [r["lift"] for r in top],
        [r["lift_lower"] for r in top],
        [r["lift_upper"] for r in top],
        title="Top attribute values by lift (95% Wilson interval)",
        colors=colors,
    )

    def table_for(component: str, limit: int = 12) -> str:
        chosen = sorted(
            [r for r in usable if r["component"] == component], key=lambda r: r["lift"], reverse=True
        )[:limit]
        return _table(
            ["attribute", "value", "people", "conv. rate (95% CI)", "lift", "current pts", "suggested pts"],
            [
                [
                    escape(r["attribute"]),
                    escape(str(r["label"] or r["attribute_value"])),
                    _num(r["people"]),
                    f"{_pct(r['conversion_rate'])} "
                    f"({_pct(r['conversion_rate_lower'])}–{_pct(r['conversion_rate_upper'])})",
                    f"{r['lift']:.2f}x" + (" *" if r["is_significant"] else ""),
                    _num(r["current_points"]),
                    _suggestion(r),
                ]
                for r in chosen
            ],
            "small",
        )

    base = rows[0]["base_rate"] if rows else None
    return (
        f"<p>Conversion to an opportunity per attribute value against the base rate {_pct(base)}; "
        "* = the interval excludes the base rate (blue: fit, green: intent, red: negative). "
        "Suggested points keep the current ones unless the people with the value convert more or "
        "less than their fit score already predicts (95% interval of observed vs expected); then "
        "they move by the smallest change the data asks for (<b>bold</b>). Intent signals: sign "
        "check only (their points act through decay and caps). Backtest before adopting.</p>"
        f'<div class="row"><div>{chart}</div><div><h3>Fit attributes</h3>{table_for("fit")}</div></div>'
        f'<div class="row"><div><h3>Intent signals</h3>{table_for("intent")}</div>'
        f"<div><h3>Negative rules</h3>{table_for('negative')}</div></div>"
    )


def _lift_label(row: dict[str, Any]) -> str:
    """Rule labels already name their attribute ("Industry: Software"); other values get it."""
    if row["has_rule"] and row["label"]:
        label = str(row["label"])
    else:
        label = f"{row['attribute'].replace('_', ' ')}: {row['attribute_value']}"
    return label if len(label) <= 36 else label[:35] + "…"


def _suggestion(row: dict[str, Any]) -> str:
    suggested, current = row["suggested_points"], row["current_points"]
    if suggested is None:
        return "–"
    if row.get("is_change_suggested", current is not None and abs(suggested - current) >= 5):
        return f"<b>{suggested:+d}</b>"
    return f"{suggested:+d}"


def section_accuracy(data: ReportData) -> str:
    rows = data.rows("reporting.rpt_scoring_accuracy")
    if rows is None:
        return _missing("reporting.rpt_scoring_accuracy", "Run the weekly DAG.")
    fps = [r for r in rows if r["error_type"] == "false_positive"]
    fns = [r for r in rows if r["error_type"] == "false_negative"]
    people = (data.rows("people_scored") or [{"people": None}])[0]["people"]
    summary = _table(
        ["error", "people", "meaning"],
        [
            [
                "false positives",
                _num(len(fps)),
                "first assigned Tier 1–2, no opportunity after the accuracy window",
            ],
            ["false negatives", _num(len(fns)), "got an opportunity while in Tier 3–4"],
        ],
        "small",
    )

    def examples(chosen: list[dict[str, Any]], tier_key: str) -> str:
        if not chosen:
            return "<p>None.</p>"
        return _table(
            ["crm_id", "tier then", "score then", "reasons then", "tier now"],
            [
                [
                    escape(r["crm_id"]),
                    _num(r[tier_key]),
                    _num(r["assigned_composite_score"]),
                    escape(r["score_reasons_at_assignment"] or ""),
                    _num(r["current_tier"]),
                ]
                for r in chosen[:10]
            ],
            "small",
        )

    return (
        f"<p>Out of {_num(people)} people scored.</p>{summary}"
        f"<h3>False negatives (converted from Tier 3–4)</h3>{examples(fns, 'tier_before_opportunity')}"
        f"<h3>False positives (Tier 1–2, no opportunity)</h3>{examples(fps, 'assigned_tier')}"
    )


def section_thresholds(data: ReportData) -> str:
    rows = data.rows("reporting.rpt_threshold_recommendations")
    if rows is None:
        return _missing("reporting.rpt_threshold_recommendations", "Run the weekly DAG.")
    rows = sorted(rows, key=lambda r: (r["method"], r["tier"]))
    return _table(
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
                escape(r["method"].replace("_", " ")),
                f"<code>{escape(r['parameter'])}</code>",
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
                "yes" if r["is_within_capacity"] else '<b class="warn">no</b>',
            ]
            for r in rows
        ],
    )


def section_backtest(data: ReportData) -> str:
    rows = data.rows("reporting.rpt_backtest")
    if rows is None:
        return _missing(
            "reporting.rpt_backtest", "Run <code>leadscore backtest</code> or the lead_scoring_backtest DAG."
        )
    if not rows:
        return "<p>The last backtest produced no rows.</p>"
    first = rows[0]
    has_candidate = any(r.get("candidate_value") is not None for r in rows)
    by_metric = {(r["metric"], r["tier"]): r for r in rows}
    conversion = {
        "current": [by_metric.get(("conversion_rate", t), {}).get("current_value") for t in (1, 2, 3, 4)],
    }
    if has_candidate:
        conversion["candidate"] = [
            by_metric.get(("conversion_rate", t), {}).get("candidate_value") for t in (1, 2, 3, 4)
        ]
    chart = svg.bar_chart(
        [TIER_NAMES[t] for t in (1, 2, 3, 4)],
        conversion,
        title="Backtest conversion by tier",
        fmt=svg.percent,
        colors=["#4575b4", "#1a9850"],
    )

    def value(metric: str, v: Any) -> str:
        if v is None:
            return "–"
        if metric in ("conversion_rate", "tier_share"):
            return _pct(v)
        if metric in ("person_days", "positives", "days_scored"):
            return _num(int(v))
        return f"{float(v):.3f}"

    headers = ["metric", "tier", "current"] + (["candidate", "difference"] if has_candidate else [])
    table_rows = []
    for r in rows:
        cells = [
            escape(r["metric"]),
            _num(r["tier"]) if r["tier"] is not None else "",
            value(r["metric"], r["current_value"]),
        ]
        if has_candidate:
            cells += [value(r["metric"], r["candidate_value"]), value(r["metric"], r["difference"])]
        table_rows.append(cells)
    meta = (
        f"<p>Scored every {first.get('step_days')} day(s) from {_week(first.get('first_as_of'))} to "
        f"{_week(first.get('last_as_of'))} with only the data known then; outcome: an opportunity within "
        f"{first.get('horizon_days')} days. Run {escape(str(first.get('backtest_id')))} took "
        f"{_num(first.get('duration_s'), 0)} s. "
        f"Current model <code>{escape(str(first.get('current_model_version')))}</code>"
        + (
            f", candidate <code>{escape(str(first.get('candidate_model_version')))}</code>"
            if has_candidate
            else ""
        )
        + ".</p>"
    )
    daily = data.rows("reporting.rpt_backtest_daily") or []
    daily_chart = ""
    if daily:
        days = sorted({r["as_of"] for r in daily})
        by_key = {(r["variant"], r["as_of"]): r["auc"] for r in daily}
        variants = sorted({r["variant"] for r in daily}, key=lambda v: (v != "current", v))
        daily_chart = svg.line_chart(
            [_week(d) for d in days],
            {v: [by_key.get((v, d)) for d in days] for v in variants},
            title="AUC by scoring day",
            fmt=lambda v: f"{v:.2f}",
            y_max=1.0,
            dashed=["candidate"],
            colors=["#4575b4", "#1a9850", *svg.PALETTE[3:]][: len(variants)],
        )
    table = _table(headers, table_rows, "small")
    return meta + f'<div class="row"><div>{chart}{daily_chart}</div><div>{table}</div></div>'


RENDERERS = {
    "conversion": section_conversion,
    "distribution": section_distribution,
    "sla": section_sla,
    "calibration": section_calibration,
    "lift": section_lift,
    "accuracy": section_accuracy,
    "thresholds": section_thresholds,
    "backtest": section_backtest,
}

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;max-width:1220px;color:#222;
     padding:0 16px;background:#fafafa}
h1{font-size:24px;margin-bottom:4px} h2{font-size:19px;border-bottom:2px solid #4575b4;padding-bottom:4px;
     margin-top:32px} h3{font-size:14px;margin:14px 0 6px}
section{background:#fff;border:1px solid #e3e3e3;border-radius:6px;padding:4px 18px 14px;margin-bottom:18px}
.row{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start} .row>div{flex:1 1 560px;min-width:0}
table{border-collapse:collapse;font-size:13px;margin:6px 0}
th,td{padding:4px 8px;border-bottom:1px solid #eee;text-align:right} th{background:#f3f5f9;font-weight:600}
td:first-child,th:first-child{text-align:left}
table.small{font-size:12px} td{vertical-align:top} code{font-size:12px;background:#f3f3f3;padding:0 3px}
.missing{color:#8a6d3b;background:#fcf8e3;border:1px solid #faebcc;padding:8px 12px;border-radius:4px}
.ok{color:#1a7f37} .warn{color:#b42318} .meta{color:#666;font-size:13px}
nav a{margin-right:12px;font-size:13px} td.text{text-align:left}
"""


def render(data: ReportData) -> str:
    """The whole report as one HTML document (no external resources)."""
    as_of = data.as_of.strftime("%Y-%m-%d %H:%M UTC") if hasattr(data.as_of, "strftime") else "–"
    nav = "".join(f'<a href="#{key}">{escape(title)}</a>' for key, (title, _) in SECTIONS.items())
    sections = []
    for key, (title, _table_name) in SECTIONS.items():
        try:
            body = RENDERERS[key](data)
        except Exception as error:  # one broken section must not hide the others
            log.exception("report section %s failed", key)
            body = f'<p class="warn">This section failed to render: {escape(str(error))}</p>'
        sections.append(f'<section id="{key}"><h2>{escape(title)}</h2>{body}</section>')
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Lead scoring weekly report – {escape(as_of)}</title><style>{CSS}</style></head><body>"
        f'<h1>Lead scoring weekly report</h1><p class="meta">Scores as of {escape(as_of)} · generated '
        f"{data.generated_at.strftime('%Y-%m-%d %H:%M UTC')} · "
        "tables in the <code>reporting</code> schema</p>"
        f"<nav>{nav}</nav>{''.join(sections)}</body></html>\n"
    )


def report_path(settings) -> Path:
    """``$LEADSCORE_REPORTS/weekly_report.html`` (default ``reports/`` under the home)."""
    folder = Path(os.environ.get("LEADSCORE_REPORTS") or "reports")
    return (folder if folder.is_absolute() else settings.home / folder) / "weekly_report.html"


def write_report(warehouse: Path, out: Path) -> dict[str, Any]:
    """Read the reporting tables, render and write ``out``; returns what was written."""

    with wh.connect(warehouse) as con:
        data = collect(con)
    html = render(data)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out)
    missing = [key for key, (_, table) in SECTIONS.items() if data.rows(table) is None]
    log.info("weekly report written to %s (%d bytes; sections not available: %s)", out, len(html), missing)
    return {"path": str(out), "bytes": len(html.encode("utf-8")), "sections_not_available": missing}
