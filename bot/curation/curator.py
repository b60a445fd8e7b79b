"""The curator: a linear score over a candidate's features, with weights fitted to blind ratings.

The weights ship beside the model (`<name>_curator.json`, written by `bot panel fit`,
bot/training/panel/fit.py, from panels' ratings: a ridge regression of the 1-5 score on the
features). A feature the file does not name counts 0; the intercept is the "bias" entry.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ModelFileError

RATING_SCALE = (1.0, 5.0)  # the blind panel's scores (../shared/panel/RUBRIC.md)


@dataclass(frozen=True)
class Curator:
    """weights: feature name -> weight (score points per unit); bias: the intercept;
    source: where the weights came from (a panel's name), for `bot --dry-run` and MODEL.md."""

    weights: dict[str, float]
    bias: float = 0.0
    source: str = ""
    notes: dict = field(default_factory=dict)

    def score(self, features: dict[str, float]) -> float:
        """Predicted panel score of a candidate with these features, clipped to the rating
        scale (1..5)."""
        raw = self.bias + sum(self.weights.get(k, 0.0) * v for k, v in features.items())
        return min(max(raw, RATING_SCALE[0]), RATING_SCALE[1])

    def explain(self, features: dict[str, float], top: int = 4) -> list[tuple[str, float]]:
        """The features that moved the score most, as (name, contribution), largest first."""
        parts = [(k, self.weights.get(k, 0.0) * v) for k, v in features.items()]
        parts = [p for p in parts if abs(p[1]) >= 0.005]
        return sorted(parts, key=lambda p: -abs(p[1]))[:top]

    def to_json(self) -> str:
        return json.dumps({"bias": self.bias, "weights": self.weights, "source": self.source,
                           "notes": self.notes}, indent=1, sort_keys=True)


# Used only until a panel has been fitted: more fluent halves, short posts, halves that rhyme or
# alliterate, and few chained jargon words (what raters said they liked, issue 9).
PRIOR = Curator(weights={"song_fluency": 1.0, "paper_fluency": 1.0, "jargon": -0.3, "rhyme": 0.3,
                         "alliteration": 0.2, "name": 0.1, "length=long": -0.5, "length=short": 0.2},
                bias=4.0, source="prior (no panel fitted)")


def load(path: Path) -> Curator:
    """The shipped curator; PRIOR if the file does not exist. Raises ModelFileError for a file
    that exists but is not a curator."""
    path = Path(path)
    if not path.exists():
        return PRIOR
    try:
        data = json.loads(path.read_text(encoding="utf8"))
        weights = {str(k): float(v) for k, v in data["weights"].items()}
        bias = float(data.get("bias", 0.0))
        notes = data.get("notes", {})
        if not isinstance(notes, dict):
            raise ValueError(f"notes is a {type(notes).__name__}, not an object")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise ModelFileError(f"curator file {path} is unreadable ({e}); fit it again with `bot panel fit` "
                             "or delete it to use the prior") from None
    if not all(math.isfinite(v) for v in [bias, *weights.values()]):
        raise ModelFileError(f"curator file {path} has a weight that is not a finite number")
    return Curator(weights, bias, str(data.get("source", "")), dict(notes))
