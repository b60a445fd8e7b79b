"""Reply latency: from a mention appearing on the (local) server to the bot's reply being posted.

Starts the real worker (`python -m bot`, REPLY_CHECK=5s) against tests/fake_mastodon.py, posts 50
mentions from five accounts at random moments (so they land at every phase of the 5 s check),
and reads each reply's time on the server. The worker logs the seconds it spent sampling and
screening each reply; they are shown on their own. Also: the share of replies that visibly use
a word of the request.

    python bench/reply_latency.py [--mentions 50] [--seed 0]
"""
from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from bench.common import table  # noqa: E402
from bot.curation.evidence import Evidence  # noqa: E402
from bot.posting import replies  # noqa: E402
from fake_mastodon import TOKEN, FakeMastodon  # noqa: E402

TEMPLATES = ["{w}", "please, something about {w}", "{w}!", "a mashup about {w} and {v} please",
             "hey, do one on {w}", "{w} {v}"]
EMPTY = ["hi!", "hello there :)", "please?"]  # no usable word: a fresh mashup


def requests(n: int, rng: random.Random) -> list[str]:
    """Mention texts: words both corpora use often enough, in a few phrasings; one in ten empty."""
    stats = Evidence.load(ROOT / "model_weights", "mashup").stats
    pool = [w for corpus in (stats.song, stats.arxiv) for w, c in corpus.items()
            if c >= 20 and w.isalpha() and len(w) > 3 and w not in replies.STOPWORDS]
    out = []
    for i in range(n):
        if i % 10 == 9:
            out.append(rng.choice(EMPTY))
        else:
            out.append(rng.choice(TEMPLATES).format(w=rng.choice(pool), v=rng.choice(pool)))
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mentions", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    texts = requests(args.mentions, rng)
    with FakeMastodon() as server, tempfile.TemporaryDirectory() as tmp:
        people = [server.add_account(f"person{k}")[0] for k in range(5)]
        env = {**os.environ, "MASTODON_API_BASE_URL": server.url, "MASTODON_ACCESS_TOKEN": TOKEN,
               "DATABASE_URL": f"sqlite:///{tmp}/state.sqlite3", "POST_INTERVAL": "30d", "REPLY_CHECK": "5s",
               "REPLY_PER_ACCOUNT": "1000", "REPLY_PER_HOUR": "1000", "PYTHONUNBUFFERED": "1",
               "PYTHONPATH": str(ROOT)}
        log = open(Path(tmp) / "bot.log", "w+")
        proc = subprocess.Popen([sys.executable, "-m", "bot"], cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            while not server.statuses:  # started: the first post is out
                time.sleep(0.2)
            time.sleep(1.0)
            mentions = []
            for i, text in enumerate(texts):
                mentions.append(server.post_as(people[i % len(people)], f"@mashups {text}"))
                time.sleep(rng.uniform(0.5, 2.5))
            deadline = time.time() + 120
            while time.time() < deadline and sum(bool(server.replies_to(m["id"])) for m in mentions) < len(mentions):
                time.sleep(0.2)
        finally:
            proc.terminate()
            proc.wait(30)
        log.seek(0)
        output = log.read()
    sampling = [float(s) for s in re.findall(r"replied to @\S+ \(mention \d+, \w+, [^)]*?, ([\d.]+) s\)", output)]
    latency, used, usable = [], 0, 0
    for m, text in zip(mentions, texts):
        [reply] = server.replies_to(m["id"]) or [None]
        if reply is None:
            continue
        latency.append(reply["_at"] - m["_at"])
        request = replies.parse_request(text)
        if request.usable:
            usable += 1
            used += replies.uses_request(reply["_text"], request)
    print(f"{len(latency)} of {len(mentions)} mentions answered; REPLY_CHECK=5s")
    print(table(["measure", "p50 s", "p95 s", "max s"], [
        ["mention to reply posted", percentile(latency, 0.5), percentile(latency, 0.95), max(latency)],
        ["sampling and screening (worker log)", percentile(sampling, 0.5), percentile(sampling, 0.95), max(sampling)],
    ]))
    print(f"\nreplies that visibly use a request word: {used} of {usable} with a usable request "
          f"({100 * used / max(usable, 1):.0f}%)")


if __name__ == "__main__":
    main()
