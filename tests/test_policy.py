"""The decoding-policy hook (bot/model/policy.py): a strategy can forbid and force tokens per row."""
import dataclasses

import numpy as np
import pytest

from bot.model.policy import PlainPolicy, Step
from bot.model.sampler import Sampler


@pytest.fixture(scope="module")
def sampler(pretrained):
    return Sampler(dataclasses.replace(pretrained, config={**pretrained.config, "semantics": "incremental"}))


class NoLetterE(PlainPolicy):
    def adjust(self, probs, rows):
        for letter in "eE":
            probs[:, self.model.vocab[letter]] = 0.0


class Countdown(PlainPolicy):
    """Row r is written 'x' * (r + 1), then ends: forced tokens and per-row state."""

    def __init__(self, model, batch, prefix, rng):
        super().__init__(model, batch, prefix, rng)
        self.left = np.arange(batch) + 1

    def review(self, step: Step):
        x, end = self.model.vocab["x"], self.model.vocab["<s>"]
        step.chosen[:] = np.where(self.left[step.rows] > 0, x, end)
        self.left[step.rows] -= 1
        return None


def test_a_policy_can_forbid_a_token(sampler):
    free = sampler.generate(30, temperature=0.9, max_gen_length=60, seed=1)
    without = sampler.generate(30, temperature=0.9, max_gen_length=60, seed=1, policy=NoLetterE)
    assert sum(t.lower().count("e") for t in free) > 30
    assert not any("e" in t.lower() for t in without)


def test_a_policy_can_force_tokens_and_end_each_row_on_its_own(sampler):
    assert sampler.generate(4, temperature=1.0, seed=0, policy=Countdown) == ["x", "xx", "xxx", "xxxx"]
    assert sampler.generate(5, temperature=1.0, seed=0, policy=Countdown, batch_size=2) == \
        ["x", "xx", "x", "xx", "x"]  # one policy per batch


def test_the_plain_policy_is_the_default_of_a_plain_model(sampler):
    default = sampler.generate(10, temperature=0.8, prefix="Deep ", max_gen_length=50, seed=3)
    assert sampler.generate(10, temperature=0.8, prefix="Deep ", max_gen_length=50, seed=3,
                            policy=PlainPolicy) == default


def test_strategy_options_go_to_the_policy_not_beside_it(sampler):
    with pytest.raises(ValueError):
        sampler.generate(1, word_retries=2, policy=PlainPolicy)
