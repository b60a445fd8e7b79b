"""Approval mode teaches the curator the owner's taste: after N answered slots, how much higher
does the curator rank that taste's favourites on fresh pools than the shipped curator does?

A simulated owner with a fixed, consistent taste answers the real worker and approval queue
(bot/posting/approval.py) over real Mastodon.py and HTTP to the local server
(tests/fake_mastodon.py), with a real state database: before each slot the bot sends its top 3
candidates as direct messages; the owner favourites the one they like best, or replies "none"
when none is good enough (their bar rejects about a tenth of the threes the shipped curator
would shortlist). The owner's taste is the shipped curator's score plus a liking for
paper halves that name a model ("AlignGAN"), for short posts (four words or fewer) and a dislike of
"feat." seams, judged on the text, with a little noise per look (Gumbel, scale 0.25).

The pools come from a bank of real candidates of the shipped model: one half feeds the slots, the
other makes the fresh pools the curators are measured on (never seen in a slot). After N slots the
curator the bot uses (approval.adopted_curator: the refit where it ranks held-out answers at least
as well as the shipped one) and the shipped curator rank each fresh pool; reported, both side by
side and as ratios: the mean rank of the owner's favourite in the pool, the mean rank of the
owner's top tenth, and the share of each curator's top 3 the owner would rate in their top tenth.

    python bench/approval.py                  # N = 10, 20, 40, 80; 3 seeds; bench/results/approval.*
    python bench/approval.py --slots 20 --seeds 1
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from bot.curation import learning, variety  # noqa: E402
from bot.curation.pipeline import Pool, build_pool  # noqa: E402
from bot.curation.words import canonical, words  # noqa: E402

H = 3600
T0 = 1_800_000_000
INTERVAL = 6 * H
RESULTS = ROOT / "bench" / "results"
NOISE = 0.25  # the owner's noise per look, Gumbel scale, in panel points
TASTE = {"names a model": 1.5, "four words or fewer": 0.75, "a feat. seam": -0.75}  # panel points


def names_a_model(text: str) -> bool:
    """The paper half has a word with a capital or a digit after its first letter ("AlignGAN")."""
    from bot.curation import seams

    parsed = seams.parse(text)
    paper = parsed[2] if parsed else text
    return any(len(w) >= 3 and any(c.isupper() or c.isdigit() for c in w[1:]) for w in paper.split())


def taste(text: str) -> float:
    """What the owner adds to the shipped curator's score, from the text alone."""
    return (TASTE["names a model"] * names_a_model(text) + TASTE["four words or fewer"] * (len(words(text)) <= 4)
            + TASTE["a feat. seam"] * (variety.kind_of(variety.seam_of(text)) == "feat"))


class Owner:
    """The simulated owner: utility = the shipped curator's score + taste(text) (+ noise per
    look); picks the best shown, or none when even that is below their bar: set so that they
    would reject about none_share of threes drawn from the shipped curator's top 30 of a pool
    (where the worker's choice path picks from: learning.LEARNED_SHORTLIST)."""

    def __init__(self, shipped, pools: list[list], seed: int, none_share: float = 0.1):
        self.shipped, self.rng = shipped, np.random.default_rng(seed)
        draw = random.Random(seed)
        best = [max(self.utility(c.text, c.features)
                    for c in draw.sample(sorted(pool, key=lambda c: -c.score)[:learning.LEARNED_SHORTLIST], 3))
                for pool in pools for _ in range(4)]
        self.bar = float(np.quantile(best, none_share))

    def utility(self, text: str, features: dict) -> float:
        return learning.score(self.shipped.weights, features) + self.shipped.bias + taste(text)

    def answer(self, shown: list) -> int | None:
        looked = [self.utility(c.text, c.features) + self.rng.gumbel(0.0, NOISE) for c in shown]
        best = int(np.argmax(looked))
        return best if looked[best] >= self.bar else None


def ranks(pool: list, weights: dict, owner: Owner) -> tuple[float, float, float]:
    """Under weights: the rank of the owner's favourite (1 = first), the mean rank of the owner's
    top tenth, and the share of the top 3 that are in the owner's top tenth."""
    scores = np.array([learning.score(weights, c.features) for c in pool])
    liked = np.array([owner.utility(c.text, c.features) for c in pool])
    order = np.argsort(-scores, kind="stable")
    rank = np.empty(len(pool))
    rank[order] = np.arange(1, len(pool) + 1)
    tenth = np.argsort(-liked, kind="stable")[: max(1, len(pool) // 10)]
    return float(rank[int(np.argmax(liked))]), float(rank[tenth].mean()), float(np.isin(order[:3], tenth).mean())


def simulate(train: list, fresh: list, shipped, runtime, slots: int, checkpoints: list[int], seed: int,
             database_url: str, pool_size: int = 150, fresh_pools: int = 60) -> dict:
    from fake_mastodon import TOKEN, FakeMastodon
    from mastodon import Mastodon

    from bot.posting import approval
    from bot.posting.gateway import ReplyGateway
    from bot.posting.settings import load
    from bot.posting.worker import Worker
    from bot.store import open_store

    pool_rng = random.Random(seed)
    owner = Owner(shipped, [random.Random(seed + 50 + i).sample(train, min(pool_size, len(train))) for i in range(50)],
                  seed)
    fresh_rng = random.Random(seed + 100)
    tests = [fresh_rng.sample(fresh, min(pool_size, len(fresh))) for _ in range(fresh_pools)]

    def measure(weights: dict) -> list[float]:
        return [float(np.mean(col)) for col in zip(*(ranks(p, weights, owner) for p in tests))]

    clock = [float(T0)]

    def make_pool(posted: frozenset[str]) -> Pool:
        drawn = [c for c in pool_rng.sample(train, min(pool_size, len(train))) if canonical(c.text) not in posted]
        return Pool(sorted(drawn, key=lambda c: (-c.score, c.text)))

    out = {"seed": seed, "checkpoints": [], "shipped": measure(shipped.weights), "answers": []}
    with FakeMastodon() as server:
        _, token = server.add_account("owner")
        phone = Mastodon(api_base_url=server.url, access_token=token, version_check_mode="none")
        settings = load({"MASTODON_API_BASE_URL": server.url, "MASTODON_ACCESS_TOKEN": TOKEN,
                         "DATABASE_URL": database_url, "POST_INTERVAL": "6h", "APPROVAL": "on",
                         "APPROVAL_OWNER": "owner", "APPROVAL_AHEAD": "2h", "RETRY_BASE": "0.01s",
                         "RETRY_MAX": "0.05s", "LEARNING": "off"}, dotenv=False)
        store = open_store(database_url)
        try:
            store.save_schedule(anchor=T0 + INTERVAL, interval=INTERVAL)
            gateway = ReplyGateway(server.url, TOKEN, 10)
            worker = Worker(settings, store, gateway, "1", make_pool, threading.Event(), clock=lambda: clock[0],
                            rng=random.Random(seed + 1))
            worker.learner.prior = shipped
            worker.approval = approval.queue_for(settings, store, gateway, worker.publisher, worker, runtime, 100,
                                                 worker.retry)
            for k in range(1, slots + 1):
                slot = T0 + k * INTERVAL
                clock[0] = slot - 2 * H
                worker.refill()
                worker.approval.run_queue()
                shown = store.approval_candidates(slot)
                sent = [s for s in server.by("1") if s["visibility"] == "direct"][-len(shown):]
                picked = owner.answer(shown)
                if picked is None:
                    phone.status_post("@mashups none", in_reply_to_id=sent[0]["id"], visibility="direct")
                else:
                    phone.status_favourite(sent[picked]["id"])
                out["answers"].append(picked)
                clock[0] = slot
                worker.approval.run_queue()
                worker.tick()
                clock[0] = slot + H
                worker.approval.run_queue()
                if k in checkpoints:
                    adopted = approval.adopted_curator(store, shipped)
                    summary = approval.refit_summary(store)
                    out["checkpoints"].append({"slots": k, "used": adopted is not shipped,
                                               "held_out": [summary.get("rank_shipped"), summary.get("rank_refit")],
                                               "measures": measure(adopted.weights),
                                               "weights": {n: adopted.weights.get(n, 0.0) for n in
                                                           ("name", "length=short", "seam=feat", "words")}})
            posts = [p.text for p in store.posts() if p.state == "posted"]
            out["posted"] = len(posts)
            out["posts_owner_picked"] = sum(r.decision == "pick" for r in store.approvals())
        finally:
            store.close()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--slots", type=int, default=80, help="slots the owner answers (N)")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--bank", type=int, default=2000, help="samples in the candidate bank")
    ap.add_argument("--model-dir", type=Path, default=ROOT / "model_weights")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    from bot.model.threads import limit_blas
    from bot.runtime import Runtime

    limit_blas(1)
    runtime = Runtime.load(args.model_dir)
    shipped = runtime.evidence.curator
    candidates = build_pool(runtime, args.bank, (0.5, 0.7, 0.9), seed=0).passing
    checkpoints = sorted({n for n in (5, 10, 20, 40, 80, args.slots) if n <= args.slots})
    print(f"bank: {len(candidates)} passing candidates; the owner's taste: "
          + ", ".join(f"{k} {v:+g}" for k, v in TASTE.items()) + f" panel points, noise {NOISE}")
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            shuffled = random.Random(seed).sample(candidates, len(candidates))
            train, fresh = shuffled[: len(shuffled) // 2], shuffled[len(shuffled) // 2:]
            run = simulate(train, fresh, shipped, runtime, args.slots, checkpoints, seed,
                           f"sqlite:///{Path(tmp) / f'approval-{seed}.sqlite3'}")
            runs.append(run)
            for c in run["checkpoints"]:
                s, a = run["shipped"], c["measures"]
                print(f"seed {seed} N={c['slots']:3d}: favourite's rank {s[0]:.1f} -> {a[0]:.1f}, top tenth's mean "
                      f"rank {s[1]:.1f} -> {a[1]:.1f}, top-3 in the owner's top tenth {s[2]:.0%} -> {a[2]:.0%} "
                      f"(refit {'used' if c['used'] else 'not used'})", flush=True)
    rows, summary = [], []
    for i, n in enumerate(checkpoints):
        found = [r["checkpoints"][i] for r in runs]
        shipped_m = np.mean([r["shipped"] for r in runs], axis=0)
        after = np.mean([c["measures"] for c in found], axis=0)
        used = sum(c["used"] for c in found)
        summary.append({"slots": n, "shipped": shipped_m.tolist(), "adopted": after.tolist(), "used": used,
                        "seeds": len(found)})
        rows.append(f"| {n} | {used}/{len(found)} | {shipped_m[0]:.1f} | {after[0]:.1f} | {shipped_m[0] / after[0]:.2f} | "
                    f"{shipped_m[1]:.1f} | {after[1]:.1f} | {shipped_m[1] / after[1]:.2f} | {shipped_m[2]:.0%} | "
                    f"{after[2]:.0%} | {after[2] / shipped_m[2]:.2f} |")
    table = ("| slots answered (N) | refit used (seeds) | owner's favourite: rank by shipped | by the bot's curator | "
             "ratio | owner's top tenth: mean rank, shipped | bot's | ratio | top 3 in owner's top tenth, shipped | "
             "bot's | ratio |\n|" + " --- |" * 11 + "\n" + "\n".join(rows))
    none_share = np.mean([a is None for r in runs for a in r["answers"]])
    print(table)
    print(f"pools of 150 candidates; 'none' answered in {none_share:.0%} of slots")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "approval.json").write_text(json.dumps({"slots": args.slots, "seeds": args.seeds, "bank": len(candidates),
                                                        "taste": TASTE, "noise": NOISE, "summary": summary,
                                                        "runs": runs}, indent=1), encoding="utf8")
    (args.out / "approval.md").write_text(table + "\n", encoding="utf8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
