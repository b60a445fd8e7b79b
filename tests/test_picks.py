"""The pure parts of approval mode: reading the owner's answers, and learning their taste from
them (bot/curation/picks.py) without ever ranking held-out answers worse than the shipped curator."""
import numpy as np
import pytest

from bot.curation import picks
from bot.curation.curator import Curator
from bot.posting.approval import Answer, message_text, parse_answer


@pytest.mark.parametrize("text, expected", [
    ("2", Answer("pick", 2)), ("#3", Answer("pick", 3)), (" 1! ", Answer("pick", 1)), ("3.", Answer("pick", 3)),
    ("none", Answer("none")), ("None of them.", Answer("none")), ("skip", Answer("none")), ("0", Answer("none")),
    ("No", Answer("none")),
    ("No Scrubs (Neural Remix)", Answer("edit", text="No Scrubs (Neural Remix)")),
    ("  Bang   Bang (Cyclical Remix) ", Answer("edit", text="Bang Bang (Cyclical Remix)")),
])
def test_answers_read_as_the_owner_means_them(text, expected):
    assert parse_answer(text, 3) == expected


def test_a_number_past_the_candidates_is_unclear_not_an_edit():
    answer = parse_answer("7", 3)
    assert answer.kind == "unclear" and "1 to 3" in answer.text
    assert parse_answer("   ", 3).kind == "unclear"


def test_the_first_message_says_how_to_answer_and_each_names_its_number():
    first, second = (message_text("owner", n, 3, "Bang Bang (Cyclical Remix)", 1_800_000_000) for n in (1, 2))
    assert first.startswith("@owner Which one for") and "Favourite" in first and first.endswith("1/3: Bang Bang (Cyclical Remix)")
    assert second == "@owner 2/3: Bang Bang (Cyclical Remix)"


PRIOR = Curator({"fluency": 1.0, "name": 0.0, "short": 0.1}, 3.0, "test")


def owner_answers(n: int, taste: dict, seed: int, shown: int = 3, none_below: float | None = None) -> list:
    """n slots of `shown` random candidates each; the owner picks the one their taste scores best
    (with a little noise), or none when even that one scores below none_below."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        xs = tuple({"fluency": float(rng.normal()), "name": float(rng.integers(0, 2)), "short": float(rng.integers(0, 2))}
                   for _ in range(shown))
        u = [sum(taste.get(k, 0.0) * v for k, v in x.items()) + rng.gumbel() * 0.2 for x in xs]
        best = int(np.argmax(u))
        out.append(picks.Example(xs, None if none_below is not None and u[best] < none_below else best))
    return out


def test_a_consistent_taste_is_learned_and_the_refit_is_used():
    taste = {"fluency": 1.0, "name": 2.0, "short": 0.1}  # the owner likes names far more than the curator
    found = picks.refit(owner_answers(40, taste, seed=1, none_below=-0.5), PRIOR)
    assert found.picks >= picks.MIN_PICKS and found.answers == 40
    assert found.rank_refit < found.rank_shipped  # held out: the refit puts the owner's pick higher
    weights = found.curator.weights  # in proportion: the owner likes a name twice as much as fluency
    assert found.used and weights["name"] > weights["fluency"] > 0 and PRIOR.weights["name"] == 0
    fresh = owner_answers(200, taste, seed=2)
    before = np.mean([picks.pick_rank(e, PRIOR.weights) for e in fresh])
    after = np.mean([picks.pick_rank(e, found.curator.weights) for e in fresh])
    assert after < before - 0.1  # 1.4 -> 1.2 of 3 on this seed


def test_few_picks_are_not_enough_and_a_taste_the_curator_has_keeps_the_curator_close():
    assert not picks.refit(owner_answers(picks.MIN_PICKS - 1, {"name": 2.0}, seed=3), PRIOR).used
    same = picks.refit(owner_answers(30, PRIOR.weights, seed=4), PRIOR)
    assert abs(same.curator.weights["name"] - PRIOR.weights["name"]) < 0.5


def test_a_refit_that_ranks_held_out_picks_worse_is_not_used():
    # Picks the features cannot explain (the owner picks the second candidate shown, whatever it
    # is): the refit cannot rank them better, so it is used only if it ranks them no worse.
    rng = np.random.default_rng(5)
    found = [picks.Example(tuple({"fluency": float(rng.normal()), "name": float(rng.integers(0, 2))}
                                 for _ in range(3)), 1) for _ in range(30)]
    result = picks.refit(found, PRIOR)
    assert result.used == (result.rank_refit <= result.rank_shipped)
    unused = picks.Refit(PRIOR, 30, 30, 1.5, 1.6, 3.0)
    assert not unused.used and picks.from_summary(unused.summary(), PRIOR) is None


def test_pick_rank_shares_ties_and_a_bad_feature_is_refused():
    example = picks.Example(({"name": 1.0}, {"name": 1.0}, {"name": 0.0}), 0)
    assert picks.pick_rank(example, {"name": 1.0}) == 1.5 and picks.pick_rank(example, {"name": -1.0}) == 2.5
    with pytest.raises(ValueError):
        picks.fit([picks.Example(({"name": float("nan")},), 0)], PRIOR)
