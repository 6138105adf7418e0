"""A throw-away PostgreSQL server for the tests: initdb in a temporary folder, listening on a
Unix socket only.  Missing PostgreSQL: skip locally, FAIL when CI is set (.ci/run installs it)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(cmd: list[str]) -> list[str]:
    # the server refuses to run as root
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if not initdb or not pg_ctl:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL (initdb, pg_ctl) is required when CI is set")
        pytest.skip("PostgreSQL is not installed")
    # not under pytest's tmp dir: as root that is private (0700) and the server runs as postgres
    base = Path(tempfile.mkdtemp(prefix="jixiao-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
    port = _free_port()
    subprocess.run(_as_postgres([initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                                 "--locale=C.UTF-8"]), check=True, capture_output=True)
    opts = f"-k {sock} -p {port} -c listen_addresses='' -c fsync=off -c synchronous_commit=off"
    subprocess.run(_as_postgres([pg_ctl, "-D", str(data), "-o", opts, "-w", "-l", str(base / "log"), "start"]),
                   check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@/postgres?host={sock}&port={port}"
    finally:
        subprocess.run(_as_postgres([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def fresh_database(url: str, name: str) -> str:
    """A new empty database on the server of `url`."""
    from sqlalchemy import create_engine, text

    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.replace("@/postgres?", f"@/{name}?")
