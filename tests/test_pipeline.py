"""The halves pipeline's stages, each called alone, and the one place that knows their order."""
import ast
import random
from collections import Counter
from pathlib import Path

import pytest

from bot.curation import learning, pipeline, variety
from bot.curation.mashups import Half, half_rejection
from bot.curation.wordcheck import WordCheck

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("sample_halves", "screen_halves", "join", "screen_candidates", "with_features", "rank")


@pytest.fixture(scope="module")
def check(evidence):
    return WordCheck(evidence.stats)


def test_screen_halves_keeps_whole_halves_once_and_names_every_drop(runtime, evidence, check):
    written = [("Stay With Me", 0.5), ("Stay With Me", 0.7), ("Bad Blood", 0.5), ("Love of the", 0.5),
               ("Qzxvblorp", 0.5), ("Love Love", 0.5), ("A Very Long Song Title That Goes On", 0.5)]
    halves, stage = pipeline.screen_halves(written, "song", runtime.sampler, evidence, check)
    assert [h.text for h in halves] == ["Bad Blood"]
    assert stage.taken == len(written) and stage.kept == 1
    assert stage.dropped == Counter({"modal": 2, "dangling": 1, "invented word": 1, "repeated word": 1,
                                     "length": 1})
    assert halves[0].fluency < 0 and halves[0].temperature == 0.5


def test_a_half_rejection_names_its_reason(evidence, check):
    assert half_rejection("Bad Blood", "song", check, evidence.halves) is None
    assert half_rejection("Dancing Queen", "song", check, evidence.halves) == "salad"
    assert half_rejection("Deep Learning Image Recognition Nets", "arxiv") == "length"
    assert half_rejection("Learning for", "arxiv") == "dangling"
    assert half_rejection("Crewzinho == Mix 2017", "song") == "symbol"
    assert half_rejection("Graph [Bandit] Flow", "arxiv") == "symbol"
    assert half_rejection("Day 5: For Carol", "song") == "symbol"  # a colon post would have two
    assert half_rejection("Sentiment Analysis`", "arxiv") == half_rejection("SemEval--Net", "arxiv") == "symbol"
    assert half_rejection("Semi-Supervised Learning", "arxiv") is None
    for sentence_case in ("comparative analysis", "Interactive dimensions", "fine-tuning", "big Data"):
        assert half_rejection(sentence_case, "arxiv") == "lower case"
    for name in ("word2vec Embeddings", "Learning with Graphs", "t-SNE Maps", "Fine-tuning"):
        assert half_rejection(name, "arxiv") is None
    assert half_rejection("nothing in return", "song") is None  # song titles keep their own case


def test_join_counts_the_duplicates_it_drops(evidence):
    songs = [Half("Closer", "song", 0.5, -1.0)]
    papers = [Half("Graph Networks", "arxiv", 0.5, -1.0)]
    joined, stage = pipeline.join(songs, papers, evidence, seed=1)
    assert len(joined) == 1 and stage.taken == 1 and stage.kept == 1
    assert "Closer" in joined[0].text and "Graph Networks" in joined[0].text


def test_screening_featuring_and_ranking_are_separate_stages(runtime, evidence):
    songs = [Half("Closer", "song", 0.5, -1.0), Half("Dancing Queen", "song", 0.7, -1.2)]
    papers = [Half("Graph Networks", "arxiv", 0.5, -1.1), Half("Visual Tracking", "arxiv", 0.5, -1.3)]
    joined, _ = pipeline.join(songs, papers, evidence, seed=3)
    screened, stage = pipeline.screen_candidates(joined, evidence)
    assert stage.taken == len(joined) and stage.kept + sum(stage.dropped.values()) == stage.taken
    assert all(not c.features and c.score == 0 for c in screened)  # screening scores nothing
    featured = pipeline.with_features(screened, joined, evidence)
    assert all(bool(c.features) == c.passed for c in featured)
    ranked = pipeline.rank(featured, evidence)
    passing = [c for c in ranked if c.passed]
    assert passing and [c.score for c in passing] == sorted((c.score for c in passing), reverse=True)
    assert all(c.passed for c in ranked[: len(passing)])  # the rejected ones come last


def test_no_module_but_the_pipeline_calls_its_stages():
    """The order of the stages is known in one place (bot/curation/pipeline.py): no other module
    of the bot imports a stage or calls one through the module."""
    uses = []
    for path in (ROOT / "bot").rglob("*.py"):
        if path.name == "pipeline.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("pipeline"):
                uses += [(path.name, a.name) for a in node.names if a.name in STAGES]
            if isinstance(node, ast.Attribute) and node.attr in STAGES and ast.unparse(node.value).endswith("pipeline"):
                uses.append((path.name, node.attr))
    assert uses == []


# -- the choice: always one of the curator's top few --------------------------------------------

def test_every_choice_is_in_the_curators_shortlist_whatever_the_weights_or_exploration():
    texts = [f"Song{i} (Term{i} {'Remix' if i % 2 else 'Edit'})" for i in range(100)]
    features = [{"x": float(i)} for i in range(100)]  # weights on x favour the curator's worst
    rng = random.Random(0)
    for explore, size in ((True, learning.SHORTLIST), (False, learning.LEARNED_SHORTLIST)):
        picked = set()
        for _ in range(60):
            weights = {"x": rng.uniform(-5, 5)}
            c = learning.choose(texts, features, [], weights, explore=explore, rng=rng)
            assert c.index in variety.shortlist(texts, [], size) and c.index < size
            picked.add(c.index)
        assert len(picked) > 1  # the weights (or the draw) do choose within the shortlist


def test_the_shortlist_skips_what_variety_refuses():
    recent = ["Closer (Graph Remix)"]
    ranked = ["Closer (Vision Edit)", "Stay (Graph Edit)", "Hello (Image Edit)", "Hello (Vision Remix)"]
    assert variety.shortlist(ranked, recent, 5) == [2]
    assert variety.shortlist([], recent, 5) == []


def test_raw_mashups_are_unscreened_halves_joined_at_seams(runtime, evidence):
    from bot.curation.candidates import screen

    texts = pipeline.raw_mashups(runtime, 40, 1.2, seed=1)
    assert len(texts) == 40 and texts == pipeline.raw_mashups(runtime, 40, 1.2, seed=1)
    assert any(not screen(t, 1.2, evidence).passed for t in texts)  # nothing was screened out


def test_the_choice_draws_a_shape_then_takes_its_best_so_no_formula_wins_every_pool():
    texts = [f"Song{i} (Term{i} Remix)" for i in range(8)] + ["Graph Networks: Closer", "Sparse Nets: Stay"]
    features = [{}] * len(texts)
    picked = [learning.choose(texts, features, [], {}, how="curator", rng=random.Random(seed)).index
              for seed in range(40)]
    assert set(picked) == {0, 8}  # the best of each shape, each drawn about half the time
    assert 10 <= picked.count(8) <= 30
    assert variety.shape_of(texts[0]) == "tag+1" and variety.shape_of(texts[8]) == "colon+2"


def test_a_fresh_worker_keeps_off_the_paper_corpus_most_common_words_where_it_can(evidence):
    generic = variety.generic_words(evidence.stats.arxiv)
    assert {"learning", "networks", "neural", "deep"} <= generic and len(generic) == variety.GENERIC_WORDS
    texts = ["Closer (Deep Learning Remix)", "Stay (Optical Flow Remix)", "Home (Neural Networks Remix)"]
    picked = {learning.choose(texts, [{}] * 3, [], {}, how="curator", rng=random.Random(seed),
                              generic=generic).index for seed in range(10)}
    assert picked == {1}  # the curator's first choice has a generic word: the next best without one
    only_generic = texts[::2]
    assert learning.choose(only_generic, [{}] * 2, [], {}, how="curator", generic=generic).index == 0
    learned = learning.choose(texts, [{}] * 3, [], {}, how="learned", generic=generic)
    assert learned.index == 0  # a learned choice is held by the variety rule's word window instead


def test_the_paper_choice_keeps_specific_phrases_first(evidence):
    from bot.curation.features import specific

    papers = [Half(t, "arxiv", 0.7, f) for t, f in (("Neural Networks", -0.5), ("Deep Learning", -0.6),
                                                    ("Optical Flow Estimation", -1.9), ("Learning", -0.4))]
    unseen = {h.text: evidence.halves.unseen_runs(h.text, "arxiv", 2) for h in papers}
    assert specific("Optical Flow Estimation", evidence.stats.arxiv, unseen["Optical Flow Estimation"])
    assert not specific("Neural Networks", evidence.stats.arxiv, unseen["Neural Networks"])  # common words
    kept, stage = pipeline.select_papers(papers, 2, evidence)
    assert [h.text for h in kept] == ["Optical Flow Estimation", "Learning"]  # then the most fluent
    assert (stage.taken, stage.kept, stage.dropped["surplus"]) == (4, 2, 2)


def test_no_shape_more_than_three_times_in_ten_consecutive_posts():
    recent = ["A (Graph Remix)", "B (feat. Vision)", "C (Nets Edit)", "D: Song", "E (Tracking Mix)"]
    assert [variety.shape_of(t) for t in recent].count("tag+1") == 3
    assert not variety.allowed("Closer (Sparse Bootleg)", recent)  # a fourth "Song (Term Tag)"
    assert variety.allowed("Closer (Sparse Coding Bootleg)", recent)  # another shape
