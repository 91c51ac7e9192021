"""Reaching a Dask cluster: the scheduler's address checked, a bounded connect, and what a bare worker needs.

``connect`` checks the address's form (``SchemeAddressError``, at once), waits at most ``timeout``
seconds for something to answer at it, for that to be a Dask scheduler, and for a worker to be there
(``ClusterUnusable`` otherwise, naming the address and the fix). Then it sends what a worker started
with ``dask worker ADDRESS`` alone (the requirements installed, no copy of this repository) lacks,
as two Dask plugins, so a worker that joins later gets them too as it registers:

- nn_core's code as a zip the scheduler and every worker import (the scheduler unpickles the tasks,
  which name nn_core's functions and classes);
- MNIST's four compressed files and their checksums (11 MB), once per worker, which unpacks and
  verifies them on its first task (``worker_tasks.data_folder``).

Last, every worker runs ``worker_report``: it must import the same nn_core as this process (a worker
holding another copy would give other numbers) and load MNIST.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.resources
import re
import socket
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

from .data import CHECKSUM_FILE, DATA_DIR, FILES
from .worker_tasks import DATA_ARCHIVE, warm_up

CONNECT_SECONDS = 10.0  # the longest wait for a scheduler to answer, and then for its first worker
SCHEMES = ("tcp", "tls")
CODE_PLUGIN, DATA_PLUGIN = "nn-lab-code-{digest}", "nn-lab-mnist"
_ADDRESS = re.compile(r"(?:(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)"
                      r":(?P<port>[0-9]{1,5})")


class SchedulerAddressError(ValueError):
    """The text given as a scheduler's address is not one."""


class ClusterUnusable(OSError):
    """No Dask scheduler answered at the address, or it has no worker, or its workers cannot run nn_core."""


def check_address(address: str) -> tuple[str, str, int]:
    """The scheme, host and port of a scheduler's address such as ``tcp://host:8786`` or ``host:8786``."""
    shown = address if len(address) <= 80 else address[:77] + "..."
    match = _ADDRESS.fullmatch(address.strip())
    if match is None:
        raise SchedulerAddressError(f"{shown!r} is not a Dask scheduler's address: give it as tcp://HOST:PORT")
    if len(match["host"]) > 253:  # the longest DNS name
        raise SchedulerAddressError(f"{shown!r}: the host name is longer than 253 characters")
    scheme = (match["scheme"] or "tcp").lower()
    if scheme not in SCHEMES:
        raise SchedulerAddressError(f"{shown!r} is not a Dask scheduler's address ({scheme}:// is not Dask's): "
                                    "give it as tcp://HOST:PORT")
    port = int(match["port"])
    if not 1 <= port <= 65535:
        raise SchedulerAddressError(f"{shown!r}: the port must be 1-65535")
    return scheme, match["host"].strip("[]"), port


def find_scheduler(address: str, timeout: float = CONNECT_SECONDS) -> dict:
    """The scheduler's identity (its ``workers`` among it), or ClusterUnusable saying whether nothing
    answered within ``timeout`` seconds or something that is not a Dask scheduler (no Dask reply within
    ``timeout`` seconds more)."""
    scheme, host, port = check_address(address)
    from distributed.comm import connect  # imported before the clock starts (seconds on a busy machine)

    deadline = time.monotonic() + timeout
    if scheme == "tcp":  # first a plain connection: does anything listen there?
        while True:
            try:
                socket.create_connection((host, port), timeout=max(0.1, deadline - time.monotonic())).close()
                break
            except OSError as error:
                if time.monotonic() + 0.25 >= deadline:
                    raise ClusterUnusable(f"no Dask scheduler answered at {address} within {timeout:g} s "
                                          f"({error.strerror or type(error).__name__})") from None
                time.sleep(0.25)
    try:
        identity = _in_own_loop(lambda: asyncio.wait_for(_identity(connect, address), timeout), timeout)
    except (OSError, TimeoutError, asyncio.TimeoutError, ValueError, TypeError, KeyError) as error:
        raise ClusterUnusable(f"{address} answers but not as a Dask scheduler ({type(error).__name__} within "
                              f"{timeout:g} s)") from None
    if not isinstance(identity, dict) or identity.get("type") != "Scheduler":
        kind = identity.get("type") if isinstance(identity, dict) else type(identity).__name__
        raise ClusterUnusable(f"{address} answers but is not a Dask scheduler (a {str(kind)[:40]})")
    return identity


def _in_own_loop(make_coroutine, timeout: float):
    """The coroutine's result, run to completion in an event loop of its own on a thread of its own:
    the calling thread may already run a loop (Playwright's sync API keeps one in the thread that uses
    it, and run_until_complete there raises "Cannot run the event loop while another loop is
    running"), and Ctrl-C reaches the caller, not the coroutine."""
    outcome = {}

    def run() -> None:
        loop = asyncio.new_event_loop()
        try:
            outcome["value"] = loop.run_until_complete(make_coroutine())
        except BaseException as error:  # handed to the caller below
            outcome["error"] = error
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="nn_core.cluster probe", daemon=True)
    thread.start()
    thread.join(timeout + 5)  # the coroutine is bounded by ``timeout`` itself; this only guards that
    if thread.is_alive():
        raise TimeoutError(f"no answer within {timeout:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


async def _identity(connect, address: str):
    comm = await connect(address)  # bounded by the caller's wait_for
    try:
        await comm.write({"op": "identity", "reply": True})
        return await comm.read()
    finally:
        comm.abort()


def _sources(folder=None, prefix: str = ""):
    """nn_core's modules (its subpackages' too), by path within it ("components/batches.py"): what
    this process imported, as files (or a zip's members)."""
    folder = importlib.resources.files("nn_core") if folder is None else folder
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".py"):
            found.append((prefix + entry.name, entry))
        elif entry.is_dir() and entry.joinpath("__init__.py").is_file():
            found += _sources(entry, f"{prefix}{entry.name}/")
    return sorted(found)


def _module_name(path: str) -> str:
    """"components/batches.py" -> "nn_core.components.batches"; "__init__.py" -> "nn_core"."""
    return ".".join(["nn_core", *path.removesuffix(".py").split("/")]).removesuffix(".__init__")


def code_digest() -> str:
    """A digest of nn_core's source: of each module this process has imported, the source it was
    imported from (a worker that imported an older copy keeps running it, whatever zip comes later),
    and of the others the files it would import; the same wherever the package lives (folder or zip)."""
    digest = hashlib.sha256()
    for name, entry in _sources():
        module = sys.modules.get(_module_name(name))
        try:
            source = module.__loader__.get_data(module.__file__) if module is not None else entry.read_bytes()
        except (AttributeError, OSError, TypeError):
            source = entry.read_bytes()
        digest.update(name.encode() + b"\0" + source + b"\0")
    return digest.hexdigest()[:16]


def bundles(folder: Path) -> tuple[Path, Path]:
    """The code's zip and MNIST's, written into ``folder``."""
    code = folder / f"nn_lab_code_{code_digest()}.zip"
    with zipfile.ZipFile(code, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, entry in _sources():
            archive.writestr(f"nn_core/{name}", entry.read_bytes())
    data = folder / DATA_ARCHIVE
    with zipfile.ZipFile(data, "w", zipfile.ZIP_STORED) as archive:  # the files are gzip already
        for name in [CHECKSUM_FILE, *FILES.values()]:
            archive.write(DATA_DIR / name, name)
    return code, data



def worker_report() -> str:
    """Run on each worker: its data loaded now (a DataError if it has none), its code's digest returned."""
    warm_up()
    return code_digest()


def provide(client, address: str) -> None:
    """Send nn_core and MNIST to the scheduler and the workers (now and as they join); check each worker."""
    from distributed.diagnostics.plugin import SchedulerUploadFile, UploadFile

    digest = code_digest()
    with tempfile.TemporaryDirectory(prefix="nn-lab-bundle-") as folder:
        code, data = bundles(Path(folder))
        plugins = [(UploadFile(str(code), load=True), CODE_PLUGIN.format(digest=digest)),
                   (UploadFile(str(data), load=False), DATA_PLUGIN)]
        if not _scheduler_has(client, digest):
            plugins.insert(0, (SchedulerUploadFile(str(code), load=True), CODE_PLUGIN.format(digest=digest)))
    for plugin, name in plugins:
        plugin.idempotent = True  # sent once: a second client of the same code sends nothing again
        try:
            client.register_plugin(plugin, name=name)
        except Exception as error:
            raise ClusterUnusable(f"could not send nn_core and MNIST to the Dask cluster at {address}: "
                                  f"{_one_line(error)}") from None
    reports = client.run(worker_report, on_error="return")
    for worker, report in reports.items():
        if isinstance(report, BaseException):
            raise ClusterUnusable(explain(report, address)) from None
        if report != digest:
            raise ClusterUnusable(f"the Dask worker {worker} runs another copy of nn_core than this one (started "
                                  f"with it on PYTHONPATH?): restart it without, it gets this copy from here")


def _scheduler_has(client, digest: str) -> bool:
    """The scheduler already runs this very nn_core: a scheduler in this process (a LocalCluster's), or
    one started with it. It is sent nothing then: the upload would put a zip from the scheduler's
    scratch folder on this process's own sys.path, left there, missing, once that scheduler closed."""
    try:
        return client.run_on_scheduler(code_digest) == digest
    except Exception:  # it cannot import nn_core (or runs another copy): it gets this one
        return False


def explain(error: BaseException, address: str) -> str:
    """One line on why the cluster's workers failed a task, with the fix where it is known."""
    text = _one_line(error)
    if "nn_core" in text and ("No module named" in text or "deserializ" in text.lower()):
        return (f"the Dask workers at {address} cannot import nn_core ({text[:160]}): restart them, or start them "
                "from a copy of this repository with it on PYTHONPATH")
    if type(error).__name__ == "DataError":
        return (f"the Dask workers at {address} have no usable MNIST ({text[:160]}): restart them, or give them "
                "this repository's data/mnist")
    return text


def _one_line(error: BaseException) -> str:
    return f"{type(error).__name__}: {' '.join(str(error).split())}"[:300]


def connect(address: str, timeout: float = CONNECT_SECONDS):
    """A distributed.Client of the scheduler at ``address`` with at least one worker, every worker
    given nn_core and MNIST; SchedulerAddressError or ClusterUnusable (one line each) otherwise."""
    try:
        from distributed import Client
    except ImportError as missing:  # pragma: no cover - distributed is in requirements.txt
        raise ClusterUnusable(f"the distributed package is not installed ({missing})") from None
    find_scheduler(address, timeout)
    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as error:
        raise ClusterUnusable(f"no Dask scheduler answered at {address} within {timeout:g} s "
                              f"({type(error).__name__})") from None
    try:
        deadline = time.monotonic() + timeout
        while not client.scheduler_info(n_workers=0).get("n_workers"):  # a sleep Ctrl-C interrupts
            if time.monotonic() >= deadline:
                raise ClusterUnusable(f"the Dask scheduler at {address} has no worker (none joined within "
                                      f"{timeout:g} s): start one with: dask worker {address} --nthreads 1")
            time.sleep(0.25)
        provide(client, address)
    except BaseException:  # Ctrl-C too: leave no client behind to complain at exit
        client.close()
        raise
    return client
