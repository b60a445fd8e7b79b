"""Sampling from a prefix with the shipped (source-conditioned) model: the prefix never glues to
the next word, and word rewriting stays on, whatever the prefix ends with."""
import re

import pytest

from bot.curation.candidates import word_check
from bot.curation.words import words
from bot.model.modelfile import ModelPaths, load_model
from bot.model.sampler import Sampler


@pytest.fixture(scope="module")
def sampler(shipped_model_dir):
    return Sampler(load_model(ModelPaths.in_directory(shipped_model_dir)))


@pytest.fixture(scope="module")
def check(sampler, evidence):
    return word_check(sampler, evidence)


def _known(check, word):
    return check(word, "song") or check(word, "arxiv")


@pytest.mark.parametrize("prefix", ["Deep", "Attention Is", "Transformer ", "Love Me ", "Neural"])
def test_a_prefix_never_glues_and_sampled_words_are_rewritten(sampler, check, prefix):
    titles = sampler.generate(60, temperature=0.7, prefix=prefix, seed=11, max_gen_length=90, word_check=check)
    head = prefix.rstrip(" ")
    assert all(t.startswith(head) for t in titles)
    assert "  " not in "".join(titles)
    last = head.split(" ")[-1]
    # Glued: the prefix's last word runs into a capitalised next word ("DeepIn", "IsTime").
    glued = [t for t in titles if re.match(re.escape(head) + r"[A-Z(]", t)]
    assert not glued
    if prefix.endswith(" "):
        assert all(t == head or t[len(head)] == " " for t in titles)
    # Rewriting is on: the words sampled after the prefix are the corpora's (a word may stay
    # invented only after its retries run out).
    # (a title cut by max_gen_length ends in a cut word: that one is left out)
    sampled = [w for t in titles for w in words(t[len(head):])[: None if len(t) < 85 else -1]]
    first_words = [words(t)[len(words(head)) - 1] for t in titles]  # the prefix's last word, maybe continued
    invented = [w for w in sampled + [w for w in first_words if w != last.lower()] if not _known(check, w)]
    assert len(invented) <= 0.05 * len(sampled), invented  # no prefix: 2.4%; without rewriting: 16%


def test_without_a_check_a_prefix_still_does_not_glue(sampler):
    titles = sampler.generate(40, temperature=0.7, prefix="Deep", seed=5, max_gen_length=80)
    # Glued, every title used to be ("DeepIn ..."). A prefix ending mid-word may still be continued
    # as one word, and arXiv names do run on in capitals ("DeepLab"): a few such are fine.
    glued = [t for t in titles if re.match(r"Deep[A-Z(]", t)]
    assert len(glued) <= 0.1 * len(titles), glued
