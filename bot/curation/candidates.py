"""A candidate post and every filter's verdict on it (the pipeline's screening, pipeline.py)."""
from __future__ import annotations

from dataclasses import dataclass, field

from . import filters
from .evidence import Evidence

# The order in which a rejected candidate's first failing filter is counted.
FILTER_ORDER = ("safety", "form", "fresh", "novelty", "mixedness", "whole")


@dataclass(frozen=True)
class Candidate:
    text: str
    temperature: float
    verdicts: dict[str, filters.Verdict]
    score: float = 0.0  # the curator's predicted panel score (1-5); 0 until ranked, and for a rejected one
    features: dict[str, float] = field(default_factory=dict)  # what the curator saw

    @property
    def passed(self) -> bool:
        return all(v.passed for v in self.verdicts.values())

    @property
    def rejection(self) -> str:
        """The first failing filter's reason code, or empty."""
        for name in FILTER_ORDER:
            if not self.verdicts[name].passed:
                return self.verdicts[name].reason
        return ""


def screen(text: str, temperature: float, evidence: Evidence, max_chars: int = filters.MAX_CHARS,
           posted: frozenset[str] = frozenset()) -> Candidate:
    """Every filter's verdict on one text (filters.py; posted: canonical texts already posted)."""
    verdicts = {
        "safety": filters.safety(text),
        "form": filters.form(text, evidence.stats, max_chars),
        "fresh": filters.fresh(text, posted),
        "novelty": filters.novelty(text, evidence.novelty),
        "mixedness": filters.mixedness(text, evidence.stats),
        "whole": filters.whole(text, evidence.stats),
    }
    return Candidate(text, temperature, verdicts)
