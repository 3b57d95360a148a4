"""sObject REST and sObject Collections semantics, independent of HTTP.

REST (``/sobjects/...``) answers errors as request errors (:class:`ApiError`); Collections
(``/composite/sobjects``) answer one ``{"id", "success", "errors"}`` per record, in order,
honouring ``allOrNone``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from crm_sandbox import store as st
from crm_sandbox.errors import ApiError, not_found
from crm_sandbox.faults import FaultInjector
from lead_scoring import crm_schema


def csv_cell(value: Any) -> str:
    """A field as Salesforce writes it in CSV (Bulk API 2.0 results): null empty, booleans
    lower-case, the rest as text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


MAX_COLLECTION_RECORDS = 200

# Lookup targets, for describe's referenceTo.
REFERENCE_TO: dict[str, list[str]] = {
    "OwnerId": ["User"],
    "ManagerId": ["User"],
    "AccountId": ["Account"],
    "ContactId": ["Contact"],
    "ConvertedAccountId": ["Account"],
    "ConvertedContactId": ["Contact"],
    "ConvertedOpportunityId": ["Opportunity"],
    "WhoId": ["Contact", "Lead"],
    "WhatId": ["Account", "Opportunity"],
    "CampaignId": ["Campaign"],
    "LeadId": ["Lead"],
}

_SF_TYPES = {
    "string": ("string", "xsd:string"),
    "int": ("int", "xsd:int"),
    "double": ("double", "xsd:double"),
    "boolean": ("boolean", "xsd:boolean"),
    "date": ("date", "xsd:date"),
    "datetime": ("datetime", "xsd:dateTime"),
}


# --------------------------------------------------------------------------------------------
# Names and describe
# --------------------------------------------------------------------------------------------
def resolve_object(name: str) -> str:
    """The canonical object name, or 404 NOT_FOUND like Salesforce for an unknown sObject."""
    obj = st.canonical_object(name)
    if obj is None:
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
    return obj


def resolve_field(obj: str, name: str) -> str:
    """The canonical field name, or 400 INVALID_FIELD."""
    field = st.canonical_field(obj, name)
    if field is None:
        raise ApiError(400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {obj}")
    return field


def record_url(version: str, obj: str, record_id: str) -> str:
    """The ``attributes.url`` of a record."""
    return f"/services/data/v{version}/sobjects/{obj}/{record_id}"


def _label(name: str) -> str:
    base = name.removesuffix("__c").replace("_", " ")
    return base


def describe_field(obj: str, name: str) -> dict[str, Any]:
    """One entry of ``fields`` in an sObject describe."""
    ftype = crm_schema.OBJECTS[obj][name]
    writable = name not in st.READ_ONLY_FIELDS
    if ftype == "id":
        sf_type, soap = ("id", "tns:ID") if name == "Id" else ("reference", "tns:ID")
    else:
        sf_type, soap = _SF_TYPES[ftype]
    return {
        "name": name,
        "label": _label(name),
        "type": sf_type,
        "soapType": soap,
        "length": 255 if ftype == "string" else (18 if ftype == "id" else 0),
        "updateable": writable,
        "createable": writable,
        "nillable": writable and ftype != "boolean",
        "custom": name.endswith("__c"),
        "externalId": crm_schema.CREATE_ONCE_KEYS.get(obj) == name,
        "idLookup": name in ("Id", "Email") or crm_schema.CREATE_ONCE_KEYS.get(obj) == name,
        "filterable": True,
        "sortable": True,
        "referenceTo": REFERENCE_TO.get(name, []) if sf_type == "reference" else [],
    }


def _object_summary(obj: str, version: str) -> dict[str, Any]:
    base = f"/services/data/v{version}/sobjects/{obj}"
    return {
        "name": obj,
        "label": obj,
        "labelPlural": obj + "s",
        "keyPrefix": crm_schema.ID_PREFIX[obj],
        "custom": False,
        "queryable": True,
        "createable": True,
        "updateable": True,
        "deletable": crm_schema.has_soft_delete(obj),
        "retrieveable": True,
        "urls": {
            "sobject": base,
            "describe": f"{base}/describe",
            "rowTemplate": f"{base}/{{ID}}",
        },
    }


def describe_global(version: str) -> dict[str, Any]:
    """``GET /sobjects/``."""
    return {
        "encoding": "UTF-8",
        "maxBatchSize": MAX_COLLECTION_RECORDS,
        "sobjects": [_object_summary(obj, version) for obj in crm_schema.OBJECTS],
    }


def sobject_info(obj: str, version: str) -> dict[str, Any]:
    """``GET /sobjects/<Obj>/`` (basic information)."""
    return {"objectDescribe": _object_summary(obj, version), "recentItems": []}


def describe_sobject(obj: str, version: str) -> dict[str, Any]:
    """``GET /sobjects/<Obj>/describe/``."""
    info = _object_summary(obj, version)
    info["fields"] = [describe_field(obj, name) for name in crm_schema.OBJECTS[obj]]
    return info


# --------------------------------------------------------------------------------------------
# REST: one record
# --------------------------------------------------------------------------------------------
def _require_object_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
    return body


def _row_error_to_api(err: st.RowError) -> ApiError:
    if err.status_code == "INVALID_CROSS_REFERENCE_KEY" and err.fields == ["Id"]:
        return not_found()
    if err.status_code == "MALFORMED_ID" and err.fields == ["Id"]:
        return not_found()
    if err.status_code == "ENTITY_IS_DELETED":
        return ApiError(404, "ENTITY_IS_DELETED", "entity is deleted", [])
    return ApiError(400, err.status_code, err.message, err.fields)


def _with_attributes(obj: str, version: str, values: dict[str, Any]) -> dict[str, Any]:
    rid = values.get("Id")
    out: dict[str, Any] = {"attributes": {"type": obj, "url": record_url(version, obj, rid or "")}}
    out.update(values)
    return out


def _field_list(obj: str, fields: str | None) -> list[str] | None:
    if not fields:
        return None
    names = [resolve_field(obj, f.strip()) for f in fields.split(",") if f.strip()]
    if "Id" not in names:
        names.insert(0, "Id")
    return names


def get_record(store: st.Store, obj: str, record_id: str, fields: str | None, version: str) -> dict[str, Any]:
    """``GET /sobjects/<Obj>/<Id>[?fields=a,b]``; 404 ``NOT_FOUND`` for an unknown Id,
    404 ``ENTITY_IS_DELETED`` for a soft-deleted record."""
    names = _field_list(obj, fields) or list(crm_schema.OBJECTS[obj])
    if not st.is_valid_id(record_id) or st.object_for_id(st.normalize_id(record_id)) != obj:
        raise not_found()
    soft = ["IsDeleted"] if crm_schema.has_soft_delete(obj) else []
    fetch = list(dict.fromkeys([*names, "Id", *soft]))
    with store.read() as conn:
        values = st.get_row(conn, obj, record_id, fetch)
    if values is None:
        raise not_found()
    if values.get("IsDeleted"):
        raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted", [])
    return _with_attributes(obj, version, {k: values[k] for k in names})


def get_by_external_id(
    store: st.Store, obj: str, ext_field: str, value: str, fields: str | None, version: str
) -> dict[str, Any]:
    """``GET /sobjects/<Obj>/<ExtField>/<value>``."""
    field = resolve_field(obj, ext_field)
    try:
        key = st.coerce_value(obj, field, value)
    except st.RowError as err:
        raise _row_error_to_api(err) from None
    with store.read() as conn:
        ids = st.find_ids_by_field(conn, obj, field, key)
    if not ids:
        raise not_found()
    if len(ids) > 1:
        raise ApiError(300, "MULTIPLE_CHOICES", f"more than one record found for {field}")
    return get_record(store, obj, ids[0], fields, version)


def create_record(store: st.Store, obj: str, body: Any) -> dict[str, Any]:
    """``POST /sobjects/<Obj>/`` -> ``{"id", "success", "errors"}`` (HTTP 201)."""
    body = _require_object_body(body)
    try:
        values = st.prepare_values(obj, body)
        with store.write() as conn:
            new_id = st.insert_row(conn, obj, values)
    except st.RowError as err:
        raise _row_error_to_api(err) from None
    return {"id": new_id, "success": True, "errors": []}


def update_record(store: st.Store, obj: str, record_id: str, body: Any) -> None:
    """``PATCH /sobjects/<Obj>/<Id>`` (HTTP 204)."""
    body = _require_object_body(body)
    try:
        values = st.prepare_values(obj, body, allowed_keys=("Id",))
        with store.write() as conn:
            st.update_row(conn, obj, record_id, values)
    except st.RowError as err:
        raise _row_error_to_api(err) from None


def delete_record(store: st.Store, obj: str, record_id: str) -> None:
    """``DELETE /sobjects/<Obj>/<Id>``: a soft delete (HTTP 204)."""
    try:
        with store.write() as conn:
            st.delete_row(conn, obj, record_id)
    except st.RowError as err:
        raise _row_error_to_api(err) from None


# --------------------------------------------------------------------------------------------
# Deletions: getDeleted and merges
# --------------------------------------------------------------------------------------------
DELETE_LOG_DAYS = 15  # Salesforce answers getDeleted for no more than 15 days back
MAX_DELETED_IDS = 600_000  # more Ids in one getDeleted window: EXCEEDED_ID_LIMIT


def _replication_instant(text: str | None, name: str) -> datetime:
    """A getDeleted bound: ISO 8601, the seconds ignored (floored to the minute) as Salesforce does."""
    if not text:
        raise ApiError(
            400, "MISSING_ARGUMENT", "start and end are required: ?start=<ISO 8601>&end=<ISO 8601>"
        )
    try:
        stored = st.parse_datetime(text)
    except ValueError:
        raise ApiError(400, "INVALID_REPLICATION_DATE", f"{name}: not a date and time: {text!r}") from None
    return datetime.strptime(stored, "%Y-%m-%dT%H:%M:%S.%f%z").replace(second=0, microsecond=0)


def get_deleted(store: st.Store, obj: str, start_text: str | None, end_text: str | None) -> dict[str, Any]:
    """``GET /sobjects/<Obj>/deleted/?start=&end=`` (getDeleted): the deletions logged in
    [start, latestDateCovered), seconds ignored; latestDateCovered is ``end`` or the sandbox
    clock's minute, whichever is earlier. The delete log reaches back ``DELETE_LOG_DAYS``
    from the sandbox clock, or to where it was purged (``earliestDateAvailable``): a start
    before it, a window of one minute or less or one starting in the future is
    ``INVALID_REPLICATION_DATE``; more than ``MAX_DELETED_IDS`` deletions ``EXCEEDED_ID_LIMIT``."""
    start = _replication_instant(start_text, "start")
    end = _replication_instant(end_text, "end")
    if end - start <= timedelta(minutes=1):
        raise ApiError(
            400,
            "INVALID_REPLICATION_DATE",
            "startDate must chronologically precede endDate by more than one minute",
        )
    now = st.CLOCK.now().replace(second=0, microsecond=0)
    if start > now:
        raise ApiError(400, "INVALID_REPLICATION_DATE", "startDate is in the future")
    with store.read() as conn:
        purged = st.delete_log_purged_before(conn)
        earliest = now - timedelta(days=DELETE_LOG_DAYS)
        if purged is not None:
            earliest = max(earliest, datetime.strptime(purged, "%Y-%m-%dT%H:%M:%S.%f%z"))
        if start < earliest:
            raise ApiError(
                400,
                "INVALID_REPLICATION_DATE",
                f"startDate {st.format_datetime(start)} is before earliestDateAvailable "
                f"{st.format_datetime(earliest)}: the delete log no longer covers it; replicate anew",
            )
        latest = min(end, now)
        rows = st.deleted_between(conn, obj, st.format_datetime(start), st.format_datetime(latest))
    if len(rows) > MAX_DELETED_IDS:
        raise ApiError(
            400,
            "EXCEEDED_ID_LIMIT",
            f"{len(rows)} deleted records in the window, more than {MAX_DELETED_IDS}: choose start and "
            "end dates closer together",
        )
    return {
        "deletedRecords": [{"id": record_id, "deletedDate": deleted} for record_id, deleted in rows],
        "earliestDateAvailable": st.format_datetime(earliest),
        "latestDateCovered": st.format_datetime(latest),
    }


MERGEABLE = ("Lead", "Contact", "Account")


def merge_records(store: st.Store, obj: str, master_id: Any, duplicate_ids: Any) -> dict[str, Any]:
    """Merge one or two ``duplicate_ids`` into ``master_id`` as Salesforce's merge does: the
    records pointing at a duplicate (its Tasks, an Account's Contacts and Opportunities)
    point at the master, each duplicate is deleted with the master as its MasterRecordId in
    the delete log (queryAll sees it with IsDeleted = true), and the master is stamped.
    One transaction; any problem is a 400 and nothing changes."""
    if obj not in MERGEABLE:
        raise ApiError(400, "INVALID_TYPE", f"{obj} records cannot be merged (only {', '.join(MERGEABLE)})")
    if not isinstance(duplicate_ids, list) or not 1 <= len(duplicate_ids) <= 2:
        raise ApiError(400, "INVALID_FIELD", "duplicates: a list of one or two record Ids")
    moved = 0
    try:
        with store.write() as conn:
            master = st.update_row(conn, obj, master_id, {})
            duplicates = [st.update_row(conn, obj, dup, {}) for dup in duplicate_ids]
            if master in duplicates or len(set(duplicates)) != len(duplicates):
                raise st.RowError("INVALID_FIELD", "a record cannot be merged into itself", ["Id"])
            children = [
                (child, field)
                for child, fields in crm_schema.OBJECTS.items()
                for field in fields
                if obj in REFERENCE_TO.get(field, [])
            ]
            for duplicate in duplicates:
                for child, field in children:
                    where = f"{st.quote_ident(field)} = ?"
                    if crm_schema.has_soft_delete(child):
                        where += ' AND "IsDeleted" = 0'
                    ids = conn.execute(
                        f'SELECT "Id" FROM {st.quote_ident(child)} WHERE {where}', (duplicate,)
                    ).fetchall()
                    for (child_id,) in ids:
                        st.update_row(conn, child, child_id, {field: master})
                        moved += 1
                st.delete_row(conn, obj, duplicate, master_id=master)
    except st.RowError as err:
        raise _row_error_to_api(err) from None
    return {"id": master, "mergedRecordIds": duplicates, "updatedRelatedIds": moved, "success": True}


def upsert_record(
    store: st.Store, obj: str, ext_field: str, value: str, body: Any
) -> tuple[dict[str, Any], bool]:
    """``PATCH /sobjects/<Obj>/<ExtField>/<value>`` -> (result, created); HTTP 201 if created,
    else 200. More than one match is HTTP 300."""
    body = _require_object_body(body)
    field = resolve_field(obj, ext_field)
    try:
        values = st.prepare_values(obj, body, allowed_keys=(field,))
        with store.write() as conn:
            record_id, created = st.upsert_row(conn, obj, field, value, values)
    except st.RowError as err:
        if err.status_code == "DUPLICATE_EXTERNAL_ID":
            raise ApiError(300, "MULTIPLE_CHOICES", err.message) from None
        if field == "Id" and err.status_code in ("INVALID_CROSS_REFERENCE_KEY", "MALFORMED_ID"):
            raise not_found() from None
        raise _row_error_to_api(err) from None
    return {"id": record_id, "success": True, "errors": [], "created": created}, created


# --------------------------------------------------------------------------------------------
# sObject Collections
# --------------------------------------------------------------------------------------------
class _RolledBack(Exception):
    """Raised inside the write transaction to roll an allOrNone request back."""


def _collection_body(body: Any) -> tuple[list[Any], bool]:
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise ApiError(
            400,
            "JSON_PARSER_ERROR",
            'The request body must be {"allOrNone": bool, "records": [...]}',
        )
    all_or_none = body.get("allOrNone", False)
    if not isinstance(all_or_none, bool):
        raise ApiError(400, "JSON_PARSER_ERROR", "allOrNone must be true or false")
    _check_size(len(body["records"]))
    return body["records"], all_or_none


def _check_size(count: int) -> None:
    if count > MAX_COLLECTION_RECORDS:
        raise ApiError(
            400,
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {MAX_COLLECTION_RECORDS} records "
            f"into this call (got {count})",
        )


def _lock_error(record_id: str | None) -> st.RowError:
    return st.RowError(
        "UNABLE_TO_LOCK_ROW",
        f"unable to obtain exclusive access to this record or 1 records: {record_id or ''}".rstrip(),
        [],
    )


def _record_type(record: dict[str, Any], default: str | None = None) -> str:
    attrs = record.get("attributes")
    name = attrs.get("type") if isinstance(attrs, dict) else None
    if name is None:
        rid = record.get("Id") or record.get("id")
        if isinstance(rid, str) and st.is_valid_id(rid):
            name = st.object_for_id(st.normalize_id(rid))
        name = name or default
    if not name:
        raise st.RowError("INVALID_TYPE", "Each record needs attributes.type (the sObject type)", [])
    obj = st.canonical_object(name)
    if obj is None:
        raise st.RowError("INVALID_TYPE", f"sObject type '{name}' is not supported", [])
    return obj


def _run_collection(
    store: st.Store,
    faults: FaultInjector,
    items: Sequence[Any],
    all_or_none: bool,
    op: Callable[[Any, Any], dict[str, Any]],
    id_of: Callable[[Any], str | None],
) -> list[dict[str, Any]]:
    """Apply ``op(conn, item)`` to each item in one transaction, one savepoint per item."""
    results: list[dict[str, Any]] = []
    failed = False
    try:
        with store.write() as conn:
            for item in items:
                conn.execute("SAVEPOINT collection_item")
                try:
                    if faults.draw_row():
                        raise _lock_error(id_of(item))
                    result = op(conn, item)
                    conn.execute("RELEASE collection_item")
                except st.RowError as err:
                    conn.execute("ROLLBACK TO collection_item")
                    conn.execute("RELEASE collection_item")
                    result = {"id": id_of(item), "success": False, "errors": [err.as_dict()]}
                    failed = True
                results.append(result)
            if failed and all_or_none:
                raise _RolledBack()
    except _RolledBack:
        rolled = []
        for item, result in zip(items, results, strict=True):
            if result["success"]:
                result = {
                    "id": id_of(item),
                    "success": False,
                    "errors": [
                        {
                            "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                            "message": "Record rolled back because not all records were valid "
                            "and the request was using AllOrNone header",
                            "fields": [],
                        }
                    ],
                }
            rolled.append(result)
        return rolled
    return results


def _safe_id(record: Any) -> str | None:
    if isinstance(record, dict):
        rid = record.get("Id", record.get("id"))
        if isinstance(rid, str):
            return st.normalize_id(rid) if st.is_valid_id(rid) else rid
    return None


def collection_create(store: st.Store, faults: FaultInjector, body: Any) -> list[dict[str, Any]]:
    """``POST /composite/sobjects``: create up to 200 records (any types)."""
    records, all_or_none = _collection_body(body)

    def op(conn: Any, record: Any) -> dict[str, Any]:
        if not isinstance(record, dict):
            raise st.RowError("JSON_PARSER_ERROR", "each record must be a JSON object", [])
        obj = _record_type(record)
        values = st.prepare_values(obj, record)
        return {"id": st.insert_row(conn, obj, values), "success": True, "errors": []}

    return _run_collection(store, faults, records, all_or_none, op, lambda _r: None)


def collection_update(store: st.Store, faults: FaultInjector, body: Any) -> list[dict[str, Any]]:
    """``PATCH /composite/sobjects``: update up to 200 records by Id."""
    records, all_or_none = _collection_body(body)

    def op(conn: Any, record: Any) -> dict[str, Any]:
        if not isinstance(record, dict):
            raise st.RowError("JSON_PARSER_ERROR", "each record must be a JSON object", [])
        record_id = record.get("Id", record.get("id"))
        if not record_id:
            raise st.RowError("MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
        obj = _record_type(record)
        clean = {k: v for k, v in record.items() if k != "id"}
        values = st.prepare_values(obj, clean, allowed_keys=("Id",))
        full = st.update_row(conn, obj, record_id, values)
        return {"id": full, "success": True, "errors": []}

    return _run_collection(store, faults, records, all_or_none, op, _safe_id)


def collection_upsert(
    store: st.Store, faults: FaultInjector, obj: str, ext_field: str, body: Any
) -> list[dict[str, Any]]:
    """``PATCH /composite/sobjects/<Obj>/<ExtField>``: upsert up to 200 records."""
    field = resolve_field(obj, ext_field)
    records, all_or_none = _collection_body(body)

    def op(conn: Any, record: Any) -> dict[str, Any]:
        if not isinstance(record, dict):
            raise st.RowError("JSON_PARSER_ERROR", "each record must be a JSON object", [])
        rec_obj = _record_type(record, default=obj)
        if rec_obj != obj:
            raise st.RowError("INVALID_TYPE", f"record type {rec_obj} does not match {obj}", [])
        key = next((v for k, v in record.items() if k.lower() == field.lower()), None)
        values = st.prepare_values(obj, record, allowed_keys=(field,))
        record_id, created = st.upsert_row(conn, obj, field, key, values)
        return {"id": record_id, "success": True, "errors": [], "created": created}

    def id_of(record: Any) -> str | None:
        return _safe_id(record) if field == "Id" else None

    return _run_collection(store, faults, records, all_or_none, op, id_of)


def collection_delete(
    store: st.Store, faults: FaultInjector, ids: Sequence[str], all_or_none: bool
) -> list[dict[str, Any]]:
    """``DELETE /composite/sobjects?ids=...``: soft-delete up to 200 records."""
    _check_size(len(ids))

    def op(conn: Any, record_id: str) -> dict[str, Any]:
        obj = st.object_for_id(st.normalize_id(record_id)) if st.is_valid_id(record_id) else None
        if obj is None:
            raise st.RowError("MALFORMED_ID", f"malformed id {record_id}", [])
        return {"id": st.delete_row(conn, obj, record_id), "success": True, "errors": []}

    return _run_collection(
        store,
        faults,
        list(ids),
        all_or_none,
        op,
        lambda rid: st.normalize_id(rid) if st.is_valid_id(rid) else rid,
    )


def collection_retrieve(
    store: st.Store, obj: str, ids: Sequence[str], fields: str | None, version: str
) -> list[dict[str, Any] | None]:
    """``GET /composite/sobjects/<Obj>?ids=...&fields=...``: records or null, in order."""
    _check_size(len(ids))
    names = _field_list(obj, fields) or list(crm_schema.OBJECTS[obj])
    out: list[dict[str, Any] | None] = []
    with store.read() as conn:
        for rid in ids:
            values = st.get_row(conn, obj, rid, names) if st.is_valid_id(rid) else None
            out.append(_with_attributes(obj, version, values) if values else None)
    return out
