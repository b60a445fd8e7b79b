"""The numpy sampler against the networks it reimplements.

textgenrnn mode: against textgenrnn's own code (the shared reference oracle) on its pretrained
weights. Incremental mode: against this project's Keras training network.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from bot.model.sampler import Sampler

PREFIXES = [
    "", "D", "Deep", "Love Me", "Love Me Down (", "Strong (feat. ", "Learning Theory",
    "A Neural", "Attention Is All", "I", "The ", "Don't Stop", "Gradient", "Café del Mar",
    "Convolutional Neural Networks for Sentence Classification",
    "Learning to Learn by Gradient Descent by Gradient Descent",
    "Generative Adversarial Networks (feat. Someone Who Sings Loudly)",
    "Deep Residual Learning for Image Recognition and Also Some Songs",
    "Silver Lining (Alex Garett & Greg Herma Edit) - Remix of a Remix",
    "xqzj unknown ✓ characters ☃", "[PS4] [H] ", "Why does", "1999", "Ω",
]


@pytest.fixture(scope="module")
def reference_probs(reference_script, tmp_path_factory):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    # In a temporary working directory: textgenrnn writes its weights file into the current one.
    done = subprocess.run([sys.executable, str(reference_script), "probs", *PREFIXES],
                          capture_output=True, text=True, env=env, timeout=600,
                          cwd=tmp_path_factory.mktemp("reference"))
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_reference_covers_prefixes_longer_than_the_window(reference_probs):
    assert sum(len(p) + 1 > reference_probs["max_length"] for p in PREFIXES) >= 5
    assert len(reference_probs["results"]) >= 20


def test_textgenrnn_mode_matches_textgenrnn_probabilities(pretrained, reference_probs):
    assert {k: v for k, v in pretrained.vocab.items()} == reference_probs["vocab"]
    sampler = Sampler(pretrained)
    worst = 0.0
    for result in reference_probs["results"]:
        ours = sampler.next_probabilities(result["prefix"])
        theirs = np.array(result["probs"])
        assert ours.shape == theirs.shape
        worst = max(worst, float(np.abs(ours - theirs).max()))
    assert worst < 1e-5


@pytest.fixture(scope="module")
def keras_net(pretrained):
    from bot.training import keras_model

    config = dict(pretrained.config, semantics="incremental", max_length=12)
    net = keras_model.build(pretrained.num_classes, config)
    keras_model.set_weights(net, pretrained)
    return net, keras_model.to_char_model(net, config, pretrained.vocab)


def test_incremental_mode_matches_the_keras_training_network(keras_net):
    from bot.training import keras_model

    net, model = keras_net
    sampler = Sampler(model)
    for title in PREFIXES[-8:]:  # all longer than the 12-character window, some much longer
        tokens = np.array([[model.vocab["<s>"]] + model.encode(title)])
        expected = keras_model.next_probabilities(net, tokens)[0]
        for k in sorted({0, 5, 11, 12, 13, len(title) // 2, len(title)}):
            if k <= len(title):
                np.testing.assert_allclose(sampler.next_probabilities(title[:k]), expected[k], atol=1e-5)


def test_incremental_window_changes_predictions(keras_net):
    """Attention really is limited to the window: a longer history than it sees differs."""
    _, model = keras_net
    wide = Sampler(type(model)(dict(model.config, max_length=200), model.vocab, model.embedding,
                               model.lstms, model.attention, model.output_kernel, model.output_bias))
    prefix = PREFIXES[-5]
    assert np.abs(Sampler(model).next_probabilities(prefix) - wide.next_probabilities(prefix)).max() > 1e-4
