import json
import shutil
import subprocess
import sys

import pytest

from bot.curation import filters
from bot.curation.candidates import build_pool, screen
from bot.model.modelfile import ModelPaths, load_model
from bot.model.sampler import Sampler
from bot.curation.words import canonical
from bot.posting.settings import defaults

TEMPERATURES, POOL_SIZE = defaults().temperatures, defaults().pool_size  # the worker's


@pytest.fixture(scope="module")
def sampler(shipped_model_dir):
    return Sampler(load_model(ModelPaths.in_directory(shipped_model_dir)))


def test_pool_is_deterministic_for_a_seed(sampler, evidence):
    a = build_pool(sampler, evidence, size=120, temperatures=TEMPERATURES, seed=11)
    b = build_pool(sampler, evidence, size=120, temperatures=TEMPERATURES, seed=11)
    c = build_pool(sampler, evidence, size=120, temperatures=TEMPERATURES, seed=12)
    assert [(x.text, x.score) for x in a.candidates] == [(x.text, x.score) for x in b.candidates]
    assert [x.text for x in a.candidates] != [x.text for x in c.candidates]


def test_pool_is_unique_ranked_and_counts_every_rejection(sampler, evidence):
    pool = build_pool(sampler, evidence, size=200, temperatures=[0.9, 1.1], seed=3)
    assert pool.sampled == 200
    assert len({canonical(c.text) for c in pool.candidates}) == len(pool.candidates)
    assert sum(pool.rejections.values()) + len(pool.passing) == len(pool.candidates)
    scores = [c.score for c in pool.passing]
    assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)
    assert {c.temperature for c in pool.candidates} == {0.9, 1.1}


def test_posted_titles_are_not_offered_again(sampler, evidence):
    first = build_pool(sampler, evidence, size=150, temperatures=TEMPERATURES, seed=5).best
    again = build_pool(sampler, evidence, size=150, temperatures=TEMPERATURES, seed=5, posted=frozenset({canonical(first.text)}))
    assert again.best.text != first.text
    assert any(c.rejection == "already-posted" for c in again.candidates)


def test_screen_reports_the_first_failing_filter(evidence):
    assert screen("Love Me Down (Manis Edit)", 1.0, evidence).rejection == "not-mixed"
    assert screen("Love (feat. @bob) Networks", 1.0, evidence).rejection == "mention"
    assert screen("Love Networks", 1.0, evidence, max_chars=5).rejection == "too-long"


def test_fifty_seeds_each_would_post_a_new_mashup(sampler, evidence, training_titles):
    """The issue's acceptance check, against the raw corpora (not the shipped hashes)."""
    training = {canonical(t) for t in training_titles}
    for seed in range(50):
        best = build_pool(sampler, evidence, POOL_SIZE, TEMPERATURES, seed=seed).best
        assert best is not None, seed
        assert filters.mixedness(best.text, evidence.stats).passed, best.text
        assert canonical(best.text) not in training, best.text


def _bot(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_dry_run_json_reports_pool_and_choice(shipped_model_dir):
    done = _bot("--dry-run", "--seed", "4", "--pool-size", "150", "--show", "3", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["sampled"] == 150
    assert report["passed"] + sum(report["rejections"].values()) == report["unique"]
    assert len(report["top"]) == min(3, report["passed"])
    assert report["would_post"] == report["top"][0]["text"]
    assert _bot("--dry-run", "--seed", "4", "--pool-size", "150", "--json").stdout.count(report["would_post"]) >= 1


def test_dry_run_with_a_damaged_model_says_what_is_wrong(tmp_path, shipped_model_dir):
    broken = tmp_path / "model"
    shutil.copytree(shipped_model_dir, broken)
    (broken / "mashup_novelty.npz").write_bytes(b"not a zip")
    done = _bot("--dry-run", "--model-dir", str(broken))
    assert done.returncode == 1
    assert done.stderr.startswith("bot: error: novelty index") and "bot derive" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_bad_option_values_are_refused_by_name():
    done = _bot("--dry-run", "--temperatures", "hot")
    assert done.returncode == 2 and "--temperatures" in done.stderr
