"""`bot`: the long-running worker. APScheduler runs the worker's two jobs; the first SIGTERM or
SIGINT stops new work and lets the current job finish, within seconds."""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone

from apscheduler.events import EVENT_JOB_ERROR
from apscheduler.schedulers.background import BackgroundScheduler

from ..curation import filters
from ..curation.candidates import build_pool
from ..errors import AuthError, BotError
from ..curation.evidence import Evidence
from .gateway import Gateway
from ..model.modelfile import ModelPaths, load_model
from ..model.sampler import Sampler
from .retry import RetryPolicy
from .settings import Settings, require_server
from .state import open_store
from .worker import Worker, with_hashtags

log = logging.getLogger("bot")
SHUTDOWN_GRACE = 8.0  # seconds a running job gets after a stop request (Heroku allows 30)


def pool_maker(settings: Settings, max_chars: int):
    paths = ModelPaths.in_directory(settings.model_dir)
    sampler = Sampler(load_model(paths))
    evidence = Evidence.load(settings.model_dir, paths.name)
    return lambda posted: build_pool(sampler, evidence, settings.pool_size, settings.temperatures,
                                     seed=None, max_chars=max_chars, posted=posted)


def connect(settings: Settings, stop: threading.Event):
    """The gateway, our account and the server's status limit; waits out an unreachable server."""
    gateway = Gateway(settings.api_base_url, settings.access_token, settings.request_timeout)
    policy = RetryPolicy(settings.retry_base, settings.retry_max, stop)
    return policy.retry(lambda: (gateway, gateway.account(), gateway.status_limit()))


def run(settings: Settings, stop: threading.Event) -> None:
    """Run until stop is set; raises AuthError (and other BotErrors) that need a person."""
    require_server(settings)
    log.debug("settings: %s", settings.describe())
    store = open_store(settings.database_url)
    try:
        connected = connect(settings, stop)
        if connected is None:
            return
        gateway, account, limit = connected
        max_chars = min(filters.MAX_CHARS, limit - len(settings.content_warning or "")) if limit else filters.MAX_CHARS
        max_chars -= len(with_hashtags("", settings.post_hashtags))  # room for POST_HASHTAGS
        worker = Worker(settings, store, gateway, account["id"], pool_maker(settings, max_chars), stop)
        log.info("started as @%s on %s (bot account: %s, status limit %s); state in %s; next post at %s",
                 account.get("acct"), settings.api_base_url, "yes" if account.get("bot") else "no", limit,
                 store.description, _when(worker.next_post_time()))
        _schedule(settings, worker, stop)
    finally:
        store.close()


def _when(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _schedule(settings: Settings, worker: Worker, stop: threading.Event) -> None:
    fatal: list[BotError] = []
    active = []

    def guarded(job):
        def run_job():
            active.append(job.__name__)
            try:
                if not stop.is_set():
                    job()
            except AuthError as e:
                fatal.append(e)
                stop.set()
            except BotError as e:
                log.error("%s failed: %s", job.__name__, e)
            finally:
                active.remove(job.__name__)
        run_job.__name__ = job.__name__
        return run_job

    scheduler = BackgroundScheduler(timezone=timezone.utc, job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": 3600})
    scheduler.add_listener(lambda event: log.error("job %s crashed: %r", event.job_id, event.exception),
                           EVENT_JOB_ERROR)
    now = datetime.now(timezone.utc)
    scheduler.add_job(guarded(worker.refill), "interval", seconds=settings.pool_refresh, id="refill",
                      name="refill pool", next_run_time=now)
    scheduler.add_job(guarded(worker.tick), "interval", seconds=settings.check_every, id="post",
                      name="post when due", next_run_time=now)
    scheduler.start()
    while not stop.wait(1.0):
        pass
    scheduler.shutdown(wait=False)
    deadline = time.monotonic() + SHUTDOWN_GRACE
    while active and time.monotonic() < deadline:
        time.sleep(0.05)
    if active:
        log.warning("stopping with %s still running; an unfinished post is settled at the next start",
                    ", ".join(active))
    if fatal:
        raise fatal[0]
