import pytest

from bot.training import corpus
from bot.errors import CorpusError


def test_cleaning_trims_normalises_dedupes_and_drops_long_and_empty():
    lines = ["  Silver   Lining ", "Silver Lining", "", "   ", "x" * 50, "Half\tLove\x07", "Four Winds"]
    assert corpus.clean_titles(lines, max_chars=40) == ["Silver Lining", "Half Love", "Four Winds"]


def test_cleaning_with_an_alphabet_drops_titles_it_cannot_spell():
    assert corpus.clean_titles(["abc", "abd"], 10, alphabet=set("abc")) == ["abc"]


def test_balance_by_titles_gives_equal_counts():
    examples = corpus.balance({"song": ["a"] * 3 + ["b", "c"], "arxiv": [f"t{i}" for i in range(9)]}, "titles", 0)
    counts = {s: sum(e.source == s for e in examples) for s in ("song", "arxiv")}
    assert counts == {"song": 5, "arxiv": 5}


def test_balance_by_chars_repeats_the_shorter_source_to_match_characters():
    songs = ["ab", "cd", "ef"]  # 6 characters
    papers = ["x" * 20, "y" * 20]  # 40 characters
    examples = corpus.balance({"song": songs, "arxiv": papers}, "chars", 0)
    chars = {s: sum(len(e.title) for e in examples if e.source == s) for s in ("song", "arxiv")}
    assert chars["arxiv"] == 40
    assert 40 <= chars["song"] <= 42
    assert sum(e.source == "arxiv" for e in examples) == 2


def test_balance_is_shuffled_reproducibly():
    sources = {"song": [f"s{i}" for i in range(50)], "arxiv": [f"a{i}" for i in range(50)]}
    first = corpus.balance(sources, "none", 3)
    assert first == corpus.balance(sources, "none", 3)
    assert first != corpus.balance(sources, "none", 4)
    assert [e.source for e in first[:20]] != ["song"] * 20


def test_empty_corpus_is_an_error_naming_the_source():
    with pytest.raises(CorpusError, match="song corpus has no usable titles"):
        corpus.balance({"song": [], "arxiv": ["x"]}, "chars", 0)


def test_missing_corpus_file_names_the_path(tmp_path):
    with pytest.raises(CorpusError, match="nope.txt is missing"):
        corpus.read_titles(tmp_path / "nope.txt")


def test_binary_corpus_file_is_reported(tmp_path):
    path = tmp_path / "bin.txt"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(CorpusError, match="not UTF-8"):
        corpus.read_titles(path)


def test_real_corpora_clean_to_most_of_their_titles(corpora):
    songs = corpus.clean_titles(corpus.read_titles(corpora["song"]), 140)
    papers = corpus.clean_titles(corpus.read_titles(corpora["arxiv"]), 140)
    assert 9000 < len(songs) <= 9480  # 9,480 unique lines in the file
    assert 9800 < len(papers) <= 9999
