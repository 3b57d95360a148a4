"""Which payload rows changed since the last confirmed sync.

The payload is a dbt model whose columns are CRM field names (``Id``, ``Lead_Score__c``,
...). Only allow-listed fields may appear; ``Scored_At__c`` and ``Score_Model_Version__c``
are sent but not hashed (``UNHASHED_FIELDS``), so a re-score or a new scoring version that
changes nothing else writes nothing.

Objects leadscore creates once (``ACTION_MODELS``: handoff Tasks, nurture CampaignMembers) are
keyed by their External ID (``crm_schema.CREATE_ONCE_KEYS``) instead of ``Id``, and a row is
pending until the CRM has confirmed it once: later changes of the row are not changes (a rep
owns the Task by then).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb
import pandas as pd

from lead_scoring import crm_schema

# Sent with every changed row, but a change in them alone is not a change: a re-score that
# changes nothing else, or a new scoring version (a seed edit, a promoted model) for the
# records whose score, tier, owner and SLA fields it leaves as they are, writes nothing.
UNHASHED_FIELDS = {"Scored_At__c", "Score_Model_Version__c"}
# Until 2026-12 the version was hashed too: a record whose recorded hash is its current
# payload's hashed that way is unchanged as well (it is re-hashed when next sent).
LEGACY_HASHED_FIELDS = {"Score_Model_Version__c"}

# A payload column whose name starts with this is context for the write-back (e.g.
# ``_crm_owner_id``, the CRM's owner as extracted), never sent and never hashed.
CONTEXT_PREFIX = "_"

PAYLOAD_MODELS = {
    "Lead": "marts.sync_salesforce__leads",
    "Contact": "marts.sync_salesforce__contacts",
    "Account": "marts.sync_salesforce__accounts",
}
# Records created once, after the objects above (their owners must be in the CRM first).
ACTION_MODELS = {
    "Task": "marts.sync_salesforce__tasks",
    "CampaignMember": "marts.sync_salesforce__campaign_members",
}


def payload_model(obj: str) -> str:
    """The payload model of ``obj``; a clear error for an object that has none."""
    try:
        return {**PAYLOAD_MODELS, **ACTION_MODELS}[obj]
    except KeyError:
        raise KeyError(
            f"no payload model for CRM object {obj!r}; known: {', '.join(PAYLOAD_MODELS)}, "
            f"{', '.join(ACTION_MODELS)}"
        ) from None


# A record of ops.crm_sync_state (as ``state``) that a run as of a later instant than the
# parameter wrote last (ops.write_back_instants): an hourly run neither writes it nor creates
# or removes an action about it (reverse_etl/sync.py).
WRITTEN_LATER_SQL = (
    "exists (select 1 from ops.write_back_instants newer "
    "where newer.run_id = state.run_id and newer.as_of > ?)"
)


class PayloadError(ValueError):
    """The payload model does not match the CRM allow-list."""


@dataclass
class PayloadDiff:
    object: str
    total: int
    changed: pd.DataFrame  # CRM field columns + payload_hash

    @property
    def changed_count(self) -> int:
        return len(self.changed)

    @property
    def key(self) -> str:
        """The column that identifies a row: ``Id``, or an object's External ID."""
        return crm_schema.key_field(self.object)


def payload_columns(con: duckdb.DuckDBPyConnection, obj: str, table: str) -> dict[str, str]:
    """Model column → CRM field name, checked against the allow-list (case-insensitive, since
    some engines fold identifiers to lower case); context columns (``CONTEXT_PREFIX``) map to
    themselves. The key field (``Id``, or the External ID of an object created once) must be
    there."""
    key = crm_schema.key_field(obj)
    writable = crm_schema.WRITABLE_FIELDS[obj]
    allowed = {name.lower(): name for name in ([*writable] if key in writable else ["Id", *writable])}
    schema, name = table.split(".")
    columns = [
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, name],
        ).fetchall()
    ]
    if not columns:
        raise PayloadError(f"payload model {table} does not exist: run dbt build first")
    context = [c for c in columns if c.startswith(CONTEXT_PREFIX)]
    columns = [c for c in columns if not c.startswith(CONTEXT_PREFIX)]
    unknown = [c for c in columns if c.lower() not in allowed]
    if unknown:
        raise PayloadError(
            f"{table} has column(s) {', '.join(unknown)} that are not writable {obj} fields; "
            f"allowed: {', '.join(sorted(allowed.values()))}"
        )
    if key.lower() not in {c.lower() for c in columns}:
        raise PayloadError(f"{table} has no {key} column (the key of its {obj} rows)")
    return {c: allowed[c.lower()] for c in columns} | {c: c for c in context}


def _hash_sql(columns: list[str], mapping: dict[str, str]) -> str:
    return (
        "md5(cast(to_json(struct_pack("
        + ", ".join(f'"{mapping[c]}" := payload."{c}"' for c in columns)
        + ")) as varchar))"
    )


def diff_payload(
    con: duckdb.DuckDBPyConnection, obj: str, table: str | None = None, as_of: datetime | None = None
) -> PayloadDiff:
    """Rows of the payload model whose hash differs from ``ops.crm_sync_state``; for an object
    created once, the rows the CRM has not confirmed yet (whatever their hash).

    With ``as_of``, never a record that a run as of a later instant wrote last (a fast-lane
    minute after this hour, ``ops.write_back_instants``): an hourly run that finishes after
    the fast lane wrote a new hot Lead must not put back its older score."""
    table = table or payload_model(obj)
    key = crm_schema.key_field(obj)
    mapping = payload_columns(con, obj, table)
    sent = {c: field for c, field in mapping.items() if not field.startswith(CONTEXT_PREFIX)}
    hashed = [c for c, field in sent.items() if field not in UNHASHED_FIELDS and field != key]
    legacy = [
        c
        for c, field in sent.items()
        if (field not in UNHASHED_FIELDS or field in LEGACY_HASHED_FIELDS) and field != key
    ]
    key_column = next(c for c, field in mapping.items() if field == key)
    hash_sql, legacy_sql = (_hash_sql(columns, mapping) for columns in (hashed, legacy))
    pending = (
        "state.crm_id is null"
        if obj in crm_schema.CREATE_ONCE_KEYS
        else "state.payload_hash is distinct from payload.payload_hash "
        f"and state.payload_hash is distinct from {legacy_sql}"
    )
    params: list = [obj]
    if as_of is not None and obj not in crm_schema.CREATE_ONCE_KEYS:
        pending += f" and not {WRITTEN_LATER_SQL}"
        params.append(as_of)
    select = ", ".join(f'payload."{c}" as "{field}"' for c, field in mapping.items())
    total = con.execute(f"select count(*) from {table}").fetchall()[0][0]
    changed = con.execute(
        f"""
        with payload as (select *, {hash_sql} as payload_hash from {table} as payload)
        select {select}, payload.payload_hash
        from payload
        left join ops.crm_sync_state state
            on state.object = ? and state.crm_id = payload."{key_column}"
        where {pending}
        order by payload."{key_column}"
        """,
        params,
    ).df()
    # date fields as the CRM's YYYY-MM-DD text: a DATE reaches pandas as a midnight Timestamp,
    # which would be sent as a datetime (and refused)
    for field, kind in crm_schema.OBJECTS[obj].items():
        if kind == "date" and field in changed.columns:
            changed[field] = [
                None if pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d")
                for value in changed[field]
            ]
    return PayloadDiff(object=obj, total=total, changed=changed)
