"""`bot`: the long-running worker. One active worker per database (others stand by); APScheduler
runs the worker's jobs; the first SIGTERM or SIGINT stops new work, every job checks the stop
flag (pool building between batches, retries while waiting), and run() returns within
SHUTDOWN_GRACE seconds: with the store closed once the jobs ended, or, if a job is still stuck
in a call, saying so (the caller then exits without waiting for it)."""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone

from apscheduler.events import EVENT_JOB_ERROR
from apscheduler.schedulers.background import BackgroundScheduler

from ..curation import filters
from ..curation.candidates import build_pool
from ..errors import AuthError, BotError, DatabaseLostError
from ..curation.evidence import Evidence
from .gateway import ReplyGateway
from ..model.modelfile import ModelPaths, load_model
from ..model.sampler import Sampler
from .retry import RetryPolicy
from .settings import Settings, require_durable_state, require_server, with_hashtags
from ..store import open_store, wait_to_lead
from .worker import Worker
from .learner import EngagementJob

log = logging.getLogger("bot")
SHUTDOWN_GRACE = 7.0  # seconds running jobs get after a stop request (systemd's unit: 20, Heroku: 30)


def pool_maker(settings: Settings, max_chars: int, stop: threading.Event | None = None):
    paths = ModelPaths.in_directory(settings.model_dir)
    sampler = Sampler(load_model(paths))
    evidence = Evidence.load(settings.model_dir, paths.name)
    return lambda posted: build_pool(sampler, evidence, settings.pool_size, settings.temperatures,
                                     seed=None, max_chars=max_chars, posted=posted,
                                     stop=stop.is_set if stop is not None else None)


def replier_for(settings: Settings, store, gateway, account: dict, limit: int | None, stop: threading.Event):
    """The reply job's object (REPLIES=on), with its own sampler: the jobs run in parallel threads."""
    from .replier import Replier
    from .replies import Composer

    paths = ModelPaths.in_directory(settings.model_dir)
    composer = Composer(Sampler(load_model(paths)), Evidence.load(settings.model_dir, paths.name), settings.temperatures)
    return Replier(settings, store, gateway, account["id"], composer, stop, status_limit=limit)


def connect(settings: Settings, stop: threading.Event):
    """The gateway, our account and the server's status limit; waits out an unreachable server."""
    gateway = ReplyGateway(settings.api_base_url, settings.access_token, settings.request_timeout)
    policy = RetryPolicy(settings.retry_base, settings.retry_max, stop)
    return policy.retry(lambda: (gateway, gateway.account(), gateway.status_limit()))


def run(settings: Settings, stop: threading.Event) -> bool:
    """Run until stop is set; raises AuthError (and other BotErrors) that need a person.
    Returns False if a job was still running when it gave up waiting (the store is left open
    for it: the caller should exit the process at once)."""
    require_server(settings)
    require_durable_state(settings)
    log.debug("settings: %s", settings.describe())
    store = open_store(settings.database_url, stop)
    finished = True
    try:
        if not wait_to_lead(store, stop, settings.check_every):
            return True
        connected = connect(settings, stop)
        if connected is None:
            return True
        gateway, account, limit = connected
        max_chars = min(filters.MAX_CHARS, limit - len(settings.content_warning or "")) if limit else filters.MAX_CHARS
        max_chars -= len(with_hashtags("", settings.post_hashtags))  # room for POST_HASHTAGS
        worker = Worker(settings, store, gateway, account["id"], pool_maker(settings, max_chars, stop), stop)
        worker.adopt_history()
        engagement = EngagementJob(settings, store, gateway, account["id"], worker.learner, time.time)
        if stop.is_set():
            return True
        log.info("started as @%s on %s (bot account: %s, status limit %s); state in %s; next post at %s",
                 account.get("acct"), settings.api_base_url, "yes" if account.get("bot") else "no", limit,
                 store.description, _when(worker.next_post_time()))
        replier = replier_for(settings, store, gateway, account, limit, stop) if settings.replies else None
        finished = _schedule(settings, worker, stop, replier, engagement)
        return finished
    finally:
        if finished:
            store.close()


def _when(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _schedule(settings: Settings, worker: Worker, stop: threading.Event, replier=None,
              engagement: EngagementJob | None = None) -> bool:
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
            except DatabaseLostError as e:
                if not stop.is_set():  # exit non-zero: a supervisor restarts the worker
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
    scheduler.add_job(guarded(worker.refresh), "interval", seconds=settings.pool_refresh, id="refill",
                      name="refill pool", next_run_time=now)
    scheduler.add_job(guarded(worker.tick), "interval", seconds=settings.check_every, id="post",
                      name="post when due", next_run_time=now)
    if replier is not None:
        scheduler.add_job(guarded(replier.check), "interval", seconds=settings.reply_check, id="replies",
                          name="answer mentions", next_run_time=now)
    if engagement is not None:
        scheduler.add_job(guarded(engagement.run), "interval", seconds=settings.engagement_check, id="engagement",
                          name="read engagement", next_run_time=now)
    scheduler.start()
    while not stop.wait(0.25):
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
    return not active
