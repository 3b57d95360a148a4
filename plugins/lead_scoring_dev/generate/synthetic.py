"""Synthetic CRM + marketing-automation data with a hidden propensity to convert.

The whole world is built in DuckDB SQL, one statement per table, with no Python loop per row.
Randomness is hash based: every random draw is ``hash(seed, row key, salt)`` mapped to [0, 1),
so the output depends only on ``(seed, leads, days, end, activities_per_lead)`` and not on the
number of threads or the order in which DuckDB processes rows. Aggregates that feed later draws
are computed on integers (a floating-point sum depends on the summation order).

Outputs (see ``generate``):

* ``<out_dir>/crm/<Object>.parquet``: User, Account, Lead, Contact, Opportunity, Task, with
  exactly the fields of :data:`lead_scoring.crm_schema.OBJECTS` (score fields all null);
* ``<out_dir>/truth.parquet``: the hidden truth per CRM person (``crm_id, crm_object,
  propensity, converted, won``);
* ``<out_dir>/generated.json``: parameters and row counts;
* ``<landing_dir>/map/``: Marketo activity extracts, the Marketo lead extract and JSONL events;
* ``<landing_dir>/crm/<Object>/<Object>_<YYYYMMDDTHHMM>.csv`` when ``crm_files``: Data Loader
  exports of the same CRM objects.

The world: reps in four teams with managers; accounts with firmographics and a tech stack;
leads and contacts working at them. Each person has a latent score from fit (ICP industry,
size, country, senior go-to-market title, Salesforce/Snowflake in the stack) and a random
behaviour intensity; activity volume, its mix (pricing, integrations, webinars, demo requests
against blog and careers pages) and its recency follow the latent score, and conversion to an
opportunity (then won or lost) is drawn from it, after a demo request or trial sign-up and a
pricing-page visit. Messiness: personal and competitor email domains, students and interns,
unserviced countries, unsubscribes, hard and soft bounces, duplicate people, missing fields,
careers-only visitors and people inactive for over 90 days.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb

from lead_scoring import crm_schema
from lead_scoring.config import load_settings
from lead_scoring_dev.generate import vocab
from lead_scoring_dev.generate.vocab import (  # noqa: F401  (re-exported: documented constants)
    ACTIVITY_TYPES,
    COMPETITOR_DOMAINS,
    PERSONAL_EMAIL_DOMAINS,
    UNSERVICED_COUNTRIES,
)

DAY = 86_400
CHUNK_DAYS = 30  # one landing file per 30 days of activity date
ID_DIGITS = 12
ID_SUFFIX = "AAA"  # every Id: 3-char prefix + 12 digits + this suffix = 18 characters
MARKETO_ID_OFFSET = 1_000_001  # Marketo lead id = offset + person index
MARKETO_GUID_OFFSET = 100_000_000

# Shares of the messy cases (per person unless said).
RATES: dict[str, float] = {
    "lead_personal_email": 0.05,
    "lead_competitor_email": 0.02,
    "contact_personal_email": 0.02,
    "unknown_people": 0.02,  # extra Marketo people that match nobody in the CRM (per CRM person)
    "dup_lead_of_contact": 0.015,  # a Lead with the email of an existing Contact
    "dup_lead_of_lead": 0.015,  # a Lead whose email differs from another Lead's in case/space
    "careers_only": 0.025,
    "inactive": 0.05,  # no activity in the last 90 days
    "unsubscribed": 0.03,
    "do_not_call": 0.01,  # DoNotCall set in the CRM: scored, but never routed to a rep
    "hard_bounced": 0.02,
    "soft_bounced": 0.03,
    "deleted_person": 0.01,
    "deleted_other": 0.005,
    "marketo_email_only": 0.10,  # Marketo lead rows without an sfdc id
    "jsonl_share_of_eligible": 0.50,  # page views, forms, downloads, demo/trial go to JSONL
    "lead_owned_by_integration_user": 0.30,
    "lead_owned_by_inactive_rep": 0.03,
    # an unconverted Lead a rep owns whom the rep cannot reach: the person goes quiet some days
    # before the end, then UNREACHABLE_ATTEMPTS Tasks, all after their last activity (no
    # answer); with 3 or more of them made by the end the Lead ends as Could Not Contact, or
    # Closed - Not Converted with reason Unable to contact
    "unreachable": 0.15,
    "unreachable_closed_not_converted": 0.4,  # of those: closed with the reason, not the status
}
# Activity after the end instant (the demo's next hours): this share of the open CRM people
# with a company address request a demo and view the pricing page (half also sign up for a
# trial) within LATE_HOURS after the end, so a run as of a later hour sees score jumps; a run
# as of the end does not (the pipeline reads activities up to its as_of).
LATE_SHARE = 0.006
LATE_HOURS = 2
# ... and this share of the unreachable Leads come back the same way (a response: routing
# brings a Lead recycled to nurture back to a rep, docs/routing-and-slas.md).
LATE_UNREACHABLE_SHARE = 0.1
# Owner Tasks on an unreachable Lead: (at least, at most), a day to a day and a half apart,
# from the moment the person went quiet: (at least, at most) days before the end.
UNREACHABLE_ATTEMPTS = (6, 9)
UNREACHABLE_QUIET_DAYS = (5, 12)
# Why sales closed a Lead without converting it (Lead.Disqualification_Reason__c), for the Leads
# neither a competitor, a student nor unreachable: (reason, weight).
CLOSE_REASONS: tuple[tuple[str, float], ...] = (("Not a fit", 0.5), ("No budget", 0.3), ("Duplicate", 0.2))
# P(a person gets an opportunity inside the window) = factor * propensity ** 2
# (Lead: conversion; Contact: a direct opportunity).
CONVERSION_FACTOR: dict[str, float] = {"Lead": 0.8, "Contact": 0.45}
# Buying journey: this share of a converter's activities falls in the BURST_DAYS before the
# conversion, with the activity and page mix of the highest propensity.
BURST_SHARE = 0.4
BURST_DAYS = 14

# Extra DuckDB settings (e.g. {"threads": 1, "memory_limit": "4GB"}); the output does not
# depend on them.
DUCKDB_CONFIG: dict[str, Any] = {}

ROLE_VP, ROLE_INTEGRATION = 0, 5  # User indexes; 1..4 are the team managers, reps from 6
FIRST_REP = 6


# --------------------------------------------------------------------------------------------
# SQL text helpers
# --------------------------------------------------------------------------------------------
def _lit(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _list(values: Iterable[Any]) -> str:
    return "[" + ", ".join(_lit(v) for v in values) + "]"


def _in(values: Iterable[Any]) -> str:
    return "(" + ", ".join(_lit(v) for v in values) + ")"


def _pick(u: str, items: Sequence[tuple[Any, float]], raw: bool = False) -> str:
    """A CASE choosing among ``(value, weight)`` with the uniform draw ``u``."""
    total = float(sum(w for _, w in items))
    acc = 0.0
    parts = []
    for value, weight in items[:-1]:
        acc += weight
        parts.append(f"WHEN {u} < {acc / total!r} THEN {value if raw else _lit(value)}")
    last = items[-1][0]
    return f"(CASE {' '.join(parts)} ELSE {last if raw else _lit(last)} END)"


def _tilted(u: str, p: str, items: Sequence[tuple[Any, float, float]], raw: bool = False) -> str:
    """A CASE choosing among ``(value, a, b)`` with weights ``a + b * p`` (p in [0, 1])."""
    total_a = float(sum(a for _, a, _ in items))
    total_b = float(sum(b for _, _, b in items))
    acc_a = acc_b = 0.0
    parts = []
    for value, a, b in items[:-1]:
        acc_a += a
        acc_b += b
        parts.append(
            f"WHEN {u} * ({total_a!r} + {total_b!r} * {p}) < ({acc_a!r} + {acc_b!r} * {p}) "
            f"THEN {value if raw else _lit(value)}"
        )
    last = items[-1][0]
    return f"(CASE {' '.join(parts)} ELSE {last if raw else _lit(last)} END)"


def _uniform(values: Sequence[Any], a: str, b: str, salt: str) -> str:
    return f"list_element({_list(values)}, 1 + rint({a}, {b}, '{salt}', {len(values)}))"


_DUCK_TYPES = crm_schema.DUCKDB_TYPES


# A keyed draw of its own, so adding it left every other generated value unchanged.
DO_NOT_CALL = f"rnd(pid, 0, 'p_dnc') < {RATES['do_not_call']}"


def _crm_select(obj: str, exprs: dict[str, str]) -> str:
    """The SELECT list of ``obj``: every schema field, in order, cast to its type.

    Score fields (``*__c`` written back by leadscore) are null; every other field must have
    an expression, so a field added to the schema cannot be forgotten silently.
    """
    score_fields = set(crm_schema.PERSON_SCORE_FIELDS) | set(crm_schema.ACCOUNT_SCORE_FIELDS)
    cols = []
    for name, ftype in crm_schema.OBJECTS[obj].items():
        if name in exprs:
            expr = exprs[name]
        elif name in score_fields:
            expr = "NULL"
        else:
            raise KeyError(f"generator has no expression for {obj}.{name}")
        cols.append(f'CAST({expr} AS {_DUCK_TYPES[ftype]}) AS "{name}"')
    unknown = set(exprs) - set(crm_schema.OBJECTS[obj])
    if unknown:
        raise KeyError(f"{obj}: fields not in crm_schema: {sorted(unknown)}")
    return ",\n  ".join(cols)


# --------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------
def utc_naive(value: datetime) -> datetime:
    """``value`` as naive UTC, whole seconds (an aware datetime is converted)."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.replace(microsecond=0)


def default_end() -> datetime:
    """The current UTC time floored to the hour (naive, UTC)."""
    return datetime.now(timezone.utc).replace(tzinfo=None, minute=0, second=0, microsecond=0)


def _iso_z(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


class _World:
    """Sizes and the SQL of one generation run."""

    def __init__(self, *, leads: int, days: int, seed: int, end: datetime, apl: float):
        if leads < 1:
            raise ValueError("leads must be >= 1")
        if days < 1:
            raise ValueError("days must be >= 1")
        if apl < 0:
            raise ValueError("activities_per_lead must be >= 0")
        self.seed = int(seed)
        self.L = int(leads)
        self.days = int(days)
        self.end_dt = end
        self.start_dt = end - timedelta(days=days)
        epoch = datetime(1970, 1, 1)
        self.END = int((end - epoch).total_seconds())
        self.START = self.END - self.days * DAY
        self.apl = float(apl)
        self.n_acc = max(1, round(self.L / 4))
        self.n_con = max(1, round(self.L / 3))
        self.n_crm = self.L + self.n_con
        self.n_unknown = max(1, round(self.n_crm * RATES["unknown_people"]))
        self.n_people = self.n_crm + self.n_unknown
        self.n_active = max(8, round(self.L / 250))
        self.n_inactive = max(2, round(self.n_active * 0.1))
        self.n_users = FIRST_REP + self.n_active + self.n_inactive
        self.target_activities = int(round(self.L * self.apl))
        self.n_chunks = max(1, math.ceil(self.days / CHUNK_DAYS))
        self.stamp = end.strftime("%Y%m%dT%H%M")

    def team_size(self, team: int) -> int:
        """Active reps in ``team`` (rep r joins TEAM_PATTERN[r % len(TEAM_PATTERN)])."""
        cycle = len(vocab.TEAM_PATTERN)
        full, rest = divmod(self.n_active, cycle)
        return full * vocab.TEAM_PATTERN.count(team) + vocab.TEAM_PATTERN[:rest].count(team)

    def team_rep_sql(self, team: int, rank: str) -> str:
        """SQL: the user index of the ``rank``-th (0-based) active rep of ``team``."""
        slots = [i for i, t in enumerate(vocab.TEAM_PATTERN) if t == team]
        return (
            f"({FIRST_REP} + (({rank}) // {len(slots)}) * {len(vocab.TEAM_PATTERN)} "
            f"+ list_element({_list(slots)}, 1 + ({rank}) % {len(slots)}))"
        )


# --------------------------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------------------------
def _macros(con: duckdb.DuckDBPyConnection, w: _World) -> None:
    s = w.seed
    # DuckDB's multi-argument hash combines the argument hashes weakly (draws with different
    # salts correlate); re-hashing the combination through the 64-bit finaliser fixes that.
    con.execute(
        f"CREATE MACRO h64(a, b, salt) AS hash(xor(hash({s}::BIGINT, a::BIGINT, b::BIGINT, "
        f"salt::VARCHAR), 11400714819323198485::UBIGINT))"
    )
    con.execute("CREATE MACRO rnd(a, b, salt) AS (h64(a, b, salt) >> 11)::DOUBLE / 9007199254740992.0")
    con.execute("CREATE MACRO rint(a, b, salt, n) AS (h64(a, b, salt) % (n)::UBIGINT)::BIGINT")
    con.execute(
        "CREATE MACRO rnorm(a, b, salt) AS sqrt(-2.0 * ln(1.0 - rnd(a, b, salt || '#1'))) "
        "* cos(2.0 * pi() * rnd(a, b, salt || '#2'))"
    )
    con.execute("CREATE MACRO ts(sec) AS make_timestamp((sec)::BIGINT * 1000000)")
    con.execute(
        f"CREATE MACRO sfid(prefix, n) AS prefix || lpad((n)::VARCHAR, {ID_DIGITS}, '0') || '{ID_SUFFIX}'"
    )
    con.execute("CREATE MACRO iso_z(sec) AS strftime(ts(sec), '%Y-%m-%dT%H:%M:%SZ')")


def _users(con, w: _World, email_domain: str = vocab.COMPANY_EMAIL_DOMAIN) -> None:
    pattern = _list(vocab.TEAM_PATTERN)
    tz_by_team = " ".join(
        f"WHEN {i} THEN {_uniform(tzs, 'uid', '0', 'u_tz')}" for i, tzs in enumerate(vocab.TEAM_TIMEZONES)
    )
    teams = _list(vocab.TEAMS)
    first_active, first_inactive = FIRST_REP, FIRST_REP + w.n_active
    con.execute(f"""
    CREATE TABLE users AS
    WITH b AS (
      SELECT i AS uid,
        CASE WHEN i = {ROLE_VP} THEN 'vp' WHEN i <= 4 THEN 'manager'
             WHEN i = {ROLE_INTEGRATION} THEN 'integration'
             WHEN i < {first_inactive} THEN 'rep' ELSE 'inactive' END AS role,
        CASE WHEN i BETWEEN 1 AND 4 THEN i - 1
             WHEN i >= {first_active} AND i < {first_inactive}
               THEN list_element({pattern}, 1 + (i - {first_active}) % {len(vocab.TEAM_PATTERN)})
             WHEN i >= {first_inactive}
               THEN list_element({pattern}, 1 + (i - {first_inactive}) % {len(vocab.TEAM_PATTERN)})
        END AS team,
        {_uniform(vocab.FIRST_NAMES, "i", "0", "u_first")} AS first_name,
        {_uniform(vocab.LAST_NAMES, "i", "0", "u_last")} AS last_name,
        {w.END} - {200 * DAY} - rint(i, 0, 'u_created', {1300 * DAY}) AS created
      FROM range({w.n_users}) t(i)
    ), n AS (
      SELECT *,
        CASE WHEN role = 'integration' THEN 'marketing-automation'
             ELSE lower(first_name || '.' || last_name) END AS local
      FROM b
    ), d AS (
      SELECT *, row_number() OVER (PARTITION BY local ORDER BY uid) AS rn FROM n
    )
    SELECT uid, role, team,
      sfid('005', uid + 1) AS Id,
      CASE WHEN role = 'integration' THEN 'Marketing Automation'
           ELSE first_name || ' ' || last_name END AS Name,
      local || CASE WHEN rn > 1 THEN rn::VARCHAR ELSE '' END
        || '@{email_domain}' AS Email,
      role <> 'inactive' AS IsActive,
      CASE WHEN role = 'vp' THEN 'Sales Leadership' WHEN role = 'integration' THEN 'Marketing'
           ELSE list_element({teams}, team + 1) END AS Department,
      CASE WHEN team IS NULL THEN 'America/New_York' ELSE (CASE team {tz_by_team} END) END
        AS TimeZoneSidKey,
      CASE WHEN role = 'manager' THEN sfid('005', {ROLE_VP} + 1)
           WHEN role IN ('rep', 'inactive') THEN sfid('005', team + 2) END AS ManagerId,
      created,
      created + rint(uid, 0, 'u_mod', {w.END} - created + 1) AS modified
    FROM d
    """)


def _accounts(con, w: _World) -> None:
    adj, noun, suf = vocab.COMPANY_ADJECTIVES, vocab.COMPANY_NOUNS, vocab.COMPANY_SUFFIXES
    combos = len(adj) * len(noun) * len(suf)
    mult = next(k for k in range(7919, combos * 2) if math.gcd(k, combos) == 1)
    offset = (w.seed * 2654435761) % combos
    industries = list(vocab.INDUSTRIES) + [(None, vocab.INDUSTRY_MISSING_WEIGHT)]
    countries = [(c, wt) for c, wt, _ in vocab.COUNTRIES] + [(None, vocab.COUNTRY_MISSING_WEIGHT)]
    team_of_country = " ".join(f"WHEN {_lit(c)} THEN {t}" for c, _, t in vocab.COUNTRIES)
    owner_by_team = " ".join(  # SDR (team 3) own no accounts
        "WHEN {} THEN {}".format(t, w.team_rep_sql(t, f"rint(aid, 0, 'a_owner', {w.team_size(t)})"))
        for t in range(3)
    )
    techs = ", ".join(
        f"CASE WHEN rnd(aid, {i}, 'a_tech') < {p!r} * sz THEN {_lit(name)} END"
        for i, (name, p) in enumerate(vocab.TECHNOLOGIES)
    )
    new_share = 0.15
    us_state = _pick("u_state", list(vocab.US_STATES) + [(None, 3)])
    ca_province = _pick("u_state", list(vocab.CA_PROVINCES) + [(None, 3)])
    con.execute(f"""
    CREATE TABLE acct AS
    WITH b AS (
      SELECT i AS aid,
        (i * {mult} + {offset}) % {combos} AS j,
        i // {combos} AS rep,
        {_pick("rnd(i, 0, 'a_ind')", industries)} AS industry,
        least(200000, greatest(1, round(exp(4.6 + 1.9 * rnorm(i, 0, 'a_emp')))))::BIGINT
          AS employees,
        rnorm(i, 0, 'a_rev') AS z_rev,
        {_pick("rnd(i, 0, 'a_cty')", countries)} AS country,
        rnd(i, 0, 'a_state') AS u_state,
        rnd(i, 0, 'a_web') AS u_web,
        {_pick("rnd(i, 0, 'a_tld')", vocab.TLDS)} AS tld,
        {_pick("rnd(i, 0, 'a_type')", vocab.ACCOUNT_TYPES)} AS acct_type,
        rnd(i, 0, 'a_new') AS u_new, rnd(i, 0, 'a_created') AS u_created,
        rnd(i, 0, 'a_mod') AS u_mod, rnd(i, 0, 'a_sm') AS u_sm,
        rnd(i, 0, 'a_del') < {RATES["deleted_other"]} AS deleted,
        rnd(i, 0, 'a_technull') < 0.10 AS tech_hidden,
        rnd(i, 0, 'a_revnull') < 0.10 AS rev_hidden
      FROM range({w.n_acc}) t(i)
    ), c AS (
      SELECT *,
        list_element({_list(adj)}, 1 + j % {len(adj)}) AS w1,
        list_element({_list(noun)}, 1 + (j // {len(adj)}) % {len(noun)}) AS w2,
        list_element({_list(suf)}, 1 + j // {len(adj) * len(noun)}) AS w3,
        least(1.5, 0.55 + ln(1 + employees) / 9.0) AS sz
      FROM b
    ), d AS (
      SELECT *,
        w1 || w2 || w3 || CASE WHEN rep > 0 THEN (rep + 1)::VARCHAR ELSE '' END AS dom_base,
        concat_ws(';', {techs}) AS tech_all,
        CASE WHEN u_new < {new_share}
             THEN {w.START} + floor(u_created * ({w.END - w.START} - 3600))::BIGINT
             ELSE {w.START} - {DAY} - floor(u_created * {3 * 365 * DAY})::BIGINT END AS created,
        CASE WHEN country = 'United States' THEN {us_state}
             WHEN country = 'Canada' THEN {ca_province}
        END AS state,
        coalesce(CASE country {team_of_country} END, 0) AS team
      FROM c
    )
    SELECT aid,
      sfid('001', aid + 1) AS Id,
      w1 || ' ' || w2 || ' ' || w3 || CASE WHEN rep > 0 THEN ' ' || (rep + 1) ELSE '' END AS name,
      lower(dom_base) || tld AS domain,
      CASE WHEN u_web < 0.55 THEN 'https://www.' || lower(dom_base) || tld
           WHEN u_web < 0.70 THEN 'http://' || lower(dom_base) || tld
           WHEN u_web < 0.82 THEN lower(dom_base) || tld
           WHEN u_web < 0.88 THEN 'www.' || lower(dom_base) || tld
           WHEN u_web < 0.95 THEN 'https://www.' || dom_base || tld
      END AS website,
      industry, employees,
      CASE WHEN rev_hidden THEN NULL
           ELSE round(employees * exp(ln(150000) + 0.5 * z_rev), -3) END AS revenue,
      country, state, acct_type,
      nullif(tech_all, '') AS tech_all,
      CASE WHEN tech_hidden THEN NULL ELSE nullif(tech_all, '') END AS technologies,
      coalesce(contains(';' || tech_all || ';', ';Salesforce;'), FALSE) AS has_salesforce,
      coalesce(contains(';' || tech_all || ';', ';Snowflake;'), FALSE) AS has_snowflake,
      CASE team {owner_by_team} END AS owner_uid,
      deleted, created,
      created + floor(u_mod * ({w.END} - created))::BIGINT AS modified,
      u_sm
    FROM d
    """)


def _titles(con) -> None:
    rows = []
    for tid, (title, _wt, seniority, function) in enumerate(vocab.TITLES):
        senior = seniority in vocab.SENIOR_LEVELS
        target = function in vocab.TARGET_FUNCTIONS
        if seniority == "Other":
            fit = -2.0
        elif senior and target:
            fit = 1.3
        elif seniority == "C-Level" and function == "Executive":
            fit = 0.9
        elif senior:
            fit = 0.3
        elif seniority == "Manager":
            fit = 0.7 if target else 0.0
        else:
            fit = 0.3 if target else -0.2
        rows.append(
            f"({tid}, {_lit(title)}, {_lit(seniority)}, {_lit(function)}, {fit!r}, "
            f"{_lit(seniority == 'Other')})"
        )
    con.execute(
        "CREATE TABLE titles AS SELECT * FROM (VALUES " + ", ".join(rows) + ") "
        "t(tid, title, seniority, func, title_fit, is_student)"
    )


# --------------------------------------------------------------------------------------------
# People: one row per person (Leads, Contacts, Marketo-only unknown people), built in four
# steps: identities, duplicates, timelines, then activity counts and owners
# --------------------------------------------------------------------------------------------
def _email_kind_sql() -> str:
    """SQL (on ``kind``, ``u_mail``): the address a person uses: company, personal,
    competitor, or for the unknown people a made-up company (unknown)."""
    r = RATES
    return f"""CASE WHEN kind = 0 AND u_mail < {r["lead_personal_email"]} THEN 'personal'
             WHEN kind = 0 AND u_mail < {r["lead_personal_email"] + r["lead_competitor_email"]}
               THEN 'competitor'
             WHEN kind = 1 AND u_mail < {r["contact_personal_email"]} THEN 'personal'
             WHEN kind = 2 AND u_mail < 0.5 THEN 'personal'
             WHEN kind = 2 THEN 'unknown'
             ELSE 'company' END"""


# SQL (on email_kind, lf and ll, the lower-cased names, u_case, u_fmt): the address's local part.
_EMAIL_LOCAL_SQL = """CASE WHEN email_kind = 'personal' THEN
               CASE WHEN u_fmt < 0.5
                      THEN lf || '.' || ll || (10 + rint(pid, 0, 'p_num', 90))::VARCHAR
                    ELSE lf || ll || (1960 + rint(pid, 0, 'p_num', 45))::VARCHAR END
             WHEN email_kind = 'unknown' THEN lf || '.' || ll
             WHEN u_case < 0.03 THEN first_name || '.' || last_name
             WHEN u_fmt < 0.55 THEN lf || '.' || ll
             WHEN u_fmt < 0.75 THEN lf[1] || ll
             WHEN u_fmt < 0.85 THEN lf || '_' || ll
             WHEN u_fmt < 0.92 THEN lf
             ELSE lf || ll[1] END"""


def _email_domain_sql() -> str:
    """SQL (on email_kind, the account ``a``): the address's domain."""
    personal = _pick(
        "rnd(pid, 0, 'p_pdom')",
        list(zip(vocab.PERSONAL_EMAIL_DOMAINS, vocab.PERSONAL_EMAIL_WEIGHTS, strict=True)),
    )
    return f"""CASE email_kind
          WHEN 'company' THEN a.domain
          WHEN 'personal' THEN {personal}
          WHEN 'competitor' THEN {_uniform(vocab.COMPETITOR_DOMAINS, "pid", "0", "p_comp")}
          ELSE lower({_uniform(vocab.COMPANY_NOUNS, "pid", "0", "p_unk")}) || '-' || pid || '.com'
        END"""


def _identities(con, w: _World) -> None:
    """Table ``ident``: kind (0 Lead, 1 Contact, 2 unknown), account, name, title and a unique
    e-mail address of every person."""
    L, PC = w.L, w.n_crm
    title_items = [(str(i), wt) for i, (_, wt, _, _) in enumerate(vocab.TITLES)]
    title_items.append(("NULL", vocab.TITLE_MISSING_WEIGHT))
    con.execute(f"""
    CREATE TABLE ident AS
    WITH b AS (
      SELECT i AS pid,
        CASE WHEN i < {L} THEN 0 WHEN i < {PC} THEN 1 ELSE 2 END AS kind,
        rint(i, 0, 'p_acct', {w.n_acc}) AS aid,
        {_uniform(vocab.FIRST_NAMES, "i", "0", "p_first")} AS first_name,
        {_uniform(vocab.LAST_NAMES, "i", "0", "p_last")} AS last_name,
        {_pick("rnd(i, 0, 'p_title')", title_items, raw=True)} AS tid,
        rnd(i, 0, 'p_mail') AS u_mail, rnd(i, 0, 'p_fmt') AS u_fmt,
        rnd(i, 0, 'p_case') AS u_case
      FROM range({w.n_people}) t(i)
    ), e AS (
      SELECT b.*,
        {_email_kind_sql()} AS email_kind,
        lower(first_name) AS lf, lower(last_name) AS ll
      FROM b
    ), f AS (
      SELECT e.*,
        {_EMAIL_LOCAL_SQL} AS local,
        {_email_domain_sql()} AS domain
      FROM e JOIN acct a USING (aid)
    ), g AS (
      SELECT *, row_number() OVER (PARTITION BY lower(local || '@' || domain) ORDER BY pid) AS rn
      FROM f
    )
    SELECT pid, kind, aid, first_name, last_name, tid, email_kind,
      local || CASE WHEN rn > 1 THEN '.' || rn ELSE '' END || '@' || domain AS email
    FROM g
    """)


# SQL (on dup_kind, the person v and the duplicated one t): a duplicate's e-mail, the
# original's with its case or spacing changed.
_DUPLICATE_EMAIL_SQL = """CASE WHEN v.dup_kind = 'contact' THEN
             CASE WHEN rnd(v.pid, 0, 'p_var') < 0.25 THEN upper(t.email[1]) || t.email[2:]
                  ELSE t.email END
           WHEN v.dup_kind = 'lead' THEN
             CASE WHEN rnd(v.pid, 0, 'p_var') < 0.35 THEN upper(t.email)
                  WHEN rnd(v.pid, 0, 'p_var') < 0.55 THEN ' ' || t.email
                  WHEN rnd(v.pid, 0, 'p_var') < 0.75 THEN t.email || ' '
                  WHEN t.email[1] = upper(t.email[1]) THEN lower(t.email)
                  ELSE upper(t.email[1]) || t.email[2:] END
           ELSE v.email END"""


def _duplicates(con, w: _World) -> None:
    """Table ``ident2``: ``ident`` where some Leads are the same person as a Contact or another
    Lead (dup_kind, dup_of): the same account, name and title, the e-mail varied."""
    L, NC = w.L, w.n_con
    dup_c = RATES["dup_lead_of_contact"]
    dup_any = dup_c + RATES["dup_lead_of_lead"]
    con.execute(f"""
    CREATE TABLE ident2 AS
    WITH d AS (
      SELECT *,
        CASE WHEN kind = 0 AND rnd(pid, 0, 'p_dup') < {dup_c} THEN 'contact'
             WHEN kind = 0 AND rnd(pid, 0, 'p_dup') < {dup_any} THEN 'lead' END AS dk,
        CASE WHEN kind = 0 AND rnd(pid, 0, 'p_dup') < {dup_c}
               THEN {L} + rint(pid, 0, 'p_dupt', {NC})
             WHEN kind = 0 AND rnd(pid, 0, 'p_dup') < {dup_any}
               THEN rint(pid, 0, 'p_dupt', {L}) END AS tgt
      FROM ident
    ), v AS (
      SELECT *,
        CASE WHEN dk = 'lead' AND (tgt = pid OR rnd(tgt, 0, 'p_dup') < {dup_any}) THEN NULL
             ELSE dk END AS dup_kind
      FROM d
    )
    SELECT v.pid, v.kind, v.dup_kind,
      CASE WHEN v.dup_kind IS NULL THEN NULL ELSE v.tgt END AS dup_of,
      coalesce(CASE WHEN v.dup_kind IS NOT NULL THEN t.aid END, v.aid) AS aid,
      CASE WHEN v.dup_kind IS NOT NULL THEN t.first_name ELSE v.first_name END AS first_name,
      CASE WHEN v.dup_kind IS NOT NULL THEN t.last_name ELSE v.last_name END AS last_name,
      CASE WHEN v.dup_kind IS NOT NULL THEN t.tid ELSE v.tid END AS tid,
      CASE WHEN v.dup_kind IS NOT NULL THEN t.email_kind ELSE v.email_kind END AS email_kind,
      {_DUPLICATE_EMAIL_SQL} AS email
    FROM v LEFT JOIN ident t ON t.pid = v.tgt
    """)


def _fit_sql() -> str:
    """SQL (on the person i, account a, title t): the hidden fit, from ICP industry, size and
    country, title, Salesforce and Snowflake in the stack, and the kind of e-mail address."""
    icp_ind, icp_cty = _in(vocab.ICP_INDUSTRIES), _in(vocab.ICP_COUNTRIES)
    unserviced = _in(vocab.UNSERVICED_COUNTRIES)
    return f"""CASE WHEN i.email_kind = 'competitor' THEN 0.0
             WHEN a.industry IN {icp_ind} THEN 1.0
             WHEN a.industry IN ('Consulting', 'Insurance', 'Media') THEN 0.3 ELSE 0.0 END
        + CASE WHEN a.employees BETWEEN 200 AND 5000 THEN 1.0
               WHEN a.employees BETWEEN 50 AND 20000 THEN 0.4
               WHEN a.employees < 10 THEN -0.5 ELSE 0.0 END
        + CASE WHEN a.country IN {icp_cty} THEN 0.6
               WHEN a.country IN {unserviced} THEN -3.0 ELSE 0.0 END
        + coalesce(t.title_fit, -0.1)
        + CASE WHEN a.has_salesforce THEN 0.5 ELSE 0.0 END
        + CASE WHEN a.has_snowflake THEN 0.5 ELSE 0.0 END
        + CASE i.email_kind WHEN 'personal' THEN -0.8 WHEN 'competitor' THEN -6.0
               WHEN 'unknown' THEN -1.0 ELSE 0.0 END"""


def _timelines(con, w: _World) -> None:
    """Table ``pers``: ``ident2`` with fit, latent propensity, behaviour flags (careers-only,
    inactive, converts, unsubscribes, bounces), the person's timeline (created, active
    window, conversion and its trigger, stop) and activity volume weight."""
    r = RATES
    new_share = "CASE kind WHEN 1 THEN 0.15 ELSE 0.5 END"
    old_span = f"CASE kind WHEN 1 THEN {1000 * DAY} ELSE {540 * DAY} END"
    inactive_cut = w.END - 91 * DAY
    con.execute(f"""
    CREATE TABLE pers AS
    WITH b AS (
      SELECT i.*, a.industry, a.employees, a.country, a.has_salesforce, a.has_snowflake,
        a.owner_uid AS acct_owner_uid, t.is_student,
        {_fit_sql()} AS fit,
        rnorm(i.pid, 0, 'p_beh') AS z_beh,
        rnorm(i.pid, 0, 'p_vol') AS z_vol,
        rnd(i.pid, 0, 'p_careers') AS u_careers
      FROM ident2 i JOIN acct a USING (aid) LEFT JOIN titles t USING (tid)
    ), c AS (
      SELECT *,
        0.9 * (fit - 2.2) + z_beh - 1.2 AS latent,
        (u_careers < {r["careers_only"]} OR (coalesce(is_student, FALSE) AND u_careers < 0.5))
          AS careers,
        rnd(pid, 0, 'p_inactive') < {r["inactive"]} AS inactive0
      FROM b
    ), d AS (
      SELECT *,
        1.0 / (1.0 + exp(-latent)) AS propensity,
        inactive0 AND NOT careers AS inactive
      FROM c
    ), e AS (
      SELECT *,
        CASE WHEN inactive
               THEN {min(w.START, w.END - 92 * DAY) - DAY}
                    - floor(rnd(pid, 0, 'p_created') * {365 * DAY})::BIGINT
             WHEN rnd(pid, 0, 'p_new') < {new_share}
               THEN {w.START} + floor(rnd(pid, 0, 'p_created') * ({w.END - w.START} - 3600))::BIGINT
             ELSE {w.START} - {DAY} - floor(rnd(pid, 0, 'p_created') * {old_span})::BIGINT
        END AS created
      FROM d
    ), f AS (
      SELECT *,
        greatest(created, {w.START}) AS t_lo,
        CASE WHEN inactive THEN {inactive_cut} ELSE {w.END} END AS t_hi
      FROM e
    ), g AS (
      SELECT *, t_hi - t_lo AS span,
        kind < 2 AND email_kind <> 'competitor' AND NOT careers AND NOT inactive
          AND t_hi - t_lo > {3 * DAY}
          AND rnd(pid, 0, 'p_conv') < CASE kind WHEN 0 THEN {CONVERSION_FACTOR["Lead"]}
                                          ELSE {CONVERSION_FACTOR["Contact"]} END
                                     * propensity * propensity AS conv,
        NOT careers AND t_hi - t_lo > {DAY}
          AND rnd(pid, 0, 'p_unsub') < {r["unsubscribed"]} AS unsub,
        NOT careers AND t_hi - t_lo > {DAY}
          AND rnd(pid, 0, 'p_hard') < {r["hard_bounced"]} AS hard,
        NOT careers AND t_hi - t_lo > {DAY}
          AND rnd(pid, 0, 'p_soft') < {r["soft_bounced"]} AS soft
      FROM f
    ), h AS (
      SELECT *,
        CASE WHEN conv THEN t_lo + {2 * DAY}
             + floor(rnd(pid, 0, 'p_tconv') * (span - {2 * DAY} - 3600))::BIGINT END AS t_conv,
        CASE WHEN unsub THEN t_lo + floor(rnd(pid, 0, 'p_tunsub') * span)::BIGINT END AS t_unsub,
        CASE WHEN hard THEN t_lo + floor(rnd(pid, 0, 'p_thard') * span)::BIGINT END AS t_hard,
        CASE WHEN rnd(pid, 0, 'p_trigtype') < 0.7 THEN 100004 ELSE 100005 END AS trig_type
      FROM g
    )
    SELECT *,
      CASE WHEN conv THEN t_conv - 600
        - floor(rnd(pid, 0, 'p_ttrig') * least({2 * DAY}, t_conv - t_lo - 600))::BIGINT
      END AS t_trig,
      CASE WHEN unsub OR hard
           THEN least(coalesce(t_unsub, t_hard), coalesce(t_hard, t_unsub)) END AS t_stop,
      CASE WHEN span <= 3600 THEN 0.0
           WHEN careers THEN 0.4 * exp(0.7 * z_vol)
           ELSE exp(0.45 * latent + 0.8 * z_vol) END
        * CASE WHEN kind = 2 THEN 0.3 ELSE 1.0 END AS w_vol
    FROM h
    """)


def _owner_sql(w: _World) -> str:
    """SQL (on the person, its account's owner): the owner's user index. Contacts mostly have
    their account's owner, converted Leads an active rep; other Leads may sit with the
    marketing integration user or an inactive rep; unknown people have none."""
    active_rep = f"{FIRST_REP} + rint(pid, 0, 'p_rep', {w.n_active})"
    inactive_rep = f"{FIRST_REP + w.n_active} + rint(pid, 0, 'p_irep', {w.n_inactive})"
    own_integration = RATES["lead_owned_by_integration_user"]
    own_inactive = own_integration + RATES["lead_owned_by_inactive_rep"]
    return f"""CASE WHEN kind = 2 THEN NULL
             WHEN kind = 1 THEN CASE WHEN rnd(pid, 0, 'p_own') < 0.92 THEN acct_owner_uid
                                     ELSE {active_rep} END
             WHEN conv THEN {active_rep}
             WHEN rnd(pid, 0, 'p_own') < {own_integration} THEN {ROLE_INTEGRATION}
             WHEN rnd(pid, 0, 'p_own') < {own_inactive} THEN {inactive_rep}
             ELSE {active_rep} END"""


def _counts_and_owners(con, w: _World) -> None:
    """Table ``p``: ``pers`` with the number of activities (integer sums: deterministic) and
    tasks, owner, lead source, deletion, response time, and the CRM and Marketo ids."""
    L, NC = w.L, w.n_con
    r = RATES
    sources = list(vocab.LEAD_SOURCES)
    cap = max(50, int(60 * max(w.apl, 1.0)))
    running = "OVER (ORDER BY pid ROWS UNBOUNDED PRECEDING)"
    inactive_cut = w.END - 91 * DAY
    con.execute(f"""
    CREATE TABLE p AS
    WITH s AS (
      SELECT *,
        round(w_vol * 1000000)::BIGINT AS w_int,
        (CASE WHEN conv THEN 2 ELSE 0 END + CASE WHEN unsub THEN 1 ELSE 0 END
         + CASE WHEN hard THEN 1 ELSE 0 END + CASE WHEN soft THEN 2 ELSE 0 END) AS n_special,
        CASE WHEN conv THEN t_trig
          - floor(rnd(pid, 0, 'p_tprice') * least({3 * DAY}, t_trig - t_lo))::BIGINT END AS t_price
      FROM pers
    ), tot AS (
      SELECT greatest(sum(w_int), 1) AS w_sum,
             greatest(0, {w.target_activities} - sum(n_special)) AS t_reg
      FROM s
    ), n AS (
      SELECT s.*,
        least({cap}, floor(w_int::DOUBLE * tot.t_reg / tot.w_sum + rnd(pid, 0, 'p_nround')))::BIGINT
          AS n_base,
        {_owner_sql(w)} AS owner_uid,
        CASE WHEN kind = 1 AND rnd(pid, 0, 'p_src') < 0.3 THEN NULL
             ELSE {_pick("rnd(pid, 0, 'p_srcv')", sources)} END AS lead_source,
        kind < 2 AND rnd(pid, 0, 'p_del') < {r["deleted_person"]} AS deleted,
        rnd(pid, 0, 'p_mkonly') < {r["marketo_email_only"]} AS mk_email_only,
        sum(CASE WHEN conv THEN 1 ELSE 0 END) {running} AS opp_no,
        sum(CASE WHEN conv AND kind = 0 THEN 1 ELSE 0 END) {running} AS conv_contact_no
      FROM s, tot
    ), n2 AS (
      SELECT *,
        kind = 0 AND NOT conv AND owner_uid >= {FIRST_REP}
          AND rnd(pid, 0, 'p_unreach') < {r["unreachable"]} AS unreach
      FROM n
    ), t AS (
      SELECT *,
        n_base + n_special AS n_act,
        CASE WHEN unreach
               THEN {UNREACHABLE_ATTEMPTS[0]}
                    + rint(pid, 0, 'p_nattempt', {UNREACHABLE_ATTEMPTS[1] - UNREACHABLE_ATTEMPTS[0] + 1})
             WHEN kind < 2 AND owner_uid >= {FIRST_REP}
             THEN floor(rnd(pid, 0, 'p_ntask') * (1.2 + 4.0 * propensity))::BIGINT
                  + CASE WHEN conv THEN 2 ELSE 0 END
             ELSE 0 END AS n_tasks,
        CASE WHEN conv THEN t_trig ELSE created END AS task_anchor,
        least({10 * DAY},
              greatest(60, floor(exp(ln(7200) + 2.3 * rnorm(pid, 0, 'p_resp')))))::BIGINT AS resp0,
        CASE WHEN inactive THEN {inactive_cut} ELSE {w.END} - 60 END AS task_hi
      FROM n2
    )
    SELECT * REPLACE (
        -- an unreachable person goes quiet UNREACHABLE_QUIET_DAYS before the end
        CASE WHEN unreach
             THEN greatest(t_lo + 3600, least(t_hi, {w.END}
                  - {UNREACHABLE_QUIET_DAYS[0] * DAY}
                  - rint(pid, 0, 'p_quiet', {(UNREACHABLE_QUIET_DAYS[1] - UNREACHABLE_QUIET_DAYS[0]) * DAY})))
             ELSE t_hi END AS t_hi),
      CASE WHEN conv THEN least(resp0, (t_conv - t_trig) // 2) ELSE resp0 END AS resp,
      CASE kind WHEN 0 THEN sfid('00Q', pid + 1)
                WHEN 1 THEN sfid('003', pid - {L} + 1) END AS crm_id,
      CASE WHEN conv AND kind = 0 THEN sfid('003', {NC} + conv_contact_no)
           WHEN kind = 1 THEN sfid('003', pid - {L} + 1) END AS contact_id,
      CASE WHEN conv THEN sfid('006', opp_no) END AS opp_id,
      {MARKETO_ID_OFFSET} + pid AS mkto_id
    FROM t
    """)


def _people(con, w: _World) -> None:
    """Table ``p``, one row per person: Leads (pid < L), Contacts, then Marketo-only unknown
    people."""
    _identities(con, w)
    _duplicates(con, w)
    _timelines(con, w)
    _counts_and_owners(con, w)
    con.execute("DROP TABLE ident; DROP TABLE ident2; DROP TABLE pers")


def _activities(con, w: _World) -> None:
    mix = [(str(t), a, b) for t, a, b in vocab.ACTIVITY_MIX]
    slug_lists = {
        "/blog/": vocab.BLOG_SLUGS,
        "/docs/": vocab.DOCS_SLUGS,
        "/customers/": vocab.CUSTOMER_SLUGS,
        "/careers/": vocab.CAREER_JOBS,
    }
    pages = []
    for path, a, b in vocab.PAGE_MIX:
        if path in slug_lists:
            expr = f"{_lit(path)} || {_uniform(slug_lists[path], 'pid', 'k', 'x_slug')}"
        else:
            expr = _lit(path)
        pages.append((expr, a, b))
    page_expr = _tilted("rnd(pid, k, 'x_page')", "p_eff", pages, raw=True)
    careers_page = (
        f"CASE WHEN rnd(pid, k, 'x_page') < 0.5 THEN '/careers' "
        f"ELSE '/careers/' || {_uniform(vocab.CAREER_JOBS, 'pid', 'k', 'x_slug')} END"
    )
    jsonl_types = _in(vocab.JSONL_EVENT_TYPES)
    jsonl_share = RATES["jsonl_share_of_eligible"]
    type_regular = _tilted("rnd(pid, k, 'x_type')", "propensity", mix, raw=True)
    type_burst = _tilted("rnd(pid, k, 'x_type')", "1.0", mix, raw=True)
    con.execute(f"""
    CREATE TABLE act AS
    WITH e AS (
      SELECT pid, kind, propensity, careers, conv, unsub, hard, soft, t_lo, t_hi, t_stop,
        t_conv, t_trig, t_price, t_unsub, t_hard, trig_type, n_base,
        unnest(range(n_act)) AS k
      FROM p WHERE n_act > 0
    ), s AS (
      SELECT *,
        k - n_base AS sk,
        CASE WHEN conv THEN 2 ELSE 0 END AS c2,
        CASE WHEN unsub THEN 1 ELSE 0 END AS u1,
        CASE WHEN hard THEN 1 ELSE 0 END AS h1
      FROM e
    ), slot AS (
      SELECT *,
        CASE WHEN sk < 0 AND conv AND rnd(pid, k, 'x_burst') < {BURST_SHARE} THEN 'burst'
             WHEN sk < 0 THEN 'regular'
             WHEN sk < c2 THEN CASE WHEN sk = 0 THEN 'trigger' ELSE 'pricing' END
             WHEN sk < c2 + u1 THEN 'unsub'
             WHEN sk < c2 + u1 + h1 THEN 'hard'
             ELSE 'soft' END AS slot
      FROM s
    ), t AS (
      SELECT *,
        CASE WHEN slot = 'burst' THEN 1.0 ELSE propensity END AS p_eff,
        CASE slot
          WHEN 'regular' THEN CASE WHEN careers THEN 1 ELSE {type_regular} END
          WHEN 'burst' THEN {type_burst}
          WHEN 'trigger' THEN trig_type
          WHEN 'pricing' THEN 1
          WHEN 'unsub' THEN 9
          WHEN 'hard' THEN 8
          ELSE 27 END AS type_id
      FROM slot
    ), u AS (
      SELECT *,
        CASE slot
          WHEN 'regular' THEN t_lo + floor(
                 pow(rnd(pid, k, 'x_time'), 1.0 / (1.0 + 2.5 * propensity))
                 * (CASE WHEN type_id IN (6, 10, 11) AND t_stop IS NOT NULL
                         THEN least(t_hi, t_stop) ELSE t_hi END - t_lo))::BIGINT
          WHEN 'burst' THEN t_conv
            - floor(rnd(pid, k, 'x_time') * least({BURST_DAYS * DAY}, t_conv - t_lo))::BIGINT
          WHEN 'trigger' THEN t_trig
          WHEN 'pricing' THEN t_price
          WHEN 'unsub' THEN t_unsub
          WHEN 'hard' THEN t_hard
          ELSE t_lo + floor(rnd(pid, k, 'x_time') * (t_hi - t_lo))::BIGINT END AS ts,
        CASE WHEN slot = 'pricing' THEN '/pricing'
             WHEN type_id <> 1 THEN NULL
             WHEN careers THEN {careers_page}
             ELSE {page_expr} END AS path
      FROM t
    ), v AS (
      SELECT pid::INTEGER AS pid, k::INTEGER AS k, type_id::INTEGER AS type_id, ts, path,
        type_id IN {jsonl_types} AND rnd(pid, k, 'x_chan') < {jsonl_share} AS jsonl,
        least({w.n_chunks - 1}, (ts - {w.START}) // {CHUNK_DAYS * DAY})::INTEGER AS chunk
      FROM u
    )
    SELECT *, row_number() OVER (PARTITION BY jsonl ORDER BY ts, pid, k) AS seq
    FROM v ORDER BY ts, pid, k
    """)


# --------------------------------------------------------------------------------------------
# CRM objects: User, Account, Lead, Contact, Opportunity, Task, and the truth per CRM person
# --------------------------------------------------------------------------------------------
def _user_id(uid: str) -> str:
    """SQL: the User Id of the user index ``uid``."""
    return f"sfid('005', {uid} + 1)"


def _system_modstamp(w: _World, key: str) -> str:
    """SQL (on modified, u_sm): SystemModstamp, a quarter of the records touched by the system
    up to an hour after their LastModifiedDate (never after the end)."""
    return (
        f"ts(least({w.END}, modified + CASE WHEN u_sm < 0.25 THEN 1 + rint({key}, 0, 'sysmod', 3600) "
        "ELSE 0 END))"
    )


# SQL (on crm_country, state): the state of a US or Canadian address.
_STATE_SQL = "CASE WHEN crm_country IN ('United States', 'USA', 'US', 'Canada') THEN state END"
_BOUNCE_REASON_SQL = f"CASE WHEN hard THEN {_lit(vocab.HARD_BOUNCE_DETAILS)} END"


def _crm_users(con) -> None:
    con.execute(
        f"""CREATE TABLE crm_User AS SELECT {
            _crm_select(
                "User",
                {
                    "Id": "Id",
                    "Name": "Name",
                    "Email": "Email",
                    "IsActive": "IsActive",
                    "Department": "Department",
                    "TimeZoneSidKey": "TimeZoneSidKey",
                    "ManagerId": "ManagerId",
                    "CreatedDate": "ts(created)",
                    "LastModifiedDate": "ts(modified)",
                    "SystemModstamp": "ts(modified)",
                },
            )
        } FROM users ORDER BY Id"""
    )


def _crm_accounts(con, w: _World) -> None:
    con.execute(
        f"""CREATE TABLE crm_Account AS SELECT {
            _crm_select(
                "Account",
                {
                    "Id": "Id",
                    "Name": "name",
                    "Website": "website",
                    "Industry": "industry",
                    "NumberOfEmployees": "employees",
                    "AnnualRevenue": "revenue",
                    "BillingCountry": "country",
                    "BillingState": "state",
                    "Type": "acct_type",
                    "Technologies__c": "technologies",
                    "OwnerId": _user_id("owner_uid"),
                    "IsDeleted": "deleted",
                    "CreatedDate": "ts(created)",
                    "LastModifiedDate": "ts(modified)",
                    "SystemModstamp": _system_modstamp(w, "aid"),
                },
            )
        } FROM acct ORDER BY Id"""
    )


# SQL (on country): the country as entered, now and then 'USA', 'US' or 'UK'.
_COUNTRY_VARIANT_SQL = (
    "CASE WHEN country = 'United States' AND rnd(pid, 0, 'c_var') < 0.03 THEN "
    "(CASE WHEN rnd(pid, 0, 'c_var2') < 0.5 THEN 'USA' ELSE 'US' END) "
    "WHEN country = 'United Kingdom' AND rnd(pid, 0, 'c_var') < 0.05 THEN 'UK' "
    "ELSE country END"
)


def _person_view(con, w: _World) -> None:
    """Table ``person_view``: the CRM people with the attributes the CRM shows (some missing,
    competitors' made up) and their record times. An unreachable Lead's Tasks start after the
    person's last activity (``task_anchor``): the rep's attempts get no answer."""
    comp_name = (
        "list_element("
        + _list(vocab.COMPETITOR_NAMES)
        + ", list_position("
        + _list(vocab.COMPETITOR_DOMAINS)
        + ", split_part(email, '@', 2)))"
    )
    con.execute(f"""
    CREATE TABLE person_view AS
    WITH last_act AS (
      SELECT pid, max(ts) AS last_act_ts FROM act GROUP BY pid
    ), b AS (
      SELECT p.* REPLACE (
          CASE WHEN p.unreach THEN greatest(p.task_anchor, coalesce(l.last_act_ts, p.task_anchor))
               ELSE p.task_anchor END AS task_anchor),
        a.Id AS account_id, a.name AS company_name, a.website AS acct_website,
        a.state, a.revenue, a.tech_all, t.title,
        rnd(pid, 0, 'c_mod') AS u_mod, rnd(pid, 0, 'c_mod2') AS u_mod2,
        rnd(pid, 0, 'c_sm') AS u_sm
      FROM p JOIN acct a USING (aid) LEFT JOIN titles t USING (tid)
        LEFT JOIN last_act l USING (pid)
      WHERE kind < 2
    )
    SELECT *,
      CASE WHEN email_kind = 'competitor' THEN {comp_name}
           WHEN email_kind = 'personal' AND rnd(pid, 0, 'c_comp') < 0.4 THEN '[not provided]'
           ELSE company_name END AS crm_company,
      CASE WHEN email_kind = 'competitor' THEN 'Software'
           WHEN rnd(pid, 0, 'c_ind') < CASE WHEN email_kind = 'personal' THEN 0.5 ELSE 0.06 END
             THEN NULL ELSE industry END AS crm_industry,
      CASE WHEN email_kind = 'competitor' THEN 250
           WHEN rnd(pid, 0, 'c_emp') < CASE WHEN email_kind = 'personal' THEN 0.5 ELSE 0.10 END
             THEN NULL ELSE employees END AS crm_employees,
      CASE WHEN email_kind = 'competitor' OR rnd(pid, 0, 'c_rev') < 0.2 THEN NULL
           ELSE revenue END AS crm_revenue,
      CASE WHEN email_kind = 'competitor' THEN 'United States'
           WHEN rnd(pid, 0, 'c_cty') < 0.05 THEN NULL ELSE {_COUNTRY_VARIANT_SQL} END AS crm_country,
      CASE WHEN email_kind = 'competitor' OR rnd(pid, 0, 'c_web') < 0.5 THEN NULL
           ELSE acct_website END AS crm_website,
      CASE WHEN email_kind = 'competitor' OR rnd(pid, 0, 'c_tech') < 0.4 THEN NULL
           ELSE tech_all END AS crm_tech,
      least({w.END}, greatest(
        CASE WHEN conv AND kind = 0 THEN t_conv
             WHEN u_mod2 < 0.3 THEN created
             ELSE created + floor(u_mod * ({w.END} - created))::BIGINT END,
        coalesce(t_unsub, 0), coalesce(t_hard, 0))) AS modified
    FROM b
    """)


def lead_status_sql(not_converted: str, could_not_contact: str = "FALSE") -> str:
    """SQL (on a Lead of person_view): its Status, closed as not converted where the SQL
    condition ``not_converted`` holds; where ``could_not_contact`` holds (reps tried and never
    reached the person) 'Could Not Contact', or for a share 'Closed - Not Converted' (its
    reason says Unable to contact: :func:`lead_reason_sql`)."""
    closed_share = RATES["unreachable_closed_not_converted"]
    return (
        "CASE WHEN conv THEN 'Closed - Converted' "
        f"WHEN {could_not_contact} THEN (CASE WHEN rnd(pid, 0, 'c_cnc') < {closed_share} "
        "THEN 'Closed - Not Converted' ELSE 'Could Not Contact' END) "
        f"WHEN {not_converted} THEN 'Closed - Not Converted' "
        "WHEN n_tasks > 0 AND task_anchor + resp <= task_hi THEN 'Working - Contacted' "
        "ELSE 'Open - Not Contacted' END"
    )


def lead_reason_sql(status_sql: str, could_not_contact: str, other_reason: str) -> str:
    """SQL: Disqualification_Reason__c of a Lead whose Status is ``status_sql``: a Lead closed
    without converting carries a reason, 'Unable to contact' where ``could_not_contact``
    holds, else ``other_reason``; other Leads none."""
    return (
        f"CASE WHEN ({status_sql}) = 'Closed - Not Converted' THEN "
        f"(CASE WHEN {could_not_contact} THEN 'Unable to contact' ELSE {other_reason} END) END"
    )


# SQL (on a Lead of person_view): reps made at least 3 of an unreachable Lead's attempts by the
# end (the third is due 2 to 3 days after the first).
_COULD_NOT_CONTACT_SQL = f"(unreach AND task_anchor + resp + {3 * DAY} <= task_hi)"
_LEAD_STATUS_SQL = lead_status_sql(
    "rnd(pid, 0, 'c_status') < 0.07 + CASE WHEN coalesce(is_student, FALSE) "
    "OR email_kind = 'competitor' THEN 0.4 ELSE 0 END",
    _COULD_NOT_CONTACT_SQL,
)
_CLOSE_REASON_SQL = _pick("rnd(pid, 0, 'c_reason')", CLOSE_REASONS)
_LEAD_REASON_SQL = lead_reason_sql(
    _LEAD_STATUS_SQL,
    _COULD_NOT_CONTACT_SQL,
    "CASE WHEN email_kind = 'competitor' THEN 'Competitor' "
    "WHEN coalesce(is_student, FALSE) THEN 'Student' "
    f"ELSE {_CLOSE_REASON_SQL} END",
)


def _crm_leads(con, w: _World, overrides: dict[str, str] | None = None) -> None:
    """Leads from ``person_view``; ``overrides`` replaces the SQL of some fields."""
    con.execute(
        f"""CREATE TABLE crm_Lead AS SELECT {
            _crm_select(
                "Lead",
                {
                    "Id": "crm_id",
                    "FirstName": "first_name",
                    "LastName": "last_name",
                    "Email": "email",
                    "Company": "crm_company",
                    "Title": "title",
                    "Industry": "crm_industry",
                    "NumberOfEmployees": "crm_employees",
                    "AnnualRevenue": "crm_revenue",
                    "Country": "crm_country",
                    "State": _STATE_SQL,
                    "Website": "crm_website",
                    "Technologies__c": "crm_tech",
                    "LeadSource": "lead_source",
                    "Status": _LEAD_STATUS_SQL,
                    "Disqualification_Reason__c": _LEAD_REASON_SQL,
                    "OwnerId": _user_id("owner_uid"),
                    "HasOptedOutOfEmail": "unsub",
                    "DoNotCall": DO_NOT_CALL,
                    "EmailBouncedDate": "ts(t_hard)",
                    "EmailBouncedReason": _BOUNCE_REASON_SQL,
                    "IsConverted": "conv",
                    "ConvertedDate": "ts(t_conv)::DATE",
                    "ConvertedAccountId": "CASE WHEN conv THEN account_id END",
                    "ConvertedContactId": "CASE WHEN conv THEN contact_id END",
                    "ConvertedOpportunityId": "opp_id",
                    "IsDeleted": "deleted",
                    "CreatedDate": "ts(created)",
                    "LastModifiedDate": "ts(modified)",
                    "SystemModstamp": _system_modstamp(w, "pid"),
                    **(overrides or {}),
                },
            )
        } FROM person_view WHERE kind = 0 ORDER BY Id"""
    )


# Contact fields that existing contacts and those created by lead conversion fill alike.
_CONTACT_COMMON = {
    "AccountId": "account_id",
    "FirstName": "first_name",
    "LastName": "last_name",
    "Email": "email",
    "Title": "title",
    "LeadSource": "lead_source",
    "MailingState": _STATE_SQL,
    "HasOptedOutOfEmail": "unsub",
    "DoNotCall": DO_NOT_CALL,
    "EmailBouncedDate": "ts(t_hard)",
    "EmailBouncedReason": _BOUNCE_REASON_SQL,
}


def _crm_contacts(con, w: _World, overrides: dict[str, str] | None = None) -> None:
    """Existing contacts, then the contacts created by lead conversion; ``overrides`` replaces
    the SQL of some fields of both."""
    common = {**_CONTACT_COMMON, **(overrides or {})}
    existing = _crm_select(
        "Contact",
        {
            **common,
            "Id": "contact_id",
            "MailingCountry": "crm_country",
            "OwnerId": _user_id("owner_uid"),
            "IsDeleted": "deleted",
            "CreatedDate": "ts(created)",
            "LastModifiedDate": "ts(modified)",
            "SystemModstamp": _system_modstamp(w, "pid"),
        },
    )
    conv_mod = (
        f"least({w.END}, greatest(t_conv + floor(u_mod * ({w.END} - t_conv))::BIGINT, "
        f"coalesce(t_unsub, 0), coalesce(t_hard, 0)))"
    )
    converted = _crm_select(
        "Contact",
        {
            **common,
            "Id": "contact_id",
            "MailingCountry": "coalesce(crm_country, country)",
            "OwnerId": _user_id("owner_uid"),
            "IsDeleted": "FALSE",
            "CreatedDate": "ts(t_conv)",
            "LastModifiedDate": f"ts({conv_mod})",
            "SystemModstamp": f"ts({conv_mod})",
        },
    )
    con.execute(f"""CREATE TABLE crm_Contact AS
      SELECT * FROM (
        SELECT {existing} FROM person_view WHERE kind = 1
        UNION ALL
        SELECT {converted} FROM person_view WHERE kind = 0 AND conv
      ) ORDER BY Id""")


def _crm_opportunities(
    con,
    w: _World,
    overrides: dict[str, str] | None = None,
    open_stages: Sequence[str] = vocab.OPEN_STAGES,
) -> None:
    """One opportunity per converted person, closed (won or lost) or in an open stage;
    ``overrides`` replaces the SQL of some fields."""
    con.execute(f"""
    CREATE TABLE opp AS
    SELECT *,
      least(0.85, ({w.END} - t_conv) / {75.0 * DAY}) AS p_closed,
      rnd(pid, 0, 'o_closed') AS u_closed,
      rnd(pid, 0, 'o_won') < 0.2 + 0.55 * propensity AS won_draw
    FROM person_view WHERE conv
    """)
    open_stage = _uniform(open_stages, "pid", "0", "o_stage")
    close_t = (
        f"t_conv + {DAY} + floor(rnd(pid, 0, 'o_cycle') * greatest(0, {w.END} - t_conv - {DAY}))::BIGINT"
    )
    opp_kind = _uniform(vocab.OPPORTUNITY_KINDS, "pid", "0", "o_kind")
    closed = "u_closed < p_closed"
    opp_mod = (
        f"CASE WHEN u_closed < p_closed THEN least({w.END}, {close_t}) "
        f"ELSE t_conv + floor(rnd(pid, 0, 'o_mod') * ({w.END} - t_conv))::BIGINT END"
    )
    con.execute(
        f"""CREATE TABLE crm_Opportunity AS SELECT {
            _crm_select(
                "Opportunity",
                {
                    "Id": "opp_id",
                    "AccountId": "account_id",
                    "ContactId": "contact_id",
                    "Name": f"company_name || ' - ' || {opp_kind}",
                    "StageName": f"CASE WHEN {closed} THEN (CASE WHEN won_draw THEN 'Closed Won' "
                    f"ELSE 'Closed Lost' END) ELSE {open_stage} END",
                    "Amount": "round((8000 + 60 * pow(coalesce(employees, 500), 0.7)) "
                    "* (0.6 + 0.8 * rnd(pid, 0, 'o_amt')), -2)",
                    "CloseDate": f"CASE WHEN {closed} THEN ts(least({w.END}, {close_t}))::DATE "
                    f"ELSE ts(t_conv + {20 * DAY} "
                    f"+ floor(rnd(pid, 0, 'o_exp') * {100 * DAY})::BIGINT)::DATE END",
                    "IsClosed": closed,
                    "IsWon": f"{closed} AND won_draw",
                    "LeadSource": "lead_source",
                    "OwnerId": _user_id("owner_uid"),
                    "IsDeleted": f"rnd(pid, 0, 'o_del') < {RATES['deleted_other']}",
                    "CreatedDate": "ts(t_conv)",
                    "LastModifiedDate": f"ts({opp_mod})",
                    "SystemModstamp": f"ts({opp_mod})",
                    **(overrides or {}),
                },
            )
        } FROM opp ORDER BY Id"""
    )


def _crm_tasks(
    con, w: _World, kinds: Sequence[tuple[str, str, float]] = vocab.TASK_KINDS, unreachable: str = "FALSE"
) -> None:
    """Reps' calls, e-mails and meetings on the people they own, after the first response;
    ``kinds`` are the (Type, Subject, weight) of a task; where the SQL ``unreachable`` holds
    (the person does not answer) the attempts come a day to a day and a half apart."""
    con.execute(f"""
    CREATE TABLE task AS
    WITH e AS (
      SELECT pid, kind, conv, t_conv, contact_id, crm_id, account_id, opp_id, owner_uid,
        {unreachable} AS unreach, task_anchor, resp, task_hi, unnest(range(n_tasks)) AS k
      FROM person_view WHERE n_tasks > 0
    ), t AS (
      SELECT *,
        CASE WHEN unreach
             THEN task_anchor + resp + k * {DAY}
                  + CASE WHEN k > 0 THEN floor(rnd(pid, k, 't_gap') * {DAY // 2})::BIGINT ELSE 0 END
             ELSE task_anchor + resp + k * {DAY * 3 // 2}
                  + CASE WHEN k > 0 THEN floor(rnd(pid, k, 't_gap') * {DAY})::BIGINT ELSE 0 END
        END AS t
      FROM e
    )
    SELECT *, row_number() OVER (ORDER BY pid, k) AS task_no FROM t WHERE t <= task_hi
    """)
    kind_idx = _pick("rnd(pid, k, 't_kind')", [(f"{i}", wt) for i, (_, _, wt) in enumerate(kinds)], raw=True)
    done = "rnd(pid, k, 't_status') < 0.92"
    task_mod = f"least({w.END}, t + CASE WHEN {done} THEN rint(pid, k, 't_done', 900) ELSE 0 END)"
    con.execute(f"""CREATE TABLE crm_Task AS
    WITH k AS (SELECT *, {kind_idx} AS kidx FROM task)
    SELECT {
        _crm_select(
            "Task",
            {
                "Id": "sfid('00T', task_no)",
                "WhoId": "CASE WHEN kind = 0 AND conv AND t >= t_conv THEN contact_id ELSE crm_id END",
                "WhatId": "CASE WHEN conv AND t >= t_conv THEN opp_id "
                "WHEN kind = 1 AND rnd(pid, k, 't_what') < 0.5 THEN account_id END",
                "OwnerId": f"CASE WHEN rnd(pid, k, 't_owner') < 0.9 THEN {_user_id('owner_uid')} "
                f"ELSE sfid('005', {FIRST_REP} + rint(pid, k, 't_other', {w.n_active}) + 1) END",
                "Subject": f"list_element({_list([s for _, s, _ in kinds])}, kidx + 1)",
                "Type": f"list_element({_list([t for t, _, _ in kinds])}, kidx + 1)",
                "Status": f"CASE WHEN {done} THEN 'Completed' ELSE 'Not Started' END",
                "ActivityDate": f"ts(t + CASE WHEN {done} THEN 0 ELSE {2 * DAY} END)::DATE",
                "Description": "NULL",
                "Priority": "'Normal'",
                "IsReminderSet": "false",
                "ReminderDateTime": "NULL",
                "Leadscore_Action_Id__c": "NULL",
                "IsDeleted": f"rnd(pid, k, 't_del') < {RATES['deleted_person']}",
                "CreatedDate": "ts(t)",
                "LastModifiedDate": f"ts({task_mod})",
                "SystemModstamp": f"ts({task_mod})",
            },
        )
    } FROM k ORDER BY Id""")


def nurture_campaign_names(seed: Path | None = None) -> list[str]:
    """The Campaign names of the nurture seed (dbt_project/seeds/nurture_campaigns.csv)."""
    import csv  # noqa: PLC0415 - only here

    seed = seed or load_settings().dbt_project_dir / "seeds" / "nurture_campaigns.csv"
    if not seed.exists():
        return []
    with seed.open(newline="") as handle:
        return [row["campaign_name"] for row in csv.DictReader(handle)]


def _crm_campaigns(con, w: _World) -> None:
    """The nurture Campaigns a marketer made (one per row of the nurture seed, created 30 days
    before the data ends) and no CampaignMember: leadscore's write-back adds the members."""
    names = nurture_campaign_names() or ["(none)"]
    con.execute(f"""CREATE TABLE crm_Campaign AS
    WITH c AS (SELECT unnest({_list(names)}) AS name, generate_subscripts({_list(names)}, 1) AS n)
    SELECT {
        _crm_select(
            "Campaign",
            {
                "Id": "sfid('701', n)",
                "Name": "name",
                "Type": "'Email'",
                "Status": "'In Progress'",
                "IsActive": "true",
                "OwnerId": "sfid('005', 1)",
                "IsDeleted": "false",
                "CreatedDate": f"ts({w.END - 30 * DAY})",
                "LastModifiedDate": f"ts({w.END - 30 * DAY})",
                "SystemModstamp": f"ts({w.END - 30 * DAY})",
            },
        )
    } FROM c WHERE name <> '(none)' ORDER BY Id""")
    con.execute(
        f"""CREATE TABLE crm_CampaignMember AS SELECT {
            _crm_select("CampaignMember", {f: "NULL" for f in crm_schema.OBJECTS["CampaignMember"]})
        } WHERE false"""
    )


def _truth(con) -> None:
    """The hidden truth per CRM person record: propensity, converted, won."""
    con.execute("""
    CREATE TABLE truth AS
    SELECT * FROM (
      SELECT v.crm_id, CASE v.kind WHEN 0 THEN 'Lead' ELSE 'Contact' END AS crm_object,
        v.propensity, v.conv AS converted, coalesce(o.IsWon, FALSE) AS won
      FROM person_view v LEFT JOIN crm_Opportunity o ON o.Id = v.opp_id
      UNION ALL
      SELECT v.contact_id, 'Contact', v.propensity, TRUE, coalesce(o.IsWon, FALSE)
      FROM person_view v LEFT JOIN crm_Opportunity o ON o.Id = v.opp_id
      WHERE v.kind = 0 AND v.conv
    ) ORDER BY crm_id
    """)


def _crm_tables(con, w: _World) -> None:
    """Tables ``crm_<Object>`` with exactly the fields of crm_schema, and ``truth``."""
    _crm_users(con)
    _crm_accounts(con, w)
    _person_view(con, w)
    _crm_leads(con, w)
    _crm_contacts(con, w)
    _crm_opportunities(con, w)
    _crm_tasks(con, w, unreachable="unreach")
    _crm_campaigns(con, w)
    _truth(con)
    con.execute("DROP TABLE task; DROP TABLE opp; DROP TABLE person_view")


# --------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------
def _marketo_attributes() -> tuple[str, str]:
    """SQL for (primaryAttributeValue, attributes) of a Marketo activity row."""
    site = vocab.SITE
    h = "rint(pid, k, 'x_name', 1000003)"

    def name(values: Sequence[str]) -> str:
        return f"list_element({_list(values)}, 1 + {h} % {len(values)})"

    utm = _uniform(vocab.UTM_QUERIES, "pid", "k", "x_utmv")
    qp = f"CASE WHEN rnd(pid, k, 'x_utm') < 0.08 THEN {utm} ELSE '' END"
    device = _uniform(("Desktop", "Mobile", "Tablet"), "pid", "k", "x_dev")
    link = _uniform(
        ("/pricing", "/blog/lead-scoring-101", "/product/integrations", "/demo", "/customers/globex"),
        "pid",
        "k",
        "x_link",
    )
    blog = _uniform(vocab.BLOG_SLUGS, "pid", "k", "x_slug")
    ref = _uniform(vocab.REFERRERS, "pid", "k", "x_ref")
    mailing = "1000 + rint(pid, k, 'x_mailing', 50)"
    run = f"{mailing} * 7"
    webinar = name(vocab.WEBINARS)
    primary = f"""CASE type_id
      WHEN 1 THEN {_lit(site)} || path
      WHEN 2 THEN {name(vocab.FORM_NAMES)}
      WHEN 100001 THEN {name(vocab.WEBINARS)}
      WHEN 100002 THEN {name(vocab.WEBINARS)}
      WHEN 100003 THEN {name(vocab.ASSETS)}
      WHEN 100004 THEN 'Demo Request'
      WHEN 100005 THEN 'Free Trial'
      WHEN 100006 THEN {name(vocab.EVENTS)}
      ELSE {name(vocab.EMAIL_NAMES)} END"""
    attrs = f"""CASE type_id
      WHEN 1 THEN json_object('Webpage URL', path, 'Query Parameters', {qp}, 'Referrer URL', {ref})
      WHEN 2 THEN json_object('Form Name', {name(vocab.FORM_NAMES)},
                              'Webpage URL', {_uniform(vocab.FORM_PAGES, "pid", "k", "x_fpage")})
      WHEN 6 THEN json_object('Mailing ID', {mailing}, 'Campaign Run ID', {run},
                              'Choice Number', 0)
      WHEN 10 THEN json_object('Mailing ID', {mailing}, 'Campaign Run ID', {run},
                               'Device', {device})
      WHEN 11 THEN json_object('Mailing ID', {mailing}, 'Campaign Run ID', {run},
                               'Link', {_lit(site)} || {link})
      WHEN 8 THEN json_object('Category', '1', 'Subcategory', '1003',
                              'Details', {_lit(vocab.HARD_BOUNCE_DETAILS)}, 'Mailing ID', {mailing})
      WHEN 27 THEN json_object('Category', '4', 'Subcategory', '4002',
                               'Details', {_lit(vocab.SOFT_BOUNCE_DETAILS)},
                               'Mailing ID', {mailing})
      WHEN 9 THEN json_object('Mailing ID', {mailing}, 'Campaign Run ID', {run},
                              'Webpage URL', '/unsubscribe')
      WHEN 100001 THEN json_object('Webinar Name', {webinar}, 'Program Name', {webinar})
      WHEN 100002 THEN json_object('Webinar Name', {webinar}, 'Program Name', {webinar},
                                   'Attendance Minutes', 5 + rint(pid, k, 'x_minutes', 55))
      WHEN 100003 THEN json_object('Asset Name', {name(vocab.ASSETS)},
                                   'Webpage URL', '/blog/' || {blog})
      WHEN 100004 THEN json_object('Form Name', 'Demo Request', 'Webpage URL', '/demo')
      WHEN 100005 THEN json_object('Form Name', 'Free Trial', 'Webpage URL', '/pricing',
                                   'Plan', {name(vocab.TRIAL_PLANS)})
      WHEN 100006 THEN json_object('Event Name', {name(vocab.EVENTS)}, 'Booth Scan', true)
    END::VARCHAR"""
    return primary, attrs


def _jsonl_columns() -> str:
    site = vocab.SITE
    event_type = (
        "CASE a.type_id "
        + " ".join(f"WHEN {t} THEN {_lit(n)}" for t, n in vocab.ACTIVITY_TYPES.items())
        + " END"
    )

    def pick(values: Sequence[str], salt: str) -> str:
        return _uniform(values, "a.pid", "a.k", salt)

    utm_query = pick(vocab.UTM_QUERIES, "j_utmv")
    utm = f"CASE WHEN rnd(a.pid, a.k, 'j_utm') < 0.08 THEN '?' || {utm_query} ELSE '' END"
    url = f"""CASE a.type_id
      WHEN 1 THEN {_lit(site)} || a.path || {utm}
      WHEN 2 THEN {_lit(site)} || {_uniform(vocab.FORM_PAGES, "a.pid", "a.k", "j_fpage")}
      WHEN 100003 THEN {_lit(site)} || '/blog/' || {pick(vocab.BLOG_SLUGS, "j_slug")}
      WHEN 100004 THEN {_lit(site)} || '/demo'
      WHEN 100005 THEN {_lit(site)} || '/pricing'
    END"""
    band = pick(("1-49", "50-199", "200-999", "1000-4999", "5000+"), "j_band")
    session = "printf('s_%012x', rint(a.pid, a.k // 5, 'j_session', 281474976710655))"
    props = f"""CASE a.type_id
      WHEN 1 THEN json_object('session_id', {session}, 'referrer', {pick(vocab.REFERRERS, "j_ref")},
                              'source', 'web', 'seconds_on_page', 5 + rint(a.pid, a.k, 'j_secs', 300))
      WHEN 2 THEN json_object('session_id', {session},
                              'form_name', {pick(vocab.FORM_NAMES, "j_form")})
      WHEN 100003 THEN json_object('session_id', {session},
                                   'asset', {pick(vocab.ASSETS, "j_asset")})
      WHEN 100004 THEN json_object('session_id', {session}, 'form_name', 'Demo Request',
                                   'employees_band', {band})
      WHEN 100005 THEN json_object('plan', {pick(vocab.TRIAL_PLANS, "j_plan")},
                                   'source', 'product')
      ELSE json_object()
    END"""
    return _jsonl_select(event_type, url, props)


def _jsonl_select(event_type: str, url: str, props: str) -> str:
    """The SELECT list of a JSONL event (on ``act a JOIN p``) with the SQL of its type, URL
    and properties: a person is named by e-mail (now and then upper-cased), CRM id or both;
    a converted Lead's CRM id is its Contact's after the conversion."""
    ident = "rnd(a.pid, a.k, 'j_ident')"
    email = (
        f"CASE WHEN p.kind = 2 OR {ident} < 0.70 THEN "
        f"(CASE WHEN rnd(a.pid, a.k, 'j_upper') < 0.02 THEN upper(p.email) ELSE p.email END) END"
    )
    crm_id = (
        f"CASE WHEN p.kind < 2 AND ({ident} < 0.35 OR {ident} >= 0.70) THEN "
        f"(CASE WHEN p.kind = 0 AND p.conv AND a.ts >= p.t_conv THEN p.contact_id "
        f"ELSE p.crm_id END) END"
    )
    return f"""
      printf('evt_%x%06x', a.pid, a.k) AS event_id,
      iso_z(a.ts) AS occurred_at,
      {email} AS email,
      {crm_id} AS crm_id,
      {event_type} AS event_type,
      {url} AS url,
      {props} AS properties"""


def _copy(con, select_sql: str, path: Path, fmt: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    opts = {
        "parquet": "FORMAT parquet, COMPRESSION zstd",
        "csv": "FORMAT csv, HEADER true",
        "json": "FORMAT json",
    }[fmt]
    con.execute(f"COPY ({select_sql}) TO '{tmp.as_posix()}' ({opts})")
    tmp.replace(path)


_OWN_MAP_FILES = (
    re.compile(r"marketo_activities_\d{8}\.csv(\.tmp)?"),
    re.compile(r"marketo_leads_\d{8}\.csv(\.tmp)?"),
    re.compile(r"events_\d{8}\.jsonl(\.tmp)?"),
)


def _wipe(out_dir: Path, landing_dir: Path) -> None:
    """Remove the files a previous run of this generator wrote (and nothing else).

    That is the Parquet files, truth and summary under ``out_dir``, the MAP files named as this
    generator names them under ``landing/map``, the Data Loader files named
    ``<Object>_<YYYYMMDDTHHMM>.csv`` under ``landing/crm/<Object>`` (whether or not this run
    writes CRM files, so a files-mode pipeline never reads a stale export) and leftovers of
    an interrupted run (``*.tmp``, ``.generate-*`` scratch folders).
    """
    for obj in crm_schema.OBJECTS:
        for suffix in ("", ".tmp"):
            (out_dir / "crm" / f"{obj}.parquet{suffix}").unlink(missing_ok=True)
        crm_dir = landing_dir / "crm" / obj
        if crm_dir.is_dir():
            pattern = re.compile(rf"{re.escape(obj)}_\d{{8}}T\d{{4}}\.csv(\.tmp)?")
            for f in crm_dir.iterdir():
                if f.is_file() and pattern.fullmatch(f.name):
                    f.unlink()
    for name in ("truth.parquet", "truth.parquet.tmp", "generated.json"):
        (out_dir / name).unlink(missing_ok=True)
    for scratch in out_dir.glob(".generate-*"):
        if scratch.is_dir():
            shutil.rmtree(scratch, ignore_errors=True)
    map_dir = landing_dir / "map"
    if map_dir.is_dir():
        for f in map_dir.iterdir():
            if f.is_file() and any(p.fullmatch(f.name) for p in _OWN_MAP_FILES):
                f.unlink()


def _write(
    con,
    w: _World,
    out_dir: Path,
    landing_dir: Path,
    crm_files: bool,
    jsonl_cols: str,
    marketo_leads: bool,
) -> dict[str, int]:
    """Write the CRM objects, the truth and the MAP files of the tables in ``con``.

    ``jsonl_cols`` is the SELECT list of a JSONL event (on ``act a JOIN p``); ``marketo_leads``
    writes the Marketo lead extract (the identity map)."""
    counts: dict[str, int] = {}
    for obj in crm_schema.OBJECTS:
        parquet = out_dir / "crm" / f"{obj}.parquet"
        _copy(con, f"SELECT * FROM crm_{obj} ORDER BY Id", parquet, "parquet")
        counts[obj] = con.execute(f"SELECT count(*) FROM crm_{obj}").fetchall()[0][0]
        if crm_files and obj in crm_schema.EXTRACT_ORDER:  # the Data Loader exports leadscore reads
            cols = []
            for name, ftype in crm_schema.OBJECTS[obj].items():
                if ftype == "datetime":
                    cols.append(f'strftime("{name}", \'%Y-%m-%dT%H:%M:%S.000Z\') AS "{name}"')
                else:
                    cols.append(f'"{name}"')
            _copy(
                con,
                f"SELECT {', '.join(cols)} FROM crm_{obj} ORDER BY Id",
                landing_dir / "crm" / obj / f"{obj}_{w.stamp}.csv",
                "csv",
            )
    _copy(con, "SELECT * FROM truth ORDER BY crm_id", out_dir / "truth.parquet", "parquet")

    map_dir = landing_dir / "map"
    primary, attrs = _marketo_attributes()
    counts["marketo_activities"] = counts["jsonl_events"] = 0
    for chunk in range(w.n_chunks):
        day = (w.start_dt + timedelta(days=chunk * CHUNK_DAYS)).strftime("%Y%m%d")
        n_mk, n_js = con.execute(
            f"SELECT count(*) FILTER (WHERE NOT jsonl), count(*) FILTER (WHERE jsonl) "
            f"FROM act WHERE chunk = {chunk}"
        ).fetchall()[0]
        if n_mk:
            _copy(
                con,
                f"""
              SELECT ({MARKETO_GUID_OFFSET} + seq)::VARCHAR AS marketoGUID,
                {MARKETO_ID_OFFSET} + pid AS leadId,
                iso_z(ts) AS activityDate,
                type_id AS activityTypeId,
                {primary} AS primaryAttributeValue,
                {attrs} AS attributes
              FROM act WHERE NOT jsonl AND chunk = {chunk} ORDER BY seq""",
                map_dir / f"marketo_activities_{day}.csv",
                "csv",
            )
        if n_js:
            _copy(
                con,
                f"""
              SELECT {jsonl_cols}
              FROM act a JOIN p USING (pid)
              WHERE a.jsonl AND a.chunk = {chunk}
              ORDER BY a.ts, a.pid, a.k""",
                map_dir / f"events_{day}.jsonl",
                "json",
            )
        counts["marketo_activities"] += n_mk
        counts["jsonl_events"] += n_js
    counts["activities"] = counts["marketo_activities"] + counts["jsonl_events"]
    if not marketo_leads:
        return counts

    _copy(
        con,
        f"""
      WITH last AS (SELECT pid, max(ts) AS last_ts FROM act GROUP BY pid)
      SELECT p.mkto_id AS id, p.email,
        CASE WHEN p.kind = 0 AND NOT p.mk_email_only THEN p.crm_id END AS sfdcLeadId,
        CASE WHEN p.kind < 2 AND NOT p.mk_email_only THEN p.contact_id END AS sfdcContactId,
        iso_z(least({w.END}, greatest(p.created, coalesce(l.last_ts, p.created)))) AS updatedAt
      FROM p LEFT JOIN last l USING (pid)
      ORDER BY p.mkto_id""",
        map_dir / f"marketo_leads_{w.end_dt.strftime('%Y%m%d')}.csv",
        "csv",
    )
    counts["marketo_leads"] = w.n_people
    return counts


def _late_activities(con, w: _World) -> None:
    """Append to ``act`` the activity after the end instant (LATE_SHARE, LATE_UNREACHABLE_SHARE,
    LATE_HOURS): for each
    chosen person a demo request, a pricing page view two minutes later and, for half of
    them, a trial sign-up five minutes after that, starting at a moment within the first
    LATE_HOURS hours less ten minutes after the end. Added after the CRM tables, which stay
    as of the end (the CRM learns nothing of it), and numbered after every earlier activity."""
    span = LATE_HOURS * 3600 - 600
    con.execute(f"""
    INSERT INTO act
    WITH chosen AS (
      SELECT pid, n_act, {w.END} + 60 + rint(pid, 0, 'l_start', {span}) AS t0,
        rnd(pid, 0, 'l_trial') < 0.5 AS trial
      FROM p
      WHERE kind < 2 AND NOT deleted AND NOT conv AND NOT unsub AND NOT hard AND NOT careers
        AND email_kind = 'company'
        AND (rnd(pid, 0, 'l_late') < {LATE_SHARE}
             OR (unreach AND rnd(pid, 0, 'l_back') < {LATE_UNREACHABLE_SHARE}))
    ), late AS (
      SELECT pid, n_act + 0 AS k, 100004 AS type_id, t0 AS ts, NULL AS path FROM chosen
      UNION ALL
      SELECT pid, n_act + 1, 1, t0 + 120, '/pricing' FROM chosen
      UNION ALL
      SELECT pid, n_act + 2, 100005, t0 + 420, NULL FROM chosen WHERE trial
    ), v AS (
      SELECT pid::INTEGER AS pid, k::INTEGER AS k, type_id::INTEGER AS type_id, ts, path,
        type_id IN {_in(vocab.JSONL_EVENT_TYPES)}
          AND rnd(pid, k, 'x_chan') < {RATES["jsonl_share_of_eligible"]} AS jsonl,
        {w.n_chunks - 1}::INTEGER AS chunk
      FROM late
    ), numbered AS (
      SELECT jsonl, max(seq) AS last_seq FROM act GROUP BY jsonl
    )
    SELECT v.pid, v.k, v.type_id, v.ts, v.path, v.jsonl, v.chunk,
      coalesce(numbered.last_seq, 0) + row_number() OVER (PARTITION BY v.jsonl ORDER BY v.ts, v.pid, v.k)
    FROM v LEFT JOIN numbered USING (jsonl)
    """)


def _build(con, w: _World) -> None:
    """Create every table of the world in ``con`` (nothing is written to disk)."""
    _macros(con, w)
    _users(con, w)
    _accounts(con, w)
    _titles(con)
    _people(con, w)
    _activities(con, w)
    _crm_tables(con, w)
    _late_activities(con, w)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Profile:
    """A world ``generate`` can make: its sizes, how its tables are built, the SELECT list of
    its JSONL events (on ``act a JOIN p``), whether it has Marketo people (the lead extract)."""

    name: str
    world: type[_World]
    build: Callable[[duckdb.DuckDBPyConnection, _World], None]
    jsonl_columns: Callable[[], str]
    marketo_leads: bool = True


# The B2B SaaS world the scoring seeds were written for (its summary has no "profile" key,
# as before profiles existed: a reader takes a missing one for saas).
SAAS = Profile("saas", _World, _build, _jsonl_columns)


def generate(
    out_dir: Path,
    landing_dir: Path,
    *,
    leads: int = 5000,
    days: int = 90,
    seed: int = 42,
    end: datetime | None = None,
    activities_per_lead: float = 20.0,
    crm_files: bool = False,
    profile: Profile = SAAS,
) -> dict:
    """Generate the synthetic world; return (and write to ``generated.json``) its summary.

    ``end`` is naive UTC (an aware datetime is converted); the default is now, floored to the
    hour. The data covers ``[end - days, end]``. Files a previous run wrote are removed first.
    """
    out_dir, landing_dir = Path(out_dir), Path(landing_dir)
    end = utc_naive(end) if end is not None else default_end()
    w = profile.world(leads=leads, days=days, seed=seed, end=end, apl=activities_per_lead)
    out_dir.mkdir(parents=True, exist_ok=True)
    landing_dir.mkdir(parents=True, exist_ok=True)
    _wipe(out_dir, landing_dir)
    tmp = Path(tempfile.mkdtemp(prefix=".generate-", dir=out_dir))
    try:
        con = duckdb.connect(":memory:", config={**DUCKDB_CONFIG, "temp_directory": str(tmp)})
        try:
            profile.build(con, w)
            counts = _write(
                con, w, out_dir, landing_dir, crm_files, profile.jsonl_columns(), profile.marketo_leads
            )
        finally:
            con.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    summary = {
        "seed": w.seed,
        "leads": w.L,
        "days": w.days,
        "end": _iso_z(w.end_dt),
        "start": _iso_z(w.start_dt),
        "activities_per_lead": w.apl,
        **({} if profile is SAAS else {"profile": profile.name}),
        "counts": counts,
    }
    (out_dir / "generated.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
