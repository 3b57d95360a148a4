"""A throwaway Postgres cluster from Debian's ``postgresql`` package: ``initdb`` into a
temporary folder, ``pg_ctl start`` on a free loopback port (socket in the same folder),
trust authentication, C collation (byte order, as DuckDB and Spark sort text), and
``pg_ctl stop`` + removal at the end. As root, the server runs as the ``postgres`` user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

DATABASE = "leadscore"
USER = "postgres"


class PostgresUnavailable(RuntimeError):
    """No Postgres server binaries on this machine."""


@dataclass(frozen=True)
class Cluster:
    host: str
    port: int
    user: str
    database: str
    data_dir: Path

    def env(self) -> dict[str, str]:
        """The variables dbt_project/profiles.yml reads for the ``postgres`` target."""
        return {
            "LEADSCORE_PG_HOST": self.host,
            "LEADSCORE_PG_PORT": str(self.port),
            "LEADSCORE_PG_USER": self.user,
            "LEADSCORE_PG_PASSWORD": "",
            "LEADSCORE_PG_DATABASE": self.database,
        }

    def connect(self):
        """A psycopg2 connection to the cluster's database (autocommit)."""
        import psycopg2  # noqa: PLC0415 - optional dependency (requirements-engines.txt)

        con = psycopg2.connect(host=self.host, port=self.port, user=self.user, dbname=self.database)
        con.autocommit = True
        return con


def bin_dir() -> Path:
    """The newest ``/usr/lib/postgresql/<version>/bin`` that has ``initdb`` (or $LEADSCORE_PG_BIN)."""
    override = os.environ.get("LEADSCORE_PG_BIN")
    if override:
        return Path(override)
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name)
    )
    if not found:
        raise PostgresUnavailable(
            "no /usr/lib/postgresql/*/bin/initdb: install Debian's postgresql package "
            "(apt-get install -y postgresql) or set LEADSCORE_PG_BIN; `make test-engines` does it"
        )
    return Path(found[-1]).parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run_as(owner: str | None, args: list[str], log: Path | None = None) -> None:
    kwargs = {"user": owner} if owner else {}
    done = subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip()
        if log is not None and log.exists():
            detail += "\n" + log.read_text()[-2000:]
        raise RuntimeError(f"{' '.join(args[:2])} failed ({done.returncode}): {detail}")


@contextmanager
def cluster(port: int | None = None) -> Iterator[Cluster]:
    """Start a fresh cluster with an empty ``leadscore`` database; stop and remove it on exit."""
    binaries = bin_dir()
    owner = USER if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="leadscore-pg-"))
    data, log = root / "data", root / "server.log"
    if owner:
        entry = pwd.getpwnam(owner)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    port = port or free_port()
    started = False
    try:
        _run_as(
            owner,
            [
                str(binaries / "initdb"),
                "-D", str(data),
                "-U", USER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],
        )  # fmt: skip
        options = (
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        _run_as(
            owner,
            [
                str(binaries / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(log),
                "-w",
                "-t",
                "60",
                "start",
            ],
            log,
        )
        started = True
        found = Cluster("127.0.0.1", port, USER, DATABASE, data)
        import psycopg2  # noqa: PLC0415

        admin = psycopg2.connect(host=found.host, port=port, user=USER, dbname="postgres")
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(f"create database {DATABASE}")
        admin.close()
        yield found
    finally:
        if started:
            _run_as(owner, [str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], log)
        shutil.rmtree(root, ignore_errors=True)
