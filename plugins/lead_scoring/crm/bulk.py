"""Bulk API 2.0 calls through a simple-salesforce session (its retries, timeouts and API
usage counting included): the job endpoints shared by ingest jobs (the write-back) and query
jobs (large extracts)."""

from __future__ import annotations

import time
from collections.abc import Iterator


class BulkJobs:
    """``jobs/<kind>`` (``ingest`` or ``query``) of the session's org."""

    def __init__(self, sf, kind: str) -> None:
        self.sf = sf
        self.name = f"jobs/{kind}"
        self.base = f"{sf.base_url}{self.name}"

    def _call(self, method: str, path: str = "", **kwargs):
        headers = {**self.sf.headers, **kwargs.pop("headers", {})}
        response = self.sf.session.request(method, self.base + path, headers=headers, **kwargs)
        if response.status_code >= 300:
            from simple_salesforce.util import exception_handler  # noqa: PLC0415

            exception_handler(response, self.name)
        return response

    def info(self, job_id: str) -> dict:
        return self._call("GET", f"/{job_id}").json()

    def wait(self, job_id: str, timeout_s: float = 600.0, first_delay_s: float = 0.5) -> dict:
        """Poll with backoff until the job is finished: the first look after ``first_delay_s``
        (a job just closed is never finished yet, so an immediate look is a wasted API
        call), then doubling to 5 s."""
        deadline, delay = time.monotonic() + timeout_s, first_delay_s
        while True:
            time.sleep(delay)
            info = self.info(job_id)
            if info["state"] in {"JobComplete", "Failed", "Aborted"}:
                return info
            if time.monotonic() > deadline:
                raise TimeoutError(f"bulk job {job_id} still {info['state']} after {timeout_s:.0f}s")
            delay = min(max(delay, 0.2) * 2, 5.0)


class BulkQuery(BulkJobs):
    """A Bulk API 2.0 query job: its rows come as CSV pages, not JSON records."""

    def __init__(self, sf) -> None:
        super().__init__(sf, "query")

    def run(self, soql: str, include_deleted: bool, timeout_s: float = 1800.0) -> str:
        """Create the job and wait for it; returns the job id. A failed job raises with the
        CRM's message."""
        body = {"operation": "queryAll" if include_deleted else "query", "query": soql}
        job_id = self._call("POST", json=body).json()["id"]
        info = self.wait(job_id, timeout_s=timeout_s, first_delay_s=0.2)
        if info["state"] != "JobComplete":
            raise RuntimeError(f"bulk query job {job_id} {info['state']}: {info.get('errorMessage')}")
        return job_id

    def pages(self, job_id: str, max_records: int) -> Iterator[str]:
        """The job's result pages (CSV text, each with its header line), in order."""
        locator = None
        while True:
            params = {"maxRecords": max_records, **({"locator": locator} if locator else {})}
            response = self._call("GET", f"/{job_id}/results", params=params)
            yield response.text
            locator = response.headers.get("Sforce-Locator")
            if not locator or locator == "null":
                return
