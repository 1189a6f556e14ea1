"""Slurm accounting for the throw-away test cluster: MariaDB and slurmdbd, so `sacct` answers.

MariaDB gets a private data folder and a unix socket under the cluster's scratch folder (no TCP,
no systemd, no /etc/mysql); slurmdbd finds the socket through MYSQL_UNIX_PORT, which MariaDB's
client library reads when it is given no socket of its own. Both run in the foreground as the
cluster's children and are stopped by pid with the rest.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path

ACCOUNTING_PROGRAMS = ("mariadbd", "mariadb-install-db", "slurmdbd", "sacct", "sacctmgr")

StartDaemon = Callable[[str, list[str], Mapping[str, str]], None]
# A throw-away test database: small buffers (slurmdbd warns that they are below what it
# recommends for production, which is fine here), and no fsync: slurmdbd creates ~50 tables at
# its first start, and a crash of a test cluster loses nothing anyone needs.
SERVER_OPTIONS = (
    "--innodb-buffer-pool-size=32M",
    "--innodb-log-file-size=16M",
    "--innodb-lock-wait-timeout=900",
    "--innodb-flush-log-at-trx-commit=0",
    "--innodb-doublewrite=0",
    "--innodb-flush-method=nosync",
)


class AccountingError(RuntimeError):
    """MariaDB or slurmdbd did not come up; the message says which and where to look."""


class Accounting:
    """The accounting half of one test cluster, configured under `base`."""

    def __init__(
        self,
        base: Path,
        *,
        user: str,
        dbd_port: int,
        munge_socket: Path,
        check_alive: Callable[[], None],
    ) -> None:
        self.base = base
        self.check_alive = check_alive  # raises when a daemon already exited: no long wait
        self.user = user
        self.dbd_port = dbd_port
        self.munge_socket = munge_socket

    @property
    def datadir(self) -> Path:
        return self.base / "mysql" / "data"

    @property
    def mysql_socket(self) -> Path:
        return self.base / "mysql" / "mysqld.sock"

    def environment(self) -> dict[str, str]:
        """What slurmdbd (and the mariadb client) need to find the private server."""
        return {"MYSQL_UNIX_PORT": str(self.mysql_socket)}

    def slurm_conf_lines(self, *, kill_over_memory: bool) -> list[str]:
        """slurm.conf lines that make slurmctld report to this slurmdbd; `kill_over_memory`
        enforces --mem without cgroups (see docs/slurm.md, "Memory limits")."""
        lines = [
            "AccountingStorageType=accounting_storage/slurmdbd",
            "AccountingStorageHost=127.0.0.1",
            f"AccountingStoragePort={self.dbd_port}",
            # With munge this names the socket that talks to slurmdbd (AuthInfo is not used).
            f"AccountingStoragePass={self.munge_socket}",
            # Reads each step's memory from /proc once a second (sacct's MaxRSS).
            "JobAcctGatherType=jobacct_gather/linux",
            "JobAcctGatherFrequency=task=1",
        ]
        if kill_over_memory:
            # Kills a step over its --mem at the next reading; Slurm records the job as FAILED
            # (not OUT_OF_MEMORY, which only task/cgroup's OOM events give) and writes
            # "Exceeded job memory limit" into its log.
            lines.append("JobAcctGatherParams=OverMemoryKill")
        return lines

    def write_config(self, etc: Path) -> None:
        """slurmdbd.conf beside slurm.conf (slurmdbd looks there); 0600, as it insists."""
        lines = [
            "AuthType=auth/munge",
            f"AuthInfo=socket={self.munge_socket}",
            "DbdAddr=127.0.0.1",
            "DbdHost=localhost",
            f"DbdPort={self.dbd_port}",
            f"SlurmUser={self.user}",
            f"PidFile={self.base / 'run' / 'slurmdbd.pid'}",
            f"LogFile={self.base / 'log' / 'slurmdbd.log'}",
            "StorageType=accounting_storage/mysql",
            "StorageHost=localhost",  # "localhost": the client library takes the unix socket
            f"StorageUser={self.user}",
            "StorageLoc=slurm_acct_db",
        ]
        path = etc / "slurmdbd.conf"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        path.chmod(0o600)

    def start_mariadb(
        self, find: Callable[[str], str], start_daemon: StartDaemon, timeout: float
    ) -> None:
        (self.base / "mysql").mkdir(exist_ok=True)
        if not (self.datadir / "mysql").is_dir():
            result = subprocess.run(
                [
                    find("mariadb-install-db"),
                    "--no-defaults",  # never /etc/mysql: this server is ours alone
                    f"--datadir={self.datadir}",
                    f"--user={self.user}",
                    "--auth-root-authentication-method=socket",
                    "--skip-test-db",
                    "--skip-name-resolve",
                    *SERVER_OPTIONS,  # a 16 MiB redo log is written here: 34 MB, not 114
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
                raise AccountingError(f"mariadb-install-db failed: {' / '.join(tail)}")
        start_daemon(
            "mariadbd",
            [
                "--no-defaults",
                f"--datadir={self.datadir}",
                f"--socket={self.mysql_socket}",
                "--skip-networking",
                f"--user={self.user}",
                f"--pid-file={self.base / 'mysql' / 'mariadbd.pid'}",
                f"--log-error={self.base / 'log' / 'mariadbd.log'}",
                "--skip-log-bin",
                *SERVER_OPTIONS,
            ],
            {},
        )
        self._wait(
            lambda: self.mysql_socket.exists(), "mariadbd did not create its socket", timeout
        )

    def start_slurmdbd(
        self,
        find: Callable[[str], str],
        start_daemon: StartDaemon,
        client_env: Mapping[str, str],
        timeout: float,
    ) -> None:
        start_daemon("slurmdbd", ["-D"], self.environment())
        sacctmgr = find("sacctmgr")

        def answers() -> bool:
            result = subprocess.run(
                [sacctmgr, "-n", "-P", "list", "cluster", "format=cluster"],
                capture_output=True,
                env=dict(client_env),
                check=False,
                timeout=30,
            )
            return result.returncode == 0

        self._wait(answers, "slurmdbd did not answer sacctmgr", timeout, interval=0.05)

    def add_cluster(self, find: Callable[[str], str], name: str, env: Mapping[str, str]) -> None:
        """Register the cluster before slurmctld starts, so its first jobs are recorded."""
        result = subprocess.run(
            [find("sacctmgr"), "-i", "add", "cluster", name],
            capture_output=True,
            text=True,
            env=dict(env),
            check=False,
            timeout=30,
        )
        if result.returncode != 0 and "Nothing new added" not in result.stdout + result.stderr:
            raise AccountingError(f"sacctmgr add cluster failed: {result.stderr.strip()}")

    def _wait(
        self, ready: Callable[[], bool], what: str, timeout: float, interval: float = 0.02
    ) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            self.check_alive()
            if time.monotonic() > deadline:
                raise AccountingError(f"{what} within {timeout:.0f} s")
            time.sleep(interval)
