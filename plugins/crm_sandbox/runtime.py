"""Start, stop and inspect a CRM sandbox server running in the background.

``start`` spawns ``python -m crm_sandbox.server`` detached (new session, output to
``<sandbox_dir>/sandbox.log``) and waits until ``/_sandbox/health`` answers;
``<sandbox_dir>/sandbox.json`` then describes it (``pid``, ``port``, ``url``, ``cert``,
``token_file``, ``db``: what ``lead_scoring.crm.client.sandbox_connection`` reads).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import ssl
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crm_sandbox.tls import ensure_certificate, ensure_token

INFO_FILE = "sandbox.json"
LOG_FILE = "sandbox.log"
DEFAULT_DB = "crm.sqlite"
_PLUGINS_DIR = Path(__file__).resolve().parents[2]
_LOG_ROTATE_BYTES = 10 * 1024 * 1024

# Servers started by this process, so stop() can reap them (no zombies).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class SandboxInfo:
    """A running sandbox, as described by ``<sandbox_dir>/sandbox.json``."""

    pid: int
    port: int
    url: str
    cert: Path
    token_file: Path
    db: Path

    @property
    def token(self) -> str:
        """The access token (``Authorization: Bearer <token>``)."""
        return self.token_file.read_text().strip()

    def to_json(self) -> dict[str, Any]:
        """The ``sandbox.json`` content (paths as strings)."""
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SandboxInfo:
        """Build from a ``sandbox.json`` mapping."""
        return cls(
            pid=int(data["pid"]),
            port=int(data["port"]),
            url=str(data["url"]),
            cert=Path(data["cert"]),
            token_file=Path(data["token_file"]),
            db=Path(data["db"]),
        )


def _read_info_file(sandbox_dir: Path) -> SandboxInfo | None:
    try:
        return SandboxInfo.from_json(json.loads((sandbox_dir / INFO_FILE).read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_info_file(sandbox_dir: Path, info: SandboxInfo) -> None:
    path = sandbox_dir / INFO_FILE
    tmp = path.with_name(f"{INFO_FILE}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(info.to_json(), indent=2) + "\n")
    os.replace(tmp, path)


def health(url: str, cert: Path | str, timeout: float = 2.0) -> dict[str, Any] | None:
    """The ``/_sandbox/health`` answer of the server at ``url`` (TLS verified against
    ``cert``), or None if it does not answer."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        try:
            context = ssl.create_default_context(cafile=str(cert))
        except (OSError, ssl.SSLError):
            return None
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            parts.hostname or "localhost", parts.port, context=context, timeout=timeout
        )
    else:
        conn = http.client.HTTPConnection(parts.hostname or "localhost", parts.port, timeout=timeout)
    try:
        conn.request("GET", "/_sandbox/health")
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            return None
        return json.loads(body)
    except (OSError, ssl.SSLError, ValueError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def _sandbox_call(
    current: SandboxInfo, method: str, path: str, payload: dict | None = None, timeout: float = 30.0
) -> tuple[int, str]:
    """One authenticated HTTPS call to a ``/_sandbox/`` endpoint: (status, body text)."""
    parts = urlsplit(current.url)
    context = ssl.create_default_context(cafile=str(current.cert))
    conn = http.client.HTTPSConnection(
        parts.hostname or "localhost", parts.port, context=context, timeout=timeout
    )
    headers = {"Authorization": f"Bearer {current.token}"}
    if payload is not None:
        headers["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=None if payload is None else json.dumps(payload), headers=headers)
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        conn.close()


def stats(current: SandboxInfo, timeout: float = 30.0) -> dict[str, Any]:
    """The running sandbox's ``GET /_sandbox/stats``: API calls per kind since the last reset
    (``counts``) and the server's own busy seconds (``busy_s`` per kind, ``busy_total_s``)."""
    status, body = _sandbox_call(current, "GET", "/_sandbox/stats", timeout=timeout)
    if status != 200:
        raise RuntimeError(f"the sandbox at {current.url} answered {status} to /_sandbox/stats: {body}")
    return json.loads(body)


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a live (not zombie) process."""
    child = _CHILDREN.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _is_sandbox_process(pid: int) -> bool:
    """Whether ``pid`` is alive and runs ``crm_sandbox.server`` (guards against a
    recycled pid in a stale sandbox.json)."""
    if not _alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc: trust the pid
    return b"crm_sandbox.server" in cmdline


def info(sandbox_dir: Path) -> SandboxInfo | None:
    """The running sandbox of ``sandbox_dir``, or None if none is running and healthy."""
    current = _read_info_file(Path(sandbox_dir))
    if current is None or not _alive(current.pid):
        return None
    answer = health(current.url, current.cert)
    if not answer or answer.get("pid") != current.pid:
        return None
    return current


def _log_tail(log_path: Path, lines: int = 30) -> str:
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def _post_faults(current: SandboxInfo, spec: str) -> None:
    status, body = _sandbox_call(current, "POST", "/_sandbox/faults", {"spec": spec}, timeout=5)
    if status != 200:
        raise RuntimeError(f"could not set faults {spec!r} on the running sandbox: {body}")


def start(
    sandbox_dir: Path,
    port: int = 8443,
    db: Path | None = None,
    faults: str | None = None,
    wait_s: float = 20,
) -> SandboxInfo:
    """Start the sandbox server in the background and wait until it answers.

    ``port=0`` picks a free port; ``db`` defaults to ``<sandbox_dir>/crm.sqlite``; ``faults``
    is a fault spec (default: ``LEADSCORE_SANDBOX_FAULTS``). If a healthy sandbox with the
    same db (and port, unless 0) already runs, it is returned (and given ``faults`` if set).
    Raises RuntimeError, with the end of ``sandbox.log``, if the server does not come up
    within ``wait_s`` seconds or another sandbox occupies the folder.
    """
    sandbox_dir = Path(sandbox_dir).resolve()
    sandbox_dir.mkdir(parents=True, exist_ok=True)
    db_path = Path(db).resolve() if db else sandbox_dir / DEFAULT_DB
    current = info(sandbox_dir)
    if current is not None:
        if current.db.resolve() == db_path and port in (0, current.port):
            if faults is not None:
                _post_faults(current, faults)
            return current
        raise RuntimeError(
            f"A CRM sandbox already runs from {sandbox_dir} (pid {current.pid}, port "
            f"{current.port}, db {current.db}); stop it first with `leadscore sandbox stop`."
        )
    (sandbox_dir / INFO_FILE).unlink(missing_ok=True)  # stale
    ensure_token(sandbox_dir)
    ensure_certificate(sandbox_dir)

    log_path = sandbox_dir / LOG_FILE
    if log_path.exists() and log_path.stat().st_size > _LOG_ROTATE_BYTES:
        os.replace(log_path, log_path.with_suffix(".log.1"))
    cmd = [
        sys.executable,
        "-m",
        "crm_sandbox.server",
        "--sandbox-dir",
        str(sandbox_dir),
        "--db",
        str(db_path),
        "--port",
        str(port),
        "--host",
        "127.0.0.1",
    ]
    if faults is not None:
        cmd += ["--faults", faults]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_PLUGINS_DIR), env.get("PYTHONPATH", "")) if p)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(  # noqa: S603 - fixed command line
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
            cwd=str(sandbox_dir),
        )
    _CHILDREN[proc.pid] = proc

    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            _CHILDREN.pop(proc.pid, None)
            raise RuntimeError(
                f"The CRM sandbox exited with code {proc.returncode} while starting. "
                f"Last lines of {log_path}:\n{_log_tail(log_path)}"
            )
        current = _read_info_file(sandbox_dir)
        if current is not None and current.pid == proc.pid:
            answer = health(current.url, current.cert, timeout=1.0)
            if answer and answer.get("pid") == proc.pid:
                _write_info_file(sandbox_dir, current)
                return current
        time.sleep(0.05)
    _terminate(proc.pid)
    raise RuntimeError(
        f"The CRM sandbox did not answer within {wait_s:g} s (port {port or 'auto'}). "
        f"Last lines of {log_path}:\n{_log_tail(log_path)}"
    )


def _terminate(pid: int, grace_s: float = 10.0) -> None:
    """SIGTERM, wait up to ``grace_s``, then SIGKILL; reaps our own children."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    child = _CHILDREN.pop(pid, None)
    if child is not None:
        try:
            child.wait(grace_s)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(5)
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    if _alive(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def stop(sandbox_dir: Path) -> bool:
    """Stop the sandbox of ``sandbox_dir`` and remove ``sandbox.json``.

    Returns True if a running server was stopped."""
    sandbox_dir = Path(sandbox_dir).resolve()
    current = _read_info_file(sandbox_dir)
    stopped = False
    if current is not None and _is_sandbox_process(current.pid):
        _terminate(current.pid)
        stopped = True
    (sandbox_dir / INFO_FILE).unlink(missing_ok=True)
    return stopped
