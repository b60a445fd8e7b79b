import numpy as np
import pytest

from bot.model.modelfile import CharModel
from bot.model.sampler import Halves, Sampler, sample_indices


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


# --- halves: sample_halves, the pipeline's one entry point ------------------------------------

@pytest.fixture(scope="module")
def halves(shipped_model_dir) -> Sampler:
    from bot.model.modelfile import ModelPaths, load_model

    return Sampler(load_model(ModelPaths.in_directory(shipped_model_dir)))


def _halves(sampler, seed, source="arxiv", count=40, max_chars=50, prefix="", temperatures=(0.5, 0.9), **options):
    wanted = [Halves(source, count, max_chars, prefix)]
    return sampler.sample_halves(wanted, temperatures, np.random.default_rng(seed), **options)[0]


def test_halves_are_reproducible_per_seed_and_split_across_temperatures(halves):
    a = _halves(halves, 1, count=41)
    assert a == _halves(halves, 1, count=41)
    assert [t for _, t in a] == [0.5] * 21 + [0.9] * 20  # the first temperature gets the odd one
    assert [t for t, _ in a] != [t for t, _ in _halves(halves, 2, count=41)]
    assert len({t for t, _ in a}) > 30


def test_halves_are_whole_or_longer_than_max_chars_and_spaced_once(halves):
    for source, limit in (("song", 12), ("arxiv", 25)):
        written = [t for t, _ in _halves(halves, 3, source=source, count=120, max_chars=limit, temperatures=[1.2])]
        cut = [t for t in written if len(t) > limit]
        assert all(len(t) == limit + 1 for t in cut)  # stopped as soon as it ran past the limit
        assert 0 < len(cut) < len(written)
        whole = [t for t in written if len(t) <= limit]
        assert all(t and t == t.strip(" ") and "  " not in t for t in whole)
        assert not any("<" in t for t in written)


def test_a_batch_narrower_than_the_count_refills_its_rows(halves):
    written = _halves(halves, 4, count=50, width=7)
    assert len(written) == 50 and len({t for t, _ in written}) > 35


def test_temperature_zero_rows_write_the_likeliest_half(halves):
    written = _halves(halves, 5, count=12, temperatures=[0.0, 1.0])
    greedy, hot = [t for t, _ in written[:6]], [t for t, _ in written[6:]]
    assert len(set(greedy)) == 1 and len(set(hot)) > 3
    # The likeliest half, one character at a time ("the word ends" is either corpus token).
    model, text = halves.model, ""
    arxiv, song = model.vocab["<arxiv>"], model.vocab["<song>"]
    tokens = model.tokens()
    while len(text) <= 50:
        probs = halves.next_probabilities(text, "arxiv")
        probs[arxiv] += probs[song]
        probs[[0, song]] = 0
        if not text or text.endswith(" "):  # no empty word
            probs[arxiv] = 0
        index = int(np.argmax(probs))
        if index == model.vocab["<s>"]:
            break
        text += " " if index == arxiv else tokens[index]
    assert greedy[0] == text.rstrip(" ")


def test_a_prefix_starts_every_half_and_its_open_word_goes_on(halves):
    for prefix in ("Deep", "Love Me "):
        written = [t for t, _ in _halves(halves, 6, prefix=prefix, count=30, source="song", max_chars=40)]
        assert all(t.startswith(prefix.rstrip(" ")) for t in written)
        assert "  " not in "".join(written)
    assert any(t.startswith("Deep ") for t, _ in _halves(halves, 6, prefix="Deep", count=30))


def test_refused_words_are_written_again_and_a_hopeless_check_still_ends(halves):
    no_e = lambda word, corpus: "e" not in word.lower()  # noqa: E731
    share = lambda halves: sum(t.lower().count("e") for t, _ in halves) / sum(len(t) for t, _ in halves)  # noqa: E731
    free = _halves(halves, 7, count=100)
    checked = _halves(halves, 7, count=100, word_check=no_e)
    assert share(checked) < 0.5 * share(free)
    asked = []
    hopeless = _halves(halves, 7, count=10, word_check=lambda w, c: asked.append((w, c)) or False)
    assert len(hopeless) == 10 and {c for _, c in asked} == {"arxiv"}


def test_stop_ends_sampling_with_the_halves_finished_so_far(halves):
    calls = []
    written = _halves(halves, 8, count=300, width=50, stop=lambda: len(calls) > 20 or calls.append(1))
    assert 0 < len(written) < 300
    assert set(written) <= set(_halves(halves, 8, count=300, width=50))


def test_both_corpora_in_one_batch_each_with_its_limit_prefix_and_token(halves):
    asked = set()
    check = lambda word, corpus: asked.add((word, corpus)) or True  # noqa: E731
    songs, papers = halves.sample_halves([Halves("song", 30, 12, "Love"), Halves("arxiv", 20, 50)], [0.9],
                                         np.random.default_rng(9), check, width=16)
    assert len(songs) == 30 and len(papers) == 20
    assert all(t.startswith("Love") and len(t) <= 13 for t, _ in songs) and any(len(t) == 13 for t, _ in songs)
    assert not any(t.startswith("Love") for t, _ in papers) and max(len(t) for t, _ in papers) > 13
    # Each row's words are written (and checked) under its own corpus' token.
    for written, corpus, limit in ((songs, "song", 12), (papers, "arxiv", 50)):
        last_words = {t.split(" ")[-1] for t, _ in written if len(t) <= limit and " " in t}
        assert last_words and all((w, corpus) in asked for w in last_words)


@pytest.mark.parametrize("options", [dict(source="lyrics"), dict(temperatures=[]), dict(temperatures=[-1]),
                                     dict(count=-1), dict(max_chars=0), dict(prefix="x" * 51)])
def test_bad_halves_requests_are_value_errors(halves, options):
    with pytest.raises(ValueError):
        _halves(halves, 0, **options)


def test_a_halves_model_is_not_sampled_as_whole_titles(halves):
    with pytest.raises(ValueError, match="sample_halves"):
        halves.generate(1)
