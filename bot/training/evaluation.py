"""Per-temperature measurements of raw samples, to choose temperatures (and models) by numbers."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..curation import filters
from ..curation.candidates import screen
from ..curation.pipeline import raw_mashups


@dataclass(frozen=True)
class Row:
    temperature: float
    samples: int
    mixed: float  # share passing mixedness
    novel: float  # share passing novelty
    well_formed: float  # share passing form
    mix_rate: float  # share passing mixedness and novelty: the raw mix rate
    usable: float  # share passing every filter
    real_words: float  # mean share of words seen in either corpus
    mean_length: float

    HEADERS = ("temperature", "samples", "mixed", "novel", "well-formed", "mixed+novel",
               "pass all", "real words", "mean length")

    def cells(self) -> list[str]:
        pct = lambda x: f"{100 * x:.1f}%"  # noqa: E731
        return [f"{self.temperature:g}", str(self.samples), pct(self.mixed), pct(self.novel),
                pct(self.well_formed), pct(self.mix_rate), pct(self.usable), pct(self.real_words),
                f"{self.mean_length:.1f}"]


def evaluate(runtime, temperatures: Sequence[float], samples: int, seed: int = 0) -> list[Row]:
    """Per temperature, the shares of raw samples (curation.pipeline.raw_mashups: a song half and
    a paper phrase at a seam, before any screening) that pass each filter. runtime:
    bot.runtime.Runtime."""
    rows = []
    evidence = runtime.evidence
    for i, temperature in enumerate(temperatures):
        titles = raw_mashups(runtime, samples, temperature, seed * 1_000 + i)
        screened = [screen(t, temperature, evidence) for t in titles]
        share = lambda test: sum(map(test, screened)) / len(screened)  # noqa: E731
        passed = lambda c, name: c.verdicts[name].passed  # noqa: E731
        rows.append(Row(
            temperature, len(titles),
            share(lambda c: passed(c, "mixedness")), share(lambda c: passed(c, "novelty")),
            share(lambda c: passed(c, "form")),
            share(lambda c: passed(c, "mixedness") and passed(c, "novelty")),
            share(lambda c: c.passed),
            sum(filters.real_word_share(t, evidence.stats) for t in titles) / len(titles),
            sum(map(len, titles)) / len(titles)))
    return rows


def markdown(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(Row.HEADERS) + " |", "|" + " --- |" * len(Row.HEADERS)]
    lines += ["| " + " | ".join(r.cells()) + " |" for r in rows]
    return "\n".join(lines)


def plot(rows: list[Row], path: Path, title: str) -> None:
    """Shares against temperature, as a PNG (needs matplotlib: the [test] extra)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        from ..errors import BotError

        raise BotError("plotting needs matplotlib: pip install matplotlib") from None
    temps = [r.temperature for r in rows]
    fig, ax = plt.subplots(figsize=(9, 4.2), dpi=120)
    for label, values in [("mixed", [r.mixed for r in rows]), ("novel", [r.novel for r in rows]),
                          ("well-formed", [r.well_formed for r in rows]),
                          ("mixed + novel (raw mix rate)", [r.mix_rate for r in rows]),
                          ("passes every filter", [r.usable for r in rows]),
                          ("real-word share", [r.real_words for r in rows])]:
        ax.plot(temps, [100 * v for v in values], marker="o", label=label)
    ax.set_xlabel("temperature")
    ax.set_ylabel("% of raw samples")
    ax.set_ylim(0, 100)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
