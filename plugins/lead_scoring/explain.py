"""``leadscore explain CRM_ID``: one record's score taken apart, from the warehouse's own rows.

Every number comes from the tables the score was computed from, as of the last build:
``marts.lead_scores`` (the score, tier, reasons), ``intermediate.int_score_contributions_unioned``
(each rule's points), ``intermediate.int_activities_decayed`` (each counted occurrence of a
signal: base points, half-life, age, decayed points) and ``int_scoring_parameters_pivoted``
(weights and thresholds). The steps are the ones lead_scores.sql applies: each component
summed and clamped to 0-100, weighted, the model blended in, negatives added, the composite
clamped, then the tier ladder.
"""

from __future__ import annotations

from pathlib import Path

from lead_scoring import warehouse
from lead_scoring.config import UserError

COMPONENTS = ("fit", "intent", "negative")


def explain(path: Path, crm_id: str) -> dict:
    """The explanation of ``crm_id``'s latest score as a JSON-able dict."""
    with warehouse.read_only(path) as con:
        warehouse.require_scores(con, path)
        rows = warehouse.fetch_dicts(con, "select * from marts.lead_scores where crm_id = ?", [crm_id])
        if not rows:
            count = con.execute("select count(*) from marts.lead_scores").fetchall()[0][0]
            raise UserError(
                f"no score for {crm_id!r} among the {count:,} records of marts.lead_scores "
                "(a Lead or Contact Id, 15 or 18 characters, as in the CRM)"
            )
        score = rows[0]
        pivoted = "select * from intermediate.int_scoring_parameters_pivoted"
        parameters = warehouse.fetch_dicts(con, pivoted)[0]
        contributions = con.execute(
            "select component, rule_id, label, points, age_days, is_disqualifier, person_key "
            "from intermediate.int_score_contributions_unioned where person_id = ? "
            "order by component, abs(points) desc, rule_id",
            [crm_id],
        ).fetchall()
        person_key = contributions[0][6] if contributions else score.get("person_key")
        occurrences = con.execute(
            "select signal_id, count(*), max(base_points), max(half_life_days), min(age_days), "
            "sum(decayed_points) from intermediate.int_activities_decayed where person_key = ? "
            "group by signal_id",
            [person_key],
        ).fetchall()
    signals = {
        signal: {
            "occurrences_counted": count,
            "base_points": base,
            "half_life_days": half_life,
            "latest_age_days": age,
            "decayed_points": decayed,
        }
        for signal, count, base, half_life, age, decayed in occurrences
    }
    parts: dict[str, dict] = {name: {"rules": [], "sum": 0.0} for name in COMPONENTS}
    for component, rule_id, label, points, age_days, disqualifier, _ in contributions:
        row = {"rule_id": rule_id, "label": label, "points": points}
        if age_days is not None:
            row["age_days"] = age_days
        if disqualifier:
            row["disqualifies"] = True
        if rule_id in signals:
            row["signal"] = signals[rule_id]
        parts[component]["rules"].append(row)
        parts[component]["sum"] += points
    model_weight = parameters["predictive_weight"] if score.get("predictive_score") is not None else 0.0
    rules_weight = 1 - model_weight
    parts["fit"].update(score=score["fit_score"], weight=rules_weight * parameters["fit_weight"])
    parts["intent"].update(score=score["intent_score"], weight=rules_weight * parameters["intent_weight"])
    parts["negative"].update(score=score["negative_score"], weight=1.0)
    for part in parts.values():
        part["composite_points"] = part["score"] * part["weight"]
    model = None
    if model_weight:
        model = {
            "predictive_score": score["predictive_score"],
            "conversion_probability": score.get("conversion_probability"),
            "weight": model_weight,
            "composite_points": model_weight * score["predictive_score"],
        }
    unclamped = sum(p["composite_points"] for p in parts.values()) + (
        model["composite_points"] if model else 0
    )
    return {
        "crm_id": crm_id,
        "crm_object": score["crm_object"],
        "scored_at": str(score["scored_at"]),
        "scoring_model_version": score["scoring_model_version"],
        "composite_score": score["composite_score"],
        "unclamped_score": unclamped,
        "tier": score["tier"],
        "tier_label": score["tier_label"],
        "grade": score["grade"],
        "is_mql": score["is_mql"],
        "is_sql": score["is_sql"],
        "is_disqualified": score["is_disqualified"],
        "score_reasons": score["score_reasons"],
        "duplicate_group": score.get("duplicate_group"),
        "components": parts,
        "model": model,
        "tier_ladder": tier_ladder(score, parameters),
    }


def tier_ladder(score: dict, parameters: dict) -> list[str]:
    """The tier rules in the order lead_scores applies them, the first that holds marked."""
    composite, fit = score["composite_score"], score["fit_score"]
    tier1, min_fit = parameters["tier1_threshold"], parameters["tier1_min_fit"]
    steps = [
        ("a disqualifying rule matched → Tier 4", score["is_disqualified"]),
        (
            f"composite ≥ {tier1:g} and fit ≥ {min_fit:g} → Tier 1",
            composite >= tier1 and fit >= min_fit,
        ),
        (
            f"composite ≥ {parameters['tier2_threshold']:g} → Tier 2",
            composite >= parameters["tier2_threshold"],
        ),
        (
            f"composite ≥ {parameters['tier3_threshold']:g} → Tier 3",
            composite >= parameters["tier3_threshold"],
        ),
        ("otherwise → Tier 4", True),
    ]
    ladder, decided = [], False
    for text, holds in steps:
        mark = "✓" if holds and not decided else ("·" if not holds else " ")
        decided = decided or holds
        ladder.append(f"{mark} {text}")
    return ladder


def _number(value: float) -> str:
    return f"{value:+.1f}" if value != round(value) else f"{value:+.0f}"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def format_explanation(data: dict) -> str:
    """The explanation as plain text for a terminal."""
    lines = [
        f"{data['crm_id']} ({data['crm_object']}) scored at {data['scored_at']}"
        f" by {data['scoring_model_version']}",
        f"score {data['composite_score']:g} · Tier {data['tier']} {data['tier_label']}"
        f" · grade {data['grade']} · MQL {_yes(data['is_mql'])} · SQL {_yes(data['is_sql'])}",
        f"reasons: {data['score_reasons']}",
    ]
    if data["duplicate_group"]:
        lines.append(
            f"one person with: {data['duplicate_group']} (the same e-mail; rules match the merged person)"
        )
    for name in COMPONENTS:
        part = data["components"][name]
        lines.append("")
        if name == "negative":
            lines.append(
                f"Negative {part['score']:g} (not clamped, weight 1) → {part['composite_points']:+.1f}"
            )
        else:
            lines.append(
                f"{name.capitalize()} {part['score']:g} = the rules' sum {part['sum']:.1f} clamped to 0-100, "
                f"× weight {part['weight']:g} → {part['composite_points']:.1f} composite points"
            )
        if not part["rules"]:
            lines.append("  (no rule matched)")
        for rule in part["rules"]:
            text = f"  {_number(rule['points']):>7}  {rule['label']}"
            signal = rule.get("signal")
            if signal:
                text += (
                    f"  ({signal['occurrences_counted']} counted × {signal['base_points']:g} points, "
                    f"half-life {signal['half_life_days']:g}d, latest {signal['latest_age_days']:.1f}d ago)"
                )
            elif "age_days" in rule:
                text += f"  ({rule['age_days']:.1f}d ago)"
            if rule.get("disqualifies"):
                text += "  DISQUALIFIES"
            lines.append(text)
    if data["model"]:
        model = data["model"]
        lines += [
            "",
            f"Model: predictive score {model['predictive_score']:g} × weight {model['weight']:g} → "
            f"{model['composite_points']:.1f} composite points (conversion probability "
            f"{model['conversion_probability']:.1%}; its bins are in the reasons above)",
        ]
    terms = [data["components"][name]["composite_points"] for name in ("fit", "intent")]
    terms += [data["model"]["composite_points"]] if data["model"] else []
    terms += [data["components"]["negative"]["composite_points"]]
    clamped = " and clamped to 0-100" if round(data["unclamped_score"]) != data["composite_score"] else ""
    lines += [
        "",
        f"Composite: {' + '.join(f'{t:.1f}' for t in terms)} = {data['unclamped_score']:.1f}, "
        f"rounded{clamped}: {data['composite_score']:g}",
        "Tier:",
    ]
    lines += [f"  {step}" for step in data["tier_ladder"]]
    return "\n".join(lines)
