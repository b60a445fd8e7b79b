"""`bot stats`: what each network was sent (posts, replies and messages to the owner delivered,
pending and refused);
posts and engagement by seam type, tag, length band, temperature and how each post was chosen;
what the learner has learned (weights with uncertainty, against the curator's) and how that
changed over time. Text tables here; the picture (matplotlib, imported only for --plot) too.
"""
from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from ..curation import variety
from ..curation.curator import Curator
from ..curation.features import length_band
from ..errors import BotError
from ..store import PostFeatures, Store
from ..store.approvals import MESSAGE_KINDS
from .approval import report as approval_report

TOP_WEIGHTS = 12  # weights shown: those that moved most from the curator's
HISTORY_POINTS = 5  # snapshots shown in the history table
# the column of the per-network table each delivery kind counts in: approval-queue messages and
# notes to the owner (bot/store/approvals.py MESSAGE_KINDS) are one column
SENT_COLUMNS = {"post": "posts", "reply": "replies", **{kind: "to owner" for kind in MESSAGE_KINDS}}


@dataclass(frozen=True)
class PostRow:
    post: PostFeatures
    favourites: int | None  # the latest reading's counts; None: not read yet (or gone)
    boosts: int | None
    replies: int | None

    @property
    def engagement(self) -> int | None:
        return None if self.favourites is None else self.favourites + self.boosts + self.replies


def rows(store: Store) -> list[PostRow]:
    latest: dict[int, tuple] = {}
    for r in store.readings():  # 'final' sorts after 'first'
        if r.favourites is not None:
            latest[r.slot] = (r.favourites, r.boosts, r.replies)
    return [PostRow(p, *latest.get(p.slot, (None, None, None))) for p in store.post_features()]


def _temperature(p: PostFeatures) -> str:
    t = p.features.get("temperature")
    return f"{t:g}" if t is not None else "?"


GROUPS = {
    "seam type": lambda p: variety.kind_of(variety.seam_of(p.text)),
    "seam / tag": lambda p: variety.seam_of(p.text),
    "length": lambda p: length_band(p.text),
    "temperature": _temperature,
    "chosen by": lambda p: p.choice or "before learning",
}


def table(found: list[PostRow], group: str) -> list[list[str]]:
    """[name, posts, read, mean engagement, favourites, boosts, replies] per value, most posts first."""
    by: dict[str, list[PostRow]] = defaultdict(list)
    for r in found:
        by[GROUPS[group](r.post)].append(r)
    out = []
    for name, members in sorted(by.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        read = [m for m in members if m.engagement is not None]
        mean = lambda f: f"{sum(f(m) for m in read) / len(read):.1f}" if read else "-"  # noqa: E731
        out.append([name, str(len(members)), str(len(read)), mean(lambda m: m.engagement),
                    mean(lambda m: m.favourites), mean(lambda m: m.boosts), mean(lambda m: m.replies)])
    return out


def networks_table(counts: list[tuple[str, str, str, int, int | None]]) -> list[list[str]]:
    """[network, posts sent, replies sent, messages to the owner sent, pending, refused, last sent
    (UTC)] per network, from Store.delivery_counts: the one publisher's record, so a network that
    lags or refuses shows. A kind outside SENT_COLUMNS counts only in pending, refused and last sent."""
    by: dict[str, dict] = {}
    for network, kind, state, n, last in counts:
        row = by.setdefault(network, {"posts": 0, "replies": 0, "to owner": 0, "pending": 0, "refused": 0,
                                      "last": None})
        if state == "sent":
            if kind in SENT_COLUMNS:
                row[SENT_COLUMNS[kind]] += n
            row["last"] = max((t for t in (row["last"], last) if t is not None), default=None)
        elif state in ("pending", "refused"):
            row[state] += n
    when = lambda t: time.strftime("%Y-%m-%d %H:%M", time.gmtime(t)) if t is not None else "-"  # noqa: E731
    return [[network] + [str(r[c]) for c in ("posts", "replies", "to owner", "pending", "refused")] + [when(r["last"])]
            for network, r in sorted(by.items())]


def weights_table(latest: dict, prior: Curator) -> list[list[str]]:
    """[feature, curator, learned mean +- sd, moved (in sd)] for the weights that moved most."""
    moved = []
    for name, (mean, sd) in latest.items():
        if name == "bias":
            continue
        before = prior.weights.get(name, 0.0)
        moved.append((abs(mean - before) / sd if sd else 0.0, name, before, mean, sd))
    moved.sort(key=lambda m: (-m[0], m[1]))
    return [[name, f"{before:+.2f}", f"{mean:+.2f} ± {sd:.2f}", f"{z:.1f}"] for z, name, before, mean, sd in moved[:TOP_WEIGHTS]]


def history(snapshots: list, names: list[str]) -> list[list[str]]:
    """The named weights' means at up to HISTORY_POINTS snapshots, evenly spread, oldest first."""
    if not snapshots:
        return []
    step = max(1, math.ceil(len(snapshots) / HISTORY_POINTS))
    picked = snapshots[::step]
    if picked[-1] is not snapshots[-1]:
        picked.append(snapshots[-1])
    return [[str(observations)] + [f"{w.get(n, [0.0])[0]:+.2f}" for n in names] for _, observations, w in picked]


def markdown(headers: list[str], body: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body])


def report(store: Store, prior: Curator, learning_on: bool) -> str:
    found = rows(store)
    read = [r for r in found if r.engagement is not None]
    parts = [f"{len(found)} posts, {len(read)} with engagement read"
             + (f", mean {sum(r.engagement for r in read) / len(read):.1f} favourites + boosts + replies per post"
                if read else "") + f"; learning {'on' if learning_on else 'off (frozen)'}"]
    if sent := networks_table(store.delivery_counts()):
        parts.append("\nby network:\n" + markdown(["network", "posts sent", "replies sent",
                                                    "messages to the owner sent", "pending", "refused",
                                                    "last sent (UTC)"], sent))
    for group in GROUPS:
        parts.append(f"\nby {group}:\n" + markdown([group, "posts", "read", "engagement", "favourites", "boosts",
                                                    "replies"], table(found, group)))
    if (queue := approval_report(store)) is not None:  # APPROVAL=on: the owner's answers and what they taught
        parts.append("\n" + queue)
    snapshots = store.snapshots()
    if not snapshots:
        parts.append(f"\nnothing learned yet: posts are ranked by the curator ({prior.source or 'prior'})")
        return "\n".join(parts)
    at, observations, latest = snapshots[-1]
    weights = weights_table(latest, prior)
    parts.append(f"\nlearned from {observations} posts (the weights that moved most from the curator's; "
                 "score points per unit of the feature):\n"
                 + markdown(["feature", "curator", "learned", "moved (sd)"], weights))
    names = [w[0] for w in weights[:5]]
    parts.append("\nhow they changed (by posts learned from):\n"
                 + markdown(["posts", *names], history(snapshots, names)))
    return "\n".join(parts)


def plot(store: Store, prior: Curator, path: Path) -> None:
    """The same as a picture: engagement per post over time, mean engagement by seam type, and the
    most-moved weights over time with +- 1 sd bands. Raises BotError without matplotlib."""
    try:
        import matplotlib
    except ImportError:
        raise BotError("--plot needs matplotlib, which the worker does not install: "
                       "pip install -e '.[plot]' (or pip install matplotlib)") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    found = [r for r in rows(store) if r.engagement is not None]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    ax = axes[0]
    ax.plot(range(1, len(found) + 1), [r.engagement for r in found], ".", alpha=0.5, label="post")
    window = 10
    rolling = [sum(r.engagement for r in found[max(0, i - window + 1): i + 1]) / len(found[max(0, i - window + 1): i + 1])
               for i in range(len(found))]
    ax.plot(range(1, len(found) + 1), rolling, "-", label=f"mean of last {window}")
    ax.set(title="engagement per post", xlabel="post", ylabel="favourites + boosts + replies")
    ax.legend()
    ax = axes[1]
    by_type = table(found, "seam type")
    ax.bar([r[0] for r in by_type], [float(r[3]) if r[3] != "-" else 0.0 for r in by_type])
    ax.set(title="mean engagement by seam type", ylabel="favourites + boosts + replies")
    ax = axes[2]
    snapshots = store.snapshots()
    if snapshots:
        names = [w[0] for w in weights_table(snapshots[-1][2], prior)[:4]]
        xs = [s[1] for s in snapshots]
        for name in names:
            mean = [s[2].get(name, [0.0, 0.0])[0] for s in snapshots]
            sd = [s[2].get(name, [0.0, 0.0])[1] for s in snapshots]
            ax.plot(xs, mean, label=name)
            ax.fill_between(xs, [m - s for m, s in zip(mean, sd)], [m + s for m, s in zip(mean, sd)], alpha=0.2)
        ax.legend()
    ax.set(title="learned weights (mean ± sd)", xlabel="posts learned from")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
