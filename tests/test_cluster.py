"""Naming a Dask scheduler: addresses checked before any connection, and the app's Train page when the
named one cannot be used (malformed, or answering but not as Dask): one line naming it, in every
session, and the runs train on the server's own worker processes instead, without a hang.

The command line's side, and a cluster whose workers hold no copy of the repository, are in
tests/test_sweep.py."""

from __future__ import annotations

import re
import threading
import time

import pytest
from streamlit.testing.v1 import AppTest

from nn_core import cluster
from nn_core.cluster import SchedulerAddressError, check_address
from nn_core.jobs import ProcessBackend
from tests.test_sweep import not_dask  # noqa: F401 - the fixture: Python's HTTP server
from tests.test_train_page import APP
from ui import server


@pytest.mark.parametrize("address, parts", [("tcp://10.0.0.5:8786", ("tcp", "10.0.0.5", 8786)),
                                            ("  sched-1.lan:8786 ", ("tcp", "sched-1.lan", 8786)),
                                            ("tls://[::1]:8786", ("tls", "::1", 8786))])
def test_a_scheduler_address(address, parts):
    assert check_address(address) == parts


@pytest.mark.parametrize("address", ["garbage", "foo://bar", "http://127.0.0.1:8786", "tcp://host:99999",
                                     "tcp://host:8786/path", "tcp://a b:1", "", "x" * 10_000 + ":1"],
                         ids=lambda address: address[:24])
def test_a_malformed_address_is_one_short_line(address):
    with pytest.raises(SchedulerAddressError) as refused:
        check_address(address)
    assert "\n" not in str(refused.value) and len(str(refused.value)) < 200


@pytest.fixture
def named_scheduler(monkeypatch):
    """Name a scheduler for a fresh server-wide backend (and put the cached one back afterwards)."""
    monkeypatch.setattr(cluster, "CONNECT_SECONDS", 2.0)
    server.training.clear()

    def name(address: str) -> None:
        monkeypatch.setenv(server.SCHEDULER_VARIABLE, address)
    yield name
    backend = server.training().backend if server.scheduler_address() else None
    server.training.clear()
    if isinstance(backend, ProcessBackend):
        backend.warm_up()  # after the server's own warm-up (shut down during it, that thread raised)
        backend.shutdown()


@pytest.mark.parametrize("kind", ["malformed", "not Dask"])
def test_train_falls_back_to_local_workers_saying_why_in_every_session(kind, named_scheduler, request):
    address = "foo://bar" if kind == "malformed" else request.getfixturevalue("not_dask")
    named_scheduler(address)
    for _ in range(2):  # two sessions: the first waits for the answer (at most 2 x 2 s here), the second not
        started = time.monotonic()
        at = AppTest.from_file(APP, default_timeout=120)
        at.run()  # Train, the default page
        assert not at.exception
        warnings = [re.sub(r"\\(.)", r"\1", w.value).replace("\u2060", "") for w in at.warning]
        assert len(warnings) == 1 and address in warnings[0], warnings
        assert "train on this server's own worker processes instead" in warnings[0]
        assert ("not a Dask scheduler's address" if kind == "malformed" else "answers but not as a Dask scheduler") \
            in warnings[0]
        assert any("worker process" in caption.value and "on this server" in caption.value for caption in at.caption)
        assert time.monotonic() - started < 60  # it said "Starting the training workers…" for 306 s
    assert isinstance(server.training().backend, ProcessBackend)


def test_a_scheduler_is_found_from_a_thread_that_runs_an_event_loop(not_dask):  # noqa: F811 - the fixture
    """The probe of a named scheduler works where the calling thread already runs an event loop (as
    Playwright's sync API leaves one in the thread using it: in the full test suite the Dask tests
    after a browser test failed with "Cannot run the event loop while another loop is running")."""
    import asyncio

    from distributed import LocalCluster

    async def probe(address: str):
        return cluster.find_scheduler(address, timeout=5)  # called synchronously inside a running loop

    def in_a_loop_of_its_own_thread(address: str):  # the test process's own thread may run one already
        outcome = {}
        thread = threading.Thread(target=lambda: outcome.update(result=_caught(asyncio.run, probe(address))))
        thread.start()
        thread.join(60)
        return outcome["result"]

    with LocalCluster(n_workers=0, processes=False, protocol="tcp", dashboard_address=None) as dask:
        identity = in_a_loop_of_its_own_thread(dask.scheduler_address)
    assert isinstance(identity, dict) and identity["type"] == "Scheduler", identity
    refused = in_a_loop_of_its_own_thread(not_dask)
    assert isinstance(refused, cluster.ClusterUnusable) and "answers but not as a Dask scheduler" in str(refused)


def _caught(function, *args):
    """``function(*args)``, or the exception it raised."""
    try:
        return function(*args)
    except Exception as error:
        return error
