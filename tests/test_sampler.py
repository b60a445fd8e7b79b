import numpy as np
import pytest

from bot.model.modelfile import CharModel
from bot.model.sampler import Sampler, sample_indices


def _greedy_one_by_one(sampler: Sampler, prefix: str, max_gen_length: int) -> str:
    """Greedy decoding with one next_probabilities call per character: the plain definition."""
    text, meta = prefix, sampler.model.vocab["<s>"]
    tokens = sampler.model.tokens()
    while 1 + len(text) < max_gen_length:
        probs = sampler.next_probabilities(text)
        probs[0] = -1
        index = int(np.argmax(probs))
        if index == meta:
            break
        text += tokens[index]
    return text


@pytest.fixture(params=["textgenrnn", "incremental"])
def sampler(request, pretrained) -> Sampler:
    model = CharModel(dict(pretrained.config, semantics=request.param), pretrained.vocab,
                      pretrained.embedding, pretrained.lstms, pretrained.attention,
                      pretrained.output_kernel, pretrained.output_bias)
    return Sampler(model)


@pytest.mark.parametrize("prefix", ["", "Deep ", "Love Me Down (feat. "])
def test_batched_greedy_generation_equals_step_by_step(sampler, prefix):
    batch = sampler.generate(3, temperature=0, prefix=prefix, max_gen_length=60, seed=0)
    expected = _greedy_one_by_one(sampler, prefix, 60)
    assert batch == [expected] * 3


def test_same_seed_same_titles_other_seed_other_titles(sampler):
    a = sampler.generate(8, temperature=1.0, max_gen_length=50, seed=7)
    assert a == sampler.generate(8, temperature=1.0, max_gen_length=50, seed=7)
    assert a != sampler.generate(8, temperature=1.0, max_gen_length=50, seed=8)
    assert len(set(a)) > 4


def test_titles_keep_the_prefix_and_respect_max_length(sampler):
    titles = sampler.generate(20, temperature=1.2, prefix="Strong (", max_gen_length=25, seed=1)
    assert all(t.startswith("Strong (") for t in titles)
    assert all(len(t) <= 25 - 1 for t in titles)  # max_gen_length counts the <s> token
    assert "<s>" not in "".join(titles)


def test_batch_size_does_not_change_the_result_count(sampler):
    assert len(sampler.generate(7, temperature=1.0, max_gen_length=20, seed=0, batch_size=3)) == 7


def test_temperature_list_is_cycled_per_character(pretrained):
    sampler = Sampler(pretrained)
    # Temperature 0 at every second character makes every second character the greedy choice.
    titles = sampler.generate(4, temperature=[5.0, 0.0], max_gen_length=30, seed=3)
    for title in titles:
        for k in range(1, len(title), 2):
            probs = sampler.next_probabilities(title[:k])
            probs[0] = -1
            assert pretrained.tokens()[int(np.argmax(probs))] == title[k]


def test_sampling_never_returns_padding_and_follows_the_distribution():
    rng = np.random.default_rng(0)
    probs = np.tile([0.7, 0.1, 0.2], (20000, 1))
    picks = sample_indices(probs, 1.0, rng)
    assert not (picks == 0).any()
    # Draws of padding (70%) fall back to the most likely real token, index 2.
    assert abs((picks == 1).mean() - 0.1) < 0.01
    assert abs((picks == 2).mean() - 0.9) < 0.01


def test_low_temperature_sharpens_high_temperature_flattens():
    rng = np.random.default_rng(0)
    probs = np.tile([0.0, 0.6, 0.4], (20000, 1))
    cold = (sample_indices(probs, 0.25, rng) == 1).mean()
    hot = (sample_indices(probs, 4.0, rng) == 1).mean()
    assert cold > 0.8 and 0.45 < hot < 0.6


def test_negative_temperature_is_rejected(pretrained):
    with pytest.raises(ValueError):
        Sampler(pretrained).generate(1, temperature=-1)
