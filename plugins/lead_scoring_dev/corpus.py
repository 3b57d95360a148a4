"""The bad-input corpus: one small landing file per case of bad input the loader must
survive (issue 7), each with good rows next to the bad ones, and what must happen to every
row: loaded, or quarantined with a given reason, or the whole file rejected with a reason.

``write_corpus(landing)`` writes the files (deterministic bytes) under a landing folder
(``crm/<Object>/*.csv`` Data Loader exports, ``map/*`` MAP files, ``erasure/*.csv``
requests) and returns the cases.
``python -m lead_scoring_dev.corpus`` loads the corpus into a throw-away warehouse with
the pipeline's own extract and load stages and prints, per case, what was read, loaded and
quarantined and why, next to what was expected (exit status 1 on any difference).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from lead_scoring import pipeline, run_context, warehouse

AS_OF = datetime(2026, 11, 1, 10)
STAMP = "2026-10-30T09:00:00Z"
LEAD_HEADER = (
    "Id,FirstName,LastName,Email,Company,Title,Industry,NumberOfEmployees,Country,"
    "LeadSource,Status,HasOptedOutOfEmail,DoNotCall,IsConverted,CreatedDate,SystemModstamp"
)
MARKETO_HEADER = "marketoGUID,leadId,activityDate,activityTypeId,primaryAttributeValue,attributes"
OPTED_OUT_LEAD = "00Q900000000003AAA"  # a good row with HasOptedOutOfEmail: never routed to a rep
DO_NOT_CALL_LEAD = "00Q900000000004AAA"  # a good row with DoNotCall: never routed to a rep either
UNKNOWN_EVENT_LEAD = "00Q900000000021AAA"  # only activity: an unknown event type (scores 0 intent)


def lead_id(n: int) -> str:
    return f"00Q9{n:011d}AAA"


@dataclass(frozen=True)
class Case:
    """One bad-input case: a file, the rows it holds and what must become of them."""

    name: str
    path: str  # relative to the landing folder
    content: bytes
    rows_read: int
    rows_loaded: int
    reasons: dict[int, str]  # physical line -> expected quarantine reason (a prefix)
    status: str = "loaded"  # or "rejected": the whole file refused
    notes: str | None = None  # expected in ops.batches.notes (schema drift)
    good_lead_ids: tuple[str, ...] = field(default_factory=tuple)

    @property
    def rows_quarantined(self) -> int:
        return self.rows_read - self.rows_loaded


def lead(
    n: int, *, email: str | None = None, opted_out: bool = False, do_not_call: bool = False, **overrides: str
) -> str:
    """One Data Loader Lead row (LEAD_HEADER's columns) for lead ``n``, a real-looking
    mid-market prospect; ``overrides`` replace columns by header name."""
    values = {
        "Id": lead_id(n),
        "FirstName": f"Pat{n}",
        "LastName": "Corpus",
        "Email": email or f"pat{n}@corpus-co{n}.com",
        "Company": f"Corpus Co {n}",
        "Title": "VP Marketing",
        "Industry": "Software",
        "NumberOfEmployees": "450",
        "Country": "United States",
        "LeadSource": "Web",
        "Status": "Open - Not Contacted",
        "HasOptedOutOfEmail": "true" if opted_out else "false",
        "DoNotCall": "true" if do_not_call else "false",
        "IsConverted": "false",
        "CreatedDate": STAMP,
        "SystemModstamp": STAMP,
    }
    values.update(overrides)
    return ",".join(values[c] for c in LEAD_HEADER.split(","))


def event(event_id: str, crm_id: str | None = None, **fields) -> str:
    record = {
        "event_id": event_id,
        "occurred_at": "2026-10-31T08:00:00Z",
        "crm_id": crm_id,
        "event_type": "page_view",
        "url": "https://corpus.example/pricing",
        "properties": {},
    }
    record.update(fields)
    return json.dumps(record)


def text(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


def _lead_file(name: str, first: int, bad_lines: list[bytes], reasons: list[str], **kw) -> Case:
    """A Lead export: two good leads (``first``, ``first + 1``), then the bad lines."""
    good = [
        lead(first, opted_out=lead_id(first) == OPTED_OUT_LEAD),
        lead(first + 1, do_not_call=lead_id(first + 1) == DO_NOT_CALL_LEAD),
    ]
    content = text(LEAD_HEADER, *good) + b"".join(line + b"\n" for line in bad_lines)
    return Case(
        name=name,
        path=f"crm/Lead/{name.replace(' ', '_').replace('-', '_')}.csv",
        content=content,
        rows_read=2 + len(bad_lines),
        rows_loaded=2,
        reasons={4 + i: reason for i, reason in enumerate(reasons)},
        good_lead_ids=(lead_id(first), lead_id(first + 1)),
        **kw,
    )


def cases() -> list[Case]:
    """Every case issue 7 lists, one file each (the good rows of every file must load)."""
    latin1 = lead(90, Company="Société Générale").encode("latin-1")
    crm = [
        _lead_file("malformed CSV", 1, [b'00Q900000000080AAA,"unterminated,quote'], ["malformed CSV line"]),
        _lead_file("wrong encoding", 3, [latin1], ["wrong encoding (not UTF-8)"]),
        _lead_file("missing id", 5, [lead(91, Id="").encode()], ["missing id"]),
        _lead_file(
            "duplicate ids in a batch",
            7,
            [lead(7, Title="Intern", SystemModstamp="2026-10-01T00:00:00Z").encode()],
            ["duplicate id in this batch (kept the newest)"],
        ),
        _lead_file(
            "far-future timestamp",
            9,
            [lead(92, SystemModstamp="2099-01-01T00:00:00Z").encode()],
            ["impossible timestamp in systemmodstamp: 2099"],
        ),
        _lead_file(
            "pre-2000 timestamp",
            11,
            [lead(93, CreatedDate="1999-12-31T23:00:00Z").encode()],
            ["impossible timestamp in createddate: 1999"],
        ),
        _lead_file(
            "bad type",
            13,
            [lead(94, NumberOfEmployees="lots").encode()],
            ["bad bigint in numberofemployees: lots"],
        ),
        _lead_file(
            "oversized field",
            15,
            [lead(95, Title="x" * 40_000).encode()],
            ["oversized field title (40000 characters)"],
        ),
        _lead_file(
            "row for another object",
            17,
            [lead(96, Id="003900000000096AAA").encode(), lead(97, Id="not-an-id").encode()],
            ["Id 003900000000096AAA is not a Lead Id", "malformed Id not-an-id"],
        ),
        Case(
            name="schema drift: new column, missing optional columns",
            path="crm/Lead/schema_drift.csv",
            content=text(
                "Id,FirstName,LastName,Email,Company,Favourite_Colour__c,CreatedDate,SystemModstamp",
                f"{lead_id(19)},Pat19,Corpus,pat19@corpus-co19.com,Corpus Co 19,teal,{STAMP},{STAMP}",
                f"{lead_id(20)},Pat20,Corpus,pat20@corpus-co20.com,Corpus Co 20,red,{STAMP},{STAMP}",
            ),
            rows_read=2,
            rows_loaded=2,
            reasons={},
            notes="extra columns ignored: Favourite_Colour__c; "
            "optional columns missing (loaded as NULL): title",
            good_lead_ids=(lead_id(19), lead_id(20)),
        ),
        Case(
            name="missing required column",
            path="crm/Contact/contacts_without_modstamp.csv",
            content=text(
                "Id,FirstName,LastName,Email",
                "003900000000001AAA,Kim,Corpus,kim@corpus-co1.com",
                "003900000000002AAA,Lee,Corpus,lee@corpus-co2.com",
            ),
            rows_read=2,
            rows_loaded=0,
            reasons={2: "required column(s) systemmodstamp missing", 3: "required column(s) systemmodstamp"},
            status="rejected",
        ),
        Case(
            name="rows for an unknown object",
            path="crm/Campaign/campaigns.csv",
            content=text("Id,Name,SystemModstamp", f"701900000000001AAA,Spring launch,{STAMP}"),
            rows_read=1,
            rows_loaded=0,
            reasons={2: "unknown CRM object (folder 'Campaign')"},
            status="rejected",
        ),
    ]
    good_events = [event("ev-good-1", lead_id(1)), event("ev-good-2", lead_id(3))]
    unknown_event_lead = Case(
        name="a Lead whose only event is of an unknown type (good baseline)",
        path="crm/Lead/unknown_event_lead.csv",
        content=text(LEAD_HEADER, lead(21)),
        rows_read=1,
        rows_loaded=1,
        reasons={},
        good_lead_ids=(UNKNOWN_EVENT_LEAD,),
    )
    map_cases = [
        Case(
            name="unparseable JSON lines",
            path="map/events_unparseable.jsonl",
            content=text(*good_events, '{"event_id": "ev-bad-1", "occurred_at": ', "[1, 2, 3]"),
            rows_read=4,
            rows_loaded=2,
            reasons={3: "unparseable JSON line", 4: "JSON line is not an object"},
        ),
        Case(
            name="wrong encoding (JSONL)",
            path="map/events_latin1.jsonl",
            content=text(event("ev-enc-1", lead_id(5)))
            + event("ev-enc-2", lead_id(6), url="/caf\u00e9").encode("utf-8").replace(b"\\u00e9", b"\xe9")
            + b"\n",
            rows_read=2,
            rows_loaded=1,
            reasons={2: "wrong encoding (not UTF-8)"},
        ),
        Case(
            name="missing ids (JSONL)",
            path="map/events_missing_ids.jsonl",
            content=text(
                event("ev-id-1", lead_id(7)),
                event("ev-id-2", None),
                event("", lead_id(8)),
            ),
            rows_read=3,
            rows_loaded=1,
            reasons={2: "missing email and crm_id", 3: "missing event_id"},
        ),
        Case(
            name="duplicate ids in a batch (JSONL)",
            path="map/events_duplicates.jsonl",
            content=text(
                event("ev-dup-1", lead_id(9)), event("ev-dup-1", lead_id(9)), event("ev-dup-2", lead_id(10))
            ),
            rows_read=3,
            rows_loaded=2,
            reasons={1: "duplicate event_id in this batch (kept the newest)"},
        ),
        Case(
            name="far-future and pre-2000 timestamps (JSONL)",
            path="map/events_impossible_times.jsonl",
            content=text(
                event("ev-time-1", lead_id(11)),
                event("ev-time-2", lead_id(11), occurred_at="2099-06-01T00:00:00Z"),
                event("ev-time-3", lead_id(12), occurred_at="1970-01-01T00:00:00Z"),
            ),
            rows_read=3,
            rows_loaded=1,
            reasons={
                2: "impossible timestamp in occurred_at: 2099",
                3: "impossible timestamp in occurred_at: 1970",
            },
        ),
        Case(
            name="oversized fields (JSONL)",
            path="map/events_oversized.jsonl",
            content=text(
                event("ev-big-1", lead_id(13)), event("ev-big-2", lead_id(14), url="/" + "y" * 39_999)
            ),
            rows_read=2,
            rows_loaded=1,
            reasons={2: "oversized field url (40000 characters)"},
        ),
        Case(
            name="unknown event types (kept, scored 0)",
            path="map/events_unknown_type.jsonl",
            content=text(
                event("ev-type-1", lead_id(15)),
                event("ev-type-2", UNKNOWN_EVENT_LEAD, event_type="hologram_visit", url=None),
            ),
            rows_read=2,
            rows_loaded=2,
            reasons={},
        ),
        Case(
            name="Marketo leads (good baseline)",
            path="map/marketo_leads.csv",
            content=text(
                "id,email,sfdcLeadId,sfdcContactId,updatedAt",
                f"9001,pat17@corpus-co17.com,{lead_id(17)},,{STAMP}",
                f"9002,pat18@corpus-co18.com,{lead_id(18)},,{STAMP}",
            ),
            rows_read=2,
            rows_loaded=2,
            reasons={},
        ),
        Case(
            name="malformed CSV and bad types (Marketo)",
            path="map/marketo_activities_bad.csv",
            content=text(
                MARKETO_HEADER,
                "mk-1,9001,2026-10-31T08:00:00Z,1,https://corpus.example/pricing,{}",
                "mk-2,9002,2026-10-31T08:00:00Z,2,Demo form,{}",
                "mk-3,9001,2026-10-31T08:00:00Z",
                "mk-4,nine,2026-10-31T08:00:00Z,1,https://corpus.example/pricing,{}",
            ),
            rows_read=4,
            rows_loaded=2,
            reasons={4: "malformed CSV line", 5: "bad bigint in leadid: nine"},
        ),
        Case(
            name="schema drift (Marketo): new column, missing optional column",
            path="map/marketo_activities_drift.csv",
            content=text(
                "marketoGUID,leadId,activityDate,activityTypeId,primaryAttributeValue,campaignId",
                "mk-5,9002,2026-10-31T09:00:00Z,1,https://corpus.example/demo,77",
            ),
            rows_read=1,
            rows_loaded=1,
            reasons={},
            notes="extra columns ignored: campaignId; optional columns missing (loaded as NULL): attributes",
        ),
        Case(
            name="missing required column (Marketo)",
            path="map/marketo_activities_no_date.csv",
            content=text("marketoGUID,leadId,activityTypeId", "mk-6,9001,1", "mk-7,9002,1"),
            rows_read=2,
            rows_loaded=0,
            reasons={line: "required column(s) activitydate missing" for line in (2, 3)},
            status="rejected",
        ),
        Case(
            name="unknown file layout",
            path="map/campaign_members.csv",
            content=text("member,campaign", "a,b"),
            rows_read=1,
            rows_loaded=0,
            reasons={2: "unknown MAP file layout"},
            status="rejected",
        ),
    ]
    erasure = Case(
        name="erasure request file with a line that is not an address",
        path="erasure/requests.csv",
        content=text("email", "gone@elsewhere.example", "not-an-address"),
        rows_read=2,
        rows_loaded=1,  # the request recorded (as a hash); the bad line quarantined, hashed
        reasons={3: "not an e-mail address"},
    )
    return [*crm, unknown_event_lead, *map_cases, erasure]


def write_corpus(landing: Path) -> list[Case]:
    """Write every case's file under ``landing``; returns the cases."""
    written = cases()
    for case in written:
        path = landing / case.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(case.content)
    return written


def observed(con, landing: Path) -> dict[str, dict]:
    """Per corpus file (path relative to ``landing``): its batch's status, counts and notes,
    and its quarantine rows as {line: reason}."""
    out: dict[str, dict] = {}
    batches = con.execute(
        "select file, status, rows_read, rows_loaded, rows_quarantined, notes, batch_id from ops.batches"
    ).fetchall()
    for file, status, read, loaded, quarantined, notes, batch_id in batches:
        reasons = dict(
            con.execute(
                "select line, reason from ops.quarantine where _batch_id = ? order by line", [batch_id]
            ).fetchall()
        )
        relative = Path(file).resolve().relative_to(landing.resolve()).as_posix()
        out[relative] = {
            "status": status,
            "rows_read": read,
            "rows_loaded": loaded,
            "rows_quarantined": quarantined,
            "notes": notes,
            "reasons": reasons,
        }
    return out


def differences(case: Case, seen: dict | None) -> list[str]:
    """What ``seen`` (one entry of ``observed``) gets wrong about ``case``; empty if nothing."""
    if seen is None:
        return [f"{case.path}: no batch recorded (file not read?)"]
    problems = []
    expected = (case.status, case.rows_read, case.rows_loaded, case.rows_quarantined)
    actual = (seen["status"], seen["rows_read"], seen["rows_loaded"], seen["rows_quarantined"])
    if expected != actual:
        problems.append(f"{case.path}: (status, read, loaded, quarantined) {actual} != expected {expected}")
    if set(seen["reasons"]) != set(case.reasons):
        problems.append(f"{case.path}: quarantined lines {sorted(seen['reasons'])} != {sorted(case.reasons)}")
    for line, reason in case.reasons.items():
        got = seen["reasons"].get(line) or ""
        if reason not in got:
            problems.append(f"{case.path} line {line}: reason {got!r} does not contain {reason!r}")
    if case.notes and case.notes not in (seen["notes"] or ""):
        problems.append(f"{case.path}: notes {seen['notes']!r} do not contain {case.notes!r}")
    return problems


def table(all_cases: list[Case], seen: dict[str, dict]) -> str:
    """The per-case table for a resolution note (Markdown)."""
    lines = [
        "| case | file | status | read | loaded | quarantined | reason(s) |",
        "|---|---|---|---:|---:|---:|---|",
    ]
    for case in all_cases:
        got = seen.get(case.path) or {}
        reasons = sorted(set(got.get("reasons", {}).values()))
        shown = "; ".join(r if len(r) <= 90 else r[:87] + "..." for r in reasons)
        if not shown and got.get("notes"):
            shown = got["notes"] if len(got["notes"]) <= 120 else got["notes"][:117] + "..."
        lines.append(
            f"| {case.name} | {case.path} | {got.get('status', '-')} | {got.get('rows_read', '-')} | "
            f"{got.get('rows_loaded', '-')} | {got.get('rows_quarantined', '-')} | "
            f"{shown.replace('|', '/')} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Load the corpus with the pipeline's extract and load stages into a temporary warehouse
    (files CRM source) and print the per-case table; 1 if anything differs from expected."""

    with tempfile.TemporaryDirectory(prefix="leadscore-corpus-") as tmp:
        root = Path(tmp)
        os.environ.update(
            LEADSCORE_WAREHOUSE=str(root / "warehouse.duckdb"),
            LEADSCORE_LANDING=str(root / "landing"),
            LEADSCORE_RUNS=str(root / "runs"),
            LEADSCORE_VAR=str(root / "var"),
            LEADSCORE_CRM_SOURCE="files",
        )
        all_cases = write_corpus(root / "landing")
        ctx = run_context.make_context("corpus", AS_OF)
        load = pipeline.load_raw(ctx, pipeline.extract_crm(ctx), pipeline.extract_map(ctx))
        with warehouse.connect(ctx.settings.warehouse) as con:
            seen = observed(con, root / "landing")
    print(table(all_cases, seen))
    print(
        f"\ntotal: {load['rows_read']} rows read = {load['rows_loaded']} loaded + "
        f"{load['rows_quarantined']} quarantined (+ {load['rows_erased']} erased)"
    )
    problems = [p for case in all_cases for p in differences(case, seen.get(case.path))]
    for problem in problems:
        print("MISMATCH:", problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
