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
from typing import Any

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


# -- scoring: one function per stage of the dbt models ------------------------------------
def scoring_parameters(seed: dict[str, pd.DataFrame]) -> dict[str, float]:
    """The scoring_parameters seed as {parameter: value}."""
    frame = seed["scoring_parameters"]
    return dict(zip(frame["parameter"], frame["value"], strict=True))


def crm_versions(
    con: duckdb.DuckDBPyConnection, table: str, columns: str, as_of_ts: pd.Timestamp
) -> pd.DataFrame:
    """CRM records (stg_salesforce__*): the latest version known at as_of, soft deletes removed."""
    frame = read(con, table, f"id, systemmodstamp, _loaded_at, isdeleted, {columns}")
    frame = frame[frame["systemmodstamp"] <= as_of_ts]
    frame = latest(frame, "id", ["systemmodstamp", "_loaded_at"], [False, False])
    return frame[~flag(frame["isdeleted"])]


def lead_people(leads: pd.DataFrame) -> pd.DataFrame:
    """Leads as people (int_people_unified)."""
    return pd.DataFrame(
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


def contact_people(contacts: pd.DataFrame, accounts: pd.DataFrame) -> pd.DataFrame:
    """Contacts as people, firmographics from their account (int_people_unified)."""
    with_account = contacts.merge(
        accounts.drop(columns=["systemmodstamp", "_loaded_at", "isdeleted"]).rename(
            columns={"id": "accountid"}
        ),
        on="accountid",
        how="left",
    )
    return pd.DataFrame(
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


def crm_people(con: duckdb.DuckDBPyConnection, as_of_ts: pd.Timestamp) -> pd.DataFrame:
    """Every Lead and Contact created by as_of, one row per CRM record."""
    leads = crm_versions(
        con,
        "raw_salesforce.lead",
        "email, title, industry, country, technologies__c, numberofemployees, annualrevenue, "
        "isconverted, hasoptedoutofemail, emailbounceddate, convertedaccountid, createddate",
        as_of_ts,
    )
    contacts = crm_versions(
        con,
        "raw_salesforce.contact",
        "accountid, email, title, mailingcountry, hasoptedoutofemail, emailbounceddate, createddate",
        as_of_ts,
    )
    accounts = crm_versions(
        con,
        "raw_salesforce.account",
        "industry, billingcountry, technologies__c, numberofemployees, annualrevenue",
        as_of_ts,
    )
    people = pd.concat([lead_people(leads), contact_people(contacts, accounts)], ignore_index=True)
    return people[people["created_at"] <= as_of_ts].reset_index(drop=True)


def with_title_dimensions(people: pd.DataFrame, title_patterns: pd.DataFrame) -> pd.DataFrame:
    """Adds title_seniority and title_function: the lowest-priority matching pattern of each
    (int_people_titles_classified)."""
    people = people.copy()
    normalized_title = trimmed(people["title"]).str.lower()
    patterns = title_patterns.sort_values(["priority", "derived_value"])
    for dimension in ("title_seniority", "title_function"):
        derived = pd.Series(np.nan, index=people.index, dtype=object)
        for row in patterns[patterns["dimension"] == dimension].itertuples():
            hit = derived.isna() & like(normalized_title, row.pattern)
            derived[hit] = row.derived_value
        people[dimension] = derived
    return people


def with_person_keys(people: pd.DataFrame) -> pd.DataFrame:
    """Duplicates: one person per normalised e-mail, the survivor's crm_id as person_key
    (int_people_grouped_by_email). Rows come back in survivor order (Leads first, then
    unconverted, oldest, lowest id)."""
    people = people.assign(group_value=people["email"].fillna(people["person_id"]))
    people["lead_first"] = ~people["is_contact"]
    people = people.sort_values(
        ["group_value", "lead_first", "is_converted", "created_at", "person_id"], kind="stable"
    ).reset_index(drop=True)
    people["person_key"] = people.groupby("group_value")["person_id"].transform("first")
    return people


SURVIVOR_COLUMNS = [
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


def merged_people(people: pd.DataFrame) -> pd.DataFrame:
    """One row per person_key: the first non-null value in survivor order, flags of any record
    (int_people_deduplicated)."""
    grouped = people.groupby("person_key", sort=False)
    merged = grouped[SURVIVOR_COLUMNS].first()
    merged["has_opted_out"] = grouped["has_opted_out"].any()
    merged["has_hard_bounced"] = grouped["has_hard_bounced"].any()
    merged["created_at"] = grouped["created_at"].min()
    return merged


# fit_rules.attribute -> the merged person's column it tests
FIT_ATTRIBUTE_COLUMNS = {
    "industry": "industry",
    "country": "country",
    "title_seniority": "title_seniority",
    "title_function": "title_function",
    "technology": "technologies",
    "employees": "number_of_employees",
    "annual_revenue": "annual_revenue",
}


def fit_points(merged: pd.DataFrame, fit_rules: pd.DataFrame) -> pd.Series:
    """Every matching fit rule's points, summed per person (int_fit_rules_matched)."""
    points = pd.Series(0.0, index=merged.index)
    for rule in fit_rules.itertuples():
        column = merged[FIT_ATTRIBUTE_COLUMNS[rule.attribute]]
        if rule.operator == "between":
            hit = (column >= rule.min_value) & (column < rule.max_value)
        else:
            text = trimmed(column.astype(object).where(column.notna())).str.lower()
            needle = str(rule.match_value).lower()
            hit = text.eq(needle) if rule.operator == "equals" else text.str.contains(needle, regex=False)
        points += np.where(hit.fillna(False).astype(bool), rule.points, 0.0)
    return points


def marketo_activities(con: duckdb.DuckDBPyConnection, activity_types: pd.DataFrame) -> pd.DataFrame:
    """Marketo activities (latest copy of each) with their lead's CRM id and e-mail."""
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
    event_types = activity_types.set_index("activity_type_id")["event_type"]
    type_id = marketo["activitytypeid"].astype("Int64")
    return pd.DataFrame(
        {
            "activity_id": marketo["marketoguid"],
            "crm_id": marketo["crm_id"],
            "email": marketo["email"],
            "event_type": type_id.map(event_types).fillna("unknown:" + type_id.astype(str)),
            "url": marketo["primaryattributevalue"],
            "occurred_at": marketo["activitydate"],
        }
    )


def generic_events(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """JSONL events (latest copy of each) in the activity shape."""
    events = read(
        con, "raw_map.events", "event_id, crm_id, email, event_type, url, occurred_at, _loaded_at, _line"
    )
    events = latest(events, "event_id", ["_loaded_at", "_line"], [False, True])
    return pd.DataFrame(
        {
            "activity_id": events["event_id"],
            "crm_id": blank_to_null(events["crm_id"]),
            "email": normalized_email(events["email"]),
            "event_type": trimmed(events["event_type"]).str.lower(),
            "url": events["url"],
            "occurred_at": events["occurred_at"],
        }
    )


def person_activities(activities: pd.DataFrame, people: pd.DataFrame, as_of_epoch: float) -> pd.DataFrame:
    """MAP activities matched to people by CRM id, then e-mail (unmatched ones dropped), one
    row per person and activity, with their epoch and age in days."""
    key_by_id = people.set_index("person_id")["person_key"]
    key_by_email = people.dropna(subset=["email"]).drop_duplicates("email").set_index("email")["person_key"]
    by_id = activities["crm_id"].map(key_by_id)
    by_email = activities["email"].map(key_by_email).where(by_id.isna())
    activities = activities.assign(person_key=by_id.fillna(by_email)).dropna(subset=["person_key"])
    activities = activities.drop_duplicates(["person_key", "activity_id"])
    activities["occurred_epoch"] = epoch_seconds(activities["occurred_at"])
    activities["age_days"] = (as_of_epoch - activities["occurred_epoch"]) / SECONDS_PER_DAY
    return activities


def map_activities(
    con: duckdb.DuckDBPyConnection,
    activity_types: pd.DataFrame,
    people: pd.DataFrame,
    as_of_ts: pd.Timestamp,
    as_of_epoch: float,
) -> pd.DataFrame:
    """Marketo activities and generic events up to as_of, matched to people
    (int_activities_matched_to_people)."""
    activities = pd.concat([marketo_activities(con, activity_types), generic_events(con)], ignore_index=True)
    activities = activities[activities["occurred_at"] <= as_of_ts]
    return person_activities(activities, people, as_of_epoch)


def ordered_signals(intent_signals: pd.DataFrame) -> pd.DataFrame:
    """The intent signals in matching order (lowest priority first)."""
    return intent_signals.sort_values(["priority", "signal_id"]).reset_index(drop=True)


def classified_activities(activities: pd.DataFrame, signals: pd.DataFrame) -> pd.DataFrame:
    """The activities that match an intent signal, with the signal_id of the first match
    (int_activities_classified)."""
    lowered_url = activities["url"].str.lower()
    signal_id = pd.Series(np.nan, index=activities.index, dtype=object)
    for signal in signals.itertuples():
        hit = signal_id.isna() & activities["event_type"].eq(signal.event_type)
        if isinstance(signal.url_pattern, str):
            hit &= like(lowered_url, signal.url_pattern)
        signal_id[hit] = signal.signal_id
    return activities.assign(signal_id=signal_id).dropna(subset=["signal_id"])


def decayed_activities(classified: pd.DataFrame, signals: pd.DataFrame) -> pd.DataFrame:
    """Signal points per activity after expiry, the frequency cap per window and decay
    (int_activities_decayed)."""
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
    return decayed


def recency_points(decayed: pd.DataFrame, index: pd.Index, parameters: dict[str, float]) -> np.ndarray:
    """The recency bonus of each person in ``index``: a scored activity recent enough."""
    scored_age = decayed[decayed["points"] > 0].groupby("person_key")["age_days"].min()
    return np.where(
        scored_age.reindex(index) <= parameters["recency_bonus_days"],
        parameters["recency_bonus_points"],
        0.0,
    )


def sequence_completions(steps: pd.DataFrame, rule: Any, as_of_epoch: float) -> pd.Series:
    """One sequence rule's (a ``sequence_rules`` row's) decayed points per person: its steps
    in order within within_days, the latest completion, dropped once expired."""
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
            & (rule.within_days >= (chain["occurred_epoch_3"] - chain["occurred_epoch_1"]) / SECONDS_PER_DAY)
        ]
        completed = "occurred_epoch_3"
    latest_completion = chain.groupby("person_key")[completed].max()
    age_days = (as_of_epoch - latest_completion) / SECONDS_PER_DAY
    points = rule.points * np.power(0.5, age_days / rule.half_life_days)
    return points[age_days <= rule.expiry_days]


def sequence_points(classified: pd.DataFrame, sequence_rules: pd.DataFrame, as_of_epoch: float) -> pd.Series:
    """Every sequence rule's points, summed per person (int_sequences_completed)."""
    steps = classified[["person_key", "signal_id", "occurred_at", "occurred_epoch"]]
    completions = [sequence_completions(steps, rule, as_of_epoch) for rule in sequence_rules.itertuples()]
    return pd.concat(completions).groupby(level=0).sum() if completions else pd.Series(dtype=float)


def with_intent_points(
    merged: pd.DataFrame,
    activities: pd.DataFrame,
    seed: dict[str, pd.DataFrame],
    parameters: dict[str, float],
    as_of_epoch: float,
) -> pd.DataFrame:
    """Adds signal, recency and sequence points and their sum, intent_points
    (int_intent_contributions_unioned)."""
    signals = ordered_signals(seed["intent_signals"])
    classified = classified_activities(activities, signals)
    decayed = decayed_activities(classified, signals)
    merged = merged.copy()
    merged["signal_points"] = decayed.groupby("person_key")["decayed_points"].sum()
    merged["recency_points"] = recency_points(decayed, merged.index, parameters)
    merged["sequence_points"] = sequence_points(classified, seed["sequence_rules"], as_of_epoch)
    merged["intent_points"] = (
        merged["signal_points"].fillna(0.0) + merged["recency_points"] + merged["sequence_points"].fillna(0.0)
    )
    return merged


def account_bonus(merged: pd.DataFrame, parameters: dict[str, float]) -> pd.Series:
    """The account bonus from colleagues' intent before the bonus, for people with an account
    (int_account_engagement_rolled_up)."""
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
    return bonus.where(eligible, 0.0)


def activity_summary(activities: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """Per person in ``index``: page views, careers page views, unsubscribe and hard-bounce
    activity, last activity (int_people_activity_summarized)."""
    summary_frame = pd.DataFrame(
        {
            "person_key": activities["person_key"],
            "page_view": activities["event_type"].eq("page_view"),
            "careers": activities["event_type"].eq("page_view")
            & like(activities["url"].str.lower(), "%/careers%"),
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
    return summary.reindex(index)


def negative_points(
    merged: pd.DataFrame,
    activities: pd.DataFrame,
    seed: dict[str, pd.DataFrame],
    as_of_epoch: float,
) -> tuple[pd.Series, pd.Series]:
    """Every matching negative rule's points summed per person, and whether a disqualifying
    rule matched (int_negative_rules_matched)."""
    summary = activity_summary(activities, merged.index)
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
    points = pd.Series(0.0, index=merged.index)
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
        points += np.where(hit, rule.points, 0.0)
        disqualified |= hit & bool(rule.is_disqualifier)
    return points, disqualified


def person_scores(
    merged: pd.DataFrame,
    negative: pd.Series,
    disqualified: pd.Series,
    parameters: dict[str, float],
) -> pd.DataFrame:
    """Fit, intent, negative and composite scores and the tier per merged person (lead_scores)."""
    fit_score = round_to_integer(clamp(merged["fit_points"], 0, 100))
    intent_score = round_to_integer(
        clamp(merged["intent_points"] + merged["account_bonus"].fillna(0.0), 0, 100)
    )
    negative_score = round_to_integer(negative)
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
    return pd.DataFrame(
        {
            "fit_score": fit_score,
            "intent_score": intent_score,
            "negative_score": negative_score,
            "composite_score": composite,
            "tier": tier.astype("int32"),
        },
        index=merged.index,
    )


def record_scores(people: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """The merged person's scores on each of its CRM records, as crm_id."""
    return (
        people[["person_id", "person_key"]]
        .join(scores, on="person_key")[
            ["person_id", "fit_score", "intent_score", "negative_score", "composite_score", "tier"]
        ]
        .rename(columns={"person_id": "crm_id"})
    )


def score(con: duckdb.DuckDBPyConnection, as_of: datetime, seeds: Path = SEEDS) -> pd.DataFrame:
    """crm_id, fit_score, intent_score, negative_score, composite_score, tier as of ``as_of``."""
    seed = read_seeds(seeds)
    parameters = scoring_parameters(seed)
    as_of_ts = pd.Timestamp(as_of)
    as_of_epoch = as_of_ts.value / 1_000_000_000

    people = crm_people(con, as_of_ts)
    people = with_title_dimensions(people, seed["title_patterns"])
    people = with_person_keys(people)
    merged = merged_people(people)
    merged["fit_points"] = fit_points(merged, seed["fit_rules"])

    activities = map_activities(con, seed["marketo_activity_types"], people, as_of_ts, as_of_epoch)
    merged = with_intent_points(merged, activities, seed, parameters, as_of_epoch)
    merged["account_bonus"] = account_bonus(merged, parameters)

    negative, disqualified = negative_points(merged, activities, seed, as_of_epoch)
    return record_scores(people, person_scores(merged, negative, disqualified, parameters))


def run_pandas(
    con: duckdb.DuckDBPyConnection, as_of: datetime, seeds: Path = SEEDS
) -> tuple[pd.DataFrame, float]:
    """The peer's scores and its wall time in seconds (reading the raw tables included)."""
    started = time.perf_counter()
    scores = score(con, as_of, seeds)
    return scores, time.perf_counter() - started
