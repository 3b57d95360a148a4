"""The benchmark's pandas peer: marts.lead_scores' numbers (fit, intent, negative, composite,
tier) computed the way a data scientist would in pandas: read the raw tables into
DataFrames, then merges, group-bys and vectorised column arithmetic. Python loops run over
seed rows (a few dozen rules), never over people or activities.

Semantics follow dbt_project/models exactly; the benchmark and tests/tools/test_bench_reference.py
check the result row for row against marts.lead_scores.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from lead_scoring_dev.bench.reference import SEEDS

SECONDS_PER_DAY = 86400.0


# -- helpers -----------------------------------------------------------------------------
def read(con: duckdb.DuckDBPyConnection, table: str, columns: str) -> pd.DataFrame:
    return con.execute(f"select {columns} from {table}").df()


def trimmed(series: pd.Series) -> pd.Series:
    """SQL trim (spaces only), NULL stays NULL."""
    return series.str.strip(" ")


def normalized_email(series: pd.Series) -> pd.Series:
    return trimmed(series).str.lower().replace("", np.nan)


def blank_to_null(series: pd.Series) -> pd.Series:
    return trimmed(series).replace("", np.nan)


def flag(series: pd.Series) -> pd.Series:
    """coalesce(boolean, false)."""
    return series.fillna(False).astype(bool)


def epoch_seconds(series: pd.Series) -> pd.Series:
    return series.astype("datetime64[us]").astype("int64") / 1_000_000


def like(series: pd.Series, pattern: str) -> pd.Series:
    """SQL LIKE (case-sensitive, % and _) as a full regex match; NULL never matches."""
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return series.str.fullmatch(regex, flags=re.DOTALL).fillna(False).astype(bool)


def latest(frame: pd.DataFrame, key: str, order: list[str], ascending: list[bool]) -> pd.DataFrame:
    """One row per key: the first in the given order (row_number() ... = 1)."""
    return frame.sort_values(order, ascending=ascending, na_position="last", kind="stable").drop_duplicates(
        key
    )


def round_to_integer(values: pd.Series) -> pd.Series:
    """cast(round(cast(x as numeric(28, 6)), 0) as double): 6 decimals, then half away from 0."""
    six = values.round(6)
    return np.sign(six) * np.floor(np.abs(six) + 0.5) + 0.0


def clamp(values: pd.Series, low: float, high: float) -> pd.Series:
    return values.clip(lower=low, upper=high)


def read_seeds(seeds: Path) -> dict[str, pd.DataFrame]:
    names = [
        "fit_rules",
        "title_patterns",
        "intent_signals",
        "sequence_rules",
        "negative_rules",
        "email_domain_lists",
        "marketo_activity_types",
        "scoring_parameters",
    ]
    frames = {
        name: pd.read_csv(seeds / f"{name}.csv", keep_default_na=False, na_values=[""]) for name in names
    }
    frames["negative_rules"]["match_value"] = frames["negative_rules"]["match_value"].astype(object)
    return frames


# -- scoring -----------------------------------------------------------------------------
def score(con: duckdb.DuckDBPyConnection, as_of: datetime, seeds: Path = SEEDS) -> pd.DataFrame:
    """crm_id, fit_score, intent_score, negative_score, composite_score, tier as of ``as_of``."""
    seed = read_seeds(seeds)
    parameters = dict(
        zip(seed["scoring_parameters"]["parameter"], seed["scoring_parameters"]["value"], strict=True)
    )
    as_of_ts = pd.Timestamp(as_of)
    as_of_epoch = as_of_ts.value / 1_000_000_000

    # CRM records: latest version known at as_of, soft deletes removed
    def versions(table: str, columns: str) -> pd.DataFrame:
        frame = read(con, table, f"id, systemmodstamp, _loaded_at, isdeleted, {columns}")
        frame = frame[frame["systemmodstamp"] <= as_of_ts]
        frame = latest(frame, "id", ["systemmodstamp", "_loaded_at"], [False, False])
        return frame[~flag(frame["isdeleted"])]

    leads = versions(
        "raw_salesforce.lead",
        "email, title, industry, country, technologies__c, numberofemployees, annualrevenue, "
        "isconverted, hasoptedoutofemail, emailbounceddate, convertedaccountid, createddate",
    )
    contacts = versions(
        "raw_salesforce.contact",
        "accountid, email, title, mailingcountry, hasoptedoutofemail, emailbounceddate, createddate",
    )
    accounts = versions(
        "raw_salesforce.account",
        "industry, billingcountry, technologies__c, numberofemployees, annualrevenue",
    )

    lead_people = pd.DataFrame(
        {
            "person_id": leads["id"],
            "is_contact": False,
            "account_id": leads["convertedaccountid"],
            "email": normalized_email(leads["email"]),
            "title": leads["title"],
            "industry": leads["industry"],
            "country": leads["country"],
            "technologies": leads["technologies__c"],
            "number_of_employees": leads["numberofemployees"].astype("float64"),
            "annual_revenue": leads["annualrevenue"].astype("float64"),
            "is_converted": flag(leads["isconverted"]),
            "has_opted_out": flag(leads["hasoptedoutofemail"]),
            "has_hard_bounced": leads["emailbounceddate"].notna(),
            "created_at": leads["createddate"],
        }
    )
    with_account = contacts.merge(
        accounts.drop(columns=["systemmodstamp", "_loaded_at", "isdeleted"]).rename(
            columns={"id": "accountid"}
        ),
        on="accountid",
        how="left",
    )
    contact_people = pd.DataFrame(
        {
            "person_id": with_account["id"],
            "is_contact": True,
            "account_id": with_account["accountid"],
            "email": normalized_email(with_account["email"]),
            "title": with_account["title"],
            "industry": with_account["industry"],
            "country": with_account["mailingcountry"].fillna(with_account["billingcountry"]),
            "technologies": with_account["technologies__c"],
            "number_of_employees": with_account["numberofemployees"].astype("float64"),
            "annual_revenue": with_account["annualrevenue"].astype("float64"),
            "is_converted": False,
            "has_opted_out": flag(with_account["hasoptedoutofemail"]),
            "has_hard_bounced": with_account["emailbounceddate"].notna(),
            "created_at": with_account["createddate"],
        }
    )
    people = pd.concat([lead_people, contact_people], ignore_index=True)
    people = people[people["created_at"] <= as_of_ts].reset_index(drop=True)

    # titles: the lowest-priority matching pattern per dimension
    normalized_title = trimmed(people["title"]).str.lower()
    patterns = seed["title_patterns"].sort_values(["priority", "derived_value"])
    for dimension in ("title_seniority", "title_function"):
        derived = pd.Series(np.nan, index=people.index, dtype=object)
        for row in patterns[patterns["dimension"] == dimension].itertuples():
            hit = derived.isna() & like(normalized_title, row.pattern)
            derived[hit] = row.derived_value
        people[dimension] = derived

    # duplicates: one person per normalised e-mail, the survivor's crm_id as person_key
    people["group_value"] = people["email"].fillna(people["person_id"])
    people["lead_first"] = ~people["is_contact"]
    people = people.sort_values(
        ["group_value", "lead_first", "is_converted", "created_at", "person_id"], kind="stable"
    ).reset_index(drop=True)
    people["person_key"] = people.groupby("group_value")["person_id"].transform("first")
    survivor_columns = [
        "account_id",
        "email",
        "title_seniority",
        "title_function",
        "industry",
        "country",
        "technologies",
        "number_of_employees",
        "annual_revenue",
    ]
    grouped = people.groupby("person_key", sort=False)
    merged = grouped[survivor_columns].first()  # first non-null value in survivor order
    merged["has_opted_out"] = grouped["has_opted_out"].any()
    merged["has_hard_bounced"] = grouped["has_hard_bounced"].any()
    merged["created_at"] = grouped["created_at"].min()

    # fit: every matching rule's points
    attribute_columns = {
        "industry": "industry",
        "country": "country",
        "title_seniority": "title_seniority",
        "title_function": "title_function",
        "technology": "technologies",
        "employees": "number_of_employees",
        "annual_revenue": "annual_revenue",
    }
    fit_points = pd.Series(0.0, index=merged.index)
    for rule in seed["fit_rules"].itertuples():
        column = merged[attribute_columns[rule.attribute]]
        if rule.operator == "between":
            hit = (column >= rule.min_value) & (column < rule.max_value)
        else:
            text = trimmed(column.astype(object).where(column.notna())).str.lower()
            needle = str(rule.match_value).lower()
            hit = text.eq(needle) if rule.operator == "equals" else text.str.contains(needle, regex=False)
        fit_points += np.where(hit.fillna(False).astype(bool), rule.points, 0.0)
    merged["fit_points"] = fit_points

    # MAP activities, matched to people by CRM id, then e-mail
    marketo_leads = read(
        con, "raw_map.marketo_leads", "id, email, sfdcleadid, sfdccontactid, updatedat, _loaded_at"
    )
    marketo_leads = latest(marketo_leads, "id", ["updatedat", "_loaded_at"], [False, False])
    marketo_leads = pd.DataFrame(
        {
            "leadid": marketo_leads["id"].astype("int64"),
            "crm_id": blank_to_null(marketo_leads["sfdccontactid"]).fillna(
                blank_to_null(marketo_leads["sfdcleadid"])
            ),
            "email": normalized_email(marketo_leads["email"]),
        }
    )
    marketo = read(
        con,
        "raw_map.marketo_activities",
        "marketoguid, leadid, activitydate, activitytypeid, primaryattributevalue, _loaded_at, _line",
    )
    marketo = latest(marketo, "marketoguid", ["_loaded_at", "_line"], [False, True])
    marketo = marketo.merge(marketo_leads, on="leadid", how="left")
    activity_types = seed["marketo_activity_types"].set_index("activity_type_id")["event_type"]
    type_id = marketo["activitytypeid"].astype("Int64")
    marketo_activities = pd.DataFrame(
        {
            "activity_id": marketo["marketoguid"],
            "crm_id": marketo["crm_id"],
            "email": marketo["email"],
            "event_type": type_id.map(activity_types).fillna("unknown:" + type_id.astype(str)),
            "url": marketo["primaryattributevalue"],
            "occurred_at": marketo["activitydate"],
        }
    )
    events = read(
        con, "raw_map.events", "event_id, crm_id, email, event_type, url, occurred_at, _loaded_at, _line"
    )
    events = latest(events, "event_id", ["_loaded_at", "_line"], [False, True])
    generic_events = pd.DataFrame(
        {
            "activity_id": events["event_id"],
            "crm_id": blank_to_null(events["crm_id"]),
            "email": normalized_email(events["email"]),
            "event_type": trimmed(events["event_type"]).str.lower(),
            "url": events["url"],
            "occurred_at": events["occurred_at"],
        }
    )
    activities = pd.concat([marketo_activities, generic_events], ignore_index=True)
    activities = activities[activities["occurred_at"] <= as_of_ts]

    key_by_id = people.set_index("person_id")["person_key"]
    key_by_email = people.dropna(subset=["email"]).drop_duplicates("email").set_index("email")["person_key"]
    by_id = activities["crm_id"].map(key_by_id)
    by_email = activities["email"].map(key_by_email).where(by_id.isna())
    activities = activities.assign(person_key=by_id.fillna(by_email)).dropna(subset=["person_key"])
    activities = activities.drop_duplicates(["person_key", "activity_id"])
    activities["occurred_epoch"] = epoch_seconds(activities["occurred_at"])
    activities["age_days"] = (as_of_epoch - activities["occurred_epoch"]) / SECONDS_PER_DAY

    # intent signal per activity: the matching signal with the lowest priority
    signals = seed["intent_signals"].sort_values(["priority", "signal_id"]).reset_index(drop=True)
    lowered_url = activities["url"].str.lower()
    signal_id = pd.Series(np.nan, index=activities.index, dtype=object)
    for signal in signals.itertuples():
        hit = signal_id.isna() & activities["event_type"].eq(signal.event_type)
        if isinstance(signal.url_pattern, str):
            hit &= like(lowered_url, signal.url_pattern)
        signal_id[hit] = signal.signal_id
    activities["signal_id"] = signal_id
    classified = activities.dropna(subset=["signal_id"])

    # decay, expiry and the frequency cap per window
    decayed = classified.merge(
        signals.drop(columns=["event_type", "url_pattern", "priority"]), on="signal_id"
    )
    decayed = decayed[decayed["age_days"] <= decayed["expiry_days"]]
    decayed["cap_window"] = np.floor(decayed["occurred_epoch"] / (decayed["cap_window_days"] * 86400)).fillna(
        0
    )
    decayed = decayed.sort_values(["occurred_at", "activity_id"], ascending=[False, True], kind="stable")
    recency_rank = decayed.groupby(["person_key", "signal_id", "cap_window"], sort=False).cumcount() + 1
    decayed = decayed[recency_rank <= decayed["max_occurrences"]]
    decayed["decayed_points"] = decayed["points"] * np.power(
        0.5, decayed["age_days"] / decayed["half_life_days"]
    )
    merged["signal_points"] = decayed.groupby("person_key")["decayed_points"].sum()
    scored_age = decayed[decayed["points"] > 0].groupby("person_key")["age_days"].min()
    merged["recency_points"] = np.where(
        scored_age.reindex(merged.index) <= parameters["recency_bonus_days"],
        parameters["recency_bonus_points"],
        0.0,
    )

    # sequences: steps in order within within_days, the latest completion, decayed
    steps = classified[["person_key", "signal_id", "occurred_at", "occurred_epoch"]]
    completions = []
    for rule in seed["sequence_rules"].itertuples():
        chain = steps[steps["signal_id"] == rule.step_1_signal_id].merge(
            steps[steps["signal_id"] == rule.step_2_signal_id], on="person_key", suffixes=("_1", "_2")
        )
        chain = chain[
            (chain["occurred_at_1"] < chain["occurred_at_2"])
            & (rule.within_days >= (chain["occurred_epoch_2"] - chain["occurred_epoch_1"]) / SECONDS_PER_DAY)
        ]
        completed = "occurred_epoch_2"
        if isinstance(rule.step_3_signal_id, str):
            step_3 = steps[steps["signal_id"] == rule.step_3_signal_id].rename(
                columns={"occurred_at": "occurred_at_3", "occurred_epoch": "occurred_epoch_3"}
            )
            chain = chain.merge(step_3.drop(columns=["signal_id"]), on="person_key")
            chain = chain[
                (chain["occurred_at_2"] < chain["occurred_at_3"])
                & (
                    rule.within_days
                    >= (chain["occurred_epoch_3"] - chain["occurred_epoch_1"]) / SECONDS_PER_DAY
                )
            ]
            completed = "occurred_epoch_3"
        latest_completion = chain.groupby("person_key")[completed].max()
        age_days = (as_of_epoch - latest_completion) / SECONDS_PER_DAY
        points = rule.points * np.power(0.5, age_days / rule.half_life_days)
        completions.append(points[age_days <= rule.expiry_days])
    sequence_points = pd.concat(completions).groupby(level=0).sum() if completions else pd.Series(dtype=float)
    merged["sequence_points"] = sequence_points

    merged["intent_points"] = (
        merged["signal_points"].fillna(0.0) + merged["recency_points"] + merged["sequence_points"].fillna(0.0)
    )

    # account bonus from colleagues' intent before the bonus
    at_account = merged[merged["account_id"].notna()]
    intent_before = clamp(at_account["intent_points"], 0, 100)
    engaged = (intent_before >= parameters["engagement_3_min_intent"]).astype(int)
    account = at_account["account_id"]
    colleagues_engaged = engaged.groupby(account).transform("sum") - engaged
    colleague_points = intent_before.groupby(account).transform("sum") - intent_before
    bonus = np.minimum(
        parameters["account_bonus_weight"] * clamp(colleague_points, 0, 100),
        parameters["account_bonus_max_points"],
    )
    eligible = (colleagues_engaged >= 1) & (colleague_points >= parameters["account_bonus_min_engagement"])
    merged["account_bonus"] = bonus.where(eligible, 0.0)

    # negatives
    summary_frame = pd.DataFrame(
        {
            "person_key": activities["person_key"],
            "page_view": activities["event_type"].eq("page_view"),
            "careers": activities["event_type"].eq("page_view") & like(lowered_url, "%/careers%"),
            "unsubscribe": activities["event_type"].eq("unsubscribe"),
            "hard_bounce": activities["event_type"].eq("email_bounced_hard"),
            "occurred_at": activities["occurred_at"],
        }
    )
    summary = summary_frame.groupby("person_key").agg(
        page_views=("page_view", "sum"),
        careers_page_views=("careers", "sum"),
        has_unsubscribe=("unsubscribe", "any"),
        has_hard_bounce=("hard_bounce", "any"),
        last_activity_at=("occurred_at", "max"),
    )
    summary = summary.reindex(merged.index)
    domains = seed["email_domain_lists"]
    email_domain = merged["email"].str.split("@").str[1]
    page_views = summary["page_views"].fillna(0)
    facts = {
        "personal_email_domain": email_domain.isin(domains.loc[domains["list_name"] == "personal", "domain"]),
        "competitor_email_domain": email_domain.isin(
            domains.loc[domains["list_name"] == "competitor", "domain"]
        ),
        "unsubscribed": merged["has_opted_out"] | flag(summary["has_unsubscribe"]),
        "hard_bounce": merged["has_hard_bounced"] | flag(summary["has_hard_bounce"]),
    }
    careers_share = (summary["careers_page_views"].fillna(0) / page_views.where(page_views > 0)).fillna(0.0)
    last_seen = epoch_seconds(summary["last_activity_at"].fillna(merged["created_at"]))
    inactive_days = (as_of_epoch - last_seen) / SECONDS_PER_DAY
    country = trimmed(merged["country"]).str.lower()
    negative_points = pd.Series(0.0, index=merged.index)
    disqualified = pd.Series(False, index=merged.index)
    for rule in seed["negative_rules"].itertuples():
        if rule.rule_type in facts:
            hit = facts[rule.rule_type]
        elif rule.rule_type == "title_seniority":
            hit = merged["title_seniority"].eq(rule.match_value)
        elif rule.rule_type == "unserviced_country":
            hit = country.eq(str(rule.match_value).lower())
        elif rule.rule_type == "careers_focus":
            hit = careers_share > float(rule.match_value)
        elif rule.rule_type == "inactive_days":
            hit = inactive_days > float(rule.match_value)
        else:
            continue
        hit = hit.fillna(False).astype(bool)
        negative_points += np.where(hit, rule.points, 0.0)
        disqualified |= hit & bool(rule.is_disqualifier)

    # scores per merged person, then per CRM record
    fit_score = round_to_integer(clamp(merged["fit_points"], 0, 100))
    intent_score = round_to_integer(
        clamp(merged["intent_points"] + merged["account_bonus"].fillna(0.0), 0, 100)
    )
    negative_score = round_to_integer(negative_points)
    composite = round_to_integer(
        clamp(
            parameters["fit_weight"] * fit_score
            + parameters["intent_weight"] * intent_score
            + negative_score,
            0,
            100,
        )
    )
    tier = np.select(
        [
            disqualified,
            (composite >= parameters["tier1_threshold"]) & (fit_score >= parameters["tier1_min_fit"]),
            composite >= parameters["tier2_threshold"],
            composite >= parameters["tier3_threshold"],
        ],
        [4, 1, 2, 3],
        default=4,
    )
    person_scores = pd.DataFrame(
        {
            "fit_score": fit_score,
            "intent_score": intent_score,
            "negative_score": negative_score,
            "composite_score": composite,
            "tier": tier.astype("int32"),
        },
        index=merged.index,
    )
    return (
        people[["person_id", "person_key"]]
        .join(person_scores, on="person_key")[
            ["person_id", "fit_score", "intent_score", "negative_score", "composite_score", "tier"]
        ]
        .rename(columns={"person_id": "crm_id"})
    )


def run_pandas(
    con: duckdb.DuckDBPyConnection, as_of: datetime, seeds: Path = SEEDS
) -> tuple[pd.DataFrame, float]:
    """The peer's scores and its wall time in seconds (reading the raw tables included)."""
    started = time.perf_counter()
    scores = score(con, as_of, seeds)
    return scores, time.perf_counter() - started
