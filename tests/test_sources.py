import dataclasses

import numpy as np
import pytest

from bot import sources
from bot.modelfile import ModelPaths, load_model
from bot.sampler import Sampler
from bot.train import TrainOptions, train


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
    sampler = Sampler(source_model)
    song, arxiv = sampler._markers
    source = np.array([0])
    used = np.zeros((1, 2), bool)
    seen = []
    for _ in range(3):
        chosen = sampler._choose_sources(np.array([song]), np.array([0]), source, used, probability,
                                         np.random.default_rng(0))
        seen.append(int(source[0]))
        assert chosen[0] == sampler._markers[source[0]]
    assert seen == expected
    assert used[0].tolist() == [True, probability == 1.0]


def test_training_with_sources_records_the_strategy(corpora, tmp_path):
    options = TrainOptions(song_titles=corpora["song"], arxiv_titles=corpora["arxiv"], output_dir=tmp_path / "o",
                           checkpoint_dir=tmp_path / "c", epochs=1, limit=100, batch_size=32, strategy="sources",
                           switch_probability=0.3, sample_temperatures=(1.0,))
    train(options, report=lambda line: None)
    model = load_model(ModelPaths.in_directory(options.output_dir))
    assert model.config["sources"] == sources.TOKENS and model.config["switch_probability"] == 0.3
    assert model.config["training"]["strategy"] == "sources"
    assert {"<song>", "<arxiv>"} <= set(model.vocab)
    assert len(Sampler(model).generate(4, temperature=1.0, seed=0)) == 4


def test_splices_join_the_start_of_one_corpus_title_to_the_end_of_the_other(source_model):
    import random

    songs = ["Love Me Down Tonight", "Silver Lining"]
    papers = ["Deep Residual Learning for Image Recognition", "Attention Is All You Need"]
    for words in sources.splices(songs, papers, 50, random.Random(0)):
        kinds = [s for _, s in words]
        assert set(kinds) == {"song", "arxiv"}
        switch = next(i for i in range(1, len(kinds)) if kinds[i] != kinds[i - 1])
        assert kinds == [kinds[0]] * switch + [kinds[-1]] * (len(kinds) - switch)  # exactly one change
        head, tail = " ".join(w for w, _ in words[:switch]), " ".join(w for w, _ in words[switch:])
        heads = songs if kinds[0] == "song" else papers
        tails = papers if kinds[0] == "song" else songs
        assert any(t.startswith(head) for t in heads) and any(t.endswith(tail) for t in tails)
    v = source_model.vocab
    tokens = sources.encode_words([("Love", "song"), ("Nets", "arxiv")], v)
    assert tokens[1] == v["<song>"] and tokens[6] == v["<arxiv>"]


def test_a_title_that_would_end_in_one_corpus_switches_instead(source_model):
    sampler = Sampler(source_model)
    meta = source_model.vocab["<s>"]
    source, used = np.array([0, 0]), np.array([[True, False], [True, True]])
    chosen = sampler._choose_sources(np.array([meta, meta]), np.array([0, 1]), source, used, 0.0,
                                     np.random.default_rng(0), use_both=True)
    assert chosen[0] == sampler._markers[1] and source[0] == 1 and used[0].all()  # switched, goes on
    assert chosen[1] == meta  # both corpora used already: it may end


def test_use_both_makes_titles_go_on_past_their_first_end(source_model):
    model = dataclasses.replace(source_model, config={**source_model.config, "semantics": "incremental"})
    sampler = Sampler(model)
    free = sampler.generate(200, temperature=0.7, max_gen_length=80, seed=2, switch_probability=0.0, use_both=False)
    both = sampler.generate(200, temperature=0.7, max_gen_length=80, seed=2, switch_probability=0.0, use_both=True)
    assert sum(map(len, both)) > 1.3 * sum(map(len, free))
