"""Word links between a song title and a paper phrase (bot/curation/links.py): the shipped table,
and small tables whose geometry is set by hand."""
from pathlib import Path

import numpy as np
import pytest

from bot.curation import links
from bot.curation.evidence import WordStats
from bot.curation.links import NO_LINK, Linker
from bot.curation.relatedness import WordVectors
from bot.runtime import Runtime

ROOT = Path(__file__).resolve().parent.parent


def table(rows: dict[str, list[float]]) -> WordVectors:
    words = sorted(rows)
    vectors = np.array([rows[w] for w in words], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return WordVectors(np.array(words), np.round(vectors * 100).astype(np.int8), 0.01)


def test_a_word_close_to_every_paper_word_links_less_than_an_equally_close_specific_one(monkeypatch):
    monkeypatch.setattr(links, "HUB_NEIGHBOURS", 2)
    # "anytime" is as close to "forest" as "lost" is to "loss", but also close to every other paper word.
    vectors = table({"lost": [1, 0, 0, 0], "loss": [0.8, 0.6, 0, 0],
                     "anytime": [0, 0, 1, 0], "forest": [0, 0.6, 0.8, 0],
                     "clock": [0, 0.5, 0.86, 0], "hours": [0.1, 0.5, 0.86, 0], "cold": [0, 0, 0, 1]})
    stats = WordStats({"lost": 3, "anytime": 3, "cold": 1}, {"loss": 3, "forest": 3, "clock": 2, "hours": 2})
    linker = Linker(vectors, stats)
    found = linker.links([("Stay Lost", "Loss"), ("Anytime", "Forest"), ("Cold", "Loss")])
    cos_lost = float(vectors.vector("lost") @ vectors.vector("loss"))
    cos_any = float(vectors.vector("anytime") @ vectors.vector("forest"))
    assert abs(cos_lost - cos_any) < 0.02  # the raw cosines are alike ...
    assert found[0] > found[1] + 0.2  # ... the hub's link is not
    assert found[2] < found[0]


def test_forms_of_one_word_numbers_and_unknown_words_do_not_link(monkeypatch):
    monkeypatch.setattr(links, "HUB_NEIGHBOURS", 1)
    vectors = table({"dreams": [1, 0, 0], "dreaming": [1, 0.1, 0], "map": [0, 0.3, 1], "maps": [0, 0.35, 1],
                     "heart": [0.1, 0.9, 0.1], "loving": [0, 1, 0.1], "1999": [0, 0.2, 1], "iii": [0, 0.25, 1],
                     "mother": [0.3, 0.3, 0.3], "mama": [0.3, 0.3, 0.31]})
    stats = WordStats({"dreams": 2, "heart": 1, "1999": 1, "maps": 1, "mother": 1},
                      {"dreaming": 2, "loving": 1, "iii": 1, "map": 1, "mama": 1})
    linker = Linker(vectors, stats)
    # Two forms of one word (long, and three letters plus an ending), numbers (Roman too), unknown words.
    assert list(linker.links([("Dreams", "Dreaming"), ("Maps", "Map Inference"), ("1999", "III"),
                              ("Zzyzx", "Loving")])) == [NO_LINK] * 4
    assert linker.links([("Heart", "Loving")])[0] >= links.LINK_MIN  # a mutual nearest pair links
    assert linker.best_pair("Mother's Day", "Mama") == ("mother", "mama", pytest.approx(linker.links([("Mother", "Mama")])[0]))


def test_a_corpus_without_words_in_the_table_gives_finite_links():
    vectors = table({"lost": [1, 0], "loss": [0.9, 0.1]})
    found = Linker(vectors, WordStats({"lost": 1}, {})).links([("Stay Lost", "Loss")])
    assert np.isfinite(found).all() and found[0] > NO_LINK


def test_best_agrees_with_pairwise_links_on_the_shipped_table(monkeypatch):
    runtime = Runtime.load(ROOT / "model_weights")
    linker = Linker(runtime.evidence.vectors, runtime.evidence.stats)
    songs = ["Stay Lost", "Read My Lips", "Here Comes the Sun", "Money", "1999", "Heaven's Door"]
    papers = ["Structured Loss Function", "Visual Question Answering", "Solar Irradiance Forecasting",
              "Stock Price Prediction", "Part III", "Paradise Search"]
    pairwise = linker.links([(s, p) for s in songs for p in papers]).reshape(len(songs), len(papers))
    assert (pairwise[4] == NO_LINK).all()  # a number links nothing
    # Each song links best with the phrase written for it (hand-made, before any measurement).
    assert [int(j) for j in pairwise[[0, 1, 2, 3, 5]].argmax(axis=1)] == [0, 1, 2, 3, 5]
    monkeypatch.setattr(links, "CHUNK", 4)  # several chunks of songs, and of words for the hubs
    fresh = Linker(runtime.evidence.vectors, runtime.evidence.stats)
    indices, values = fresh.best(songs, papers, 3)
    assert indices.shape == values.shape == (6, 3)
    for i in range(len(songs)):
        np.testing.assert_allclose(values[i], np.sort(pairwise[i])[::-1][:3], atol=1e-5)
        np.testing.assert_allclose(pairwise[i, indices[i]], values[i], atol=1e-5)
