"""Runs as jobs, by the names callers know: the worker-side tasks (``nn_core.worker_tasks``), a run's
chain of chunks (``nn_core.job_run``), the backends (``nn_core.backends``), with their fair queue
(``nn_core.fair_queue``) and watchdog (``nn_core.watchdog``)."""

from .backends import DaskBackend, ExecutorBackend, ProcessBackend, SchedulerUnreachable, available_cores
from .job_run import MAX_CHUNK_SECONDS, MAX_RETRIES, NO_WORKER_SECONDS, JobRun
from .runs import TRAIN_SAMPLE
from .watchdog import GONE_GRACE, UNPOLLED_SECONDS, WATCH_SECONDS
from .worker_tasks import CHUNK_SECONDS, evaluate_epoch, train_chunk, warm_up, worker_data

__all__ = ["CHUNK_SECONDS", "GONE_GRACE", "MAX_CHUNK_SECONDS", "MAX_RETRIES", "NO_WORKER_SECONDS", "TRAIN_SAMPLE",
           "UNPOLLED_SECONDS", "WATCH_SECONDS", "DaskBackend", "ExecutorBackend", "JobRun", "ProcessBackend",
           "SchedulerUnreachable", "available_cores", "evaluate_epoch", "train_chunk", "warm_up", "worker_data"]
