"""The job backend's fair queue and its watchdog, driven directly (no browser): runs of different
owners (sessions) take turns on the workers, and the runs of an owner who has gone stop within
seconds and free their worker."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from nn_core import Hyperparams, RunStatus
from nn_core import jobs, watchdog
from nn_core.jobs import ProcessBackend

LONG = Hyperparams(hidden_units=32, epochs=50)  # minutes on one worker: it ends only when stopped


class RecordingBackend(ProcessBackend):
    """One worker process; notes the seed of each chunk as it is sent to the worker."""

    def __init__(self, data):
        super().__init__(data, workers=1)
        self.sent: list[int] = []

    def submit(self, state, defer_evaluation=False):
        self.sent.append(state.hparams.seed)
        return super().submit(state, defer_evaluation)


@pytest.fixture(scope="module")
def backend(mnist):
    backend = RecordingBackend(mnist)
    backend.warm_up()
    yield backend
    backend.shutdown()


def wait_ended(run, timeout: float) -> float:
    """Seconds until ``run`` has ended (its chunk in flight back), watched without polling it."""
    began = time.monotonic()
    while not run._snapshot.finished:
        assert time.monotonic() - began < timeout, f"still going after {timeout} s: {run._snapshot.status}"
        time.sleep(0.05)
    return time.monotonic() - began


def stop_all(runs) -> None:
    for run in runs:
        run.stop()
    for run in runs:
        wait_ended(run, 30)


def test_owners_take_turns_on_the_workers(backend):
    """Session A's four runs (a sweep) and session B's one run on one worker: B's chunks go every other
    time, not after all of A's (a first-come queue gives B one chunk in five)."""
    backend.sent.clear()
    # LONG runs, stopped at the end: a 20-epoch run once ended within four chunks on a faster CPU, whose
    # chunks (a fixed time each) hold more batches
    sweep = [backend.start(replace(LONG, seed=seed), owner="A") for seed in (1, 2, 3, 4)]
    while not backend.sent:  # A's first chunk is on the worker, the others queue behind it
        sweep[0].poll(1.0, every=0.0)
    train = backend.start(replace(LONG, seed=99), owner="B")
    while backend.sent.count(99) < 4:
        assert not train.poll(2.0).finished, "B's run ended before four of its chunks were sent"
    first = backend.sent.index(99)
    turns = backend.sent[first:]
    assert turns[:5].count(99) >= 2, turns
    b_chunks = [i for i, seed in enumerate(turns) if seed == 99]
    gaps = [later - earlier - 1 for earlier, later in zip(b_chunks, b_chunks[1:])]
    assert max(gaps) <= 1, f"A's chunks between two of B's: {gaps} (order sent: {turns})"
    waiting = backend.waiting().get("A", 0)
    assert waiting >= 1  # A had more waiting meanwhile: it was B's turn, not a lull
    # Stop answers at once for a run whose chunk still waits in the queue (it never reached the worker)
    for run in sweep:
        run.stop()
    assert sum(run._snapshot.finished for run in sweep) >= waiting
    assert "A" not in backend.waiting()
    stop_all(sweep + [train])
    assert all(run.claim().status == RunStatus.STOPPED for run in sweep + [train])


def test_the_runs_of_a_session_that_has_gone_stop_and_free_the_worker(backend):
    """Session s1's tab closes (its owner is gone): its run stops within GONE_GRACE + a watch + a chunk,
    never polled; session s2's run, unpolled too but still connected, goes on. A tab that comes back
    within the grace keeps its run."""
    connected = {"s1": True, "s2": True, "s3": True}
    backend.owner_alive = connected.get
    try:
        gone, kept, blip = (backend.start(LONG, owner=owner) for owner in ("s1", "s2", "s3"))
        time.sleep(1.0)
        connected["s1"] = connected["s3"] = False
        left = time.monotonic()
        time.sleep(2.0)
        connected["s3"] = True  # s3 reconnected within the grace
        # how soon is the benchmark's business (benchmarks/abandoned.py); here: it stops, by the watchdog
        wait_ended(gone, 120)
        seconds = time.monotonic() - left
        assert seconds >= jobs.GONE_GRACE, seconds  # not before its grace
        assert gone.abandoned and "session had gone" in gone.error
        result = gone.claim()
        assert result.status == RunStatus.STOPPED and len(result.batch_costs) > 0  # it trained, then stopped
        assert "s1" not in backend.waiting()  # nothing of it waits for the worker
        time.sleep(jobs.WATCH_SECONDS + 1)
        assert not kept.ended and not blip.ended and not kept.abandoned and not blip.abandoned
        # the worker went on with the others: their batches move
        before = kept.progress().total_batches_done + blip.progress().total_batches_done
        while kept.progress().total_batches_done + blip.progress().total_batches_done == before:
            kept.poll(1.0, every=0.0)
        stop_all([kept, blip])
    finally:
        backend.owner_alive = None


def test_an_unpolled_run_stops_when_its_owner_cannot_be_asked(backend, monkeypatch):
    """Without a way to ask whether an owner is there, the sign is the polls: a run nobody polls for
    UNPOLLED_SECONDS stops; one that is polled, and one with no owner (the command line), go on."""
    monkeypatch.setattr(watchdog, "UNPOLLED_SECONDS", 4.0)
    polled, unpolled, unowned = backend.start(LONG, owner="p"), backend.start(LONG, owner="u"), backend.start(LONG)
    began = time.monotonic()
    while not unpolled._snapshot.finished:
        assert time.monotonic() - began < 120, "the unpolled run went on"
        polled.poll(0.5, every=0.0)
    assert time.monotonic() - began >= 4.0  # not before its time
    assert unpolled.abandoned and unpolled.claim().status == RunStatus.STOPPED
    assert not polled.ended and not unowned.ended
    stop_all([polled, unowned])
