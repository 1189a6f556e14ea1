"""The pure scheduling decision: priorities, FIFO, GPU allocation, sharing, limits, dependencies."""

from __future__ import annotations

from nbexp._core.scheduler import (
    Blocked,
    Fail,
    GpuState,
    Launch,
    Request,
    Resources,
    allocate,
    plan,
)
from nbexp.states import Status

GIB = 1024**3


def gpus(n: int, **overrides: GpuState) -> dict[int, GpuState]:
    found = {i: GpuState(i, free_memory=80 * GIB) for i in range(n)}
    found.update({int(k): v for k, v in overrides.items()})
    return found


def test_fifo_within_priority_and_priority_first() -> None:
    queued = [
        Request(1, gpus=1, queued_at=1.0),
        Request(2, gpus=1, queued_at=2.0, priority=5),
        Request(3, gpus=1, queued_at=3.0),
    ]
    decisions = plan(queued, Resources(gpus(2)), {})
    assert decisions[:2] == [Launch(2, (0,)), Launch(1, (1,))]
    assert isinstance(decisions[2], Blocked) and decisions[2].id == 3
    assert "needs 1 free GPU, 0 free" in decisions[2].reason


def test_explicit_gpus_and_who_holds_them() -> None:
    resources = Resources(gpus(2, **{"0": GpuState(0, held_by=("experiment 7 'train'",))}))
    assert allocate(Request(1, gpus=(1,)), resources) == ((1,), None)
    got, why = allocate(Request(2, gpus=(0, 1)), resources)
    assert got is None and why == "waits for GPU 0, held by experiment 7 'train'"
    foreign = Resources(gpus(1, **{"0": GpuState(0, foreign=("pid 99 (alice)",))}))
    assert allocate(Request(3, gpus=(0,)), foreign)[1] == "waits for GPU 0, held by pid 99 (alice)"


def test_backfill_does_not_hand_a_gpu_out_twice() -> None:
    queued = [Request(i, gpus=1, queued_at=float(i)) for i in range(1, 6)]
    decisions = plan(queued, Resources(gpus(3)), {})
    launched = [d for d in decisions if isinstance(d, Launch)]
    assert [d.id for d in launched] == [1, 2, 3]
    assert sorted(g for d in launched for g in d.gpus or ()) == [0, 1, 2]


def test_a_big_request_waits_while_small_ones_fit() -> None:
    queued = [Request(1, gpus=4, queued_at=1.0), Request(2, gpus=1, queued_at=2.0)]
    decisions = plan(queued, Resources(gpus(2)), {})
    assert decisions[0] == Blocked(1, "asks for 4 GPUs but this machine has 2")
    assert decisions[1] == Launch(2, (0,))


def test_sharing_only_between_sharing_requests() -> None:
    shared = GpuState(0, held_by=("experiment 1",), shared_by=1, free_memory=40 * GIB)
    exclusive = GpuState(0, held_by=("experiment 1",), shared_by=0, free_memory=40 * GIB)
    assert allocate(Request(2, gpus=(0,), share=True), Resources({0: shared}))[0] == (0,)
    assert allocate(Request(2, gpus=(0,), share=False), Resources({0: shared}))[0] is None
    assert allocate(Request(2, gpus=(0,), share=True), Resources({0: exclusive}))[0] is None


def test_minimum_free_memory() -> None:
    small = Resources({0: GpuState(0, free_memory=4 * GIB), 1: GpuState(1, free_memory=70 * GIB)})
    assert allocate(Request(1, gpus=1, min_free_memory=16 * GIB), small)[0] == (1,)
    assert allocate(Request(1, gpus=2, min_free_memory=16 * GIB), small)[0] is None


def test_cpu_only_limit() -> None:
    queued = [Request(i, queued_at=float(i)) for i in range(1, 4)]
    decisions = plan(queued, Resources({}, running_cpu_only=1, max_parallel_cpu=2), {})
    assert decisions[0] == Launch(1, None)
    assert decisions[1] == Blocked(
        2, "2 CPU-only experiments already run (limit 2: nbexp config max_parallel_cpu)"
    )
    unlimited = plan(queued, Resources({}), {})
    assert all(isinstance(d, Launch) for d in unlimited)


def test_dependencies() -> None:
    queued = [Request(2, after=(1,)), Request(3, after=(1,)), Request(4, after=(9,))]
    running = plan(queued, Resources({}), {1: Status.RUNNING, 9: Status.COMPLETED})
    assert running[:2] == [
        Blocked(2, "waiting for experiment 1"),
        Blocked(3, "waiting for experiment 1"),
    ]
    assert running[2] == Launch(4, None)
    done = plan(queued[:1], Resources({}), {1: Status.COMPLETED})
    assert done == [Launch(2, None)]
    failed = plan(queued[:1], Resources({}), {1: Status.ERROR})
    assert failed == [Fail(2, "not started: experiment 1 (a dependency) ended error")]
    removed = plan(queued[:1], Resources({}), {1: None})
    assert removed == [Fail(2, "not started: experiment 1 (a dependency) was removed")]
