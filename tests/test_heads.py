"""Readers' heads (bot/training/panel/heads.py): the table of how panels rated paper phrases by
their last word, and how it is learned from rated panels."""
import subprocess
import sys
from pathlib import Path

import pytest

from bot.training.panel import heads

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("phrase, expected", [
    ("Non-convex Optimization", "optimization"), ("Random Forests", "forest"), ("Gaussian Processes", "process"),
    ("Case Studies", "study"), ("Sentiment Analysis", "analysis"), ("Approaches", "approach"),
    ("Fine-tuning", "tuning"), ("Markov Random Fields", "field"), ("Gradient Boxes", "box"), ("", "")])
def test_the_head_is_the_last_word_made_singular(phrase, expected):
    assert heads.head(phrase) == expected


def test_a_head_score_is_its_mean_deviation_shrunk_toward_the_mean():
    rated = [("Random Forests", [5, 5]), ("Deep Forest", [4]), ("Some Approach", [1, 2, 2]), ("X Approaches", [3])]
    table = heads.learn(rated, shrinkage=2)
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


def test_the_table_from_rated_panels_reads_every_rated_phrase_and_ranks_the_heads(tmp_path):
    folders = [ROOT / "bench" / "results" / f"panel-{n}" for n in (26, 27)]
    done = subprocess.run([sys.executable, "-m", "bot", "panel", "heads", *map(str, folders), "--show", "3"],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr
    first, listed = done.stdout.splitlines()[0], done.stdout.splitlines()[1:]
    assert "ratings (mean" in first and f"at {heads.LIKED:+.2f} or above" in first
    scores = [float(line.split()[1]) for line in listed if line.strip() != "..."]
    assert len(scores) == 6 and scores == sorted(scores, reverse=True)
    ratings = sum(int(line.split("(")[1].split()[0]) for line in listed if "(" in line)
    assert 0 < ratings <= 2 * 2 * 88  # two panels, two raters, at most every item


def test_a_folder_without_ratings_is_a_one_line_refusal(tmp_path):
    folder = tmp_path / "panel-x"
    folder.mkdir()
    (folder / "key.tsv").write_text("id\tgroup\ttext\na1\tbot\tStay (feat. Random Forests)\n")
    done = subprocess.run([sys.executable, "-m", "bot", "panel", "heads", str(folder)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0 and "no ratings" in done.stderr
