"""A throw-away single-node Slurm (munged, MariaDB + slurmdbd for accounting, slurmctld,
slurmd) for the tests and benchmarks.

Everything lives under one scratch folder and listens on loopback ports (or a unix socket) picked
at start, so two clusters (two pytest-xdist workers, two CI jobs) never collide. No systemd, no
cgroups; every daemon runs in the foreground as our child and is stopped by its pid.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

from .accounting import ACCOUNTING_PROGRAMS, Accounting, AccountingError

DAEMONS = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "scontrol", "sinfo", "scancel")
# Daemons are looked up here too: Debian puts them in /usr/sbin, which a non-root PATH lacks.
SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin")
# A unix socket path longer than this is refused by the kernel (sun_path is 108 bytes).
MAX_SOCKET_PATH = 100


class ClusterError(RuntimeError):
    """Slurm could not be started; the message says which step failed and where its log is."""


def find_program(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for folder in SBIN_DIRS:
        candidate = Path(folder) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def missing_programs(accounting: bool = True) -> list[str]:
    wanted = DAEMONS + (ACCOUNTING_PROGRAMS if accounting else ())
    return [name for name in wanted if find_program(name) is None]


def free_port() -> int:
    # Small race between closing and slurmctld binding; acceptable for tests, and the start-up
    # check below turns a lost race into a clear error rather than a hang.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


CGROUP_V1_MEMORY = Path("/sys/fs/cgroup/memory")
MEMORY_ENFORCEMENT_ENV = "NBEXP_SLURM_MEMORY_ENFORCEMENT"  # "cgroup" or "jobacct", to force one


def memory_enforcement() -> str:
    """How the test cluster enforces --mem: "cgroup" where a cgroup v1 memory controller is
    mounted and writable (Slurm's task/cgroup then records OUT_OF_MEMORY), else "jobacct"
    (jobacct_gather polls each step's RSS and kills it: the job ends FAILED, its log says why).
    Slurm 22.05's cgroup v2 plugin needs systemd's D-Bus, which a container without systemd
    lacks, so a v2-only machine gets "jobacct"."""
    forced = os.environ.get(MEMORY_ENFORCEMENT_ENV)
    if forced in ("cgroup", "jobacct"):
        return forced
    usable = (CGROUP_V1_MEMORY / "memory.limit_in_bytes").exists() and os.access(
        CGROUP_V1_MEMORY, os.W_OK
    )
    return "cgroup" if usable else "jobacct"


def total_memory_mb() -> int:
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    return 4096


class SlurmCluster:
    """One controller and one compute node on this machine, configured under `base`.

    `cpus` may exceed the real core count: `SlurmdParameters=config_overrides` makes Slurm trust
    the configuration, so tests can run several jobs at once on a 2-core CI machine. With
    `accounting` (the default) MariaDB and slurmdbd start first, so `sacct` answers; a second
    partition, `urgent`, has a higher priority tier and preempts (cancels) jobs of `partition`.
    """

    def __init__(
        self,
        base: Path,
        *,
        cpus: int = 16,
        gpus: int = 1,
        partition: str = "debug",
        accounting: bool = True,
    ):
        self.base = Path(base)
        self.cpus = cpus
        self.gpus = gpus
        self.partition = partition
        self.urgent_partition = "urgent"
        self.host = socket.gethostname().split(".")[0]
        self.ctld_port = 0
        self.slurmd_port = 0
        self.accounting: Accounting | None = None
        self.memory_enforcement = memory_enforcement() if accounting else "none"
        self._want_accounting = accounting
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self.startup_seconds: dict[str, float] = {}  # step -> seconds, for the docs and tests
        self._step_at = 0.0

    # Paths -------------------------------------------------------------------------------------
    @property
    def conf_path(self) -> Path:
        return self.base / "etc" / "slurm.conf"

    @property
    def munge_socket(self) -> Path:
        return self.base / "munge" / "munge.socket.2"

    @property
    def jobcomp_path(self) -> Path:
        return self.base / "log" / "jobcomp.txt"

    @property
    def cluster_name(self) -> str:
        return f"nbexp{self.ctld_port}"

    @property
    def env(self) -> dict[str, str]:
        """What a Slurm client needs to talk to this cluster (merge into os.environ)."""
        return {"SLURM_CONF": str(self.conf_path)}

    def client_env(self) -> dict[str, str]:
        return {**os.environ, **self.env}

    # Start -------------------------------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> None:
        missing = missing_programs(self._want_accounting)
        if missing:
            raise ClusterError(f"Slurm programs not found: {', '.join(missing)}")
        if len(str(self.munge_socket)) > MAX_SOCKET_PATH:
            raise ClusterError(f"scratch folder too deep for a unix socket: {self.base}")
        began = self._step_at = time.monotonic()
        try:
            self._make_folders()
            self._start_munge(timeout)
            self._pick_ports()
            if self._want_accounting:
                self._start_accounting(timeout)
            self._write_config()
            self._step("config")
            self._start_daemon("slurmctld", ["-D", "-i", "-f", str(self.conf_path)])
            self._start_daemon("slurmd", ["-D", "-f", str(self.conf_path)])
            self._wait_idle(timeout)
            self._step("slurmctld+slurmd")
        except AccountingError as exc:
            self.stop()
            raise ClusterError(f"{exc}; {self.logs_hint()}") from None
        except BaseException:
            self.stop()
            raise
        self.startup_seconds["total"] = time.monotonic() - began

    def _step(self, name: str) -> None:
        """Record when a start-up step ended (seconds since the previous one)."""
        now = time.monotonic()
        self.startup_seconds[name] = now - self._step_at
        self._step_at = now

    def _pick_ports(self) -> None:
        ports: set[int] = set()
        while len(ports) < 3:
            ports.add(free_port())
        self.ctld_port, self.slurmd_port, dbd_port = sorted(ports)
        if self._want_accounting:
            self.accounting = Accounting(
                self.base,
                user=getpass.getuser(),
                dbd_port=dbd_port,
                munge_socket=self.munge_socket,
                check_alive=self._check_alive,
            )

    def _start_accounting(self, timeout: float) -> None:
        accounting = self.accounting
        assert accounting is not None
        accounting.start_mariadb(_need, self._start_daemon, timeout)
        self._step("mariadb")
        self._write_config()  # slurmdbd and sacctmgr read slurm.conf's folder and lines
        accounting.write_config(self.conf_path.parent)
        accounting.start_slurmdbd(_need, self._start_daemon, self.client_env(), timeout)
        accounting.add_cluster(_need, self.cluster_name, self.client_env())
        self._step("slurmdbd")

    def _make_folders(self) -> None:
        for sub in ("etc", "munge", "log", "spool/ctld", "spool/d", "run"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        # munged refuses a socket folder that others cannot traverse ("Socket is inaccessible").
        (self.base / "munge").chmod(0o755)
        self.base.chmod(0o755)

    def _start_munge(self, timeout: float) -> None:
        munge = self.base / "munge"
        key = munge / "munge.key"
        if not key.exists():
            self._check_call([_need("mungekey"), "--create", f"--keyfile={key}"], "mungekey")
            key.chmod(0o600)
        self._start_daemon(
            "munged",
            [
                "--foreground",
                f"--socket={self.munge_socket}",
                f"--key-file={key}",
                f"--log-file={self.base / 'log' / 'munged.log'}",
                f"--pid-file={munge / 'munged.pid'}",
                f"--seed-file={munge / 'munged.seed'}",
                "--force",  # a stale socket from a killed run would otherwise stop it
            ],
        )
        deadline = time.monotonic() + timeout
        while not self.munge_socket.exists():
            self._check_alive()
            if time.monotonic() > deadline:
                raise ClusterError(f"munged did not create {self.munge_socket}")
            time.sleep(0.02)
        self._step("munge")

    def _write_config(self) -> None:
        user = getpass.getuser()
        base = self.base
        # Only a figure to pack jobs by (config_overrides trusts it; nothing is reserved): large
        # enough for 32 jobs of DefMemPerCPU side by side even on a small CI machine.
        memory_mb = max(16 * 1024, total_memory_mb() // 2)
        lines = [
            f"ClusterName={self.cluster_name}",
            f"SlurmctldHost={self.host}(127.0.0.1)",
            f"SlurmctldPort={self.ctld_port}",
            f"SlurmdPort={self.slurmd_port}",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={self.munge_socket}",
            f"SlurmUser={user}",
            f"SlurmdUser={user}",
            f"StateSaveLocation={base / 'spool' / 'ctld'}",
            f"SlurmdSpoolDir={base / 'spool' / 'd'}",
            f"SlurmctldPidFile={base / 'run' / 'slurmctld.pid'}",
            f"SlurmdPidFile={base / 'run' / 'slurmd.pid'}",
            f"SlurmctldLogFile={base / 'log' / 'slurmctld.log'}",
            f"SlurmdLogFile={base / 'log' / 'slurmd.log'}",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/cgroup"
            if self.memory_enforcement == "cgroup"
            else "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core_Memory",
            # Without it a job takes all memory and jobs run one at a time. It is also each job's
            # enforced limit unless it asks --mem: room for a Python job and its telemetry sidecar.
            "DefMemPerCPU=500",
            # Job ids of two clusters on one machine differ, so their cgroups never collide.
            f"FirstJobId={self.ctld_port * 1000}",
            "SlurmdParameters=config_overrides",
            # Default 30 s: a cancelled job would stay COMPLETING (and hold its CPUs) that long.
            "KillWait=2",
            "MinJobAge=3600",  # default 300 s: finished jobs would leave `scontrol show job`
            "InactiveLimit=0",
            "MessageTimeout=10",
            "SchedulerType=sched/backfill",
            # Schedule each job as it is submitted: by default a batch job may wait up to 3 s
            # (batch_sched_delay) and a few seconds more when jobs arrive close together.
            "SchedulerParameters=batch_sched_delay=0,sched_min_interval=0",
            "MpiDefault=none",
            "SwitchType=switch/none",
            "MailProg=/bin/true",
            "ReturnToService=2",
            "JobCompType=jobcomp/filetxt",
            f"JobCompLoc={self.jobcomp_path}",
            *(
                self.accounting.slurm_conf_lines(
                    kill_over_memory=self.memory_enforcement == "jobacct"
                )
                if self.accounting is not None
                else [
                    "AccountingStorageType=accounting_storage/none",
                    "JobAcctGatherType=jobacct_gather/none",
                ]
            ),
            # A job of a higher priority tier that needs what a lower one holds cancels it:
            # the PREEMPTED ending, seen for real (tests/slurm/test_slurm_endings.py).
            "PreemptType=preempt/partition_prio",
            "PreemptMode=CANCEL",
            "GresTypes=gpu",
            f"NodeName={self.host} NodeAddr=127.0.0.1 CPUs={self.cpus} "
            f"RealMemory={memory_mb} Gres=gpu:{self.gpus} State=UNKNOWN",
            f"PartitionName={self.partition} Nodes=ALL Default=YES MaxTime=INFINITE State=UP "
            "PriorityTier=1",
            f"PartitionName={self.urgent_partition} Nodes=ALL MaxTime=INFINITE State=UP "
            "PriorityTier=2",
        ]
        self.conf_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        # A fake GPU: /dev/null stands in for the device file, enough for GRES bookkeeping.
        gres = (
            f"NodeName={self.host} Name=gpu Count={self.gpus}\n"
            if self.gpus > 1
            else f"NodeName={self.host} Name=gpu File=/dev/null\n"
        )
        (base / "etc" / "gres.conf").write_text(gres, encoding="utf-8")
        if self.memory_enforcement == "cgroup":
            (base / "etc" / "cgroup.conf").write_text(
                "CgroupPlugin=cgroup/v1\nCgroupMountpoint=/sys/fs/cgroup\nCgroupAutomount=no\n"
                "ConstrainRAMSpace=yes\n",
                encoding="utf-8",
            )

    def _start_daemon(
        self, name: str, args: list[str], extra_env: Mapping[str, str] | None = None
    ) -> None:
        log = open(self.base / "log" / f"{name}.stdout", "ab")  # noqa: SIM115 - lives with the process
        try:
            self._procs[name] = subprocess.Popen(
                [_need(name), *args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**self.client_env(), **(extra_env or {})},
                # Own session: a Ctrl-C in the test terminal must not kill the daemons half-way;
                # stop() ends them in order.
                start_new_session=True,
            )
        finally:
            log.close()
        (self.base / "run" / f"{name}.child.pid").write_text(str(self._procs[name].pid))

    def _wait_idle(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            self._check_alive()
            result = subprocess.run(
                [_need("sinfo"), "-h", "-o", "%T"],
                capture_output=True,
                text=True,
                env=self.client_env(),
                check=False,
            )
            last = (result.stdout + result.stderr).strip()
            if result.returncode == 0 and last == "idle":
                return
            time.sleep(0.05)
        raise ClusterError(
            f"node not idle after {timeout:.0f} s (sinfo says {last!r}); {self.logs_hint()}"
        )

    def _check_alive(self) -> None:
        for name, proc in self._procs.items():
            if proc.poll() is not None:
                raise ClusterError(
                    f"{name} exited with status {proc.returncode} while starting; "
                    + self.logs_hint()
                )

    def _check_call(self, argv: list[str], what: str) -> None:
        result = subprocess.run(argv, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ClusterError(f"{what} failed: {(result.stderr or result.stdout).strip()}")

    def logs_hint(self) -> str:
        tails = []
        for log in sorted((self.base / "log").glob("*")):
            text = log.read_text(errors="replace").strip().splitlines()[-5:]
            if text:
                tails.append(f"--- {log.name}\n" + "\n".join(text))
        return f"logs under {self.base / 'log'}\n" + "\n".join(tails)

    # Stop --------------------------------------------------------------------------------------
    def stop(self, timeout: float = 10.0) -> None:
        """Cancel every job, shut the daemons down, and kill by pid whatever is left."""
        if "slurmctld" in self._procs and self._procs["slurmctld"].poll() is None:
            self._cancel_all_jobs(timeout / 2)
            subprocess.run(
                [_need("scontrol"), "shutdown"],
                capture_output=True,
                env=self.client_env(),
                check=False,
                timeout=timeout,
            )
        # Reverse start order: slurmd and slurmctld need munged to the end, slurmdbd MariaDB.
        for name in ("slurmd", "slurmctld", "slurmdbd", "mariadbd", "munged"):
            proc = self._procs.pop(name, None)
            if proc is not None:
                _end_process(proc, timeout / 3)
        self._procs.clear()

    def _cancel_all_jobs(self, timeout: float) -> None:
        # Jobs run under slurmstepd, which survives `scontrol shutdown`; cancel them first so no
        # test job outlives the session.
        env = self.client_env()
        for partition in (self.partition, self.urgent_partition):
            subprocess.run(
                [_need("scancel"), "--full", "--partition", partition],
                capture_output=True,
                env=env,
                check=False,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = subprocess.run(
                [_need("scontrol"), "show", "-o", "job"],
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
            if not any(f"JobState={state}" in result.stdout for state in ("RUNNING", "COMPLETING")):
                return
            time.sleep(0.1)


def _end_process(proc: subprocess.Popen[bytes], timeout: float) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait()


def _need(name: str) -> str:
    path = find_program(name)
    if path is None:
        raise ClusterError(f"{name} not found; run .ci/install-slurm.sh")
    return path
