"""Where an incremental CRM extract starts and ends.

The window ends at the CRM's own clock (the ``Date`` header of its answers) minus an
overlap, or at the run's ``as_of`` if that is earlier: never at an ``as_of`` the CRM has not
reached, so the watermark never moves past what the CRM has committed. It starts the same
overlap before the previous window's end: a record committed after that extract with an
earlier ``SystemModstamp`` (Salesforce stamps a change when its transaction starts) is read
by the next one. Rows read twice are versions loaded already: the loader writes each
(Id, SystemModstamp) once.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from lead_scoring.config import SettingsError

DEFAULT_OVERLAP_S = 300
DEFAULT_RECONCILE_HOURS = 24


def _whole_number(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise SettingsError(f"{name}={raw!r}; use a whole number >= 0 (default {default})")
    return int(raw)


def overlap() -> timedelta:
    """``LEADSCORE_EXTRACT_OVERLAP_S`` (default 300): how far before the CRM's clock a window
    ends, and how far before the previous window's end the next one starts."""
    return timedelta(seconds=_whole_number("LEADSCORE_EXTRACT_OVERLAP_S", DEFAULT_OVERLAP_S))


def reconcile_after() -> timedelta:
    """``LEADSCORE_EXTRACT_RECONCILE_HOURS`` (default 24): when getDeleted cannot cover a
    window, an Id reconciliation runs if the object's last one (or its first full extract)
    ended this long ago or more; 0: every such run reconciles."""
    return timedelta(hours=_whole_number("LEADSCORE_EXTRACT_RECONCILE_HOURS", DEFAULT_RECONCILE_HOURS))


def window_end(as_of: datetime, crm_now: datetime, lap: timedelta) -> datetime:
    """The end of this run's windows: ``as_of``, or the CRM's clock minus ``lap`` if earlier."""
    return min(as_of, crm_now - lap)


def window_start(watermark: datetime | None, lap: timedelta) -> datetime | None:
    """The start of an object's window: ``lap`` before its watermark (None: from the beginning)."""
    return None if watermark is None else watermark - lap
