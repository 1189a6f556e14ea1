"""The `slurm_cluster` fixture: one real single-node Slurm per test session (per xdist worker).

Each cluster has its own scratch folder and loopback ports, so it is safe under any xdist mode;
`xdist_group("slurm")` plus `--dist loadgroup` keeps them to one worker to save the start-up.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from nbexp import ExperimentManager
from nbexp._exec.slurm_client import SlurmClient
from tests.slurm.cluster import MAX_SOCKET_PATH, ClusterError, SlurmCluster, missing_programs

REPO = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = REPO / ".ci" / "install-slurm.sh"


def _unavailable(reason: str) -> None:
    # In CI a Slurm that cannot start must fail loudly, not hide behind a skip.
    if os.environ.get("NBEXP_REQUIRE_SLURM") == "1":
        pytest.fail(f"Slurm required (NBEXP_REQUIRE_SLURM=1) but {reason}", pytrace=False)
    pytest.skip(reason)


def _install_if_allowed() -> None:
    """Run .ci/install-slurm.sh when CI (or the user) said so; developers keep their machine."""
    if not missing_programs():
        return
    if os.environ.get("CI") != "true" and os.environ.get("NBEXP_INSTALL_SLURM") != "1":
        _unavailable(
            f"Slurm not installed ({', '.join(missing_programs())} missing): run "
            f"`sudo bash {INSTALL_SCRIPT.relative_to(REPO)}` or set NBEXP_INSTALL_SLURM=1"
        )
    result = subprocess.run(["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True)
    if result.returncode != 0 or missing_programs():
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        _unavailable(f"Slurm could not be installed: {' / '.join(tail)}")


def _scratch_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("slurm")
    # Unix socket paths are short; a deep --basetemp would make munged fail to bind.
    if len(str(base / "munge" / "munge.socket.2")) > MAX_SOCKET_PATH:
        base = Path(tempfile.mkdtemp(prefix="nbexp-slurm-"))
    return base


def pytest_configure(config: pytest.Config) -> None:
    # pytest-xdist registers this marker; repeat it so `-p no:xdist --strict-markers` still runs.
    config.addinivalue_line("markers", "xdist_group(name): run in the same xdist worker")


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlurmCluster]:
    """A running cluster: partition `debug`, 16 CPUs, one fake GPU, KillWait=2 s.

    Pass `cluster.env` (SLURM_CONF) to every Slurm command; `cluster.client_env()` is the
    whole environment with it merged in.
    """
    _install_if_allowed()
    if os.geteuid() != 0:
        _unavailable("the test Slurm runs its daemons as root (slurmd launches jobs); run as root")
    cluster = SlurmCluster(_scratch_folder(tmp_path_factory))
    try:
        cluster.start()
    except ClusterError as exc:
        _unavailable(f"Slurm could not be started: {exc}")
    # Belt and braces: if the session dies before the finalizer, still end the daemons.
    atexit.register(cluster.stop)
    try:
        yield cluster
    finally:
        cluster.stop()
        atexit.unregister(cluster.stop)


@pytest.fixture
def slurm_client(slurm_cluster: SlurmCluster) -> SlurmClient:
    """A client for the session's cluster with polling unthrottled, so tests see changes at once."""
    return SlurmClient(env=slurm_cluster.client_env(), min_poll_interval=0.0)


@pytest.fixture
def slurm_manager(
    home: Path, slurm_cluster: SlurmCluster, monkeypatch: pytest.MonkeyPatch
) -> ExperimentManager:
    """A manager whose experiments go to the test cluster, polled every 0.2 s."""
    for key, value in slurm_cluster.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("NBEXP_SLURM_POLL_INTERVAL", "0.2")
    return ExperimentManager(home=home, executor="slurm")
