"""Hard guards on what the shipped bot would post, over 50 consecutive posts of
`bot --dry-run --posts 50` (the worker's order: fresh pools, nothing posted twice, the variety rule).

These can fail, unlike a panel: whole halves (nothing cut mid-word, no dangling word), words joined
as real halves join them (no more unseen word runs than mashups.UNSEEN_RUNS), no invented word, no empty or doubled tag, no repeated word, at most 12 words, novel, and the variety limits of
issue 9 (no content word in more than 20% of the posts, no tag in more than 35%, no seam type in
more than half, mean pairwise content-word Jaccard under 0.02) and of issue 18 (no seam or shape
in more than 30% of the posts, no content word in more than 10%).
"""
import json
import subprocess
import sys

import pytest

from bot.curation import filters, seams, variety
from bot.curation.words import words

POSTS = 50


@pytest.fixture(scope="module")
def posts(shipped_model_dir):
    done = subprocess.run([sys.executable, "-m", "bot", "--dry-run", "--posts", str(POSTS), "--seed", "1", "--json",
                           "--model-dir", str(shipped_model_dir)], capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert len(report["posts"]) == POSTS and all(report["posts"]), "a slot had nothing to post"
    return [p["text"] for p in report["posts"]]


def test_every_post_is_two_whole_halves_at_one_seam(posts, evidence):
    for text in posts:
        parsed = seams.parse(text)
        assert parsed is not None, text
        _, song, paper = parsed
        for half in (song, paper):
            last = words(half)[-1]
            assert evidence.stats.known(last) or last.isdigit(), f"{text!r}: half ends on a fragment {last!r}"
            assert last not in filters.DANGLING, f"{text!r}: half ends on {last!r}"


def test_every_half_joins_its_words_as_real_halves_do(posts, evidence):
    from bot.curation.mashups import UNSEEN_RUNS

    assert evidence.halves is not None and evidence.halves.song_runs is not None, "the shipped index has no word runs"
    for text in posts:
        _, song, paper = seams.parse(text)
        for half, source in ((song, "song"), (paper, "arxiv")):
            for size, most in UNSEEN_RUNS[source].items():
                assert evidence.halves.unseen_runs(half, source, size) <= most, f"{text!r}: salad in {half!r}"


def test_no_invented_word_no_repeated_word_no_bad_tag_and_short(posts, evidence):
    for text in posts:
        verdict = filters.whole(text, evidence.stats)
        assert verdict.passed, f"{text!r}: {verdict.reason} ({verdict.detail})"
        assert len(words(text)) <= filters.MAX_WORDS


def test_posts_are_new_and_pass_every_filter(posts, evidence):
    assert len({p.casefold() for p in posts}) == POSTS
    for text in posts:
        for verdict in (filters.novelty(text, evidence.novelty), filters.safety(text),
                        filters.form(text, evidence.stats), filters.mixedness(text, evidence.stats)):
            assert verdict.passed, f"{text!r}: {verdict.reason}"


def test_fifty_posts_keep_the_variety_limits(posts):
    r = variety.report(posts)
    assert r.top_word[1] <= 0.20, r.top_word
    assert r.top_tag[1] <= 0.35, r.top_tag
    assert r.top_seam_type[1] <= 0.50, r.top_seam_type
    assert r.mean_jaccard < 0.02, r.mean_jaccard


def test_fifty_posts_repeat_no_formula(posts):
    """Issue 18: readers mark down one formula repeated ("Song (Generic Term Mix)")."""
    r = variety.report(posts)
    assert r.top_seam[1] <= 0.30, r.top_seam
    assert r.top_shape[1] <= 0.30, r.top_shape
    assert r.top_word[1] <= 0.10, r.top_word
