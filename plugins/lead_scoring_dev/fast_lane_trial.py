"""A new hot Lead for the fast lane to carry (docs/fast-lane.md): created in the CRM sandbox
like a person would, with a demo request landing in the MAP folder. Used by
tests/e2e/test_fast_lane.py, test_dags.py, test_routing_across_hours.py (a recycled Lead's
demo request) and by the bench's latency trials (bench/child.py)."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path

from crm_sandbox.store import format_datetime
from lead_scoring import warehouse


def new_lead_id(n: int) -> str:
    """An 18-character Lead Id no generated Lead has."""
    return f"00Q9FASTLANE{n:03d}AAA"


def best_fitting_routed_lead(settings) -> str:
    """The open Tier 1-2 Lead with the highest fit that routing gives to a rep: the one a new
    Lead is copied from, so the copy is routed to a rep too."""
    with warehouse.connect(settings.warehouse) as con:
        found = con.execute(
            "select scores.crm_id from marts.lead_scores scores inner join marts.lead_routing routing "
            "on scores.crm_id = routing.crm_id where scores.crm_object = 'Lead' and scores.tier <= 2 "
            "and routing.owner_type = 'rep' and not scores.is_disqualified and not scores.is_converted "
            "order by scores.fit_score desc, scores.crm_id limit 1"
        ).fetchall()
    if not found:
        raise LookupError(f"no open Tier 1-2 Lead routed to a rep in {settings.warehouse}")
    return found[0][0]


def create_lead(db: Path, like: str, crm_id: str, at: datetime) -> None:
    """A new Lead ``crm_id`` created in the CRM at ``at``: a copy of the Lead ``like`` (its
    company and firmographics) with its own e-mail, open, and none of leadscore's fields."""
    conn = sqlite3.connect(str(db), timeout=30)
    try:
        columns = [row[1] for row in conn.execute("pragma table_info(Lead)")]
        found = conn.execute("select * from Lead where Id = ?", [like]).fetchone()
        if found is None:
            raise LookupError(f"no Lead {like} in {db}")
        row = dict(zip(columns, found, strict=True))
        row.update(
            Id=crm_id,
            Email=f"buyer.{crm_id.lower()}@fastlane-example.com",
            LastName="Fastlane",
            Status="Open - Not Contacted",
            IsConverted=0,
            CreatedDate=format_datetime(at),
            LastModifiedDate=format_datetime(at),
            SystemModstamp=format_datetime(at),
        )
        for field in [c for c in columns if c.endswith("__c") and c != "Technologies__c"]:
            row[field] = None
        conn.execute(
            f"insert into Lead ({', '.join(columns)}) values ({', '.join('?' for _ in columns)})",
            [row[c] for c in columns],
        )
        conn.commit()
    finally:
        conn.close()


def land_demo_request(landing: Path, crm_id: str, at: datetime) -> Path:
    """A MAP events file with one demo request by ``crm_id`` at ``at``."""
    target = landing / "map" / f"events_demo_request_{crm_id}.jsonl"
    target.parent.mkdir(parents=True, exist_ok=True)
    event = {
        "event_id": f"demo-request-{crm_id}",
        "occurred_at": at.isoformat() + "Z",
        "crm_id": crm_id,
        "event_type": "demo_request",
        "url": None,
        "properties": {},
    }
    target.write_text(json.dumps(event) + "\n")
    return target


def crm_lead(db: Path, crm_id: str) -> dict | None:
    """The Lead as the CRM holds it now (None if it has no such Lead)."""
    conn = sqlite3.connect(str(db), timeout=30)
    conn.row_factory = sqlite3.Row
    try:
        found = conn.execute("select * from Lead where Id = ?", [crm_id]).fetchone()
        return dict(found) if found is not None else None
    finally:
        conn.close()
