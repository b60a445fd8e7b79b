import json
import os
import shutil
import subprocess
import sys

import pytest

from bot.curation import filters, variety
from bot.curation.candidates import screen
from bot.curation.pipeline import build_pool
from bot.curation.words import canonical
from bot.posting.settings import defaults

TEMPERATURES, POOL_SIZE = defaults().temperatures, defaults().pool_size  # the worker's


def test_pool_is_deterministic_for_a_seed(runtime):
    a = build_pool(runtime, size=120, temperatures=TEMPERATURES, seed=11)
    b = build_pool(runtime, size=120, temperatures=TEMPERATURES, seed=11)
    c = build_pool(runtime, size=120, temperatures=TEMPERATURES, seed=12)
    assert [(x.text, x.score) for x in a.candidates] == [(x.text, x.score) for x in b.candidates]
    assert [x.text for x in a.candidates] != [x.text for x in c.candidates]


def test_pool_is_unique_ranked_and_counts_every_rejection(runtime):
    pool = build_pool(runtime, size=200, temperatures=[0.9, 1.1], seed=3)
    assert pool.sampled == 200
    assert len({canonical(c.text) for c in pool.candidates}) == len(pool.candidates)
    assert sum(pool.rejections.values()) + len(pool.passing) == len(pool.candidates)
    scores = [c.score for c in pool.passing]
    assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)
    assert {c.temperature for c in pool.candidates} == {0.9, 1.1}


def test_posted_titles_are_not_offered_again(runtime):
    first = build_pool(runtime, size=150, temperatures=TEMPERATURES, seed=5).best
    again = build_pool(runtime, size=150, temperatures=TEMPERATURES, seed=5, posted=frozenset({canonical(first.text)}))
    assert again.best.text != first.text
    assert any(c.rejection == "already-posted" for c in again.candidates)


def test_screen_reports_the_first_failing_filter(evidence):
    assert screen("Love Me Down (Manis Edit)", 1.0, evidence).rejection == "not-mixed"
    assert screen("Love (feat. @bob) Networks", 1.0, evidence).rejection == "mention"
    assert screen("Love Networks", 1.0, evidence, max_chars=5).rejection == "too-long"


def test_fifty_seeds_each_would_post_a_new_mashup(runtime, evidence, training_titles):
    """The issue's acceptance check, against the raw corpora (not the shipped hashes)."""
    training = {canonical(t) for t in training_titles}
    for seed in range(50):
        best = build_pool(runtime, POOL_SIZE, TEMPERATURES, seed=seed).best
        assert best is not None, seed
        assert filters.mixedness(best.text, evidence.stats).passed, best.text
        assert canonical(best.text) not in training, best.text


def _bot(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_dry_run_json_reports_pool_and_choice(shipped_model_dir, evidence):
    done = _bot("--dry-run", "--seed", "4", "--pool-size", "150", "--show", "5000", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    from bot.curation.links import LINK_MIN
    from bot.curation.pipeline import PAPER_VOLUME

    stages = {s["name"]: s for s in report["stages"]}
    assert list(stages) == ["song halves", "paper phrases", "paper choice", "seams", "filters"]
    for stage in stages.values():  # every stage accounts for what it took in
        assert stage["kept"] + sum(stage["dropped"].values()) == stage["in"], stage
    # The worker's volume: PAPER_VOLUME paper phrases sampled for each of the pool's 75.
    assert stages["song halves"]["in"] == 75 and stages["paper phrases"]["in"] == 75 * PAPER_VOLUME
    assert report["sampled"] == 75 + 75 * PAPER_VOLUME
    assert stages["paper choice"]["in"] == stages["paper phrases"]["kept"] and stages["paper choice"]["kept"] <= 75
    assert stages["filters"]["in"] == stages["seams"]["kept"]
    assert report["passed"] == stages["filters"]["kept"]
    assert report["passed"] + sum(report["rejections"].values()) == stages["filters"]["in"]
    assert len(report["top"]) == report["passed"]
    # A new worker (no state, nothing learned): the curator's best of the shape drawn among its 30
    # best linked candidates, one without the paper corpus' most used words where that shape has one.
    linked = [c for c in report["top"] if c["features"]["link"] >= LINK_MIN][:30]
    assert linked  # every song half is offered the phrase it links with best: some pass
    shape = variety.shape_of(report["would_post"])
    same = [c["text"] for c in linked if variety.shape_of(c["text"]) == shape]
    plain = [t for t in same if not variety.post_words(t) & variety.generic_words(evidence.stats.arxiv)]
    assert report["how"] == "curator"
    assert report["would_post"] == (plain or same)[0]
    # The report says where the pick ranks, and through which words its halves link.
    texts = [c["text"] for c in report["top"]]
    assert report["rank"] == {"rank": texts.index(report["would_post"]) + 1, "of": report["passed"],
                              "linked_rank": [c["text"] for c in linked].index(report["would_post"]) + 1,
                              "linked_of": sum(c["features"]["link"] >= LINK_MIN for c in report["top"])}
    assert report["shape"] == shape
    song_word, paper_word = report["link"]
    assert song_word in report["would_post"].lower() and paper_word in report["would_post"].lower()
    assert _bot("--dry-run", "--seed", "4", "--pool-size", "150", "--json").stdout.count(report["would_post"]) >= 1


def test_dry_run_with_a_damaged_model_says_what_is_wrong(tmp_path, shipped_model_dir):
    broken = tmp_path / "model"
    shutil.copytree(shipped_model_dir, broken)
    (broken / "mashup_novelty.npz").write_bytes(b"not a zip")
    done = _bot("--dry-run", "--model-dir", str(broken))
    assert done.returncode == 1
    assert done.stderr.startswith("bot: error: novelty index") and "bot derive" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("missing", ["mashup_curator.json", "mashup_seams.json", "mashup_halves.npz"])
def test_a_missing_required_evidence_file_is_one_line_naming_it(tmp_path, shipped_model_dir, missing):
    model = tmp_path / "model"
    shutil.copytree(shipped_model_dir, model)
    (model / missing).unlink()
    done = _bot("--dry-run", "--model-dir", str(model))
    assert done.returncode == 1 and missing in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_a_missing_optional_evidence_file_is_named_in_the_header(tmp_path, shipped_model_dir):
    model = tmp_path / "model"
    shutil.copytree(shipped_model_dir, model)
    (model / "mashup_vectors.npz").unlink()
    done = _bot("--dry-run", "--seed", "1", "--pool-size", "60", "--model-dir", str(model))
    assert done.returncode == 0, done.stderr
    assert "optional files missing: mashup_vectors.npz" in done.stdout.splitlines()[0]


@pytest.mark.parametrize("option", [["--posts", "3"], ["--json"], ["--show", "5"], ["--pool-size", "10"],
                                    ["--seed", "1"]])
def test_a_preview_option_without_dry_run_is_a_usage_error_and_posts_nothing(option, tmp_path):
    # A server that would accept posts: nothing may reach it (the worker must not start).
    done = subprocess.run([sys.executable, "-m", "bot", *option], capture_output=True, text=True, cwd=tmp_path,
                          timeout=120, env={**os.environ, "MASTODON_API_BASE_URL": "http://127.0.0.1:9",
                                            "MASTODON_ACCESS_TOKEN": "x"})
    assert done.returncode == 2, done.stderr
    assert "--dry-run" in done.stderr and option[0] in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "bot.sqlite3").exists()  # no worker started


def test_bad_option_values_are_refused_by_name():
    done = _bot("--dry-run", "--temperatures", "hot")
    assert done.returncode == 2 and "--temperatures" in done.stderr
