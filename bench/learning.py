"""Learning from a simulated audience: the learning bot against a frozen one, over a simulated month.

Both bots are the real worker (bot/posting/worker.py) and engagement job (bot/posting/learner.py)
with a real state database, posting through real Mastodon.py over HTTP to the local fake server
(tests/fake_mastodon.py), whose Audience favourites, boosts and replies by a hidden preference
plus noise, on an injected clock. The pools are drawn from a bank of real candidates of the
shipped model (one build_pool, not one per post); both bots see the same pools, audience and
noise (same seeds). Run from the repository root:

    python bench/learning.py                 # 30 days, 5 seeds, writes bench/results/learning.*
    python bench/learning.py --days 10 --seeds 1
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from bot.curation import seams as seams_module, variety  # noqa: E402
from bot.curation.features import names_a_method  # noqa: E402
from bot.curation.pipeline import Pool, build_pool  # noqa: E402
from bot.curation.words import canonical  # noqa: E402

H = 3600
T0 = 1_800_000_000.0
RESULTS = ROOT / "bench" / "results"
PREFERENCE_STRENGTH = 1.5  # appeal (log favourite rate) a named model adds


def seam_name(text: str) -> str:
    parsed = seams_module.parse(text)
    return parsed[0] if parsed else "other"


def names_a_model(text: str) -> bool:
    """Whether the paper half names a method or model ("GAN", "LSTM", "Interpretable CNN"; the
    curator's "name" feature, features.names_a_method), as the raters' "AlignGAN Without You"."""
    parsed = seams_module.parse(text)
    return names_a_method(parsed[2] if parsed else text)


preferred = names_a_model  # the hidden taste's feature, whose share of posts is measured


def likes_named_models(text: str) -> float:
    """The audience's hidden preference: posts whose paper half names a model get more appeal."""
    return PREFERENCE_STRENGTH * names_a_model(text)


def no_preference(text: str) -> float:
    return 0.0


def unaware(curator):
    """The curator without its weight on the hidden taste's feature ("name", which the panel
    refits learned): the bench measures what the audience teaches, so the prior must not know it."""
    from bot.curation.curator import Curator

    return Curator({k: v for k, v in curator.weights.items() if k != "name"}, curator.bias, curator.source)


def bank(model_dir: Path, size: int, seed: int = 0) -> list:
    """Real passing candidates of the model in model_dir (one pool of `size` samples)."""
    from bot.runtime import Runtime

    return build_pool(Runtime.load(model_dir), size, (0.5, 0.7, 0.9), seed=seed).passing


class Clock:
    def __init__(self, t: float = T0):
        self.t = t

    def __call__(self) -> float:
        return self.t


@dataclass
class Run:
    texts: list[str] = field(default_factory=list)
    engagement: list[int] = field(default_factory=list)  # every reaction each post ever gets
    choices: list[str] = field(default_factory=list)
    days: list[float] = field(default_factory=list)  # when each post was made, days from the start
    snapshots: list = field(default_factory=list)  # (at, observations, weights)

    @property
    def mean(self) -> float:
        return float(np.mean(self.engagement)) if self.engagement else 0.0

    def share(self, predicate) -> float:
        return sum(map(predicate, self.texts)) / len(self.texts) if self.texts else 0.0

    def explore_share(self) -> float:
        return self.choices.count("explore") / len(self.choices) if self.choices else 0.0

    def weekly(self) -> list[float]:
        weeks: dict[int, list[int]] = {}
        for day, e in zip(self.days, self.engagement):
            weeks.setdefault(int(day // 7), []).append(e)
        return [float(np.mean(weeks[w])) for w in sorted(weeks)]


def simulate(candidates: list, preference, learning: bool, days: int, seed: int, database_url: str,
             interval_hours: int = 6, pool_size: int = 150, exploration: float = 0.15, prior=None) -> Run:
    """One bot for `days` simulated days: a fresh pool from the bank every interval, the posting
    job and the engagement job every simulated hour. prior: the learner's curator (default: the
    shipped one)."""
    from fake_mastodon import TOKEN, Audience, FakeMastodon

    from bot.posting.gateway import Gateway
    from bot.posting.learner import EngagementJob, Learner
    from bot.posting.settings import load
    from bot.store import open_store
    from bot.posting.worker import Worker

    clock = Clock()
    pool_rng = random.Random(seed)

    def make_pool(posted: frozenset[str]) -> Pool:
        drawn = pool_rng.sample(candidates, min(pool_size, len(candidates)))
        drawn = sorted((c for c in drawn if canonical(c.text) not in posted), key=lambda c: (-c.score, c.text))
        return Pool(drawn)

    with FakeMastodon() as server:
        server.audience = Audience(clock, preference, seed=seed)
        settings = load({"MASTODON_API_BASE_URL": server.url, "MASTODON_ACCESS_TOKEN": TOKEN,
                         "DATABASE_URL": database_url, "POST_INTERVAL": f"{interval_hours}h",
                         "LEARNING": "on" if learning else "off", "EXPLORATION": str(exploration),
                         "RETRY_BASE": "0.01s", "RETRY_MAX": "0.05s"}, dotenv=False)
        store = open_store(database_url)
        try:
            gateway = Gateway(settings.api_base_url, settings.access_token, 10)
            rng = random.Random(seed + 1)
            worker = Worker(settings, store, gateway, "1", make_pool, threading.Event(), clock=clock, rng=rng,
                            learner=Learner(settings, store, prior, rng))
            job = EngagementJob(settings, store, gateway, "1", worker.learner, clock)
            for hour in range(days * 24):
                clock.t = T0 + hour * H
                if hour % interval_hours == 0:
                    worker.refill()
                worker.tick()
                job.run()
            run = Run()
            for p in store.post_features():
                run.texts.append(p.text)
                run.engagement.append(server.audience.total(p.status_id))
                run.choices.append(p.choice or "")
                run.days.append((p.posted_at - T0) / 86400)
            run.snapshots = store.snapshots()
        finally:
            store.close()
    return run


def variety_held(texts: list[str], window: int = 50) -> bool:
    """issue 9's limits over every 50 consecutive posts."""
    for start in range(0, max(1, len(texts) - window + 1), 10):
        r = variety.report(texts[start:start + window])
        if r.top_word[1] > 0.20 or r.top_tag[1] > 0.35 or r.top_seam_type[1] > 0.5 or r.mean_jaccard >= 0.02:
            return False
    return True


def weight_drift(run: Run, prior_weights: dict[str, float]) -> dict[str, float]:
    """How far each learned weight moved from the curator's, in prior standard deviations."""
    from bot.curation.learning import prior_sd

    if not run.snapshots:
        return {}
    weights = run.snapshots[-1][2]
    return {k: (v[0] - prior_weights.get(k, 0.0)) / prior_sd(k) for k, v in weights.items() if k != "bias"}


def compare(candidates: list, preference, days: int, seed: int, workdir: Path, label: str, prior=None) -> dict:
    """The learning bot against a frozen one, both with the prior curator (default: the shipped one)."""
    runs = {}
    for arm in ("learning", "frozen"):
        url = f"sqlite:///{workdir / f'{label}-{arm}-{seed}.sqlite3'}"
        runs[arm] = simulate(candidates, preference, arm == "learning", days, seed, url, prior=prior)
    learn, frozen = runs["learning"], runs["frozen"]
    return {"seed": seed, "runs": runs,
            "lift": learn.mean / frozen.mean - 1 if frozen.mean else 0.0,
            "preferred": (learn.share(preferred), frozen.share(preferred)),
            "explore": learn.explore_share(),
            "variety": (variety_held(learn.texts), variety_held(frozen.texts))}


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for ax, (label, found) in zip(axes[:2], results.items()):
        for arm, style in (("learning", "-"), ("frozen", "--")):
            curves = np.array([r["runs"][arm].weekly() for r in found])
            mean = curves.mean(axis=0)
            ax.plot(np.arange(1, len(mean) + 1), mean, style, marker="o", label=f"{arm} bot")
        ax.set_title(f"{label} audience: engagement per post")
        ax.set_xlabel("week")
        ax.set_ylabel("favourites + boosts + replies")
        ax.legend()
    ax = axes[2]
    found = results["preference"]
    for name in ("name", "seam=feat", "length=short"):
        for r in found[:1]:
            snaps = r["runs"]["learning"].snapshots
            days = [(at - T0) / 86400 for at, _, _ in snaps]
            mean = np.array([s[2].get(name, [0, 0])[0] for s in snaps])
            sd = np.array([s[2].get(name, [0, 0])[1] for s in snaps])
            ax.plot(days, mean, label=name)
            ax.fill_between(days, mean - sd, mean + sd, alpha=0.2)
    ax.set_title("learned weights (seed 0, mean +- sd)")
    ax.set_xlabel("day")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--bank", type=int, default=2000, help="samples in the candidate bank")
    ap.add_argument("--model-dir", type=Path, default=ROOT / "model_weights")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    from bot.model.threads import limit_blas
    from bot.posting.learner import shipped_curator

    limit_blas(1)
    candidates = bank(args.model_dir, args.bank)
    prior = unaware(shipped_curator(args.model_dir))
    print(f"bank: {len(candidates)} passing candidates of {args.model_dir}; preferred (names a model) "
          f"{sum(preferred(c.text) for c in candidates) / len(candidates):.1%} of them")
    results = {"preference": [], "no preference": []}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            for label, preference in (("preference", likes_named_models), ("no preference", no_preference)):
                r = compare(candidates, preference, args.days, seed, Path(tmp), label.replace(" ", "-"), prior)
                results[label].append(r)
                print(f"{label:>13} seed {seed}: lift {r['lift']:+.1%}, preferred share "
                      f"{r['preferred'][0]:.1%} vs {r['preferred'][1]:.1%}, explore {r['explore']:.1%}, "
                      f"variety held {r['variety']}", flush=True)
    rows, summary = [], {}
    for label, found in results.items():
        learn = np.mean([r["runs"]["learning"].mean for r in found])
        frozen = np.mean([r["runs"]["frozen"].mean for r in found])
        share_l = np.mean([r["preferred"][0] for r in found])
        share_f = np.mean([r["preferred"][1] for r in found])
        drift = [abs(v) for r in found for v in weight_drift(r["runs"]["learning"], prior.weights).values()]
        summary[label] = {"engagement_learning": learn, "engagement_frozen": frozen, "lift": learn / frozen - 1,
                          "lift_per_seed": [r["lift"] for r in found],
                          "preferred_learning": share_l, "preferred_frozen": share_f,
                          "explore": [r["explore"] for r in found],
                          "variety_held": all(all(r["variety"]) for r in found),
                          "mean_abs_drift_prior_sd": float(np.mean(drift)) if drift else 0.0,
                          "posts": len(found[0]["runs"]["learning"].texts)}
        rows.append(f"| {label} | {learn:.1f} | {frozen:.1f} | {learn / frozen - 1:+.1%} | "
                    f"{min(r['lift'] for r in found):+.1%} .. {max(r['lift'] for r in found):+.1%} | "
                    f"{share_l:.1%} | {share_f:.1%} | {np.mean([r['explore'] for r in found]):.1%} | "
                    f"{'yes' if summary[label]['variety_held'] else 'NO'} | {summary[label]['mean_abs_drift_prior_sd']:.2f} |")
    table = ("| audience | engagement/post, learning | frozen | lift | lift range over seeds | named-model share, "
             "learning | frozen | exploration share | variety limits held | mean abs weight drift (prior sd) |\n"
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n" + "\n".join(rows))
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "learning.json").write_text(json.dumps({"days": args.days, "seeds": args.seeds, "bank": len(candidates),
                                                        "summary": summary}, indent=1), encoding="utf8")
    (args.out / "learning.md").write_text(table + "\n", encoding="utf8")
    try:
        plot(results, args.out / "learning.png")
        print(f"wrote {args.out / 'learning.png'}")
    except ImportError:
        print("matplotlib is not installed: no plot (pip install -e '.[test]')")
    return 0


if __name__ == "__main__":
    sys.exit(main())
