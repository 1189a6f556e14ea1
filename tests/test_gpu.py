"""The GPU probe: NVML through a fake pynvml, the simulated backend, requests, table, history."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pynvml
import pytest

from nbexp import gpu
from nbexp._cli.tables import _bar, format_gpu_table
from nbexp._core.errors import GpuUnavailable, UsageError
from nbexp._io import gpus as gpu_readings
from nbexp._io.proc import pid_owner
from nbexp._io.store import Store
from nbexp._service.gpus import (
    GpuOwnership,
    experiment_pids,
    foreign_processes,
    resolve_gpu_ids,
)
from nbexp.states import Status
from tests import fake_pynvml
from tests.fake_pynvml import GIB, RESERVED, FakeGpu


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def two_gpus(monkeypatch: pytest.MonkeyPatch) -> fake_pynvml._State:
    return fake_pynvml.install(
        monkeypatch,
        [
            FakeGpu(
                uuid="GPU-aaaa0000-1111",
                memory_used=20 * GIB,
                util_gpu=45,
                util_memory=12,
                temperature=55,
                power_mw=310_500,
                limit_mw=700_000,
                fan=40,
                processes=[(4242, 19 * GIB)],
            ),
            FakeGpu(uuid="GPU-bbbb0000-2222"),
        ],
    )


# -- NVML path ---------------------------------------------------------------------------------


def test_reads_every_field_in_the_documented_units(two_gpus: fake_pynvml._State) -> None:
    report = gpu.NvmlSession().read()

    assert report.reason is None and not report.simulated
    assert report.driver_version == "550.54.15"
    first, second = report.gpus
    assert (first.index, first.uuid, first.name) == (0, "GPU-aaaa0000-1111", "NVIDIA H200")
    assert (first.memory_used, first.memory_total) == (20 * GIB, 140 * GIB)
    assert (first.utilization_gpu, first.utilization_memory) == (45, 12)
    assert first.temperature == 55 and first.fan_speed == 40
    assert (first.power_draw, first.power_limit) == (310.5, 700.0)  # mW → W
    assert first.processes == (gpu.GpuProcess(4242, 19 * GIB),)
    assert first.problem is None and not first.simulated
    assert second.index == 1 and second.processes == ()


def test_memory_used_leaves_out_driver_reserved_memory_like_nvidia_smi(
    two_gpus: fake_pynvml._State,
) -> None:
    report = gpu.NvmlSession().read()
    assert report.gpus[1].memory_used == 1 * GIB  # v2; v1 would say 1 GiB + RESERVED


def test_memory_falls_back_to_v1_on_old_drivers(two_gpus: fake_pynvml._State) -> None:
    for fake in two_gpus.gpus:
        fake.errors["nvmlDeviceGetMemoryInfo_v2"] = pynvml.NVML_ERROR_FUNCTION_NOT_FOUND
    report = gpu.NvmlSession().read()
    assert report.gpus[1].memory_used == 1 * GIB + RESERVED


def test_a_failing_field_is_none_and_the_rest_still_reads(two_gpus: fake_pynvml._State) -> None:
    two_gpus.gpus[0].errors.update(
        nvmlDeviceGetPowerUsage=pynvml.NVML_ERROR_NOT_SUPPORTED,
        nvmlDeviceGetTemperature=pynvml.NVML_ERROR_UNKNOWN,
        nvmlDeviceGetName=pynvml.NVML_ERROR_NO_PERMISSION,
    )
    report = gpu.NvmlSession().read()

    first = report.gpus[0]
    assert first.power_draw is None and first.temperature is None and first.name is None
    assert first.power_limit == 700.0 and first.utilization_gpu == 45
    assert first.problem is None
    assert report.gpus[1].fan_speed is None  # NOT_SUPPORTED on a fanless GPU
    assert "N/A" in format_gpu_table(report)


def test_process_list_falls_back_to_v2_then_says_unknown(two_gpus: fake_pynvml._State) -> None:
    fake = two_gpus.gpus[0]
    fake.errors["nvmlDeviceGetComputeRunningProcesses"] = pynvml.NVMLLibraryMismatchError("old")
    assert gpu.NvmlSession().read().gpus[0].processes == (gpu.GpuProcess(4242, 19 * GIB),)
    assert two_gpus.calls["nvmlDeviceGetComputeRunningProcesses_v2"] >= 1

    fake.errors["nvmlDeviceGetComputeRunningProcesses_v2"] = pynvml.NVML_ERROR_NO_PERMISSION
    assert gpu.NvmlSession().read().gpus[0].processes is None


def test_process_memory_is_summed_per_pid_and_unknown_memory_kept(
    two_gpus: fake_pynvml._State,
) -> None:
    two_gpus.gpus[1].processes = [(7, GIB), (7, 2 * GIB), (8, None)]
    processes = gpu.NvmlSession().read().gpus[1].processes
    assert processes == (gpu.GpuProcess(7, 3 * GIB), gpu.GpuProcess(8, None))


def test_a_lost_gpu_is_reported_with_a_reason_and_the_others_still_read(
    two_gpus: fake_pynvml._State,
) -> None:
    two_gpus.gpus[0].lost = True
    report = gpu.NvmlSession().read()

    lost, healthy = report.gpus
    assert lost.index == 0 and "lost" in (lost.problem or "")
    assert lost.memory_used is None and lost.processes is None
    assert healthy.problem is None and healthy.memory_total == 140 * GIB
    assert "⚠" in format_gpu_table(report)


def test_a_gpu_lost_in_the_middle_of_a_reading_stops_there(
    two_gpus: fake_pynvml._State,
) -> None:
    two_gpus.gpus[1].errors["nvmlDeviceGetUtilizationRates"] = pynvml.NVML_ERROR_GPU_IS_LOST
    report = gpu.NvmlSession().read()
    assert "lost" in (report.gpus[1].problem or "")
    assert report.gpus[0].problem is None


def test_nvml_is_initialised_again_some_time_after_a_gpu_was_lost(
    two_gpus: fake_pynvml._State,
) -> None:
    clock = FakeClock()
    session = gpu.NvmlSession(clock=clock)
    two_gpus.gpus[0].lost = True
    session.read()
    session.read()
    assert session.init_count == 1  # not on every tick

    clock.now += 31
    two_gpus.gpus[0].lost = False  # e.g. the GPU was reset meanwhile
    report = session.read()
    assert session.init_count == 2 and two_gpus.calls["nvmlShutdown"] == 1
    assert [g.problem for g in report.gpus] == [None, None]


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (pynvml.NVML_ERROR_LIBRARY_NOT_FOUND, "libnvidia-ml.so.1 is missing"),
        (pynvml.NVML_ERROR_LIB_RM_VERSION_MISMATCH, "version mismatch"),
        (pynvml.NVML_ERROR_DRIVER_NOT_LOADED, "not loaded"),
        (pynvml.NVML_ERROR_NO_PERMISSION, "no permission"),
        (pynvml.NVML_ERROR_UNKNOWN, "NVML could not start"),
    ],
)
def test_a_failed_init_gives_no_gpus_and_an_actionable_reason(
    monkeypatch: pytest.MonkeyPatch, code: int, words: str
) -> None:
    fake_pynvml.install(monkeypatch).init_error = code
    report = gpu.NvmlSession().read()
    assert report.gpus == () and words in (report.reason or "")
    assert words in format_gpu_table(report)


def test_a_failed_init_is_retried_only_after_a_while(monkeypatch: pytest.MonkeyPatch) -> None:
    state = fake_pynvml.install(monkeypatch, [FakeGpu()])
    state.init_error = pynvml.NVML_ERROR_DRIVER_NOT_LOADED
    clock = FakeClock()
    session = gpu.NvmlSession(clock=clock)
    session.read()
    assert session.read().gpus == () and state.calls["nvmlInit"] == 1

    state.init_error = None  # the driver got loaded
    clock.now += 31
    assert len(session.read().gpus) == 1 and state.calls["nvmlInit"] == 2


def test_no_gpus_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_pynvml.install(monkeypatch, [])
    report = gpu.NvmlSession().read()
    assert report.gpus == () and "no NVIDIA GPU found" in (report.reason or "")


def test_a_failing_device_count_gives_a_reason(two_gpus: fake_pynvml._State) -> None:
    two_gpus.count_error = pynvml.NVML_ERROR_LIB_RM_VERSION_MISMATCH
    report = gpu.NvmlSession().read()
    assert report.gpus == () and "version mismatch" in (report.reason or "")


def test_missing_nvidia_ml_py_gives_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # makes `import pynvml` raise ImportError
    report = gpu.NvmlSession().read()
    assert report.gpus == () and "nvidia-ml-py is not installed" in (report.reason or "")


def test_nvml_is_initialised_once_for_many_threads(two_gpus: fake_pynvml._State) -> None:
    two_gpus.init_delay = 0.05  # a window in which unguarded readers would all initialise
    session = gpu.NvmlSession()
    reports: list[gpu.GpuReport] = []
    start = threading.Barrier(8)

    def read() -> None:
        start.wait()
        reports.append(session.read())

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert two_gpus.calls["nvmlInit"] == 1 and session.init_count == 1
    assert len(reports) == 8 and all(len(r.gpus) == 2 for r in reports)


def test_probe_uses_the_process_wide_session(
    two_gpus: fake_pynvml._State, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(gpu.SIMULATED_GPUS_ENV, raising=False)
    monkeypatch.setattr(gpu_readings, "_SESSION", gpu.NvmlSession())
    gpu.probe()
    gpu.probe()
    assert len(gpu.probe().gpus) == 2 and two_gpus.calls["nvmlInit"] == 1


def test_importing_nbexp_never_needs_nvml(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['pynvml'] = None\n"
        "import nbexp, nbexp.gpu\n"
        "print(nbexp.gpu.probe().reason)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != gpu.SIMULATED_GPUS_ENV}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "nvidia-ml-py is not installed" in result.stdout


def test_report_to_json_is_plain_json(two_gpus: fake_pynvml._State) -> None:
    data = json.loads(json.dumps(gpu.NvmlSession().read().to_json()))
    assert data["gpus"][0]["processes"] == [{"pid": 4242, "used_memory": 19 * GIB}]
    assert data["gpus"][0]["power_draw"] == 310.5 and data["simulated"] is False


# -- simulated backend ---------------------------------------------------------------------


def test_simulated_gpus_from_a_count_are_labelled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(gpu.SIMULATED_GPUS_ENV, "3")
    report = gpu.probe()
    assert report.simulated and len(report.gpus) == 3
    assert all(g.simulated and "(simulated)" in (g.name or "") for g in report.gpus)
    assert len({g.uuid for g in report.gpus}) == 3
    assert format_gpu_table(report).startswith("SIMULATED GPUs")


def test_simulated_gpus_from_a_json_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = tmp_path / "gpus.json"
    spec.write_text(
        json.dumps(
            [
                {"name": "H100 SXM", "memory_total_gb": 80, "power_limit_w": 700},
                {"name": "RTX 4090", "memory_total_gb": 24, "power_limit_w": 450, "fan": True},
            ]
        )
    )
    monkeypatch.setenv(gpu.SIMULATED_GPUS_ENV, str(spec))
    first, second = gpu.probe().gpus
    assert first.name == "H100 SXM (simulated)" and first.memory_total == 80 * GIB
    assert second.power_limit == 450.0 and second.fan_speed is not None
    assert first.fan_speed is None


@pytest.mark.parametrize("value", ["lots", "/no/such/gpus.json", "999"])
def test_a_bad_simulated_value_says_what_is_wrong(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(gpu.SIMULATED_GPUS_ENV, value)
    report = gpu.probe()
    assert report.simulated and report.gpus == ()
    assert gpu.SIMULATED_GPUS_ENV in (report.reason or "") and value in (report.reason or "")


def test_simulated_readings_move_over_time_but_stay_plausible() -> None:
    clock = FakeClock(0.0)
    backend = gpu.SimulatedBackend(1, clock=clock)
    readings = []
    for second in range(60):
        clock.now = float(second)
        readings.append(backend.read().gpus[0])
    assert len({r.utilization_gpu for r in readings}) > 1
    assert len({r.power_draw for r in readings}) > 5
    for r in readings:
        assert 0 <= (r.utilization_gpu or 0) <= 100 and 20 <= (r.temperature or 0) <= 95
        assert 0 < (r.memory_used or 0) < (r.memory_total or 0)
        assert 0 < (r.power_draw or 0) <= (r.power_limit or 0)
    clock.now = 5.0
    assert backend.read().gpus[0] == readings[5]  # deterministic for a given time


def test_simulated_gpus_show_experiments_nbexp_assigned(tmp_path: Path) -> None:
    store = Store(tmp_path)
    experiment_id = store.insert(name="train", command=["python", "train.py"], cwd=str(tmp_path))
    store.transition(
        experiment_id,
        {Status.PENDING},
        Status.RUNNING,
        "start",
        pid=os.getpid(),
        assigned_gpus=[1],
        started=time.time(),
    )
    finished = store.insert(name="old", command=["true"], cwd=str(tmp_path))
    store.update(finished, assigned_gpus=[0], pid=1)  # pending: not holding anything

    report = gpu.SimulatedBackend(2, tmp_path).read()

    idle, busy = report.gpus
    assert idle.processes == () and (idle.utilization_gpu or 0) <= 5
    assert [p.pid for p in busy.processes or ()] == [os.getpid()]
    assert ((busy.processes or ())[0].used_memory or 0) > 10 * GIB
    assert (busy.memory_used or 0) > 10 * GIB and (busy.utilization_gpu or 0) >= 70
    holders = GpuOwnership(tmp_path, owner=lambda pid: None).holders(
        report, store.list([Status.RUNNING])
    )
    assert holders == {1: [f"#{experiment_id} train"]}


def test_simulated_backend_never_creates_a_database(tmp_path: Path) -> None:
    gpu.SimulatedBackend(1, tmp_path).read()
    assert list(tmp_path.iterdir()) == []


# -- history ---------------------------------------------------------------------------------


def test_monitor_keeps_a_bounded_history_per_gpu() -> None:
    clock = FakeClock(0.0)
    monitor = gpu.GpuMonitor(backend=gpu.SimulatedBackend(2, clock=clock), history_length=5)
    for second in range(8):
        clock.now = float(second)
        monitor.sample()
    history = monitor.history(1)
    assert [s.time for s in history] == [3.0, 4.0, 5.0, 6.0, 7.0]  # the oldest fell out
    assert monitor.last is not None and monitor.history(7) == []
    assert history[-1].memory_used == monitor.last.gpus[1].memory_used


def test_monitor_history_covers_at_least_five_minutes_by_default() -> None:
    monitor = gpu.GpuMonitor(backend=gpu.SimulatedBackend(1))
    assert monitor.history_length >= 300


# -- requests, holders, conflicts --------------------------------------------------------------


def _report(*names: str) -> gpu.GpuReport:
    gpus = tuple(
        gpu.GpuSnapshot(i, f"GPU-{i}abc{i}", name, 0, GIB, 0, 0, 30, 50.0, 300.0, None)
        for i, name in enumerate(names)
    )
    return gpu.GpuReport(gpus)


def test_resolve_gpu_ids_accepts_indices_digits_and_uuids() -> None:
    report = _report("NVIDIA H200", "NVIDIA H200", "NVIDIA H200")
    assert resolve_gpu_ids([2, "0", "GPU-1abc1"], report) == [2, 0, 1]
    assert resolve_gpu_ids(["gpu-2"], report.gpus) == [2]  # a unique prefix


def test_resolve_gpu_ids_names_what_the_machine_has() -> None:
    report = _report("NVIDIA H200", "NVIDIA H200")
    with pytest.raises(
        GpuUnavailable,
        match=r"GPU 7 does not exist; this machine has GPUs 0, 1 "
        r"\(2× NVIDIA H200\)",
    ):
        resolve_gpu_ids([7], report)
    with pytest.raises(GpuUnavailable, match="GPU-ffff does not exist"):
        resolve_gpu_ids(["GPU-ffff"], report)
    with pytest.raises(UsageError, match="several"):
        resolve_gpu_ids(["GPU-"], report)
    with pytest.raises(UsageError, match="twice"):
        resolve_gpu_ids([0, "GPU-0abc0"], report)


def test_resolve_gpu_ids_without_gpus_gives_the_reason() -> None:
    report = gpu.GpuReport((), reason="no NVIDIA GPU found")
    with pytest.raises(GpuUnavailable, match=r"no GPUs \(no NVIDIA GPU found\)"):
        resolve_gpu_ids([0], report)


def test_resolve_gpu_ids_refuses_a_lost_gpu(two_gpus: fake_pynvml._State) -> None:
    two_gpus.gpus[1].lost = True
    with pytest.raises(GpuUnavailable, match="GPU 1 cannot be used: the GPU is lost"):
        resolve_gpu_ids([1], gpu.NvmlSession().read())


def test_foreign_processes_leaves_out_ours(two_gpus: fake_pynvml._State) -> None:
    two_gpus.gpus[1].processes = [(100, GIB), (200, 2 * GIB)]
    report = gpu.NvmlSession().read()
    assert foreign_processes(report, {4242, 100}) == {1: [gpu.GpuProcess(200, 2 * GIB)]}
    assert foreign_processes(report, {4242, 100, 200}) == {}


def test_gpu_holders_names_experiments_and_strangers(
    two_gpus: fake_pynvml._State, tmp_path: Path
) -> None:
    store = Store(tmp_path)
    experiment_id = store.insert(name="train", command=["x"], cwd=str(tmp_path))
    store.transition(
        experiment_id,
        {Status.PENDING},
        Status.RUNNING,
        "start",
        pid=os.getpid(),  # a live process, so that its GPU process counts as ours
        assigned_gpus=[0],
    )
    two_gpus.gpus[0].processes = [(os.getpid(), GIB)]
    two_gpus.gpus[1].processes = [(555, GIB)]
    report = gpu.NvmlSession().read()
    ownership = GpuOwnership(tmp_path, owner=lambda pid: "alice" if pid == 555 else None)
    holders = ownership.holders(report, store.list([Status.RUNNING]))
    assert holders == {0: [f"#{experiment_id} train"], 1: ["pid 555 (alice)"]}
    table = format_gpu_table(report, holders)
    assert "#1 train" in table and "pid 555 (alice)" in table


def test_experiment_pids_include_the_process_tree(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        store = Store(tmp_path)
        experiment_id = store.insert(name="x", command=["x"], cwd=str(tmp_path))
        store.update(experiment_id, pid=os.getpid())
        pids = experiment_pids(store.list())
        assert {os.getpid(), child.pid} <= pids
    finally:
        child.kill()
        child.wait()


def test_pid_owner() -> None:
    assert pid_owner(os.getpid()) == getpass.getuser()
    assert pid_owner(2**22 + 12345) is None  # beyond pid_max: never a live process


# -- table -------------------------------------------------------------------------------------


def test_bar_fills_in_eighths() -> None:
    assert _bar(0.45) == "[████▌     ]"
    assert _bar(0.0) == "[          ]" and _bar(1.0) == "[██████████]"
    assert _bar(None) == "[          ]" and _bar(1.7) == "[██████████]"


def test_table_shows_meters_temperature_power_and_pids(two_gpus: fake_pynvml._State) -> None:
    table = format_gpu_table(gpu.NvmlSession().read())
    header, first, second, driver = table.splitlines()
    assert header.startswith("GPU  NAME") and "HELD BY" in header
    assert "[█▍        ]  14%" in first and "20.0/140.0 GiB" in first  # 20 of 140 GiB
    assert "[████▌     ]  45%" in first and "55°C" in first and "310/700 W" in first
    assert first.endswith("pid 4242") and second.endswith("free")
    assert driver == "NVIDIA driver 550.54.15" and "\x1b[" not in table


def test_table_colours_only_when_asked(two_gpus: fake_pynvml._State) -> None:
    report = gpu.NvmlSession().read()
    assert "\x1b[" in format_gpu_table(report, color=True)


def test_table_without_gpus_is_one_clear_line() -> None:
    table = format_gpu_table(gpu.GpuReport((), reason="no NVIDIA GPU found"))
    assert table == "No GPUs: no NVIDIA GPU found"
