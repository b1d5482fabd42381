"""A throwaway PostgreSQL cluster for fault tests: its own data directory and port, started and stopped
(or killed) by the test, never the machine's own server.

`initdb` and `pg_ctl` come from PATH (Debian's postgresql package links them into /usr/local/bin on these
machines; `FARTHING_PG_BIN` names another folder). PostgreSQL refuses to run as root, so as root the
cluster runs as the `postgres` user."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tool(name: str) -> str:
    folder = os.environ.get("FARTHING_PG_BIN")
    found = os.path.join(folder, name) if folder else shutil.which(name)
    if not found or not os.path.exists(found):
        raise RuntimeError(f"{name} not found: install PostgreSQL's server or set FARTHING_PG_BIN")
    return found


class Cluster:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="farthing-pg-", dir="/tmp"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        self._run(_tool("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as, *args], check=True, capture_output=True, cwd=self.root)

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off"
        self._run(_tool("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start")

    def kill(self) -> None:
        """Stop at once, as a crash would (`immediate`: no checkpoint; recovery replays the WAL on start)."""
        self._run(_tool("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def log(self) -> str:
        path = self.root / "log"
        return path.read_text() if path.exists() else ""

    def remove(self) -> None:
        subprocess.run([*self._as, _tool("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
                       capture_output=True, cwd=self.root)  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)
