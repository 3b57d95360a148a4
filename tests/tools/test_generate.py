"""The synthetic CRM + MAP generator: determinism, schema, ids, time order, messiness, signal."""

from __future__ import annotations

import csv
import json
import re
import sys
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

try:
    import lead_scoring  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "plugins"))

from lead_scoring import crm_schema
from lead_scoring_dev.generate import synthetic
from lead_scoring_dev.generate.synthetic import (
    COMPETITOR_DOMAINS,
    PERSONAL_EMAIL_DOMAINS,
    UNSERVICED_COUNTRIES,
    generate,
)

LEADS, DAYS, SEED, APL = 2000, 60, 11, 20.0
END = datetime(2026, 11, 1, 10, 0, 0)
START = END - timedelta(days=DAYS)
MARKETO_HEADER = [
    "marketoGUID",
    "leadId",
    "activityDate",
    "activityTypeId",
    "primaryAttributeValue",
    "attributes",
]
MARKETO_TYPES = {1, 2, 6, 8, 27, 9, 10, 11, 100001, 100002, 100003, 100004, 100005, 100006}
JSONL_KEYS = ["event_id", "occurred_at", "email", "crm_id", "event_type", "url", "properties"]
DUCK_TYPES = crm_schema.DUCKDB_TYPES


def _run(base: Path, seed: int = SEED, **kw) -> tuple[Path, Path, dict]:
    out, landing = base / "out", base / "landing"
    kw.setdefault("crm_files", True)
    summary = generate(
        out, landing, leads=LEADS, days=DAYS, seed=seed, end=END, activities_per_lead=APL, **kw
    )
    return out, landing, summary


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    out, landing, summary = _run(tmp_path_factory.mktemp("a"))
    con = duckdb.connect()
    for obj in crm_schema.OBJECTS:
        parquet = out / "crm" / f"{obj}.parquet"
        con.execute(f"CREATE VIEW \"{obj}\" AS SELECT * FROM read_parquet('{parquet}')")
    con.execute(f"CREATE VIEW truth AS SELECT * FROM read_parquet('{out}/truth.parquet')")
    con.execute(
        f"CREATE VIEW mk AS SELECT * FROM read_csv('{landing}/map/marketo_activities_*.csv', "
        f"all_varchar=true, header=true)"
    )
    con.execute(
        f"CREATE VIEW mk_leads AS SELECT * FROM read_csv('{landing}/map/marketo_leads_*.csv', "
        f"all_varchar=true, header=true)"
    )
    jsonl_view(con, landing)
    # One activity stream with the CRM person it belongs to (via Marketo ids or JSONL ids).
    con.execute("""
    CREATE TABLE acts AS
    WITH ids AS (
      SELECT id AS mkto_id, coalesce(sfdcLeadId, sfdcContactId) AS crm_id FROM mk_leads
    ), m AS (
      SELECT ids.crm_id, strptime(activityDate, '%Y-%m-%dT%H:%M:%SZ') AS ts,
        CASE activityTypeId WHEN '1' THEN 'page_view' WHEN '2' THEN 'form_submit'
          WHEN '6' THEN 'email_sent' WHEN '8' THEN 'email_bounced_hard'
          WHEN '27' THEN 'email_bounced_soft' WHEN '9' THEN 'unsubscribe'
          WHEN '10' THEN 'email_open' WHEN '11' THEN 'email_click'
          WHEN '100001' THEN 'webinar_registered' WHEN '100002' THEN 'webinar_attended'
          WHEN '100003' THEN 'content_download' WHEN '100004' THEN 'demo_request'
          WHEN '100005' THEN 'free_trial_signup' WHEN '100006' THEN 'event_attended'
        END AS event_type,
        CASE WHEN activityTypeId = '1'
             THEN json_extract_string(attributes, '$."Webpage URL"') END AS path
      FROM mk LEFT JOIN ids ON ids.mkto_id = mk.leadId
    ), emails AS (
      SELECT lower(trim(Email)) AS email, min(Id) AS crm_id FROM "Lead" GROUP BY 1
    ), j AS (
      SELECT coalesce(js.crm_id, e.crm_id) AS crm_id,
        strptime(occurred_at, '%Y-%m-%dT%H:%M:%SZ') AS ts, event_type,
        regexp_extract(url, '^https://www\\.example-saas\\.com(/[^?]*)', 1) AS path
      FROM js LEFT JOIN emails e ON e.email = lower(trim(js.email))
    )
    SELECT * FROM m UNION ALL SELECT * FROM j
    """)
    yield {"out": out, "landing": landing, "summary": summary, "con": con}
    con.close()


def jsonl_view(con: duckdb.DuckDBPyConnection, landing: Path) -> None:
    """View ``js``: the JSONL events under ``landing/map``, properties as JSON."""
    con.execute(
        f"CREATE VIEW js AS SELECT * FROM read_json('{landing}/map/events_*.jsonl', "
        f"format='newline_delimited', columns={{event_id: 'VARCHAR', occurred_at: 'VARCHAR', "
        f"email: 'VARCHAR', crm_id: 'VARCHAR', event_type: 'VARCHAR', url: 'VARCHAR', "
        f"properties: 'JSON'}})"
    )


def q(world, sql):
    return world["con"].execute(sql).fetchall()


def one(world, sql):
    return q(world, sql)[0][0]


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --- summary, determinism ---------------------------------------------------------------------
def test_summary_is_written_and_complete(world):
    s = world["summary"]
    assert json.loads((world["out"] / "generated.json").read_text()) == s
    assert {"seed", "leads", "days", "end", "start", "counts"} <= set(s)
    assert (s["seed"], s["leads"], s["days"]) == (SEED, LEADS, DAYS)
    assert s["end"] == "2026-11-01T10:00:00Z" and s["start"] == "2026-09-02T10:00:00Z"
    for obj in crm_schema.OBJECTS:
        assert s["counts"][obj] == one(world, f'SELECT count(*) FROM "{obj}"')
        # every object but the nurture members, which leadscore's write-back creates
        assert (s["counts"][obj] > 0) == (obj != "CampaignMember"), obj
    assert s["counts"]["Campaign"] == 1  # the seed's nurture Campaign, made by a marketer
    assert s["counts"]["Lead"] == LEADS
    assert not list(world["out"].glob(".generate-*")), "temporary folder left behind"


def test_same_seed_is_byte_identical_and_other_seed_differs(world, tmp_path):
    out_b, landing_b, summary_b = _run(tmp_path / "b")
    assert summary_b == world["summary"]
    a, b = _files(world["out"]), _files(out_b)
    assert a.keys() == b.keys() and a == b
    la, lb = _files(world["landing"]), _files(landing_b)
    assert la.keys() == lb.keys()
    assert [k for k in la if la[k] != lb[k]] == []

    out_c, landing_c, _ = _run(tmp_path / "c", seed=SEED + 1, crm_files=False)
    c = _files(out_c)
    assert c["crm/Lead.parquet"] != a["crm/Lead.parquet"]
    lc = _files(landing_c)
    mk = [k for k in lc if k.startswith("map/marketo_activities_")]
    assert mk and all(lc[k] != la.get(k) for k in mk)


# --- CRM objects -----------------------------------------------------------------------------
@pytest.mark.parametrize("obj", list(crm_schema.OBJECTS))
def test_columns_and_types_match_crm_schema(world, obj):
    cols = q(world, f'DESCRIBE SELECT * FROM "{obj}"')
    assert [c[0] for c in cols] == crm_schema.fields(obj)
    expected = [DUCK_TYPES[t] for t in crm_schema.OBJECTS[obj].values()]
    assert [c[1] for c in cols] == expected


@pytest.mark.parametrize("obj", list(crm_schema.OBJECTS))
def test_ids_are_unique_18_chars_with_prefix(world, obj):
    prefix = crm_schema.ID_PREFIX[obj]
    n, distinct, good = q(
        world,
        f"""
        SELECT count(*), count(DISTINCT Id),
          count(*) FILTER (WHERE length(Id) = 18 AND Id[1:3] = '{prefix}')
        FROM "{obj}" """,
    )[0]
    assert n == distinct == good


def test_references_point_at_existing_records(world):
    checks = {
        "User.ManagerId": 'SELECT ManagerId FROM "User"',
        "Account.OwnerId": 'SELECT OwnerId FROM "Account"',
        "Lead.OwnerId": 'SELECT OwnerId FROM "Lead"',
        "Contact.OwnerId": 'SELECT OwnerId FROM "Contact"',
        "Opportunity.OwnerId": 'SELECT OwnerId FROM "Opportunity"',
        "Task.OwnerId": 'SELECT OwnerId FROM "Task"',
    }
    for name, sql in checks.items():
        assert (
            one(
                world,
                f'SELECT count(*) FROM ({sql}) t(x) WHERE x IS NOT NULL AND x NOT IN (SELECT Id FROM "User")',
            )
            == 0
        ), name
    refs = [
        ("Contact", "AccountId", "Account"),
        ("Opportunity", "AccountId", "Account"),
        ("Opportunity", "ContactId", "Contact"),
        ("Lead", "ConvertedAccountId", "Account"),
        ("Lead", "ConvertedContactId", "Contact"),
        ("Lead", "ConvertedOpportunityId", "Opportunity"),
    ]
    for obj, col, target in refs:
        assert (
            one(
                world,
                f'SELECT count(*) FROM "{obj}" WHERE {col} IS NOT NULL '
                f'AND {col} NOT IN (SELECT Id FROM "{target}")',
            )
            == 0
        ), (obj, col)
    assert one(world, 'SELECT count(*) FROM "Contact" WHERE AccountId IS NULL') == 0
    assert (
        one(
            world,
            """SELECT count(*) FROM "Task" WHERE WhoId NOT IN
        (SELECT Id FROM "Lead" UNION ALL SELECT Id FROM "Contact")""",
        )
        == 0
    )


def test_users_reps_teams_and_managers(world):
    active_reps = one(
        world,
        """SELECT count(*) FROM "User" WHERE IsActive
        AND Department IN ('Sales - NA', 'Sales - EMEA', 'Sales - APAC', 'SDR')
        AND ManagerId IS NOT NULL""",
    )
    assert active_reps >= max(8, LEADS // 250)
    assert one(world, 'SELECT count(*) FROM "User" WHERE NOT IsActive') >= 2
    depts = {r[0] for r in q(world, 'SELECT DISTINCT Department FROM "User"')}
    assert {"Sales - NA", "Sales - EMEA", "Sales - APAC", "SDR"} <= depts
    # every manager is a User in the same team, managed by the VP
    bad = one(
        world,
        """SELECT count(*) FROM "User" u JOIN "User" m ON m.Id = u.ManagerId
        WHERE u.Department <> m.Department AND m.Department <> 'Sales Leadership'""",
    )
    assert bad == 0
    assert one(world, 'SELECT count(*) FROM "User" WHERE TimeZoneSidKey IS NULL') == 0


def test_accounts_and_leads_look_like_b2b(world):
    n_acc = one(world, 'SELECT count(*) FROM "Account"')
    assert abs(n_acc - LEADS / 4) <= 2
    n_con = one(world, 'SELECT count(*) FROM "Contact"')
    assert n_con >= LEADS // 3
    emp = q(
        world,
        'SELECT min(NumberOfEmployees), max(NumberOfEmployees), median(NumberOfEmployees) FROM "Account"',
    )[0]
    assert emp[0] >= 1 and emp[1] <= 200000 and emp[2] < 1000
    assert (
        one(
            world,
            """SELECT count(*) FROM "Account" WHERE BillingCountry IN
        ('United States', 'Canada') AND BillingState IS NULL""",
        )
        < 0.1 * n_acc
    )
    assert (
        one(
            world,
            """SELECT count(*) FROM "Account" WHERE BillingState IS NOT NULL
        AND BillingCountry NOT IN ('United States', 'Canada')""",
        )
        == 0
    )
    websites = [r[0] for r in q(world, 'SELECT Website FROM "Account" WHERE Website IS NOT NULL')]
    assert any(w.startswith("https://www.") for w in websites)
    assert any(w.startswith("http://") for w in websites)
    assert any(not w.startswith("http") for w in websites)
    assert any(w != w.lower() for w in websites)
    tech = one(world, "SELECT count(*) FROM \"Account\" WHERE Technologies__c LIKE '%;%'")
    assert tech > 0.3 * n_acc
    assert one(world, 'SELECT count(*) FROM "Lead" WHERE Technologies__c IS NOT NULL') > 0
    # most leads at an account's domain, company data copied from it
    at_account = one(
        world,
        """SELECT count(*) FROM "Lead" l JOIN "Account" a
        ON lower(split_part(trim(l.Email), '@', 2)) = regexp_extract(lower(coalesce(a.Website, '')),
           '^(?:https?://)?(?:www\\.)?(.*)$', 1)
        WHERE l.Company = a.Name""",
    )
    assert at_account > 0.6 * LEADS
    titles = {r[0] for r in q(world, 'SELECT DISTINCT Title FROM "Lead"')}
    assert {"VP Marketing", "Director of Revenue Operations", "Head of Growth", "CEO"} <= titles


def test_score_fields_are_null(world):
    for obj in ("Lead", "Contact", "Account"):
        for field in crm_schema.WRITABLE_FIELDS[obj]:
            if field == "OwnerId":
                continue
            assert one(world, f'SELECT count("{field}") FROM "{obj}"') == 0, (obj, field)


def test_time_ordering(world):
    for obj in crm_schema.OBJECTS:
        bad = one(
            world,
            f"""SELECT count(*) FROM "{obj}" WHERE NOT (
            CreatedDate <= LastModifiedDate AND LastModifiedDate <= SystemModstamp
            AND SystemModstamp <= TIMESTAMP '{END}')""",
        )
        assert bad == 0, obj
    # tasks come after the record they are about
    assert (
        one(
            world,
            """SELECT count(*) FROM "Task" t JOIN
        (SELECT Id, CreatedDate FROM "Lead" UNION ALL SELECT Id, CreatedDate FROM "Contact") w
        ON w.Id = t.WhoId WHERE t.CreatedDate < w.CreatedDate""",
        )
        == 0
    )
    # response delays vary from minutes to days
    delays = q(
        world,
        """SELECT quantile_cont(epoch(t.first) - epoch(l.CreatedDate), [0.1, 0.9])
        FROM "Lead" l JOIN (SELECT WhoId, min(CreatedDate) AS first FROM "Task" GROUP BY 1) t
        ON t.WhoId = l.Id WHERE NOT l.IsConverted""",
    )[0][0]
    assert delays[0] < 3 * 3600 and delays[1] > 86400
    # activities inside the window, but for the later activity (test_later_activity_after_the_end)
    lo, hi = q(world, "SELECT min(ts), max(ts) FROM acts")[0]
    assert START <= lo and hi <= END + timedelta(hours=synthetic.LATE_HOURS)
    assert one(world, f"SELECT max(ts) FROM acts WHERE ts <= TIMESTAMP '{END}'") > END - timedelta(hours=6)
    # conversions: after the lead was created, with opportunity and contact created then
    assert (
        one(
            world,
            """SELECT count(*) FROM "Lead" l JOIN "Opportunity" o
        ON o.Id = l.ConvertedOpportunityId JOIN "Contact" c ON c.Id = l.ConvertedContactId
        WHERE NOT (l.IsConverted AND l.ConvertedDate = o.CreatedDate::DATE
                   AND o.CreatedDate = c.CreatedDate AND l.CreatedDate <= o.CreatedDate
                   AND lower(trim(c.Email)) = lower(trim(l.Email)))""",
        )
        == 0
    )
    closed = q(
        world,
        """SELECT count(*) FILTER (WHERE IsWon),
        count(*) FILTER (WHERE IsClosed AND NOT IsWon),
        count(*) FILTER (WHERE NOT IsClosed), count(*) FILTER (WHERE IsWon AND NOT IsClosed)
        FROM "Opportunity" """,
    )[0]
    assert closed[0] > 0 and closed[1] > 0 and closed[2] > 0 and closed[3] == 0


def test_conversion_follows_the_signals(world):
    # every converted lead had a demo request or trial sign-up and a pricing visit before it
    missing = one(
        world,
        """SELECT count(*) FROM "Lead" l WHERE l.IsConverted AND NOT EXISTS (
        SELECT 1 FROM acts a JOIN "Opportunity" o ON o.Id = l.ConvertedOpportunityId
        WHERE a.crm_id = l.Id AND a.event_type IN ('demo_request', 'free_trial_signup')
          AND a.ts <= o.CreatedDate)""",
    )
    n_conv = one(world, 'SELECT count(*) FROM "Lead" WHERE IsConverted')
    assert n_conv > 0.02 * LEADS
    # a few have their Marketo link only by email (not mapped here) or a JSONL crm_id after
    assert missing <= 0.2 * n_conv


def test_converters_show_more_pricing_and_demo_signals(world):
    rows = q(
        world,
        """
      WITH t AS (SELECT crm_id, converted FROM truth WHERE crm_object = 'Lead'),
      per AS (
        SELECT t.crm_id, t.converted,
          avg(CASE WHEN a.path IN ('/pricing', '/demo') OR a.event_type = 'demo_request'
                   THEN 1.0 ELSE 0.0 END) AS share,
          sum(CASE WHEN a.path IN ('/pricing', '/demo') OR a.event_type = 'demo_request'
                   THEN 1 ELSE 0 END) AS hits, count(*) AS n
        FROM acts a JOIN t USING (crm_id) GROUP BY ALL
      )
      SELECT converted, avg(share), sum(hits) / sum(n) FROM per GROUP BY 1 ORDER BY 1""",
    )
    (_, person_no, pooled_no), (_, person_yes, pooled_yes) = rows
    assert person_yes > 2.5 * person_no, rows
    assert pooled_yes > 1.8 * pooled_no, rows
    # and the hidden propensity is what drives conversion
    p_no, p_yes = [
        r[1]
        for r in q(
            world,
            """SELECT converted, avg(propensity) FROM truth
        WHERE crm_object = 'Lead' GROUP BY 1 ORDER BY 1""",
        )
    ]
    assert p_yes > 1.8 * p_no
    # low-propensity people read the blog and careers pages more
    blog = q(
        world,
        """SELECT t.propensity > 0.3, avg(CASE WHEN a.path LIKE '/blog/%'
        OR a.path LIKE '/careers%' THEN 1.0 ELSE 0.0 END)
        FROM acts a JOIN truth t USING (crm_id) WHERE a.event_type = 'page_view'
        GROUP BY 1 ORDER BY 1""",
    )
    assert blog[0][1] > 1.5 * blog[1][1]


def test_truth_covers_every_person(world):
    assert (
        one(
            world,
            """SELECT count(*) FROM
        (SELECT Id FROM "Lead" UNION ALL SELECT Id FROM "Contact")
        WHERE Id NOT IN (SELECT crm_id FROM truth)""",
        )
        == 0
    )
    assert one(world, "SELECT count(*) - count(DISTINCT crm_id) FROM truth") == 0
    cols = [c[0] for c in q(world, "DESCRIBE SELECT * FROM truth")]
    assert cols == ["crm_id", "crm_object", "propensity", "converted", "won"]
    assert (
        one(
            world,
            """SELECT count(*) FROM truth t JOIN "Lead" l ON l.Id = t.crm_id
        WHERE t.converted <> l.IsConverted""",
        )
        == 0
    )
    assert one(world, "SELECT count(*) FROM truth WHERE won AND NOT converted") == 0


# --- messiness -------------------------------------------------------------------------------
def test_messiness_is_present(world):
    n = LEADS
    dom = "lower(split_part(trim(Email), '@', 2))"
    personal = one(world, f'SELECT count(*) FROM "Lead" WHERE {dom} IN {PERSONAL_EMAIL_DOMAINS}')
    competitor = one(world, f'SELECT count(*) FROM "Lead" WHERE {dom} IN {COMPETITOR_DOMAINS}')
    assert 0.01 * n < personal < 0.12 * n
    assert 0.005 * n < competitor < 0.06 * n
    students = one(
        world,
        """SELECT count(*) FROM "Lead" WHERE Title IN
        ('Student', 'Intern', 'Marketing Intern', 'Graduate Student', 'Unemployed')""",
    )
    assert 0.01 * n < students < 0.08 * n
    unserviced = one(world, f'SELECT count(*) FROM "Account" WHERE BillingCountry IN {UNSERVICED_COUNTRIES}')
    assert unserviced > 0
    # unsubscribes and hard bounces: on the CRM record and as MAP events
    opted = one(world, 'SELECT count(*) FROM "Lead" WHERE HasOptedOutOfEmail')
    bounced = one(
        world,
        """SELECT count(*) FROM "Lead" WHERE EmailBouncedDate IS NOT NULL
        AND EmailBouncedReason IS NOT NULL""",
    )
    assert 0.005 * n < opted < 0.08 * n and 0.003 * n < bounced < 0.06 * n
    assert one(world, "SELECT count(*) FROM mk WHERE activityTypeId = '9'") >= opted
    assert one(world, "SELECT count(*) FROM mk WHERE activityTypeId = '8'") >= bounced
    assert one(world, "SELECT count(*) FROM mk WHERE activityTypeId = '27'") > 0
    # duplicates: a Lead with a Contact's email; Leads differing only in case/whitespace
    lead_contact = one(
        world,
        """SELECT count(*) FROM "Lead" l JOIN "Contact" c
        ON lower(trim(c.Email)) = lower(trim(l.Email)) WHERE NOT l.IsConverted""",
    )
    assert lead_contact > 0.003 * n
    near = one(
        world,
        """SELECT count(*) FROM (SELECT lower(trim(Email)) e, count(DISTINCT Email) d
        FROM "Lead" GROUP BY 1 HAVING count(*) > 1 AND d > 1)""",
    )
    assert near > 0.003 * n
    # and no accidental duplicates among normal people
    exact = one(
        world,
        """SELECT count(*) FROM
        (SELECT Email FROM "Lead" GROUP BY 1 HAVING count(*) > 1)""",
    )
    assert exact == 0
    # missing fields
    for field in ("Industry", "Country", "Title", "NumberOfEmployees"):
        nulls = one(world, f'SELECT count(*) - count("{field}") FROM "Lead"')
        assert 0.01 * n < nulls < 0.4 * n, field
    # deleted records
    for obj in ("Lead", "Contact", "Task"):
        assert one(world, f'SELECT count(*) FROM "{obj}" WHERE IsDeleted') > 0, obj


def test_careers_only_and_inactive_people(world):
    careers_only = one(
        world,
        """SELECT count(*) FROM (
        SELECT crm_id FROM acts WHERE crm_id IS NOT NULL GROUP BY 1
        HAVING bool_and(event_type = 'page_view' AND path LIKE '/careers%') AND count(*) >= 2)""",
    )
    assert careers_only > 0.005 * LEADS
    # inactive: CRM people created over 90 days ago with no activity in the last 90 days
    inactive = one(
        world,
        f"""SELECT count(*) FROM "Lead" l
        WHERE l.CreatedDate < TIMESTAMP '{END}' - INTERVAL 90 DAY
        AND NOT EXISTS (SELECT 1 FROM acts a WHERE a.crm_id = l.Id
                        AND a.ts >= TIMESTAMP '{END}' - INTERVAL 90 DAY)""",
    )
    assert inactive > 0.02 * LEADS


def test_marketo_identity_map(world):
    n_ids, n_rows = q(world, "SELECT count(DISTINCT id), count(*) FROM mk_leads")[0]
    assert n_ids == n_rows
    assert one(world, "SELECT count(*) FROM mk WHERE leadId NOT IN (SELECT id FROM mk_leads)") == 0
    email_only = one(
        world,
        """SELECT count(*) FROM mk_leads WHERE sfdcLeadId IS NULL
        AND sfdcContactId IS NULL
        AND email IN (SELECT Email FROM "Lead" UNION ALL SELECT Email FROM "Contact")""",
    )
    unknown = one(
        world,
        """SELECT count(*) FROM mk_leads
        WHERE sfdcLeadId IS NULL AND sfdcContactId IS NULL
        AND lower(email) NOT IN (SELECT lower(trim(Email)) FROM "Lead" UNION ALL
                                 SELECT lower(trim(Email)) FROM "Contact")""",
    )
    assert email_only > 0.03 * n_rows and 0 < unknown < 0.05 * n_rows
    assert (
        one(
            world,
            """SELECT count(*) FROM mk_leads WHERE sfdcLeadId IS NOT NULL
        AND sfdcLeadId NOT IN (SELECT Id FROM "Lead")""",
        )
        == 0
    )
    assert (
        one(
            world,
            """SELECT count(*) FROM mk_leads WHERE sfdcContactId IS NOT NULL
        AND sfdcContactId NOT IN (SELECT Id FROM "Contact")""",
        )
        == 0
    )
    assert one(world, "SELECT count(*) FROM mk_leads WHERE NOT regexp_matches(id, '^[0-9]+$')") == 0


# --- landing files -----------------------------------------------------------------------------
def test_later_activity_after_the_end(world):
    """A few dozen open people with a company address request a demo and view the pricing
    page (some also sign up for a trial) within LATE_HOURS after the end: nothing else
    happens after it, and the CRM knows nothing of it (test_time_ordering)."""
    late = q(
        world,
        f"""SELECT a.crm_id, a.event_type, coalesce(a.path, '') AS path, a.ts
        FROM acts a WHERE a.ts > TIMESTAMP '{END}'""",
    )
    people = {crm_id for crm_id, _, _, _ in late if crm_id is not None}
    assert 10 <= len(people) <= 40, len(people)  # LATE_SHARE of 2,667 CRM people
    assert {(kind, path) for _, kind, path, _ in late} <= {
        ("demo_request", ""),
        ("page_view", "/pricing"),
        ("free_trial_signup", ""),
    } | {("demo_request", "/demo"), ("free_trial_signup", "/pricing")}
    assert max(ts for *_, ts in late) <= END + timedelta(hours=synthetic.LATE_HOURS)
    # each of them requests a demo and views the pricing page (a channel may carry only the
    # e-mail address, so count events, not people); half of them sign up for a trial too
    demos = [ts for _, kind, _, ts in late if kind == "demo_request"]
    assert len(demos) == sum(1 for _, kind, _, _ in late if kind == "page_view") >= len(people)
    assert 0 < sum(1 for _, kind, _, _ in late if kind == "free_trial_signup") < len(demos)
    # some in each hour
    assert 0 < sum(1 for ts in demos if ts <= END + timedelta(hours=1)) < len(demos)
    # open people only: not converted, not deleted, not unsubscribed
    people_list = ", ".join(f"'{c}'" for c in people)
    assert (
        one(
            world,
            f"""SELECT count(*) FROM (SELECT Id, IsConverted, IsDeleted, HasOptedOutOfEmail FROM "Lead"
            UNION ALL SELECT Id, FALSE, IsDeleted, HasOptedOutOfEmail FROM "Contact")
            WHERE Id IN ({people_list}) AND (IsConverted OR IsDeleted OR HasOptedOutOfEmail)""",
        )
        == 0
    )


def test_unreachable_leads_end_could_not_contact_and_closed_leads_carry_a_reason(world):
    """A share of the unconverted Leads a rep owns cannot be reached: 6-9 owner Tasks, all
    after the person's last activity; with 3 or more made they end as Could Not Contact or
    Closed - Not Converted with reason Unable to contact. Every closed not-converted Lead has
    a reason, no other Lead has one."""
    reasons = dict(
        q(
            world,
            """SELECT coalesce(Disqualification_Reason__c, '(none)'), count(*) FROM "Lead"
            WHERE Status = 'Closed - Not Converted' GROUP BY 1""",
        )
    )
    assert "(none)" not in reasons
    assert set(reasons) == {
        "Not a fit",
        "No budget",
        "Duplicate",
        "Competitor",
        "Student",
        "Unable to contact",
    }
    assert (
        one(
            world,
            """SELECT count(*) FROM "Lead" WHERE Status <> 'Closed - Not Converted'
        AND Disqualification_Reason__c IS NOT NULL""",
        )
        == 0
    )
    unreachable = q(
        world,
        f"""WITH owner_tasks AS (
          SELECT l.Id, l.Status, count(*) AS tasks, min(t.CreatedDate) AS first_task
          FROM "Lead" l JOIN "Task" t ON t.WhoId = l.Id AND t.OwnerId = l.OwnerId
          WHERE l.Status = 'Could Not Contact' OR l.Disqualification_Reason__c = 'Unable to contact'
          GROUP BY 1, 2
        ), last_activity AS (
          SELECT crm_id, max(ts) AS last_ts FROM acts WHERE ts <= TIMESTAMP '{END}' GROUP BY 1
        ), shared_email AS (
          -- acts credits a JSONL event sent by e-mail to the first Lead with the address
          SELECT lower(trim(Email)) AS email
          FROM (SELECT Email FROM "Lead" UNION ALL SELECT Email FROM "Contact")
          GROUP BY 1 HAVING count(*) > 1
        )
        SELECT o.Id, o.Status, o.tasks, o.first_task,
          CASE WHEN s.email IS NULL THEN a.last_ts END AS last_ts
        FROM owner_tasks o JOIN "Lead" l ON l.Id = o.Id
        LEFT JOIN last_activity a ON a.crm_id = o.Id
        LEFT JOIN shared_email s ON s.email = lower(trim(l.Email))""",
    )
    statuses = {status for _, status, *_ in unreachable}
    assert statuses == {"Could Not Contact", "Closed - Not Converted"}
    open_rep_leads = one(
        world,
        """SELECT count(*) FROM "Lead" l JOIN "User" u ON u.Id = l.OwnerId
        WHERE NOT l.IsConverted AND u.Department LIKE 'Sales%'""",
    )
    assert 0.04 * open_rep_leads < len(unreachable) < 0.2 * open_rep_leads
    # the owner's Tasks (a tenth are logged by a colleague) come after the person went quiet
    assert all(tasks >= 2 for _, _, tasks, _, _ in unreachable)
    assert all(last is None or first > last for _, _, _, first, last in unreachable)
    # enough unanswered attempts for max_attempts (6) on some
    assert sum(1 for _, _, tasks, _, _ in unreachable if tasks >= 6) >= 10


def test_marketo_activity_files(world):
    files = sorted((world["landing"] / "map").glob("marketo_activities_*.csv"))
    assert len(files) == -(-DAYS // 30)
    assert files[0].name == f"marketo_activities_{START:%Y%m%d}.csv"
    guids = set()
    iso = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
    for f in files:
        with f.open(newline="") as fh:
            reader = csv.reader(fh)
            assert next(reader) == MARKETO_HEADER
            for row in reader:
                guid, lead_id, date, type_id, primary, attrs = row
                assert guid not in guids
                guids.add(guid)
                assert lead_id.isdigit() and iso.match(date)
                assert int(type_id) in MARKETO_TYPES
                parsed = json.loads(attrs)
                assert isinstance(parsed, dict) and parsed
                assert primary
                if type_id == "1":
                    assert primary == "https://www.example-saas.com" + parsed["Webpage URL"]
    paths = {r[0] for r in q(world, "SELECT DISTINCT path FROM acts WHERE path IS NOT NULL")}
    for expected in ("/", "/pricing", "/product", "/product/integrations", "/careers", "/demo"):
        assert expected in paths
    for prefix in ("/blog/", "/docs/", "/customers/", "/careers/"):
        assert any(p.startswith(prefix) for p in paths), prefix


def test_jsonl_event_files(world):
    files = sorted((world["landing"] / "map").glob("events_*.jsonl"))
    assert files
    allowed = set(synthetic.ACTIVITY_TYPES.values())
    n = 0
    for f in files:
        for line in f.read_text().splitlines():
            event = json.loads(line)
            n += 1
            assert list(event) == JSONL_KEYS
            assert event["email"] or event["crm_id"]
            assert isinstance(event["properties"], dict)
            assert event["event_type"] in allowed
            assert re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", event["occurred_at"])
            if event["event_type"] == "page_view":
                assert event["url"].startswith("https://www.example-saas.com/")
    assert n == world["summary"]["counts"]["jsonl_events"]
    ids = one(world, "SELECT count(DISTINCT event_id) FROM js")
    assert ids == n
    kinds = q(
        world,
        """SELECT count(*) FILTER (WHERE email IS NOT NULL AND crm_id IS NOT NULL),
        count(*) FILTER (WHERE email IS NULL), count(*) FILTER (WHERE crm_id IS NULL) FROM js""",
    )[0]
    assert all(k > 0 for k in kinds)


def test_activity_volume_and_channel_split(world):
    counts = world["summary"]["counts"]
    total = counts["marketo_activities"] + counts["jsonl_events"]
    assert counts["activities"] == total
    assert abs(total - LEADS * APL) <= 0.25 * LEADS * APL
    assert total == one(world, "SELECT count(*) FROM acts")
    assert 0.2 < counts["jsonl_events"] / total < 0.4
    # skewed: many people with few activities, some with many
    q10, q50, q90, top = q(
        world,
        """
        SELECT quantile_cont(n, 0.1), median(n), quantile_cont(n, 0.9), max(n)
        FROM (SELECT crm_id, count(*) n FROM acts WHERE crm_id IS NOT NULL GROUP BY 1)""",
    )[0]
    assert q50 < APL and q90 > 2 * q50 and top > 5 * q50 and q10 <= 3


def test_data_loader_csvs(world):
    iso_ms = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000Z$")
    stamp = END.strftime("%Y%m%dT%H%M")
    for obj, fields in crm_schema.OBJECTS.items():
        path = world["landing"] / "crm" / obj / f"{obj}_{stamp}.csv"
        # the exports of the objects leadscore reads; none for Campaigns it only finds by name
        assert path.exists() == (obj in crm_schema.EXTRACT_ORDER), path
        if not path.exists():
            continue
        with path.open(newline="") as fh:
            rows = list(csv.reader(fh))
        assert rows[0] == list(fields)
        assert len(rows) - 1 == world["summary"]["counts"][obj]
        for i, (name, ftype) in enumerate(fields.items()):
            values = {r[i] for r in rows[1:]} - {""}
            if ftype == "datetime":
                assert all(iso_ms.match(v) for v in values), (obj, name)
            elif ftype == "boolean":
                assert values <= {"true", "false"}, (obj, name)
            elif ftype == "date":
                assert all(re.match(r"^\d{4}-\d{2}-\d{2}$", v) for v in values), (obj, name)


# --- re-runs and CLI -----------------------------------------------------------------------------
def test_rerun_wipes_only_generated_files(tmp_path):
    out, landing = tmp_path / "out", tmp_path / "landing"
    (landing / "map").mkdir(parents=True)
    keep = landing / "map" / "from_a_real_export.csv"
    keep.write_text("x\n")
    generate(out, landing, leads=300, days=45, seed=1, end=END, crm_files=True)
    first = {p.name for p in landing.rglob("*") if p.is_file()}
    generate(out, landing, leads=300, days=45, seed=1, end=END + timedelta(days=3))
    second = {p.name for p in landing.rglob("*") if p.is_file()}
    assert keep.exists()
    assert not any(n.startswith("Lead_") for n in second)  # old Data Loader files are gone
    assert f"marketo_leads_{(END + timedelta(days=3)):%Y%m%d}.csv" in second
    old_leads_file = f"marketo_leads_{END:%Y%m%d}.csv"
    assert old_leads_file in first and old_leads_file not in second
    expected = sorted(f"{o}.parquet" for o in crm_schema.OBJECTS)
    assert sorted(p.name for p in (out / "crm").iterdir()) == expected


def test_default_end_is_the_current_hour(tmp_path):
    s = generate(tmp_path / "o", tmp_path / "l", leads=50, days=5, activities_per_lead=3)
    end = datetime.strptime(s["end"], "%Y-%m-%dT%H:%M:%SZ")
    now = synthetic.default_end()
    assert end.minute == end.second == 0 and abs((now - end).total_seconds()) <= 3600
    assert s["counts"]["Lead"] == 50


def test_cli_subcommand(tmp_path, monkeypatch, capsys):
    import argparse

    from lead_scoring_dev.generate import cli

    monkeypatch.setenv("LEADSCORE_HOME", str(tmp_path))
    monkeypatch.setenv("LEADSCORE_LANDING", str(tmp_path / "landing"))
    monkeypatch.setenv("LEADSCORE_VAR", str(tmp_path / "var"))  # not the caller's
    parser = argparse.ArgumentParser(prog="leadscore")
    sub = parser.add_subparsers(dest="command", required=True)
    cli.add_subparser(sub)
    args = parser.parse_args(
        [
            "generate",
            "--leads",
            "120",
            "--days",
            "20",
            "--seed",
            "3",
            "--end",
            "2026-11-01T10:00:00Z",
            "--activities-per-lead",
            "5",
            "--crm-files",
            "--no-sandbox",
        ]
    )
    assert args.func(args) == 0
    out = tmp_path / "var" / "generated"
    summary = json.loads((out / "generated.json").read_text())
    assert (summary["leads"], summary["seed"]) == (120, 3)
    assert summary["end"] == "2026-11-01T10:00:00Z"
    assert (tmp_path / "landing" / "crm" / "Lead" / "Lead_20261101T1000.csv").exists()
    assert list((tmp_path / "landing" / "map").glob("marketo_activities_*.csv"))
    assert "Lead" in capsys.readouterr().out
    args = parser.parse_args(
        [
            "generate",
            "--leads",
            "10",
            "--out",
            str(tmp_path / "o2"),
            "--end",
            "2026-11-01T12:30:00+02:00",
            "--no-sandbox",
        ]
    )
    assert args.func(args) == 0
    summary = json.loads((tmp_path / "o2" / "generated.json").read_text())
    assert summary["end"] == "2026-11-01T10:30:00Z"


def test_vocabulary_is_consistent_with_the_scoring_seeds():
    from lead_scoring_dev.generate import vocab

    assert len(vocab.PERSONAL_EMAIL_DOMAINS) == len(vocab.PERSONAL_EMAIL_WEIGHTS)
    assert len(vocab.COMPETITOR_DOMAINS) == len(vocab.COMPETITOR_NAMES)
    assert set(vocab.ACTIVITY_TYPES) == MARKETO_TYPES
    seed = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "email_domain_lists.csv"
    if not seed.exists():
        pytest.skip("no dbt seed of email domains")
    with seed.open(newline="") as fh:
        lists: dict[str, set[str]] = {}
        for row in csv.DictReader(fh):
            lists.setdefault(row["list_name"], set()).add(row["domain"])
    assert set(PERSONAL_EMAIL_DOMAINS) <= lists.get("personal", set())
    assert set(COMPETITOR_DOMAINS) <= lists.get("competitor", set())
