"""What servers ask of bots, honoured by the worker against the local server: hashtags on every
post, quiet hours, a cap on posts per day (and the pure schedule functions behind them)."""
import json
import threading
from datetime import datetime, timezone

import pytest

from bot.outlets.base import Outbound

from bot.curation.words import canonical
from bot.posting import schedule
from bot.posting.gateway import Gateway
from bot.posting.settings import QuietHours, load
from bot.store import open_store
from bot.posting.worker import Worker
from fake_mastodon import TOKEN
from test_posting import make_pool  # noqa: F401  (a fixture)

H = 3600
START = datetime(2027, 1, 15, 12, 0, tzinfo=timezone.utc).timestamp()  # noon UTC


class Clock:
    def __init__(self, t=START):
        self.t = t

    def __call__(self):
        return self.t


def worker_for(server, make_pool, clock, tmp_path, **env):
    settings = load({"MASTODON_API_BASE_URL": server.url, "MASTODON_ACCESS_TOKEN": TOKEN,
                     "DATABASE_URL": f"sqlite:///{tmp_path / 'state.sqlite3'}", "RETRY_BASE": "0.01s",
                     "RETRY_MAX": "0.05s", **env})
    gateway = Gateway(settings.api_base_url, settings.access_token, 5)
    return Worker(settings, open_store(settings.database_url), gateway, "1", make_pool, threading.Event(),
                  clock=clock)


def test_hashtags_are_appended_to_every_post(mastodon_server, make_pool, tmp_path):
    worker = worker_for(mastodon_server, make_pool, Clock(), tmp_path, POST_HASHTAGS="#bots mashup")
    published = worker.tick()
    [text] = mastodon_server.texts()
    assert text.endswith(" #bots #mashup") and published.text == text
    title = text.removesuffix(" #bots #mashup")
    assert worker.store.last_post().text == title and "#" not in title


def test_an_unfinished_post_with_hashtags_is_found_not_sent_twice(mastodon_server, make_pool, tmp_path):
    mastodon_server.ignore_keys = True  # only the timeline can tell that it was published
    clock = Clock()
    worker = worker_for(mastodon_server, make_pool, clock, tmp_path, POST_HASHTAGS="#bots")
    best = worker._candidates()[0]
    assert worker.store.record_intent(worker.due_slot(), best.text, best.canonical, "key-1", int(clock.t))
    slot = worker.due_slot()
    worker.publisher.outlets[0].send(Outbound("post", str(slot), best.text + " #bots"), "key-1")  # then it died
    restarted = worker_for(mastodon_server, make_pool, clock, tmp_path, POST_HASHTAGS="#bots")
    restarted.tick()
    assert mastodon_server.texts() == [best.text + " #bots"]
    assert restarted.store.last_post().state == "posted"


def test_no_posts_in_quiet_hours_then_the_slot_posts_when_they_end(mastodon_server, make_pool, tmp_path):
    clock = Clock()
    worker = worker_for(mastodon_server, make_pool, clock, tmp_path, QUIET_HOURS="11:00-13:30 UTC")
    assert worker.tick() is None and not mastodon_server.statuses
    assert worker.next_post_time() == START + 1.5 * H
    clock.t = START + 1.5 * H - 1
    assert worker.tick() is None
    clock.t = START + 1.5 * H
    assert worker.tick() is not None and len(mastodon_server.statuses) == 1


def test_at_most_max_posts_per_day_in_any_24_hours(mastodon_server, make_pool, tmp_path):
    clock = Clock()
    worker = worker_for(mastodon_server, make_pool, clock, tmp_path, POST_INTERVAL="1h", MAX_POSTS_PER_DAY="3")
    for hour in range(30):
        clock.t = START + hour * H
        worker.tick()
    hours = [(p.posted_at - START) / H for p in worker.store.posts()]
    assert hours == [0, 1, 2, 24, 25, 26]
    assert len({canonical(t) for t in mastodon_server.texts()}) == 6


@pytest.mark.parametrize("clock_time, expected_end", [
    ("23:30", "07:00+1"), ("02:00", "07:00"), ("06:59", "07:00"), ("07:00", None), ("12:00", None), ("22:59", None),
])
def test_quiet_hours_wrap_past_midnight(clock_time, expected_end):
    quiet = QuietHours(23 * 60, 7 * 60, "Europe/Berlin")
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Europe/Berlin")
    h, m = map(int, clock_time.split(":"))
    t = datetime(2027, 1, 15, h, m, tzinfo=zone).timestamp()
    end = schedule.quiet_until(t, quiet)
    if expected_end is None:
        assert end is None
    else:
        day = 16 if expected_end.endswith("+1") else 15
        assert end == datetime(2027, 1, day, 7, 0, tzinfo=zone).timestamp()


def test_day_cap():
    now = 100 * 86400
    assert schedule.day_cap_until(now, [now - 10, now - 20], 0) is None
    assert schedule.day_cap_until(now, [now - 10, now - 20], 3) is None
    assert schedule.day_cap_until(now, [now - 10, now - 20, now - 90000], 2) == now - 20 + 86400


def test_dry_run_shows_the_status_with_its_hashtags(capsys, monkeypatch, tmp_path):
    from bot import cli
    from bot.posting import settings

    monkeypatch.chdir(tmp_path)
    for s in settings.SETTINGS:
        monkeypatch.delenv(s.name, raising=False)
    monkeypatch.setenv("POST_HASHTAGS", "#bot")
    assert cli.main(["--dry-run", "--seed", "1", "--pool-size", "30"]) == 0
    shown = capsys.readouterr().out
    [line] = [x for x in shown.splitlines() if x.startswith("would post: ")]
    status = line.removeprefix("would post: ").split("    (")[0]  # then how it was chosen
    assert status.endswith(" #bot") and status.count("#bot") == 1
    assert "content warning" not in shown
    monkeypatch.setenv("POST_CONTENT_WARNING", "AI mashups")
    assert cli.main(["--dry-run", "--seed", "1", "--pool-size", "30"]) == 0
    out = capsys.readouterr().out.splitlines()
    at = next(k for k, x in enumerate(out) if x.startswith("would post: "))
    assert out[at + 1] == "  behind the content warning 'AI mashups' (POST_CONTENT_WARNING)"
    assert cli.main(["--dry-run", "--seed", "1", "--pool-size", "30", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["content_warning"] == "AI mashups"
