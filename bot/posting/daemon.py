"""`bot`: the long-running worker. One active worker per database (others stand by); APScheduler
runs the worker's jobs; the first SIGTERM or SIGINT stops new work, every job checks the stop
flag (pool building between batches, retries while waiting), and run() returns within
SHUTDOWN_GRACE seconds: with the store closed once the jobs ended, or, if a job is still stuck
in a call, saying so (the caller then exits without waiting for it)."""
from __future__ import annotations

import itertools
import logging
import random
import threading
import time
from datetime import datetime, timezone

from apscheduler.events import EVENT_JOB_ERROR
from apscheduler.schedulers.background import BackgroundScheduler

from ..curation import filters, variety
from ..curation.pipeline import PAPER_VOLUME, build_pool
from ..errors import AuthError, BotError, DatabaseLostError
from .gateway import ReplyGateway
from ..runtime import Runtime
from .retry import RetryPolicy
from .settings import (Settings, require_bluesky, require_durable_state, require_mastodon, require_server,
                       with_hashtags)
from ..store import open_store, wait_to_lead
from .worker import Worker
from .learner import EngagementJob, Learner
from .publisher import Publisher, outlets_for

log = logging.getLogger("bot")
SHUTDOWN_GRACE = 7.0  # seconds running jobs get after a stop request (systemd's unit: 20, Heroku: 30)


def pool_maker(settings: Settings, runtime: Runtime, max_chars: int, stop: threading.Event | None = None):
    """posted -> Pool: the worker's pools. With SEED, the k-th pool of the process is sampled
    with seed SEED + k (`bot --dry-run --seed SEED` samples the first)."""
    built = itertools.count()

    def make(posted: frozenset[str]):
        seed = None if settings.seed is None else settings.seed + next(built)
        return build_pool(runtime, settings.pool_size, settings.temperatures, seed=seed, max_chars=max_chars,
                          posted=posted, stop=stop.is_set if stop is not None else None, paper_volume=PAPER_VOLUME)
    return make


def learner_for(settings: Settings, store, runtime: Runtime) -> Learner:
    """The worker's learner: the runtime's curator as its prior (or its refit from the owner's
    answers in approval mode, where that is used: approval.adopted_curator); with SEED,
    reproducible draws."""
    from .approval import adopted_curator

    return Learner(settings, store, prior=adopted_curator(store, runtime.evidence.curator),
                   rng=random.Random(settings.seed), generic=variety.generic_words(runtime.evidence.stats.arxiv))


def post_budget(settings: Settings, status_limit: int | None) -> int:
    """The longest title a post may have: the filters' MAX_CHARS, within the server's status
    limit less the content warning, less room for POST_HASHTAGS."""
    limit = filters.MAX_CHARS if not status_limit else min(filters.MAX_CHARS, status_limit - len(settings.content_warning or ""))
    return limit - len(with_hashtags("", settings.post_hashtags))


def replier_for(settings: Settings, runtime: Runtime, store, gateway, account: dict, limit: int | None,
                stop: threading.Event, publisher: Publisher):
    """The reply job's object (REPLIES=on). It shares the runtime (the model's weights are read
    only) but has its own sampler state: the jobs run in parallel threads."""
    from .replier import Replier
    from .replies import Composer

    composer = Composer(runtime, settings.temperatures)
    return Replier(settings, store, gateway, account["id"], composer, stop, status_limit=limit, publisher=publisher)


def bluesky_replier_for(settings: Settings, runtime: Runtime, store, outlet, stop: threading.Event,
                        retry: RetryPolicy):
    """The reply job's object for Bluesky mentions (REPLIES=on, NETWORKS naming bluesky): the same
    Replier, reading mentions from the AppView (BlueskyMentions) and answering through a publisher
    whose one outlet is Bluesky's. Logs in if need be (to learn the account's DID)."""
    from .bluesky_mentions import BlueskyMentions
    from .replier import Replier
    from .replies import Composer

    source = BlueskyMentions(outlet)
    return Replier(settings, store, source, source.account_id(), Composer(runtime, settings.temperatures), stop,
                   status_limit=outlet.limit(), publisher=Publisher(store, [outlet], retry, time.time),
                   network="bluesky")


class LateJob:
    """A job on a network other than the main one: its object is made at its first run (a network
    that is down at the start delays only it), and refused credentials stop only this job (one
    error line) instead of the worker."""

    def __init__(self, name: str, make):
        self.__name__, self.make, self.job, self.off = name, make, None, False

    def __call__(self):
        if self.off:
            return None
        try:
            if self.job is None:
                self.job = self.make()
            return self.job.check()
        except AuthError as e:
            self.off = True
            log.error("%s: %s; this job stops until the worker restarts (the others go on)", self.__name__, e)
            return None


def connect(settings: Settings, stop: threading.Event):
    """The gateway, our account and the server's status limit; waits out an unreachable server."""
    gateway = ReplyGateway(settings.api_base_url, settings.access_token, settings.request_timeout)
    policy = RetryPolicy(settings.retry_base, settings.retry_max, stop)
    return policy.retry(lambda: (gateway, gateway.account(), gateway.status_limit()))


def run(settings: Settings, stop: threading.Event) -> bool:
    """Run until stop is set; raises AuthError (and other BotErrors) that need a person.
    Returns False if a job was still running when it gave up waiting (the store is left open
    for it: the caller should exit the process at once)."""
    require_mastodon(settings)
    require_server(settings)
    if "bluesky" in settings.networks:
        require_bluesky(settings)
    require_durable_state(settings)
    log.debug("settings: %s", settings.describe())
    runtime = Runtime.load(settings.model_dir)  # once: the pool and the replier share it
    store = open_store(settings.database_url, stop)
    finished = True
    try:
        if not wait_to_lead(store, stop, settings.check_every):
            return True
        connected = connect(settings, stop)
        if connected is None:
            return True
        gateway, account, limit = connected
        publisher = Publisher(store, outlets_for(settings, store, gateway, account["id"], limit),
                              RetryPolicy(settings.retry_base, settings.retry_max, stop), time.time)
        worker = Worker(settings, store, gateway, account["id"],
                        pool_maker(settings, runtime, post_budget(settings, limit), stop), stop,
                        learner=learner_for(settings, store, runtime), publisher=publisher)
        worker.adopt_history()
        engagement = EngagementJob(settings, store, gateway, account["id"], worker.learner, time.time,
                                   bluesky=publisher.outlet("bluesky"))
        if stop.is_set():
            return True
        log.info("started as @%s on %s (bot account: %s, status limit %s); state in %s; next post at %s",
                 account.get("acct"), settings.api_base_url, "yes" if account.get("bot") else "no", limit,
                 store.description, _when(worker.next_post_time()))
        if len(publisher.networks) > 1:
            log.info("posting to %s", " and ".join(publisher.networks))
        # Each network's mentions are answered on that network: Mastodon's through Mastodon only,
        # Bluesky's (read from its AppView) through Bluesky only.
        on_mastodon = Publisher(store, [o for o in publisher.outlets if o.network == "mastodon"], publisher.retry,
                                time.time)
        replier = replier_for(settings, runtime, store, gateway, account, limit, stop, on_mastodon) if settings.replies else None
        bluesky = publisher.outlet("bluesky")
        bluesky_replier = LateJob("answer Bluesky mentions", lambda: bluesky_replier_for(
            settings, runtime, store, bluesky, stop, publisher.retry)) if settings.replies and bluesky else None
        if settings.approval:  # the owner's messages are Mastodon direct messages
            from .approval import queue_for

            worker.approval = queue_for(settings, store, gateway, on_mastodon, worker, runtime,
                                        post_budget(settings, limit), worker.retry)
            log.info("approval mode: @%s picks each post, asked %s before its slot; no answer: %s",
                     worker.approval.owner.acct, _duration(settings.approval_ahead),
                     "the worker's pick is posted" if settings.approval_timeout_action == "post" else "the slot is skipped")
        finished = _schedule(settings, worker, stop, replier, engagement, bluesky_replier)
        return finished
    finally:
        if finished:
            store.close()


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def _when(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _schedule(settings: Settings, worker: Worker, stop: threading.Event, replier=None,
              engagement: EngagementJob | None = None, bluesky_replier=None) -> bool:
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
    if bluesky_replier is not None:
        scheduler.add_job(guarded(bluesky_replier), "interval", seconds=settings.reply_check, id="replies-bluesky",
                          name="answer Bluesky mentions", next_run_time=now)
    if worker.approval is not None:
        scheduler.add_job(guarded(worker.approval.run_queue), "interval", seconds=settings.check_every, id="approval",
                          name="approval queue", next_run_time=now)
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
