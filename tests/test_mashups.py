"""Halves, seams, the curator and variety: the pieces that make a post of two whole halves."""
import json

import numpy as np
import pytest

from bot.curation import curator, features, filters, seams, variety
from bot.errors import ModelFileError
from bot.model.modelfile import CharModel
from bot.model.sampler import Sampler
from bot.model.scoring import mean_log_likelihood
from bot.training import corpus, halves


# --- training examples -----------------------------------------------------------------------

@pytest.mark.parametrize("line, half", [
    ("U2 - With Or Without You (Live)", "With Or Without You"),
    ("Closer (feat. Bishøp)", "Closer"),
    ("Smoke And Retribution feat. Vince Staples & Kučka", "Smoke And Retribution"),
    ('"Heat of the Moment"', "Heat of the Moment"),
    ("DEVASTATED", "Devastated"),
    ("Look Right Through Soundcloud Edit", None),
    ("One Two Three Four Five Six Seven Eight", None),
])
def test_song_half_is_the_bare_title(line, half):
    assert halves.song_half(line) == half


def test_paper_phrases_are_whole_phrases_cut_at_joins():
    found = halves.paper_phrases("CREST: Convolutional Residual Learning for Visual Tracking")
    assert found == ["CREST", "Convolutional Residual Learning", "Visual Tracking"]
    found = halves.paper_phrases("Multi-modal Factorized Bilinear Pooling with Co-Attention Learning for "
                                 "Visual Question Answering")
    assert "Visual Question Answering" in found and "Co-Attention Learning" in found
    assert halves.paper_phrases("S$^3$FD: Single Shot Scale-invariant Face Detector") == []
    # no phrase starts with an article or ends on a function word
    for title in ["A Novel Methodology to Enumerate Causal Graph Structures", "On the Robustness of the Model"]:
        for phrase in halves.paper_phrases(title):
            first, last = phrase.split()[0].lower(), phrase.split()[-1].lower()
            assert first not in ("a", "an", "the") and last not in ("of", "the", "to", "for")


# --- seams -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def seam_table(corpora):
    return seams.learn(corpus.read_titles(corpora["song"]), corpus.read_titles(corpora["arxiv"]))


def test_seams_are_learned_from_the_corpora(seam_table):
    names = {s.name: s.count for s in seam_table}
    assert names["tag:remix"] > 1000 and names["feat"] > 1000 and names["colon"] > 1000
    assert {"tag:edit", "tag:mix", "tag:cover"} <= set(names)
    assert all(count >= seams.MIN_TAG_COUNT for name, count in names.items() if name.startswith("tag:"))
    assert abs(sum(seams.weights(seam_table)) - 1) < 1e-9


def test_every_seam_joins_and_parses_back(seam_table):
    for seam in seam_table:
        text = seam.join("Heat of the Moment", "Visual Question Answering")
        assert seams.parse(text) == (seam.name, "Heat of the Moment", "Visual Question Answering")
    assert seams.parse("Deep Sequence Of Online Long Models") is None
    # a phrase that opens the post starts with a capital; inside brackets it stays as written
    assert seams.Seam("colon").join("Stay", "recognition") == "Recognition: Stay"
    assert seams.Seam("dash").join("Stay", "iPhone apps") == "iPhone apps - Stay"
    assert seams.Seam("feat").join("Stay", "recognition") == "Stay (feat. recognition)"


def test_seam_table_round_trips_and_bad_files_say_so(tmp_path, seam_table):
    path = tmp_path / "s.json"
    seams.save(seam_table, path)
    assert seams.load(path) == seam_table
    path.write_text("[{\"kind\": \"glue\", \"tag\": \"\", \"count\": 3}]")
    with pytest.raises(ModelFileError, match="bad row"):
        seams.load(path)
    path.write_text("{not json")
    with pytest.raises(ModelFileError, match="unreadable"):
        seams.load(path)
    with pytest.raises(ModelFileError, match="missing"):
        seams.load(tmp_path / "none.json")


# --- hard guards on whole posts --------------------------------------------------------------

@pytest.mark.parametrize("text, reason", [
    ("Light On Me (feat. Remix)", "doubled-tag"),
    ("Home (Remix)", "empty-tag"),
    ("Deep Love (feat. Deep Networks)", "repeated-word"),
    ("Recognize (Recognition Edit)", "repeated-word"),
    ("Maps (Map Inference Remix)", "repeated-word"),
    ("Data Sets: Set It On Fire", "repeated-word"),
    ("Run The World (Running Time Edit)", "repeated-word"),
    ("Sky Full Of Stars (feat. Skies Segmentation)", "repeated-word"),
    ("Stay Lost (feat. Loss Functions)", ""),
    ("Art (feat. Artificial Intelligence)", ""),
    ("Sunaris (feat. Neural Networks)", "invented-word"),
    ("One Two Three Four Five Six (feat. Seven Eight Nine Ten Eleven Twelve Thirteen)", "too-many-words"),
    ("Heat of the Moment (feat. Visual Question Answering)", ""),
])
def test_whole_post_guards(evidence, text, reason):
    assert filters.whole(text, evidence.stats).reason == reason


# --- features and curator --------------------------------------------------------------------

def test_rhyme_and_alliteration():
    assert features.rhymes("Heat of the Moment", "Image Segment")
    assert not features.rhymes("Heat of the Moment", "Image Restoration")
    assert features.alliterates("Paper Planes", "Parallel Training")
    assert not features.alliterates("Paper Planes", "Image Restoration")


def test_curator_scores_linearly_and_loads_its_file(tmp_path):
    c = curator.Curator({"rhyme": 0.5, "words": -0.1}, bias=3.0)
    assert c.score({"rhyme": 1.0, "words": 5.0, "other": 9.0}) == pytest.approx(3.0)
    assert c.score({"words": 100.0}) == 1.0 and c.score({"rhyme": 10.0}) == 5.0  # the rating scale
    assert c.explain({"rhyme": 1.0, "words": 5.0})[0][0] == "rhyme"
    assert curator.load(tmp_path / "missing.json") is curator.PRIOR
    path = tmp_path / "c.json"
    path.write_text(c.to_json())
    assert curator.load(path).score({"rhyme": 1.0}) == pytest.approx(3.5)
    path.write_text(json.dumps({"weights": {"rhyme": "NaN"}}))
    with pytest.raises(ModelFileError):
        curator.load(path)


# --- fluency ---------------------------------------------------------------------------------

def test_mean_log_likelihood_is_the_sampler_chain(pretrained):
    model = CharModel(dict(pretrained.config, semantics="incremental"), pretrained.vocab, pretrained.embedding,
                      pretrained.lstms, pretrained.attention, pretrained.output_kernel, pretrained.output_bias)
    sampler = Sampler(model)
    texts = ["Heat of the Moment", "Deep Residual Learning for Image Recognition"]
    got = mean_log_likelihood(sampler, texts)
    for text, value in zip(texts, got):
        total = 0.0
        for i, ch in enumerate(text + "\0"):
            probs = sampler.next_probabilities(text[:i])
            total += np.log(probs[model.vocab["<s>"] if ch == "\0" else model.vocab[ch]])
        assert value == pytest.approx(total / (len(text) + 1), abs=1e-4)


# --- variety ---------------------------------------------------------------------------------

def test_variety_refuses_recent_words_and_seams():
    recent = ["Utopia (feat. Image Restoration)"]
    assert not variety.allowed("Unbreakable (feat. Graph Search)", recent)  # same seam twice in a row
    assert not variety.allowed("Utopia Dreams (Graph Search Remix)", recent)  # "utopia" again
    assert variety.allowed("Unbreakable (Graph Search Remix)", recent)
    ranked = ["Utopia (Graph Search Remix)", "Closer (feat. Graph)", "Closer (Graph Search Edit)"]
    assert variety.pick(ranked, recent) == 2


def test_variety_report_measures_what_the_limits_name():
    posts = ["A Love (feat. Graph Search)", "B Love (Image Net Remix)", "C Song: Deep Net"]
    r = variety.report(posts)
    assert r.top_word == ("love", pytest.approx(2 / 3))
    assert r.top_seam_type[1] == pytest.approx(1 / 3)
    assert 0 < r.mean_jaccard < 1


def test_choose_falls_back_to_the_best_when_the_rule_allows_nothing():
    recent = ["Utopia (feat. Image Restoration)"]
    assert variety.choose(["Utopia (feat. Graph)", "Utopia (Graph Remix)"], recent) == 0
    assert variety.choose(["Utopia (feat. Graph)", "Closer (Graph Remix)"], recent) == 1
    assert variety.choose([], recent) is None


def test_mashup_pool_from_the_shipped_model_is_ranked_by_the_curator_and_stops_when_asked(runtime, evidence):
    from bot.curation.pipeline import build_pool

    pool = build_pool(runtime, 60, [0.6], seed=2)
    passing = pool.passing
    assert passing and all(c.features for c in passing)
    assert [c.score for c in passing] == sorted((round(evidence.curator.score(c.features), 6) for c in passing),
                                                reverse=True)
    assert all(seams.parse(c.text) for c in passing)
    assert build_pool(runtime, 60, [0.6], seed=2, stop=lambda: True).candidates == []


def test_known_halves_match_whole_halves_in_any_case_and_bad_files_say_so(tmp_path):
    from bot.curation.evidence import KnownHalves

    known = KnownHalves.from_halves({"song": ["Heat of the Moment"], "arxiv": ["Visual Question Answering"]})
    assert known.knows("heat of the moment!", "song") and not known.knows("Heat of the", "song")
    assert known.knows("Visual  Question Answering", "arxiv") and not known.knows("Heat of the Moment", "arxiv")
    path = tmp_path / "h.npz"
    known.save(path)
    assert KnownHalves.load(path).knows("Heat of the Moment", "song")
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(ModelFileError, match="halves index .* is unreadable"):
        KnownHalves.load(path)


def test_known_halves_count_word_runs_no_real_half_uses(tmp_path):
    from bot.curation.evidence import KnownHalves

    known = KnownHalves.from_halves({"song": ["Stay With Me", "Heat of the Moment"],
                                     "arxiv": ["Semantic Segmentation", "Sparse Coding"]})
    assert known.unseen_runs("stay with", "song", 2) == 0 and known.unseen_runs("Stay", "song", 2) == 0
    assert known.unseen_runs("Stay With The Moment", "song", 2) == 1  # "with the"
    assert known.unseen_runs("Stay With The Moment", "song", 3) == 2  # "stay with the", "with the moment"
    assert known.unseen_runs("Sparse Semantic Segmentation", "arxiv", 2) == 1  # "sparse semantic"
    assert known.unseen_runs("Semantic Segmentation", "song", 2) == 1  # runs are per corpus
    with pytest.raises(ValueError, match="not indexed"):
        known.unseen_runs("Stay With Me", "song", 4)
    path = tmp_path / "h.npz"
    known.save(path)
    again = KnownHalves.load(path)
    assert again.unseen_runs("Heat of the Moment", "song", 3) == 0 and again.knows("heat of the moment", "song")
    np.savez_compressed(path, song=known.song, arxiv=known.arxiv)  # a file from before word runs
    old = KnownHalves.load(path)
    assert old.knows("Stay With Me", "song") and old.unseen_runs("Stay With The Moment", "song", 2) is None


def test_a_corpus_of_one_word_halves_has_no_runs_and_every_run_is_unseen():
    from bot.curation.evidence import KnownHalves

    known = KnownHalves.from_halves({"song": ["Closer"], "arxiv": ["Attention"]})
    assert len(known.song_runs) == 0
    assert known.unseen_runs("Closer To You", "song", 2) == 2 and known.unseen_runs("Closer", "song", 2) == 0
    assert known.knows("closer", "song")


def test_a_half_joining_words_as_no_real_half_joins_them_is_salad():
    from bot.curation import mashups
    from bot.curation.evidence import KnownHalves

    known = KnownHalves.from_halves({"song": ["Stay With Me", "Heat of the Moment"],
                                     "arxiv": ["Semantic Segmentation", "Sparse Coding"]})
    assert mashups.half_rejection("Stay With Me", "song", known=known) is None
    assert mashups.half_rejection("Stay With The Moment", "song", known=known) == "salad"  # an unseen pair and triples
    assert mashups.half_rejection("Me With Stay", "song", known=known) == "salad"  # "me with", "with stay": two unseen pairs
    assert mashups.half_rejection("Sparse Semantic Segmentation", "arxiv", known=known) is None  # one unseen pair allowed
    assert mashups.half_rejection("Coding Sparse Semantic", "arxiv", known=known) == "salad"  # two
    assert mashups.half_rejection("Stay With The Moment", "song") is None  # without an index, no run rule
    # a reply's request word is the caller's: runs are counted in what the network wrote after it
    assert mashups.half_rejection("Transformer Stay With Me", "song", known=known, prefix="Transformer ") is None
    assert mashups.half_rejection("Transformer Stay With The Moment", "song", known=known, prefix="Transformer ") is not None  # (five words: too long as well)


def test_known_traits_reward_long_real_halves():
    from bot.curation import mashups

    traits = mashups.known_traits({"song_known": 1.0, "song_words": 3.0, "song_technical": 0.0,
                                   "paper_known": 0.0, "paper_words": 2.0})
    assert traits == {"song_pun": 0.0, "song_known_words": 3.0, "paper_known_words": 0.0}


def test_paper_side_seams_are_counted_in_the_corpus_and_parse_back():
    titles = ["Deep Learning for Visual Tracking"] * 30 + ["Towards Robust Detection"] * 30 + ["Sparse Coding"] * 5
    table = {s.name: s for s in seams.learn(["Closer (Motez Remix)"] * 20, titles, seams.KINDS)}
    assert table["join:for"].count == 30 and not any(name.startswith("frame") for name in table)
    posted = {s.name for s in seams.learn(["Closer (Motez Remix)"] * 20, titles)}
    assert posted == {"tag:remix"} and not any(n.startswith("join") for n in posted)  # joins parse, not post
    for seam in table.values():
        text = seam.join("Bad Blood", "Graph Networks")
        assert seams.parse(text) == (seam.name, "Bad Blood", "Graph Networks"), text
    assert table["join:for"].join("Bad Blood", "graph networks") == "Graph networks for Bad Blood"
