"""The fair queue of a backend's tasks: they wait by owner (a session), and a dispatcher thread sends
them a task per owner in turn, never more at once than there are workers (so the executor's own
first-come queue stays empty). A session's sweep of many runs and another session's one run then share
the workers half and half, not 40 to 1. The dispatcher is also the watchdog's clock (``nn_core.watchdog``)."""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import Future

from .watchdog import WATCH_SECONDS


class FairQueue:
    """Mixed into a backend, which gives ``workers`` and ``stop_abandoned``."""

    def _init_queue(self) -> None:
        self._queue = threading.Condition()  # guards the fields below
        self._waiting: dict[object, deque] = {}  # owner -> its tasks not yet sent: (send, args, future)
        self._served: dict[object, int] = {}  # owner -> the number of the last task sent for it
        self._sends = 0  # tasks sent so far (numbers them)
        self._sent = 0  # tasks on the workers now
        self._dispatcher: threading.Thread | None = None
        self._closed = False

    def slots(self) -> int:
        """Tasks sent to the workers at once: one per worker (at least one). Any more wait in the
        executor's first-come queue, where every run gets an equal share, not every owner: measured
        over 15 s with A's two runs and B's one on two workers (load 10-13), B trained 38 batches/s
        against A's 48 and 62 with the executor's queue alone, 80 against 82 and 79 with two slots per
        worker, 91 against 50 and 48 with one."""
        return max(1, self.workers)

    def enqueue(self, owner: object, send, *args) -> Future:
        """Queue ``send(*args)`` (a method that submits a task and returns its future) behind the
        owner's other tasks; returns a future of its result."""
        result = Future()
        with self._queue:
            self._closed = False
            if self._dispatcher is None or not self._dispatcher.is_alive():
                self._dispatcher = threading.Thread(target=self._dispatch, name="job dispatcher", daemon=True)
                self._dispatcher.start()
            self._waiting.setdefault(owner, deque()).append((send, args, result))
            self._queue.notify_all()
        return result

    def withdraw(self, task: Future | None) -> bool:
        """Take a task out of the queue if it has not been sent yet; whether it was."""
        with self._queue:
            for owner, tasks in self._waiting.items():
                for entry in tasks:
                    if entry[2] is task:
                        tasks.remove(entry)
                        if not tasks:
                            del self._waiting[owner]
                        return True
        return False

    def waiting(self) -> dict[object, int]:
        """Tasks waiting for a worker, by owner."""
        with self._queue:
            return {owner: len(tasks) for owner, tasks in self._waiting.items()}

    def _next_task(self):
        """The first task of the waiting owner served least recently (called with the queue's lock, when
        a task waits). Least recently, not next in a ring: a run's next chunk is queued only after its
        last one came back, when the worker may already have gone to another owner's task; the run's
        owner is then served right after that one, not after every owner who queued meanwhile."""
        owner = min(self._waiting, key=lambda owner: self._served.get(owner, -1))
        tasks = self._waiting[owner]
        task = tasks.popleft()
        if not tasks:
            del self._waiting[owner]
        self._sends += 1
        self._served[owner] = self._sends
        if len(self._served) > 4 * len(self._waiting) + 64:  # forget owners with nothing waiting
            self._served = {owner: self._served[owner] for owner in self._waiting if owner in self._served}
        self._sent += 1
        return task

    def _dispatch(self) -> None:
        """The dispatcher thread: send tasks while workers are free; every WATCH_SECONDS, the watchdog.
        It ends once nothing waits or trains (every run has then ended)."""
        watch = time.monotonic() + WATCH_SECONDS
        while True:
            task = None
            with self._queue:
                while not self._closed and not (self._waiting and self._sent < self.slots()) \
                        and time.monotonic() < watch:
                    self._queue.wait(max(0.0, watch - time.monotonic()))
                if self._closed or (not self._waiting and not self._sent and time.monotonic() >= watch):
                    self._dispatcher = None  # idle: nothing waits, nothing trains (the next task starts one)
                    return
                if self._waiting and self._sent < self.slots():
                    task = self._next_task()
            if task is not None:
                self._send(*task)
            if time.monotonic() >= watch:
                self.stop_abandoned()
                watch = time.monotonic() + WATCH_SECONDS

    def _send(self, send, args, result: Future) -> None:
        try:
            future = send(*args)
        except Exception as error:  # e.g. a broken pool: the run sees it as its chunk's outcome
            self._task_done(None, result, error)
            return
        future.add_done_callback(lambda done: self._task_done(done, result))

    def _task_done(self, done, result: Future, error: BaseException | None = None) -> None:
        """Relay a task's outcome to its run, then free its slot: the run queues its next chunk first,
        so an owner with one run keeps a worker of its own instead of waiting for the next to free."""
        if error is None:
            try:
                value = done.result()
            except BaseException as raised:  # noqa: BLE001 - relayed to the run, which sorts them
                error = raised
        if error is not None:
            result.set_exception(error)
        else:
            result.set_result(value)
        with self._queue:
            self._sent -= 1
            self._queue.notify_all()  # a worker is free: the waiting owner served least recently goes

    def close_queue(self) -> None:
        """Stop the dispatcher (tasks still waiting are not sent; a later task starts it again)."""
        with self._queue:
            self._closed = True
            self._queue.notify_all()
