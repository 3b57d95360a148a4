"""Build SOQL from configuration and watermarks, never by pasting untrusted text.

Object and field names are checked against ``crm_schema``; datetimes are formatted from
``datetime`` objects. Anything else is refused with a clear error.
"""

from __future__ import annotations

from datetime import datetime, timezone

from lead_scoring import crm_schema


def soql_datetime(value: datetime) -> str:
    """A SOQL datetime literal (UTC) from a ``datetime``; naive values are taken as UTC."""
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime for a SOQL literal, got {type(value).__name__}")
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def incremental_query(
    obj: str, window_start: datetime | None, window_end: datetime, omit: tuple[str, ...] = ()
) -> str:
    """``SELECT <all known fields> FROM obj`` for ``window_start < SystemModstamp <= window_end``;
    ``omit`` leaves out optional fields the org lacks (``crm_schema.OPTIONAL_READ_FIELDS``)."""
    field_names = crm_schema.fields(obj)  # raises on an unknown object
    optional = crm_schema.OPTIONAL_READ_FIELDS.get(obj, ())
    not_optional = [f for f in omit if f not in optional]
    if not_optional:
        raise ValueError(
            f"{obj} fields {', '.join(not_optional)} are not optional; only {optional} may be left out"
        )
    field_names = [f for f in field_names if f not in omit]
    where = [f"SystemModstamp <= {soql_datetime(window_end)}"]
    if window_start is not None:
        where.insert(0, f"SystemModstamp > {soql_datetime(window_start)}")
    return (
        f"SELECT {', '.join(field_names)} FROM {obj} WHERE {' AND '.join(where)} ORDER BY SystemModstamp, Id"
    )


def live_ids_query(obj: str) -> str:
    """``SELECT Id FROM obj``: the Ids of every record not deleted (run with ``query``, not
    ``queryAll``), for an Id reconciliation."""
    crm_schema.fields(obj)  # raises on an unknown object
    return f"SELECT Id FROM {obj} ORDER BY Id"
