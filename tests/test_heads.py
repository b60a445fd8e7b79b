"""Readers' heads: the table of how panels rated paper phrases by their last word, how it is
learned from rated panels, and how the pool and the curator's choice use it."""
import random
import subprocess
import sys
from pathlib import Path

import pytest

from bot.curation import heads, learning, pipeline
from bot.curation.candidates import Candidate
from bot.errors import ModelFileError

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("phrase, expected", [
    ("Non-convex Optimization", "optimization"), ("Random Forests", "forest"), ("Gaussian Processes", "process"),
    ("Case Studies", "study"), ("Sentiment Analysis", "analysis"), ("Approaches", "approach"),
    ("Fine-tuning", "tuning"), ("Markov Random Fields", "field"), ("Gradient Boxes", "box"), ("", "")])
def test_the_head_is_the_last_word_made_singular(phrase, expected):
    assert heads.head(phrase) == expected


def test_a_head_score_is_its_mean_deviation_shrunk_toward_the_mean():
    rated = [("Random Forests", [5, 5]), ("Deep Forest", [4]), ("Some Approach", [1, 2, 2]), ("X Approaches", [3])]
    table = heads.learn(rated, "test", shrinkage=2)
    mean = 22 / 7
    assert table.mean == pytest.approx(mean)
    assert table.scores["forest"] == pytest.approx((5 - mean + 5 - mean + 4 - mean) / (3 + 2))
    assert table.scores["approach"] == pytest.approx((1 + 2 + 2 + 3 - 4 * mean) / (4 + 2))
    assert table.ratings == {"forest": 3, "approach": 4}
    assert table.score("Stochastic Forests") == table.scores["forest"] and table.score("Unrated Thing") == 0.0
    few = heads.learn([("A Forest", [5]), ("B Model", [1])])  # mean 3 in both
    many = heads.learn([("A Forest", [5] * 20), ("B Model", [1] * 20)])
    assert 0 < few.scores["forest"] < many.scores["forest"] < 2  # one rating moves a head less than twenty


def test_learning_refuses_no_ratings_and_scores_outside_one_to_five():
    with pytest.raises(ValueError, match="no rated"):
        heads.learn([("Random Forests", [])])
    with pytest.raises(ValueError, match="outside 1-5"):
        heads.learn([("Random Forests", [6])])


def test_the_table_file_round_trips_and_a_bad_one_is_named(tmp_path):
    table = heads.learn([("Random Forests", [5, 4]), ("Some Approach", [2])], "panel-x")
    path = tmp_path / "m_heads.json"
    path.write_text(table.to_json())
    again = heads.load(path)
    assert again.source == "panel-x" and again.ratings == table.ratings
    assert again.scores == pytest.approx(table.scores, abs=1e-4) and again.mean == pytest.approx(table.mean, abs=1e-4)
    path.write_text('{"heads": {"forest": ["x", 2]}, "mean": 3, "shrinkage": 8}')
    with pytest.raises(ModelFileError, match="m_heads.json is unreadable.*bot panel heads"):
        heads.load(path)
    path.write_text('{"heads": {"forest": [NaN, 2]}, "mean": 3, "shrinkage": 8}')
    with pytest.raises(ModelFileError, match="not a finite number"):
        heads.load(path)


def test_the_curators_choice_prefers_a_real_phrase_with_a_liked_head_within_the_drawn_shape():
    texts = ["Closer (Semantic Approach Remix)", "Stay (Random Forests Remix)", "Home (Graph Models Remix)",
             "Run (Random Forests Remix)"]
    real, liked = {"paper_known_words": 2.0}, {"paper_head": heads.GOOD}
    features = [real, {**liked, "paper_known_words": 0.0}, {**real, **liked}, liked]
    picks = {learning.choose(texts, features, [], {}, how="curator", rng=random.Random(s)).index for s in range(10)}
    assert picks == {2}  # real and liked, though the curator put it third
    assert learning.well_read(features, [0, 1, 3]) == [0]  # a real phrase before a liked head alone
    assert learning.well_read(features, [1, 3]) == [1, 3]  # liked heads alone: both, the curator decides
    plain = [{}, {"paper_head": 0.1}, {"paper_head": -0.3}, {}]
    assert learning.choose(texts, plain, [], {}, how="curator").index == 0  # no tier: the curator's order


def test_the_pool_ranks_by_the_curator_plus_the_head_capped_at_good(evidence):
    def candidate(text, head):
        return Candidate(text, 0.7, {}, 0.0, {"paper_head": head})

    ranked = pipeline.rank([candidate("A (feat. Some Approach)", -0.3), candidate("B (feat. Markov Random Fields)", 0.45),
                            candidate("C (feat. Random Forests)", heads.GOOD), candidate("D (feat. Graphs)", 0.0)],
                           evidence)
    base = evidence.curator.score({})
    assert [c.score for c in ranked] == pytest.approx([base + heads.GOOD, base + heads.GOOD, base, base - 0.3])
    assert [c.text[0] for c in ranked] == ["B", "C", "D", "A"]  # liked heads alike, ties by text


def test_the_shipped_table_is_what_bot_panel_heads_writes_from_the_shipped_panels(tmp_path):
    table = heads.load(ROOT / "model_weights" / "mashup_heads.json")
    folders = [ROOT / "bench" / "results" / f"panel-{n}" for n in table.source.replace("panel-", "").split(", ")]
    out = tmp_path / "heads.json"
    done = subprocess.run([sys.executable, "-m", "bot", "panel", "heads", *map(str, folders), "--out", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr
    assert out.read_text() == (ROOT / "model_weights" / "mashup_heads.json").read_text()
    assert f"at {heads.GOOD:+.2f} or above" in done.stdout.splitlines()[0]


def test_a_folder_without_ratings_is_a_one_line_refusal(tmp_path):
    folder = tmp_path / "panel-x"
    folder.mkdir()
    (folder / "key.tsv").write_text("id\tgroup\ttext\na1\tbot\tStay (feat. Random Forests)\n")
    done = subprocess.run([sys.executable, "-m", "bot", "panel", "heads", str(folder)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0 and "no ratings" in done.stderr
