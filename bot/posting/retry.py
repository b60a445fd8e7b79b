"""One retry policy for every call that may work later (the server's temporary failures, a lost
database connection): exponential backoff with jitter, the server's rate-limit reset honoured,
deaf to nothing: a stop request ends the wait at once."""
from __future__ import annotations

import logging
import random
import threading
import time
from typing import Callable, TypeVar

from ..errors import TemporaryServerError
from .schedule import backoff

log = logging.getLogger("bot")
T = TypeVar("T")
MAX_RESET_WAIT = 15 * 60  # seconds: a rate-limit reset further away than this is not believed


def wait_hint(error: Exception, fallback: float) -> float:
    """Seconds to wait before retrying: until the server's rate-limit reset, else the fallback."""
    retry_at = getattr(error, "retry_at", None)
    if retry_at:
        return max(0.0, min(retry_at - time.time(), MAX_RESET_WAIT)) or fallback
    return fallback


class RetryPolicy:
    """retry(action) calls action until it returns, sleeping between failures of the given kinds:
    base * 2^attempt seconds (capped at cap, with jitter), or until a 429's reset time.

    Returns None when stop is set (before or while waiting); with give_up_after (seconds), the
    last error is raised once that much time has passed since the first failure."""

    def __init__(self, base: float, cap: float, stop: threading.Event | None = None,
                 rng: random.Random | None = None, retry_on: tuple = (TemporaryServerError,),
                 give_up_after: float | None = None):
        self.base, self.cap = base, cap
        self.stop = stop or threading.Event()
        self.rng = rng or random.Random()
        self.retry_on, self.give_up_after = retry_on, give_up_after

    def delay(self, error: Exception, attempt: int) -> float:
        return wait_hint(error, backoff(attempt, self.base, self.cap, self.rng))

    def retry(self, action: Callable[[], T], on_retry: Callable[[Exception], None] | None = None) -> T | None:
        attempt, first_failure = 0, None
        while not self.stop.is_set():
            try:
                return action()
            except self.retry_on as e:
                now = time.monotonic()
                first_failure = first_failure or now
                if self.give_up_after is not None and now - first_failure >= self.give_up_after:
                    raise
                delay = self.delay(e, attempt)
                if self.give_up_after is not None:
                    delay = min(delay, max(0.0, first_failure + self.give_up_after - now))
                log.warning("%s; retry %d in %.1f s", e, attempt + 1, delay)
                if on_retry is not None:
                    on_retry(e)
                if self.stop.wait(delay):
                    return None
                attempt += 1
        return None
