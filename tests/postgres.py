"""A real PostgreSQL server for tests, started on 127.0.0.1 in a temporary folder (no mock).

Debian's `postgresql` package puts the server under /usr/lib/postgresql/<version>/bin; the
server refuses to run as root, so as root it runs as the `postgres` user the package creates.
`make test` and .ci/run install the package when it is missing (.ci/system-packages).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def server_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run `make test` (it installs Debian's postgresql) or `apt-get install postgresql`")
    return Path(found[-1]).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """`with PostgresServer() as pg:` a fresh cluster with a database `rekap`, removed on exit."""

    def __init__(self):
        # Its own folder: the `postgres` user cannot enter pytest's root-only temporary folders.
        self.root = Path(tempfile.mkdtemp(prefix="rekap-postgres-"))
        self.port = free_port()
        self.bin = server_bin()
        self.as_root = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        command = [*(["runuser", "-u", "postgres", "--"] if self.as_root else []), *args]
        subprocess.run(command, check=True, capture_output=True, text=True)

    def __enter__(self) -> "PostgresServer":
        self.root.mkdir(parents=True, exist_ok=True)
        if self.as_root:
            shutil.chown(self.root, "postgres")
        data = self.root / "data"
        self._run(str(self.bin / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
        self._run(str(self.bin / "pg_ctl"), "-D", str(data), "-l", str(self.root / "log"), "-w", "-o",
                  f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off", "start")  # fmt: skip
        self._run(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "rekap")
        return self

    def dsn(self, dbname: str = "rekap") -> str:
        return f"dbname={dbname} host=127.0.0.1 port={self.port} user=postgres"

    def __exit__(self, *exc) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
