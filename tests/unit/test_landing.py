"""Landing files through the pipeline's own extract and load stages: never opened through a
symbolic link (file or folder, swapped in after listing or not), never outside the landing
root, never a FIFO; a rejected file is read in bounded pieces and every line counted."""

from __future__ import annotations

import io
import itertools
import json
import os
import tracemalloc
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lead_scoring import config, landing, pipeline, run_context, warehouse
from lead_scoring.load import files
from lead_scoring.load.files import LINES_KEPT, RECORD_CHARS, load_crm_text, load_map_file
from lead_scoring.load.raw import Batch

AS_OF = "2026-11-01T10:00:00"
LEAD_CSV = "Id,Email,SystemModstamp\n00Q000000000001AAA,a@x.com,2026-10-01T00:00:00Z\n"
CONTACT_CSV = "Id,Email,SystemModstamp\n003000000000001AAA,c@x.com,2026-10-01T00:00:00Z\n"


def event(event_id: str) -> str:
    return json.dumps(
        {"event_id": event_id, "occurred_at": "2026-10-30T10:00:00Z", "email": "a@x.com", "event_type": "x"}
    ) + "\n"  # fmt: skip


@pytest.fixture
def files_settings(settings, monkeypatch):
    monkeypatch.setenv("LEADSCORE_CRM_SOURCE", "files")
    return config.load_settings()


@pytest.fixture
def outside(tmp_path):
    """Good files outside the landing folder, which links in it point at."""
    folder = tmp_path / "outside"
    (folder / "Contact").mkdir(parents=True)
    (folder / "Lead.csv").write_text(LEAD_CSV)
    (folder / "Contact" / "contacts.csv").write_text(CONTACT_CSV)
    (folder / "events.jsonl").write_text(event("outside-1"))
    (folder / "requests.csv").write_text("email\na@x.com\n")
    return folder


def load(run_id: str) -> dict:
    ctx = run_context.make_context(run_id, AS_OF)
    return pipeline.load_raw(ctx, pipeline.extract_crm(ctx), pipeline.extract_map(ctx))


def landing_state(settings) -> dict:
    """Per landing entry (relative path): (batch status, quarantine (line, record, reason))."""
    prefix = str(settings.landing) + "/"
    with warehouse.connect(settings.warehouse) as con:
        batches = con.execute("select batch_id, file, status from ops.batches").fetchall()
        state = {}
        for batch_id, file, status in batches:
            rows = con.execute(
                "select line, record, reason from ops.quarantine where _batch_id = ? order by line",
                [batch_id],
            ).fetchall()
            state[file.removeprefix(prefix)] = (status, rows)
    return state


def test_symbolic_links_in_landing_folders_are_refused_and_the_run_goes_on(files_settings, outside):
    root = files_settings.landing
    for folder in ("map", "crm/Lead", "erasure"):
        (root / folder).mkdir(parents=True)
    (root / "map" / "passwd.csv").symlink_to("/etc/passwd")
    (root / "map" / "events_elsewhere.jsonl").symlink_to(outside / "events.jsonl")
    (root / "map" / "events.jsonl").write_text(event("landed-1"))
    (root / "map" / "events_again.jsonl").symlink_to(
        root / "map" / "events.jsonl"
    )  # inside: not followed either
    os.mkfifo(root / "map" / "events_pipe.jsonl")  # opening it for reading would wait for a writer
    (root / "crm" / "Lead" / "leads.csv").symlink_to(outside / "Lead.csv")
    (root / "crm" / "Contact").symlink_to(outside / "Contact")  # a linked folder
    (root / "erasure" / "requests.csv").symlink_to(outside / "requests.csv")

    load("r1")
    refused = ("rejected", [(0, None, landing.SYMLINK)])  # one row naming the file, nothing read
    state = landing_state(files_settings)
    assert state == {
        "map/passwd.csv": refused,
        "map/events_elsewhere.jsonl": refused,
        "map/events_again.jsonl": refused,
        "map/events_pipe.jsonl": ("rejected", [(0, None, "not a regular file (a FIFO)")]),
        "crm/Lead/leads.csv": refused,
        "crm/Contact": refused,
        "erasure/requests.csv": refused,
        "map/events.jsonl": ("loaded", []),
    }
    with warehouse.connect(files_settings.warehouse) as con:
        assert con.execute("select event_id from raw_map.events").fetchall() == [("landed-1",)]
        assert con.execute("select count(*) from raw_salesforce.lead").fetchall() == [(0,)]
        assert con.execute("select count(*) from raw_salesforce.contact").fetchall() == [(0,)]
        assert con.execute("select count(*) from ops.erasure_requests").fetchall() == [(0,)]
    assert (outside / "requests.csv").exists()  # not read, not deleted through the link

    load("r2")  # the same entries again: refused without a second quarantine row
    assert landing_state(files_settings) == state


def test_a_linked_landing_folder_is_not_followed(files_settings, outside):
    root = files_settings.landing
    root.mkdir(parents=True, exist_ok=True)
    (root / "map").symlink_to(outside)  # every file under it resolves outside the landing root
    load("r1")
    state = landing_state(files_settings)
    reason = f"{landing.SYMLINK} (folder map is a link)"
    assert state["map/events.jsonl"] == ("rejected", [(0, None, reason)])
    assert state["map/Lead.csv"] == ("rejected", [(0, None, reason)])
    with warehouse.connect(files_settings.warehouse) as con:
        assert con.execute("select count(*) from raw_map.events").fetchall() == [(0,)]


def test_a_file_swapped_for_a_link_after_listing_is_not_read(files_settings, outside):
    root = files_settings.landing
    (root / "map").mkdir(parents=True)
    (root / "crm" / "Lead").mkdir(parents=True)
    (root / "map" / "events.jsonl").write_text(event("landed-1"))
    (root / "crm" / "Lead" / "leads.csv").write_text(LEAD_CSV)
    ctx = run_context.make_context("r1", AS_OF)
    crm, map_files = pipeline.extract_crm(ctx), pipeline.extract_map(ctx)
    for name, target in (("map/events.jsonl", "events.jsonl"), ("crm/Lead/leads.csv", "Lead.csv")):
        (root / name).unlink()
        (root / name).symlink_to(outside / target)  # after the extract listed it, before the load
    pipeline.load_raw(ctx, crm, map_files)
    state = landing_state(files_settings)
    assert state["map/events.jsonl"] == ("rejected", [(0, None, landing.SYMLINK)])
    assert state["crm/Lead/leads.csv"] == ("rejected", [(0, None, landing.SYMLINK)])
    with warehouse.connect(files_settings.warehouse) as con:
        assert con.execute("select count(*) from raw_map.events").fetchall() == [(0,)]
        assert con.execute("select count(*) from raw_salesforce.lead").fetchall() == [(0,)]


def test_a_folder_that_cannot_be_listed_is_refused_by_name(files_settings, monkeypatch):
    root = files_settings.landing
    (root / "crm" / "Lead").mkdir(parents=True)
    (root / "crm" / "Lead" / "leads.csv").write_text(LEAD_CSV)
    scandir = os.scandir

    def no_permission(path):  # what a folder of another user gives (root reads anything)
        if str(path).endswith("Lead"):
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(landing.os, "scandir", no_permission)
    load("r1")
    status, rows = landing_state(files_settings)["crm/Lead"]
    assert status == "rejected" and rows == [(0, None, "not a regular file (a folder)")]


def test_a_path_outside_the_landing_root_is_refused(tmp_path):
    (tmp_path / "landing").mkdir()
    (tmp_path / "secret.csv").write_text("x\n")
    with pytest.raises(landing.RefusedFile, match="outside the landing folder"):
        with landing.open_file(tmp_path / "landing" / ".." / "secret.csv", tmp_path / "landing"):
            pass


@pytest.fixture
def con(settings):
    with warehouse.connect(settings.warehouse) as connection:
        warehouse.ensure_schema(connection)
        yield connection


def test_a_rejected_file_is_read_in_bounded_memory_and_every_line_counted(con, tmp_path):
    path = tmp_path / "campaign_members.csv"  # an unknown MAP layout: the whole file is rejected
    with path.open("wb") as out:
        out.write(b"member,campaign\n")
        out.write(b"x" * (16 << 20) + b"\n")  # line 2: 16 MiB without a newline
        out.writelines(b"m%d,c\n" % i for i in range(3_000))  # lines 3-3002
        out.write(b"\n  \n")  # lines 3003-3004: blank, not rows
        out.write(b"last,line")  # line 3005, no final newline
    tracemalloc.start()
    try:
        result = load_map_file(con, path, run_id="r1", as_of=datetime(2026, 11, 1))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 6 << 20, f"{peak:,} bytes allocated at the peak for a {path.stat().st_size:,}-byte file"
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3_002, 0, 3_002)
    rows = con.execute("select line, record, reason from ops.quarantine order by line").fetchall()
    assert len(rows) == LINES_KEPT + 1
    assert rows[0][0] == 2 and rows[0][1] == "x" * RECORD_CHARS  # the long line, truncated
    assert [line for line, _, _ in rows[:LINES_KEPT]] == list(range(2, 2 + LINES_KEPT))
    line, record, reason = rows[-1]  # one row counts the lines not stored
    assert (line, record) == (2 + LINES_KEPT, None)
    assert reason.startswith("2,002 more lines (1002-3005) quarantined, counted but not stored: unknown MAP")


def test_a_data_loader_csv_missing_a_required_column_is_rejected_before_it_is_read_whole(
    con, tmp_path, monkeypatch
):
    def read_whole(*args, **kwargs):
        raise AssertionError("the whole file was read into DuckDB before its header was checked")

    monkeypatch.setattr(files, "_csv_text_table", read_whole)
    path = tmp_path / "leads.csv"
    path.write_text("Id,Email\n00Q000000000001AAA,a@x.com\n")
    batch = Batch("files:Lead:no-modstamp", "files", "Lead", str(path), "r1")
    result = load_crm_text(con, "Lead", path, batch, watermark=False, as_of=datetime(2026, 11, 1))
    assert (result.rows_read, result.rows_quarantined) == (1, 1)
    reason = con.execute("select reason from ops.quarantine").fetchall()[0][0]
    assert reason.startswith("required column(s) systemmodstamp missing from the header")


def expected_lines(data: bytes, keep: int) -> list[landing.Line]:
    """non_blank_lines by the obvious, whole-file method."""
    raws = data.split(b"\n")
    if raws[-1] == b"":
        raws.pop()  # the end of the last line, not a line
    lines = []
    for number, raw in enumerate(raws, start=1):
        text = raw.removesuffix(b"\r")
        if raw.strip():
            lines.append(landing.Line(number, text[:keep], len(text)))
    return lines


@settings(max_examples=300, deadline=None)
@given(
    data=st.lists(
        st.sampled_from([b"a", b"xyz", b" ", b"\t", b"\r", b"\n", b"\r\n", b"\n\n"]), max_size=40
    ).map(b"".join),
    keep=st.integers(0, 6),
    chunk=st.integers(1, 7),
    skip=st.integers(0, 3),
)
def test_lines_read_in_pieces_are_the_lines_of_the_whole_file(data, keep, chunk, skip):
    expected = expected_lines(data, keep)
    assert list(landing.non_blank_lines(io.BytesIO(data), keep, chunk)) == expected
    handle = io.BytesIO(data)  # counting the rest after ``skip`` lines read one by one
    read = list(itertools.islice(landing.non_blank_lines(handle, keep, chunk), skip))
    before = read[-1].number if read else 0
    rest = expected[len(read) :]
    counted = (len(rest), rest[0].number, rest[-1].number) if rest else (0, 0, 0)
    assert landing.count_non_blank(handle, before, chunk) == counted
