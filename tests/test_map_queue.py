"""Issue 29, item 5: a t-SNE map whose session has gone is dropped from the server's queue, or ended
at once if it is being computed (the runs' watchdog stops runs, not maps), and a map's estimate counts
the maps queued before it. Real t-SNE in real child processes; whether a session is still there is
answered by the callback the server gives (ui.server.session_alive), here a dict the test sets."""

import os
import time

import numpy as np

from nn_core.hidden_map import Layer, MapQueue

WAIT = 300  # seconds at most for an event (a broken build): the tests wait on events, not on time


def layer(points: int, seed: int) -> Layer:
    rng = np.random.default_rng(seed)
    return Layer(rng.random((points, 64), dtype=np.float32), np.zeros(points, np.int64))


def test_a_gone_sessions_maps_are_dropped_or_ended_and_the_others_go_on():
    alive = {"A": True, "B": True, "C": True}
    queue = MapQueue(owner_alive=alive.get, grace=0.0, watch=0.2)
    first = queue.submit(layer(5000, 0), "A")  # long enough to be running when A goes
    second, third = queue.submit(layer(5000, 1), "B"), queue.submit(layer(150, 2), "C")
    assert queue.waiting() == 3
    # the estimates count the maps before each one
    assert queue.seconds_ahead(first) == 0
    assert queue.seconds_ahead(third) > queue.seconds_ahead(second) > 0
    assert queue.seconds_ahead(third) >= queue.expected(first) * 0.5 + queue.expected(second)
    assert queue.seconds_ahead() >= queue.seconds_ahead(third) + queue.expected(third) * 0.9  # a map asked now
    while first._process is None or first._process.pid is None:  # wait until A's map runs in its process
        assert time.monotonic() - first.submitted < WAIT
        time.sleep(0.05)
    pid = first._process.pid
    alive["A"] = alive["B"] = False  # A's and B's tabs close
    assert first.done.wait(WAIT) and second.done.wait(WAIT)
    assert first.cancelled and first.result is None and second.cancelled and second.started is None
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"
    assert third.done.wait(WAIT) and not third.cancelled and third.error is None
    assert third.result.shape == (150, 2)


def test_a_map_nobody_looks_at_is_abandoned_when_no_server_can_tell():
    queue = MapQueue(owner_alive=None, unpolled=1.0, watch=0.2)
    job = queue.submit(layer(5000, 3), "gone")
    assert job.done.wait(WAIT) and job.cancelled and job.result is None
