"""Halves from a prefix with the shipped model (a reply's request word): the prefix never glues
to the next word, and word rewriting stays on, whatever the prefix ends with."""
import re

import numpy as np
import pytest

from bot.curation.wordcheck import WordCheck
from bot.curation.words import words
from bot.model.sampler import Halves


@pytest.fixture(scope="module")
def check(evidence):
    return WordCheck(evidence.stats)


def _halves(runtime, prefix, seed, check=None, count=30, max_chars=90):
    wanted = [Halves(source, count, max_chars, prefix) for source in ("song", "arxiv")]
    written = runtime.sampler.sample_halves(wanted, [0.7], np.random.default_rng(seed), check)
    return [(text, source) for half, source in zip(written, ("song", "arxiv")) for text, _ in half]


@pytest.mark.parametrize("prefix", ["Deep", "Attention Is", "Transformer ", "Love Me ", "Neural"])
def test_a_prefix_never_glues_and_sampled_words_are_rewritten(runtime, check, prefix):
    halves = _halves(runtime, prefix, 11, check)
    head = prefix.rstrip(" ")
    assert all(t.startswith(head) for t, _ in halves)
    assert "  " not in "".join(t for t, _ in halves)
    last = head.split(" ")[-1]
    # Glued: the prefix's last word runs into a bracket or a capitalised next word ("DeepIn",
    # "IsTime"), unless the word so made is one the corpus uses (a method name: "DeepCoder").
    def glued(text, source):
        m = re.match(re.escape(head) + r"([A-Z(])", text)
        return m is not None and (m.group(1) == "(" or not check(text.split(" ")[head.count(" ")], source))
    assert not [t for t, source in halves if glued(t, source)]
    if prefix.endswith(" "):
        assert all(t == head or t[len(head)] == " " for t, _ in halves)
    # Rewriting is on: the words written after the prefix (its last word with what continues it)
    # are their corpus' far more often than without the check (a word may stay invented only after
    # its retries run out; a half cut at the limit ends in a cut word).
    invented, found = _invented(halves, head, prefix, last, check)
    unchecked, total = _invented(_halves(runtime, prefix, 11), head, prefix, last, check)
    assert len(invented) / len(found) <= min(0.15, 0.5 * len(unchecked) / len(total)), (invented, len(unchecked))


def _invented(halves, head, prefix, last, check):
    """(the invented words, every word) written after the prefix."""
    found = []
    for t, source in halves:
        rest = t[len(head):]
        written = words(rest)[: None if len(t) <= 90 else -1]
        if not prefix.endswith(" ") and rest[:1] not in ("", " ") and written:
            written = [last.lower() + written[0]] + written[1:]
        found += [(w, source) for w in written]
    return [w for w, source in found if not check(w, source)], found


def test_without_a_check_a_prefix_still_does_not_glue(runtime):
    halves = _halves(runtime, "Deep", 5, count=20)
    # A prefix ending mid-word may still be continued as one word, and arXiv names do run on in
    # capitals ("DeepLab"): a few such are fine.
    glued = [t for t, _ in halves if re.match(r"Deep[A-Z(]", t)]
    assert len(glued) <= 0.1 * len(halves), glued
