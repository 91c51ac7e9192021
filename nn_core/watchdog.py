"""The watchdog: runs nobody watches any more are stopped (Streamlit says nothing when a session ends)."""

from __future__ import annotations

import time
import weakref

# Runs nobody watches any more (Streamlit says nothing when a session ends): a run whose owner (its
# session) is known to have gone is stopped after GONE_GRACE seconds (a tab that reconnects within it
# keeps its runs); one whose owner cannot be asked, after UNPOLLED_SECONDS without a poll. The
# dispatcher checks every WATCH_SECONDS, so such a run stops within about 10 s (GONE_GRACE + WATCH_SECONDS
# + a chunk) or UNPOLLED_SECONDS + 3 s.
GONE_GRACE = 5.0
UNPOLLED_SECONDS = 20.0
WATCH_SECONDS = 2.0


class Watchdog:
    """Mixed into a backend: ``owner_alive(owner)`` says whether an owner is still there (True, False, or
    None: cannot tell; then a run's last poll is the sign). The fair queue's dispatcher calls
    ``stop_abandoned`` every WATCH_SECONDS."""

    def _init_watchdog(self) -> None:
        self.owner_alive = None  # owner -> bool | None; None: no way to ask (poll age only)
        self._runs: weakref.WeakSet = weakref.WeakSet()  # the runs started
        self._gone_since: dict[object, float] = {}  # owner -> when it was first seen gone

    def stop_abandoned(self, now: float | None = None) -> list:
        """Stop the runs (``JobRun``) whose owner has gone (see GONE_GRACE); returns them."""
        now = time.monotonic() if now is None else now
        alive: dict[object, bool | None] = {}
        stopped = []
        for run in list(self._runs):
            if run.owner is None or run.ended:
                continue
            if run.owner not in alive:
                alive[run.owner] = self._owner_alive(run.owner)
            there = alive[run.owner]
            if there is True:
                gone = False
            elif there is False:
                gone = now - self._gone_since.setdefault(run.owner, now) >= GONE_GRACE
            else:
                gone = now - run.touched >= UNPOLLED_SECONDS
            if gone:
                run.abandon()
                stopped.append(run)
        for owner in [owner for owner in self._gone_since if alive.get(owner) is not False]:
            del self._gone_since[owner]  # back (a reconnected tab), or no run left to watch
        return stopped

    def _owner_alive(self, owner) -> bool | None:
        if self.owner_alive is None:
            return None
        try:
            there = self.owner_alive(owner)
        except Exception:  # whoever answers cannot tell now: the poll age decides
            return None
        return there if isinstance(there, bool) else None
