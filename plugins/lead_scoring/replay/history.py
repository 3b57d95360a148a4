"""Point-in-time raw data for a backtest, in a scratch DuckDB file.

The raw CRM tables hold every version the pipeline ever loaded, but history loaded in one go
(the first extract, a Data Loader export, the demo) has one version per record: the latest,
stamped with its last ``SystemModstamp``. Staging keeps the versions with
``systemmodstamp <= as_of``, so on an earlier day such a record would not exist at all, and a
converted Lead would only appear after its conversion.

``prepare`` copies ``raw_salesforce.*`` and ``raw_map.*`` into the scratch file and, for each
record whose first known version is newer than its ``CreatedDate``, adds a *created* version
stamped ``CreatedDate``: the same attributes (the only ones we know), with the fields that
record later events reset (conversion, opt-out, bounce, deletion, closing/winning an
opportunity). MAP activities are timestamped and need nothing. From then on the dbt models'
own ``as_of`` filters give each day only the data known then.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import duckdb

from lead_scoring import warehouse

log = logging.getLogger(__name__)

# The learned points tables: the replay scores with the promoted version, like the live run.
MODEL_TABLES = "'model_versions', 'model_points', 'model_bin_values'"

# Fields describing what happened after creation, and their value before it happened.
RESET_AT_CREATION: dict[str, dict[str, str]] = {
    "lead": {
        "isconverted": "false",
        "converteddate": "null",
        "convertedaccountid": "null",
        "convertedcontactid": "null",
        "convertedopportunityid": "null",
        "status": "'Open - Not Contacted'",
        "hasoptedoutofemail": "false",
        "emailbounceddate": "null",
        "emailbouncedreason": "null",
        "isdeleted": "false",
    },
    "contact": {
        "hasoptedoutofemail": "false",
        "emailbounceddate": "null",
        "emailbouncedreason": "null",
        "isdeleted": "false",
    },
    "opportunity": {"isclosed": "false", "iswon": "false", "isdeleted": "false"},
    "account": {"isdeleted": "false"},
    "users": {},
    "task": {"isdeleted": "false"},
}


def prepare(source_warehouse: Path, scratch: Path) -> dict[str, int]:
    """Copy the raw tables of ``source_warehouse`` into ``scratch`` (replaced) with created
    versions added; returns the number of created versions added per CRM table."""
    if scratch.exists():
        scratch.unlink()
    scratch.parent.mkdir(parents=True, exist_ok=True)
    added: dict[str, int] = {}
    # Copied through Parquet files, not ATTACH: in a process where dbt (or a task) already has
    # the warehouse open, DuckDB refuses to attach the same file a second time.
    exports = scratch.parent / "raw_export"
    exports.mkdir(parents=True, exist_ok=True)
    source = duckdb.connect(str(source_warehouse))
    try:
        tables = source.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('raw_salesforce', 'raw_map') "
            f"or (table_schema = 'ops' and table_name in ({MODEL_TABLES})) order by 1, 2"
        ).fetchall()
        if not any(schema != "ops" for schema, _ in tables):
            raise RuntimeError(
                f"{source_warehouse} has no raw_salesforce/raw_map tables: load data first "
                "(make demo, leadscore run, or LEADSCORE_CRM_SOURCE=files with the Data Loader CSVs)"
            )
        for schema, table in tables:
            source.execute(
                f"copy {schema}.{table} to '{exports / f'{schema}.{table}.parquet'}' (format parquet)"
            )
    finally:
        source.close()
    con = duckdb.connect(str(scratch))
    try:
        con.execute("set TimeZone = 'UTC'")
        for schema, table in tables:
            con.execute(f"create schema if not exists {schema}")
            parquet = exports / f"{schema}.{table}.parquet"
            con.execute(f"create table {schema}.{table} as select * from read_parquet('{parquet}')")
        shutil.rmtree(exports, ignore_errors=True)
        warehouse.ensure_schema(con)  # the model tables dbt reads, when the source had none
        for schema, table in tables:
            if schema != "raw_salesforce" or table not in RESET_AT_CREATION:
                continue
            columns = warehouse.table_columns(con, schema, table)
            if not {"id", "createddate", "systemmodstamp"} <= set(columns):
                continue
            resets = {c: v for c, v in RESET_AT_CREATION[table].items() if c in columns}
            select = ", ".join(
                "createddate as systemmodstamp"
                if c == "systemmodstamp"
                else f"cast({resets[c]} as {_type(con, schema, table, c)}) as {c}"
                if c in resets
                else ("'backtest_created_version' as _batch_id" if c == "_batch_id" else c)
                for c in columns
            )
            count = con.execute(
                f"""insert into {schema}.{table}
                with first_versions as (
                    select *, row_number() over (
                        partition by id order by systemmodstamp, _loaded_at
                    ) as version_rank
                    from {schema}.{table}
                )
                select {select} from first_versions
                where version_rank = 1 and createddate is not null and createddate < systemmodstamp"""
            ).fetchall()
            added[table] = count[0][0] if count else 0
    finally:
        con.close()
    log.debug("backtest history prepared in %s: created versions added %s", scratch, added)
    return added


# normalize_email (dbt_project/macros/portable.sql), as staging applies it
_EMAIL = "nullif(lower(trim({})), '')"
SAMPLE_KEYS_SQL = f"""
create or replace temp table sample_keys as
with
contacts as (
    select id, min(coalesce(accountid, {_EMAIL.format("email")}, id)) as sample_key
    from raw_salesforce.contact group by id
),
contact_emails as (
    select {_EMAIL.format("email")} as email, min(contacts.sample_key) as sample_key
    from raw_salesforce.contact inner join contacts using (id)
    group by all
),
leads as (
    select id, min({_EMAIL.format("email")}) as email from raw_salesforce.lead group by id
)
select id, sample_key from contacts
union all
select leads.id, coalesce(contact_emails.sample_key, leads.email, leads.id)
from leads left join contact_emails on contact_emails.email = leads.email
"""


def _kept(value: str, table: str) -> str:
    # "in" against a set without nulls (a hash join; a correlated "exists" here took minutes)
    return f"coalesce({value} in (select {table}.value from {table}), false)"


PRUNE_MAP_SQL = [
    """create or replace temp table kept_ids as
    select id as value from raw_salesforce.lead union select id from raw_salesforce.contact""",
    f"""create or replace temp table kept_emails as
    select * from (
        select {_EMAIL.format("email")} as value from raw_salesforce.lead
        union select {_EMAIL.format("email")} from raw_salesforce.contact
    ) where value is not null""",
    f"""delete from raw_map.events
    where not {_kept("nullif(trim(crm_id), '')", "kept_ids")}
        and not {_kept(_EMAIL.format("email"), "kept_emails")}""",
    f"""delete from raw_map.marketo_leads
    where not {_kept("nullif(trim(sfdcleadid), '')", "kept_ids")}
        and not {_kept("nullif(trim(sfdccontactid), '')", "kept_ids")}
        and not {_kept(_EMAIL.format("email"), "kept_emails")}""",
    """delete from raw_map.marketo_activities
    where not coalesce(
        cast(leadid as varchar) in (select cast(id as varchar) from raw_map.marketo_leads), false)""",
]


def sample_people(scratch: Path, share: float) -> dict[str, int]:
    """Keep a stable sample of ``share`` of the people in the scratch history, by group: a
    Contact goes with its Account and a Lead with the Contact of the same e-mail (or its own
    e-mail), so every kept person's colleagues and duplicates are kept with it and the kept
    people's features and rules' scores equal the full history's. Returns the records kept per
    table."""
    bucket = round(share * 10_000)
    con = duckdb.connect(str(scratch))
    try:
        con.execute(SAMPLE_KEYS_SQL)
        kept = {}
        for table in ("lead", "contact"):
            con.execute(
                f"""delete from raw_salesforce.{table} where id in (
                    select id from sample_keys where hash(sample_key) % 10000 >= {bucket})"""
            )
            kept[table] = con.execute(f"select count(distinct id) from raw_salesforce.{table}").fetchone()[0]
        # the MAP records no kept person can match (by CRM id or e-mail, as the staging models
        # normalise them): without them each day's activity matching reads a tenth of the rows
        map_tables = {
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'raw_map'"
            ).fetchall()
        }
        if {"events", "marketo_leads", "marketo_activities"} <= map_tables:
            for statement in PRUNE_MAP_SQL:
                con.execute(statement)
        return kept
    finally:
        con.close()


def _type(con: duckdb.DuckDBPyConnection, schema: str, table: str, column: str) -> str:
    rows = con.execute(
        "select data_type from information_schema.columns where table_schema = ? and table_name = ? "
        "and column_name = ?",
        [schema, table, column],
    ).fetchall()
    return rows[0][0]


OUTCOMES_SQL = """
with
lead_versions as (
    select *, row_number() over (
        partition by id order by systemmodstamp desc, _loaded_at desc
    ) as version_rank
    from raw_salesforce.lead
),
opportunity_versions as (
    select *, row_number() over (
        partition by id order by systemmodstamp desc, _loaded_at desc
    ) as version_rank
    from raw_salesforce.opportunity
),
leads as (select * from lead_versions where version_rank = 1 and not coalesce(isdeleted, false)),
opportunities as (
    select * from opportunity_versions where version_rank = 1 and not coalesce(isdeleted, false)
),
person_opportunities as (
    select leads.id as crm_id, opportunities.createddate as opportunity_created_at
    from leads inner join opportunities on leads.convertedopportunityid = opportunities.id
    union all
    select contactid as crm_id, createddate as opportunity_created_at
    from opportunities where contactid is not null
)
select crm_id, min(opportunity_created_at) as first_opportunity_at
from person_opportunities
group by crm_id
"""


def outcomes(scratch: Path) -> dict[str, object]:
    """The first opportunity per person (Lead: its converted opportunity; Contact: its own),
    from the latest version of every record: what actually followed."""
    con = duckdb.connect(str(scratch))
    try:
        return dict(con.execute(OUTCOMES_SQL).fetchall())
    finally:
        con.close()
