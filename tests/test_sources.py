import dataclasses

import numpy as np
import pytest

from bot.model import sources
from bot.model.policy import Step
from bot.model.sampler import Sampler


def _policy(model, batch, switch_probability, use_both):
    return sources.CorpusTags(switch_probability, use_both)(model, batch, "", np.random.default_rng(0))


def _choose(policy, chosen, rows):
    """One step of the policy at word boundaries (no word check): the tokens it settles on."""
    step = Step(rows, chosen, [[] for _ in range(policy.batch)])
    policy.review(step)
    return step.chosen


@pytest.fixture(scope="module")
def source_model(pretrained):
    return sources.add_source_tokens(pretrained)


def test_titles_are_encoded_with_a_source_token_before_every_word(source_model):
    v = source_model.vocab
    song = v["<song>"]
    assert sources.encode("Love Me", "song", v) == [v["<s>"], song, v["L"], v["o"], v["v"], v["e"], song,
                                                   v["M"], v["e"], v["<s>"]]
    assert sources.encode("A B", "arxiv", v)[1] == v["<arxiv>"] == sources.encode("A B", "arxiv", v)[3]


def test_new_tokens_share_the_space_characters_probability_exactly(pretrained, source_model):
    # Compared in textgenrnn semantics on the same prefix: only the space's share is split in two.
    before = Sampler(pretrained).next_probabilities("Deep Learning")
    after = Sampler(source_model).next_probabilities("Deep Learning")
    space, song, arxiv = (source_model.vocab[t] for t in (" ", "<song>", "<arxiv>"))
    assert after[song] + after[arxiv] == pytest.approx(before[space], rel=1e-4)
    assert after[space] < 1e-9
    others = np.arange(len(before)) != space
    np.testing.assert_allclose(after[: len(before)][others], before[others], atol=1e-6)


def test_source_tokens_are_rendered_as_spaces_and_generation_is_reproducible(source_model):
    model = dataclasses.replace(source_model, config={**source_model.config, "semantics": "incremental"})
    sampler = Sampler(model)
    a = sampler.generate(20, temperature=0.8, max_gen_length=60, seed=1)
    assert a == sampler.generate(20, temperature=0.8, max_gen_length=60, seed=1)
    assert not any("<song>" in t or "<arxiv>" in t for t in a)
    assert sum(" " in t for t in a) > 10


@pytest.mark.parametrize("probability, expected", [(0.0, [0, 0, 0]), (1.0, [1, 0, 1])])
def test_switch_probability_decides_the_next_words_corpus(source_model, probability, expected):
    policy = _policy(source_model, 1, probability, use_both=False)
    song, arxiv = policy.markers
    policy.source[:] = 0
    policy.used[:] = [[True, False]]
    seen = []
    for _ in range(3):
        chosen = _choose(policy, np.array([song]), np.array([0]))
        seen.append(int(policy.source[0]))
        assert chosen[0] == policy.markers[policy.source[0]]
    assert seen == expected
    assert policy.used[0].tolist() == [True, probability == 1.0]


def test_a_title_that_would_end_in_one_corpus_switches_instead(source_model):
    meta = source_model.vocab["<s>"]
    policy = _policy(source_model, 2, 0.0, use_both=True)
    policy.source[:] = 0
    policy.used[:] = [[True, False], [True, True]]
    chosen = _choose(policy, np.array([meta, meta]), np.array([0, 1]))
    assert chosen[0] == policy.markers[1] and policy.source[0] == 1 and policy.used[0].all()  # goes on
    assert chosen[1] == meta  # both corpora used already: it may end


def test_use_both_makes_titles_go_on_past_their_first_end(source_model):
    model = dataclasses.replace(source_model, config={**source_model.config, "semantics": "incremental"})
    sampler = Sampler(model)
    free = sampler.generate(200, temperature=0.7, max_gen_length=80, seed=3, switch_probability=0.0, use_both=False)
    both = sampler.generate(200, temperature=0.7, max_gen_length=80, seed=3, switch_probability=0.0, use_both=True)
    assert sum(map(len, both)) > 1.3 * sum(map(len, free))


@pytest.fixture(scope="module")
def incremental_source_model(source_model):
    return dataclasses.replace(source_model, config={**source_model.config, "semantics": "incremental"})


def test_a_check_that_accepts_everything_changes_nothing(incremental_source_model):
    sampler = Sampler(incremental_source_model)
    plain = sampler.generate(30, temperature=0.8, max_gen_length=60, seed=4)
    checked = sampler.generate(30, temperature=0.8, max_gen_length=60, seed=4, word_check=lambda w, s: True)
    assert checked == plain


def test_refused_words_are_rewritten_and_a_hopeless_check_still_ends(incremental_source_model):
    sampler = Sampler(incremental_source_model)
    no_e = lambda word, source: "e" not in word.lower()  # noqa: E731
    free = sampler.generate(100, temperature=0.8, max_gen_length=60, seed=4)
    checked = sampler.generate(100, temperature=0.8, max_gen_length=60, seed=4, word_check=no_e, word_retries=5)
    share = lambda titles: sum(t.lower().count("e") for t in titles) / sum(map(len, titles))  # noqa: E731
    assert share(checked) < 0.5 * share(free)
    hopeless = sampler.generate(10, temperature=0.8, max_gen_length=60, seed=4, word_check=lambda w, s: False,
                                word_retries=2)
    assert len(hopeless) == 10


def test_a_rewound_row_predicts_as_if_it_had_never_left(incremental_source_model):
    model = incremental_source_model
    sampler = Sampler(model)
    v = model.vocab
    a = [v["<s>"], v["<song>"]] + [v[c] for c in "Love"]
    reader = sampler.reader()
    assert reader.can_rewind
    reader.read(np.array([a[:3], a[:3]]))
    reader.save(np.array([0, 1]))
    for token in a[3:]:
        reader.read(np.array([[token], [v["x"]]]))
    reader.rewind(np.array([1]))  # row 1 forgets its x's: back to <s> <song> L
    reader.read(np.array([[v["o"]], [v["o"]]]))
    fresh = sampler.reader()
    fresh.read(np.array([a[:3] + [v["o"]]]))
    np.testing.assert_allclose(reader.probabilities()[1], fresh.probabilities()[0], atol=1e-6)
    whole = sampler.reader()
    whole.read(np.array([a + [v["o"]]]))
    np.testing.assert_allclose(reader.probabilities()[0], whole.probabilities()[0], atol=1e-6)


def test_word_check_wants_words_the_marked_corpus_has_used(evidence):
    from bot.curation.words import STOPWORDS
    from bot.curation.wordcheck import WordCheck

    check = WordCheck(evidence.stats, STOPWORDS)
    assert check("Networks", "arxiv") and not check("Networks", "song")
    assert check("(feat.", "song") and not check("(feat.", "arxiv")
    assert check("for", "song") and check("2017", "arxiv") and check("&", "song")
    assert not check("Zorblaxing", "song") and not check("Zorblaxing", "arxiv")


def test_a_corpus_counts_as_used_only_once_one_of_its_content_words_is_kept(incremental_source_model, evidence):
    from bot.curation.words import STOPWORDS
    from bot.curation.wordcheck import WordCheck

    model = incremental_source_model
    check = WordCheck(evidence.stats, STOPWORDS)
    assert check.content("Networks") and not check.content("for") and not check.content("(2017)")
    names = list(model.config["sources"])
    arxiv = names.index("arxiv")
    policy = sources.CorpusTags(0.0, False, check, 3)(model, 2, "", np.random.default_rng(0))
    policy.source[:] = arxiv
    reader = Sampler(model).reader()
    policy.begin(reader, np.array([[model.vocab["<s>"], policy.markers[arxiv]]] * 2))
    generated = [list("for"), list("Networks")]
    boundary = np.array([policy.markers[0]] * 2)
    redo = policy.review(Step(np.array([0, 1]), boundary, generated, reader))
    assert not redo.any()
    assert policy.used.tolist() == [[False, False], [arxiv == 0, arxiv == 1]]


def test_encoding_marks_each_word_with_its_corpus(source_model):
    v = source_model.vocab
    tokens = sources.encode_words([("Love", "song"), ("Nets", "arxiv")], v)
    assert tokens[1] == v["<song>"] and tokens[6] == v["<arxiv>"]
    assert tokens[0] == tokens[-1] == v["<s>"] and len(tokens) == 1 + 5 + 5 + 1
    assert sources.encode("Love Nets", "arxiv", v)[1::5][:2] == [v["<arxiv>"], v["<arxiv>"]]
