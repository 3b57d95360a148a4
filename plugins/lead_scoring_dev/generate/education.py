"""The education world (``leadscore generate --profile education``): a B2C online-education
business in the shape of the public "X Education" leads data, in the same CRM objects and
landing files as the SaaS world of :mod:`lead_scoring_dev.generate.synthetic`, whose SQL
helpers, CRM object builders and writers it reuses (the same hash-based draws: the output
depends only on the parameters).

The world: nearly only Leads (a few corporate partner Accounts with Contacts); Title is the
person's occupation, Industry the specialisation of interest, Technologies__c the answer to
"how did you hear about us?", e-mails mostly free mailboxes, Country mostly India, size and
revenue empty. Behaviour is in the JSONL landing file only (no Marketo files), with event types
the scoring seeds do not know (:data:`vocab_education.EVENT_TYPES`) and numeric properties
(``time_on_site_s``, ``pages_viewed``, ``duration_s``, ``minutes_watched``).

Each person has a hidden propensity ``sigmoid(occupation + source + specialisation + interest
+ noise)``. The interest drives browsing (visits, time on site, brochures, masterclasses, chats,
e-mail clicks); the counsellors' touches (SMS, phone conversations, unreachable calls) follow
the whole log-odds, noise included; unsubscribes are likelier at low propensity. A Lead enrols
(is converted: Account, Contact, Opportunity) with that propensity, a few days after it
engaged, all its behaviour before then and denser towards it; a person who will not enrol goes
cold after a week or two. So the outcome is learnable from fields and behaviour together, and
no single field or event gives it away.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from lead_scoring_dev.generate import synthetic
from lead_scoring_dev.generate import vocab_education as edu
from lead_scoring_dev.generate.synthetic import (
    CHUNK_DAYS,
    DAY,
    FIRST_REP,
    Profile,
    _crm_accounts,
    _crm_campaigns,
    _crm_contacts,
    _crm_leads,
    _crm_opportunities,
    _crm_tasks,
    _crm_users,
    _in,
    _jsonl_select,
    _list,
    _lit,
    _macros,
    _owner_sql,
    _pick,
    _tilted,
    _truth,
    _uniform,
    _users,
    _World,
    lead_reason_sql,
    lead_status_sql,
)

PROFILE = "education"
# Shares (per person unless said).
RATES: dict[str, float] = {
    "old_leads": 0.25,  # created before the window; they engage again at some time inside it
    "unknown_visitors": 0.03,  # people in the events who are in no CRM object (per Lead)
    "work_email": 0.25,  # of the people with an employer: enquire with the work address
    "employer_given": 0.5,  # of the people with an employer: Company filled in
    "phone_before_enrolment": 0.6,  # of the converters: a counsellor talked with them first
    "hard_bounced": 0.02,
    "deleted_person": 0.005,
}
BASE_LOG_ODDS = -0.2
INTEREST_WEIGHT, NOISE_WEIGHT = 1.0, 0.9
EMPLOYED = ("Working Professional", "Self-Employed", "Businessman", "Freelancer")
COUNT_CAP = 60  # events of one type per person at the most


class EducationWorld(_World):
    """The SaaS world's sizes (reps, chunks, window) with few Accounts and Contacts."""

    def __init__(self, *, leads: int, days: int, seed: int, end: datetime, apl: float):
        super().__init__(leads=leads, days=days, seed=seed, end=end, apl=apl)
        self.n_acc = max(1, round(self.L / 400))  # corporate partners
        self.n_con = max(1, round(self.L / 100))  # their HR / L&D people
        self.n_crm = self.L + self.n_con
        self.n_unknown = max(1, round(self.L * RATES["unknown_visitors"]))
        self.n_people = self.n_crm + self.n_unknown


def _column(values: Sequence, index: str) -> str:
    """SQL: the ``index``-th (0-based) of ``values``."""
    return f"list_element({_list(values)}, {index} + 1)"


def _index(u: str, weights: Sequence[float]) -> str:
    """SQL: an index drawn with ``u`` by ``weights``."""
    return _pick(u, [(str(i), wt) for i, wt in enumerate(weights)], raw=True)


def _exp_count(mean: str, salt: str) -> str:
    """SQL: an integer count of the given mean, exponentially spread (many 0s, a long tail)."""
    return f"least({COUNT_CAP}, floor(({mean}) * -ln(1.0 - rnd(pid, 0, '{salt}'))))::BIGINT"


def _identities(con, w: EducationWorld) -> None:
    """Table ``ident``: kind (0 Lead, 1 partner Contact, 2 unknown visitor), name, occupation,
    specialisation, source, country, state, heard-about answer, employer and e-mail."""
    occ = [o for o, _, _ in edu.OCCUPATIONS]
    spec = [s for s, _, _ in edu.SPECIALISATIONS]
    src = [s for s, _, _ in edu.LEAD_SOURCES]
    employers = len(edu.EMPLOYERS)
    personal = _pick("rnd(pid, 0, 'e_pdom')", edu.PERSONAL_EMAIL_DOMAINS)
    con.execute(f"""
    CREATE TABLE ident AS
    WITH b AS (
      SELECT i AS pid,
        CASE WHEN i < {w.L} THEN 0 WHEN i < {w.n_crm} THEN 1 ELSE 2 END AS kind,
        {_uniform(edu.FIRST_NAMES, "i", "0", "e_first")} AS first_name,
        {_uniform(edu.LAST_NAMES, "i", "0", "e_last")} AS last_name,
        {_index("rnd(i, 0, 'e_occ')", [wt for _, wt, _ in edu.OCCUPATIONS])} AS occ_i,
        {_index("rnd(i, 0, 'e_spec')", [wt for _, wt, _ in edu.SPECIALISATIONS])} AS spec_i,
        {_index("rnd(i, 0, 'e_src')", [wt for _, wt, _ in edu.LEAD_SOURCES])} AS src_i,
        {_pick("rnd(i, 0, 'e_cty')", edu.COUNTRIES)} AS country0,
        {_pick("rnd(i, 0, 'e_state')", edu.INDIA_STATES)} AS state0,
        {_pick("rnd(i, 0, 'e_heard')", edu.HEARD_ABOUT)} AS heard,
        rint(i, 0, 'e_employer', {employers}) AS employer_i,
        rnd(i, 0, 'e_work') AS u_work
      FROM range({w.n_people}) t(i)
    ), c AS (
      SELECT *,
        CASE WHEN kind = 1 THEN {_uniform(edu.PARTNER_TITLES, "pid", "0", "e_ptitle")}
             WHEN kind = 0 THEN {_column(occ, "occ_i")} END AS title,
        CASE WHEN kind = 0 THEN {_column(spec, "spec_i")} END AS specialisation,
        CASE WHEN kind = 0 THEN {_column(src, "src_i")} END AS lead_source,
        CASE WHEN kind = 1 THEN {_lit(edu.INDIA)} ELSE country0 END AS country,
        CASE WHEN kind = 1 THEN pid % {w.n_acc} END AS partner_aid,
        regexp_replace(lower(first_name), '[^a-z]', '', 'g') AS lf,
        regexp_replace(lower(last_name), '[^a-z]', '', 'g') AS ll
      FROM b
    ), d AS (
      SELECT *,
        CASE WHEN kind = 1 THEN partner_aid % {employers}
             WHEN title IN {_in(EMPLOYED)} THEN employer_i END AS employer,
        CASE WHEN country = {_lit(edu.INDIA)} THEN state0 END AS state
      FROM c
    ), e AS (
      SELECT *,
        CASE WHEN employer IS NOT NULL AND (kind = 1 OR u_work < {RATES["work_email"]})
               THEN lf || '.' || ll || '@' || {_column([d for _, d, _ in edu.EMPLOYERS], "employer")}
             WHEN rnd(pid, 0, 'e_fmt') < 0.5
               THEN lf || '.' || ll || (10 + rint(pid, 0, 'e_num', 90))::VARCHAR || '@' || {personal}
             ELSE lf || ll || (1975 + rint(pid, 0, 'e_num', 35))::VARCHAR || '@' || {personal} END
          AS email0
      FROM d
    ), f AS (
      SELECT *, row_number() OVER (PARTITION BY email0 ORDER BY pid) AS rn FROM e
    )
    SELECT * EXCLUDE (email0, rn, country0, state0, lf, ll),
      CASE WHEN rn > 1 THEN replace(email0, '@', '.' || rn || '@') ELSE email0 END AS email
    FROM f
    """)


def _timelines(con, w: EducationWorld) -> None:
    """Table ``pers``: ``ident`` with the hidden log-odds and propensity, the counts of each
    behaviour, and the timeline (created, engaged from ``t_lo`` to ``t_end``, enrolment)."""
    occ_eff = _column([e for _, _, e in edu.OCCUPATIONS], "occ_i")
    spec_eff = _column([e for _, _, e in edu.SPECIALISATIONS], "spec_i")
    src_eff = _column([e for _, _, e in edu.LEAD_SOURCES], "src_i")
    scale = w.apl / 20.0
    span = w.END - w.START
    counsellor = _in(edu.COUNSELLOR_SOURCES)
    con.execute(f"""
    CREATE TABLE pers AS
    WITH b AS (
      SELECT *,
        rnorm(pid, 0, 'e_interest') AS z_int,
        rnorm(pid, 0, 'e_noise') AS z_noise,
        kind = 0 AND rnd(pid, 0, 'e_old') < {RATES["old_leads"]} AS old
      FROM ident
    ), c AS (
      SELECT *,
        CASE WHEN kind = 0 THEN {BASE_LOG_ODDS} + {occ_eff} + {spec_eff} + {src_eff}
                                + {INTEREST_WEIGHT} * z_int + {NOISE_WEIGHT} * z_noise
             ELSE -3.0 + 0.5 * z_int END AS latent,
        CASE WHEN kind = 1 THEN {w.START} - {DAY} - rint(pid, 0, 'e_created', {700 * DAY})
             WHEN old THEN {w.START} - {DAY} - rint(pid, 0, 'e_created', {300 * DAY})
             ELSE {w.START} + rint(pid, 0, 'e_created', {span - 3600}) END AS created
      FROM b
    ), d AS (
      SELECT *,
        1.0 / (1.0 + exp(-latent)) AS propensity,
        CASE WHEN created >= {w.START} THEN created
             ELSE {w.START} + rint(pid, 0, 'e_engage', {span - 3600}) END AS t_lo,
        greatest(7200, floor(exp(ln({4 * DAY}) - 0.2 * latent + rnorm(pid, 0, 'e_delay'))))::BIGINT
          AS delay,
        greatest(3600, floor(exp(ln({10 * DAY}) + 0.8 * rnorm(pid, 0, 'e_cool'))))::BIGINT AS cool
      FROM c
    ), e AS (
      SELECT *,
        kind = 0 AND rnd(pid, 0, 'e_conv') < propensity AS will_enrol
      FROM d
    ), f AS (
      SELECT *,
        will_enrol AND t_lo + delay < {w.END} - 3600 AS conv,
        least({w.END}, t_lo + CASE WHEN will_enrol THEN delay ELSE cool END) AS t_end
      FROM e
    ), g AS (
      SELECT *,
        CASE WHEN conv THEN t_end END AS t_conv,
        kind < 2 AND rnd(pid, 0, 'e_unsub') < least(0.3, 0.04 * exp(-0.6 * latent)) AS unsub,
        kind < 2 AND rnd(pid, 0, 'e_hard') < {RATES["hard_bounced"]} AS hard,
        -- counts per behaviour
        CASE WHEN kind = 0 AND lead_source NOT IN {counsellor}
               AND lead_source <> {_lit(edu.OLARK_CHAT)} THEN 1 ELSE 0 END AS n_form,
        {
        _exp_count(
            f"{scale} * 3.0 * exp(0.6 * z_int) * CASE WHEN lead_source = "
            f"{_lit(edu.OLARK_CHAT)} THEN 0.3 ELSE 1.0 END",
            "e_nvisit",
        )
    } AS n_visit,
        CASE WHEN lead_source = {_lit(edu.OLARK_CHAT)} THEN 1 ELSE 0 END
          + {_exp_count(f"{scale} * 0.15 * exp(0.3 * z_int)", "e_nchat")} AS n_chat,
        CASE WHEN kind = 0 THEN {_exp_count(f"{scale} * 0.35 * exp(0.8 * z_int)", "e_nbro")} ELSE 0 END
          AS n_brochure,
        {_exp_count(f"{scale} * 0.25 * exp(0.5 * z_int)", "e_nmc")} AS n_mc_reg,
        {_exp_count(f"{scale} * 12.0 * exp(0.3 * z_int)", "e_nopen")} AS n_open,
        CASE WHEN kind = 0 THEN {_exp_count(f"{scale} * 0.7 * exp(0.5 * latent)", "e_nsms")} ELSE 0 END
          AS n_sms,
        CASE WHEN kind = 0 THEN {_exp_count(f"{scale} * 0.6 * exp(0.35 * latent)", "e_nphone")} ELSE 0 END
          AS n_phone0,
        CASE WHEN kind = 0 THEN {_exp_count(f"{scale} * 0.8 * exp(-0.5 * latent)", "e_nunr")} ELSE 0 END
          AS n_unreach
      FROM f
    )
    SELECT *,
      least(n_mc_reg, floor(n_mc_reg * (0.35 + 0.1 * z_int) + rnd(pid, 0, 'e_nmcatt')))::BIGINT
        AS n_mc_att,
      least(n_open, floor(n_open * 0.12 * exp(0.5 * z_int) + rnd(pid, 0, 'e_nclick')))::BIGINT
        AS n_click,
      CASE WHEN conv AND n_phone0 = 0 AND rnd(pid, 0, 'e_phone1') < {RATES["phone_before_enrolment"]}
           THEN 1 ELSE n_phone0 END AS n_phone,
      CASE WHEN unsub THEN 1 ELSE 0 END AS n_unsub,
      CASE WHEN hard THEN 1 ELSE 0 END AS n_bounced,
      CASE WHEN unsub THEN t_lo + rint(pid, 0, 'e_tunsub', greatest(1, t_end - t_lo - 60)) END AS t_unsub,
      CASE WHEN hard THEN t_lo + rint(pid, 0, 'e_thard', greatest(1, t_end - t_lo - 60)) END AS t_hard
    FROM g
    """)


# Behaviours in the order their events are numbered per person (k): type id and count column.
_BEHAVIOURS: tuple[tuple[int, str], ...] = (
    (edu.FORM, "n_form"),
    (edu.CHAT, "n_chat"),
    (edu.VISIT, "n_visit"),
    (edu.BROCHURE, "n_brochure"),
    (edu.MC_REG, "n_mc_reg"),
    (edu.MC_ATT, "n_mc_att"),
    (edu.EMAIL_OPEN, "n_open"),
    (edu.EMAIL_CLICK, "n_click"),
    (edu.SMS, "n_sms"),
    (edu.PHONE, "n_phone"),
    (edu.UNREACHABLE, "n_unreach"),
    (edu.UNSUBSCRIBED, "n_unsub"),
    (edu.BOUNCED, "n_bounced"),
)


def _people(con, w: EducationWorld) -> None:
    """Table ``p``: one row per person with owner, ids, tasks and the number of events."""
    total = " + ".join(col for _, col in _BEHAVIOURS)
    running = "OVER (ORDER BY pid ROWS UNBOUNDED PRECEDING)"
    con.execute(f"""
    CREATE TABLE p AS
    WITH b AS (
      SELECT pers.*,
        a_owner.owner_uid AS acct_owner_uid,
        {total} AS n_act,
        sum(CASE WHEN conv THEN 1 ELSE 0 END) {running} AS conv_no,
        rint(pid, 0, 'e_course', {len(edu.COURSES)}) AS course_i
      FROM pers LEFT JOIN partners a_owner ON a_owner.aid = pers.partner_aid
    ), c AS (
      SELECT *,
        {_owner_sql(w)} AS owner_uid,
        kind < 2 AND rnd(pid, 0, 'e_del') < {RATES["deleted_person"]} AS deleted,
        CASE WHEN kind < 2 THEN least(8, n_phone + n_unreach) ELSE 0 END AS n_calls,
        least({10 * DAY}, greatest(60, floor(exp(ln(3600) + 1.8 * rnorm(pid, 0, 'e_resp')))))::BIGINT
          AS resp0
      FROM b
    )
    SELECT *,
      CASE WHEN owner_uid >= {FIRST_REP} THEN n_calls ELSE 0 END AS n_tasks,
      t_lo AS task_anchor,
      CASE WHEN conv THEN least(resp0, (t_conv - t_lo) // 2) ELSE resp0 END AS resp,
      {w.END} - 60 AS task_hi,
      CASE kind WHEN 0 THEN sfid('00Q', pid + 1) WHEN 1 THEN sfid('003', pid - {w.L} + 1) END AS crm_id,
      CASE WHEN conv THEN sfid('003', {w.n_con} + conv_no)
           WHEN kind = 1 THEN sfid('003', pid - {w.L} + 1) END AS contact_id,
      CASE WHEN conv THEN sfid('006', conv_no) END AS opp_id,
      CASE WHEN conv THEN {w.n_acc} + conv_no - 1 ELSE partner_aid END AS aid,
      {_column([n for _, n in edu.COURSES], "course_i")} AS course_name,
      {_column(list(edu.COURSE_FEES), "course_i")} AS course_fee,
      {_column([s for s, _ in edu.COURSES], "course_i")} AS course_slug
    FROM c
    """)


def _partners(con, w: EducationWorld) -> None:
    """Table ``partners``: the corporate partners (employers that sponsor their staff)."""
    employers = len(edu.EMPLOYERS)
    con.execute(f"""
    CREATE TABLE partners AS
    SELECT i AS aid,
      i % {employers} AS employer,
      {w.START} - {DAY} - rint(i, 0, 'a_created', {900 * DAY}) AS created,
      {FIRST_REP} + rint(i, 0, 'a_owner', {w.n_active}) AS owner_uid
    FROM range({w.n_acc}) t(i)
    """)


def _accounts(con, w: EducationWorld) -> None:
    """Table ``acct``: the partners, then one Account per enrolled person (created then)."""
    name = _column([n for n, _, _ in edu.EMPLOYERS], "employer")
    domain = _column([d for _, d, _ in edu.EMPLOYERS], "employer")
    employees = _column([e for _, _, e in edu.EMPLOYERS], "employer")
    con.execute(f"""
    CREATE TABLE acct AS
    WITH a AS (
      SELECT aid, {name} AS name, 'https://www.' || {domain} AS website, NULL AS industry,
        {employees} AS employees, {_lit(edu.INDIA)} AS country,
        {_pick("rnd(aid, 0, 'a_state')", edu.INDIA_STATES[:-1])} AS state,
        'Partner' AS acct_type, owner_uid, created
      FROM partners
      UNION ALL
      SELECT aid, first_name || ' ' || last_name, NULL, specialisation, NULL, country, state,
        'Customer', owner_uid, t_conv
      FROM p WHERE conv
    )
    SELECT aid, sfid('001', aid + 1) AS Id, name, website, industry, employees,
      NULL AS revenue, country, state, acct_type, NULL AS technologies, owner_uid,
      FALSE AS deleted, created,
      created + floor(rnd(aid, 0, 'a_mod') * ({w.END} - created))::BIGINT AS modified,
      rnd(aid, 0, 'a_sm') AS u_sm
    FROM a
    """)


def _activities(con, w: EducationWorld) -> None:
    """Table ``act``: one row per event (all to the JSONL files), with its time and page."""
    offsets, acc = [], []
    for type_id, col in _BEHAVIOURS:
        acc.append(col)
        offsets.append((type_id, " + ".join(acc)))
    type_case = " ".join(f"WHEN k < {o} THEN {t}" for t, o in offsets[:-1])
    pages = []
    for path, a, b in edu.PAGE_MIX:
        expr = _lit(path)
        if "{course}" in path:
            expr = (
                f"replace({expr}, '{{course}}', {_uniform([s for s, _ in edu.COURSES], 'pid', 'k', 'x_c')})"
            )
        if "{blog}" in path:
            expr = f"replace({expr}, '{{blog}}', {_uniform(edu.BLOG_SLUGS, 'pid', 'k', 'x_b')})"
        pages.append((expr, a, b))
    page = _tilted("rnd(pid, k, 'x_page')", "propensity", pages, raw=True)
    interest = _in([str(t) for t in (edu.VISIT, edu.BROCHURE, edu.MC_REG, edu.MC_ATT, edu.EMAIL_CLICK)])
    sales = _in([str(t) for t in (edu.SMS, edu.PHONE)])
    mail = _in([str(t) for t in (edu.EMAIL_OPEN, edu.EMAIL_CLICK)])
    con.execute(f"""
    CREATE TABLE act0 AS
    WITH e AS (
      SELECT pid, kind, propensity, latent, z_int, will_enrol, conv, t_lo, t_end, t_unsub, t_hard,
        {", ".join(col for _, col in _BEHAVIOURS)}, lead_source, unnest(range(n_act)) AS k
      FROM p WHERE n_act > 0
    ), t AS (
      SELECT *, (CASE {type_case} ELSE {offsets[-1][0]} END)::INTEGER AS type_id,
        greatest(0, t_end - t_lo - 60) AS span,
        rnd(pid, k, 'x_time') AS u
      FROM e
    ), h AS (
      SELECT *,
        CASE WHEN type_id IN {mail} THEN
               least(CASE WHEN conv THEN span ELSE {w.END} - 60 - t_lo END,
                     coalesce(t_unsub, {w.END}) - t_lo, coalesce(t_hard, {w.END}) - t_lo)
             ELSE span END AS horizon
      FROM t
    )
    SELECT pid::INTEGER AS pid, k::INTEGER AS k, type_id,
      CASE WHEN type_id = {edu.FORM} OR (type_id = {edu.CHAT} AND k < n_form + 1
                                          AND lead_source = {_lit(edu.OLARK_CHAT)}) THEN t_lo
           WHEN type_id = {edu.UNSUBSCRIBED} THEN t_unsub
           WHEN type_id = {edu.BOUNCED} THEN t_hard
           WHEN type_id IN {interest} AND type_id NOT IN {mail}
             THEN t_lo + floor(pow(u, CASE WHEN will_enrol THEN 0.7 ELSE 1.6 END) * span)::BIGINT
           WHEN type_id IN {sales}
             THEN t_lo + floor(pow(u, CASE WHEN will_enrol THEN 0.6 ELSE 1.0 END) * span)::BIGINT
           ELSE t_lo + floor(u * greatest(0, horizon))::BIGINT END AS ts,
      CASE WHEN type_id IN ({edu.VISIT}, {edu.CHAT}) THEN {page} END AS path,
      propensity, latent, z_int
    FROM h
    """)
    con.execute(f"""
    CREATE TABLE act AS
    SELECT *, TRUE AS jsonl,
      least({w.n_chunks - 1}, (ts - {w.START}) // {CHUNK_DAYS * DAY})::INTEGER AS chunk
    FROM act0
    """)
    con.execute("DROP TABLE act0")


def _event_columns() -> str:
    """The SELECT list of a JSONL event of this world."""
    site, live = edu.SITE, edu.LIVE_SITE

    def pick(values: Sequence[str], salt: str) -> str:
        return _uniform(values, "a.pid", "a.k", salt)

    event_type = (
        "CASE a.type_id " + " ".join(f"WHEN {t} THEN {_lit(n)}" for t, n in edu.EVENT_TYPES.items()) + " END"
    )
    course = f"{_column([s for s, _ in edu.COURSES], 'p.course_i')}"
    masterclass = f"{pick([s for s, _ in edu.MASTERCLASSES], 'j_mc')}"
    utm = (
        "CASE WHEN rnd(a.pid, a.k, 'j_utm') < 0.2 THEN '?utm_source=' || "
        + pick(("google", "facebook", "newsletter"), "j_utmv")
        + " ELSE '' END"
    )
    url = f"""CASE a.type_id
      WHEN {edu.FORM} THEN {_lit(site)} || '/courses/' || {course} || '/enquire'
      WHEN {edu.VISIT} THEN {_lit(site)} || a.path || {utm}
      WHEN {edu.CHAT} THEN {_lit(site)} || a.path
      WHEN {edu.BROCHURE} THEN {_lit(site)} || '/courses/' || {course} || '/brochure.pdf'
      WHEN {edu.MC_REG} THEN {_lit(site)} || '/masterclass/' || {masterclass}
      WHEN {edu.MC_ATT} THEN {_lit(live)} || '/masterclass/' || {masterclass}
      WHEN {edu.EMAIL_CLICK} THEN {_lit(site)} || '/courses/' || {course} || '?utm_source=email'
      WHEN {edu.UNSUBSCRIBED} THEN {_lit(site)} || '/unsubscribe'
    END"""
    # Time on site grows with interest and propensity; pages with time.
    tos = (
        "least(5400, greatest(5, round(exp(ln(140) + 0.45 * a.z_int + 0.25 * a.latent "
        "+ 0.9 * rnorm(a.pid, a.k, 'j_tos')))))::BIGINT"
    )
    course_name = _column([n for _, n in edu.COURSES], "p.course_i")
    props = f"""CASE a.type_id
      WHEN {edu.FORM} THEN json_object('form', 'Enquiry', 'course', {course_name})
      WHEN {edu.VISIT} THEN json_object('time_on_site_s', {tos},
        'pages_viewed', least(40, 1 + floor({tos} / 75.0 * rnd(a.pid, a.k, 'j_pv')))::BIGINT,
        'device', {pick(edu.DEVICES, "j_dev")}, 'referrer', {pick(edu.REFERRERS, "j_ref")})
      WHEN {edu.CHAT} THEN json_object('channel', 'olark', 'messages', 1 + rint(a.pid, a.k, 'j_msg', 12),
        'duration_s', 30 + rint(a.pid, a.k, 'j_cdur', 900))
      WHEN {edu.BROCHURE} THEN json_object('course', {course_name},
        'file_kb', 800 + rint(a.pid, a.k, 'j_kb', 2400))
      WHEN {edu.MC_REG} THEN json_object('masterclass', {masterclass})
      WHEN {edu.MC_ATT} THEN json_object('masterclass', {masterclass},
        'minutes_watched', 3 + floor(55 * pow(rnd(a.pid, a.k, 'j_min'), 1.0 - 0.5 * a.propensity))::BIGINT)
      WHEN {edu.EMAIL_OPEN} THEN json_object('campaign', {pick(edu.EMAIL_CAMPAIGNS, "j_camp")})
      WHEN {edu.EMAIL_CLICK} THEN json_object('campaign', {pick(edu.EMAIL_CAMPAIGNS, "j_camp")},
        'link', '/courses/' || {course})
      WHEN {edu.SMS} THEN json_object('template', {pick(edu.SMS_TEMPLATES, "j_sms")})
      WHEN {edu.PHONE} THEN json_object('duration_s',
        least(3600, greatest(20, round(exp(ln(240) + 0.3 * a.latent
                                           + 0.7 * rnorm(a.pid, a.k, 'j_pdur')))))::BIGINT)
      WHEN {edu.UNREACHABLE} THEN json_object('attempt', 1 + rint(a.pid, a.k, 'j_att', 4))
      WHEN {edu.BOUNCED} THEN json_object('reason', {_lit(edu.BOUNCE_REASON)})
      ELSE json_object()
    END"""
    return _jsonl_select(event_type, url, props)


def _person_view(con, w: EducationWorld) -> None:
    """Table ``person_view``: the CRM people with the fields the CRM shows."""
    employer = _column([n for n, _, _ in edu.EMPLOYERS], "employer")
    employees = _column([e for _, _, e in edu.EMPLOYERS], "employer")
    con.execute(f"""
    CREATE TABLE person_view AS
    WITH b AS (
      SELECT p.*, acct.Id AS account_id FROM p LEFT JOIN acct ON acct.aid = p.aid WHERE p.kind < 2
    )
    SELECT *,
      first_name || ' ' || last_name AS company_name,
      NULL::BIGINT AS employees,
      CASE WHEN kind = 1 OR (employer IS NOT NULL AND rnd(pid, 0, 'c_comp') < {RATES["employer_given"]})
           THEN {employer} END AS crm_company,
      specialisation AS crm_industry,
      CASE WHEN employer IS NOT NULL AND kind = 0 AND rnd(pid, 0, 'c_emp') < 0.3 THEN {employees} END
        AS crm_employees,
      NULL::DOUBLE AS crm_revenue,
      country AS crm_country,
      NULL AS crm_website,
      heard AS crm_tech,
      rnd(pid, 0, 'c_mod') AS u_mod,
      rnd(pid, 0, 'c_sm') AS u_sm,
      least({w.END}, greatest(
        CASE WHEN conv THEN t_conv
             ELSE t_lo + floor(rnd(pid, 0, 'c_mod') * ({w.END} - t_lo))::BIGINT END,
        coalesce(t_unsub, 0), coalesce(t_hard, 0))) AS modified
    FROM b
    """)


# SQL (on a Lead of person_view): its Status; unsubscribed or thrice unreachable people are
# given up on.
_LEAD_STATUS_SQL = lead_status_sql("unsub OR n_unreach >= 3 OR rnd(pid, 0, 'c_status') < 0.05")
# ... and the reason they were given up on (Lead.Disqualification_Reason__c).
_LEAD_REASON_SQL = lead_reason_sql(_LEAD_STATUS_SQL, "n_unreach >= 3", "'Not a fit'")


def _crm_tables(con, w: EducationWorld) -> None:
    _crm_users(con)
    _crm_accounts(con, w)
    _person_view(con, w)
    _crm_leads(
        con, w, {"State": "state", "Status": _LEAD_STATUS_SQL, "Disqualification_Reason__c": _LEAD_REASON_SQL}
    )
    _crm_contacts(con, w, {"MailingState": "state"})
    _crm_opportunities(
        con,
        w,
        {
            "Name": "company_name || ' - ' || course_name",
            "Amount": "round(course_fee * (0.8 + 0.2 * rnd(pid, 0, 'o_amt')), -1)",
        },
        open_stages=edu.OPEN_STAGES,
    )
    _crm_tasks(con, w, edu.TASK_KINDS)
    _crm_campaigns(con, w)
    _truth(con)


def _build(con, w: EducationWorld) -> None:
    _macros(con, w)
    _users(con, w, email_domain=edu.COMPANY_EMAIL_DOMAIN)
    _identities(con, w)
    _timelines(con, w)
    _partners(con, w)
    _people(con, w)
    _accounts(con, w)
    _activities(con, w)
    _crm_tables(con, w)


EDUCATION = Profile(PROFILE, EducationWorld, _build, _event_columns, marketo_leads=False)


def generate(out_dir: Path, landing_dir: Path, **options: Any) -> dict:
    """Generate the education world: :func:`lead_scoring_dev.generate.synthetic.generate` with
    this profile (the same options, files and summary, ``"profile": "education"`` in it, no
    Marketo files). ``activities_per_lead`` scales the repeatable behaviours."""
    return synthetic.generate(out_dir, landing_dir, profile=EDUCATION, **options)
