"""Real TensorFlow training on small slices of the real corpora."""
import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from bot.errors import CorpusError, TrainingError
from bot.model.modelfile import ModelPaths, load_model
from bot.model.sampler import Halves, Sampler
from bot.training.train import TrainOptions, train


def _options(corpora, tmp_path, **overrides) -> TrainOptions:
    settings = dict(song_titles=corpora["song"], arxiv_titles=corpora["arxiv"], output_dir=tmp_path / "out",
                    checkpoint_dir=tmp_path / "ck", epochs=1, limit=150, batch_size=32,
                    sample_temperatures=(1.0,))
    settings.update(overrides)
    return TrainOptions(**settings)


def test_training_from_scratch_lowers_the_loss_and_writes_a_loadable_model(corpora, tmp_path):
    options = _options(corpora, tmp_path, from_scratch=True, rnn_size=32, rnn_layers=1,
                       dim_embeddings=16, epochs=3, limit=300)
    result = train(options, report=lambda line: None, command="bot train --test")
    assert result.losses[2] < result.losses[0]
    model = load_model(ModelPaths.in_directory(options.output_dir))
    assert model.semantics == "incremental" and model.config["rnn_size"] == 32
    record = model.config["training"]
    assert record["data"]["song_titles.txt"] == hashlib.sha256(corpora["song"].read_bytes()).hexdigest()
    assert record["final_loss"] == pytest.approx(result.losses[-1])
    card = (options.output_dir / "MODEL.md").read_text()
    assert "bot train --test" in card and record["data"]["arxiv_titles.txt"] in card
    assert all(sample in card for sample in result.samples)
    written = Sampler(model).sample_halves([Halves("arxiv", 5, 50)], [1.0], np.random.default_rng(0))
    assert [len(h) for h in written] == [5]


def test_validation_halves_are_held_out_and_measured_every_epoch(corpora, tmp_path):
    from bot.training.train import prepare_examples

    options = _options(corpora, tmp_path, epochs=2, limit=400, validation_share=0.05, from_scratch=True,
                       rnn_size=32, rnn_layers=1, dim_embeddings=16)
    trained, held_out = prepare_examples(options, alphabet=None)
    assert held_out and not {e.title for e in held_out} & {e.title for e in trained}
    assert {e.source for e in held_out} == {"song", "arxiv"}
    again, held_out_again = prepare_examples(options, alphabet=None)
    assert held_out_again == held_out  # fixed by the seed
    other = prepare_examples(dataclasses.replace(options, seed=1), alphabet=None)[1]
    assert {e.title for e in other} != {e.title for e in held_out}

    result = train(options, report=lambda line: None)
    assert len(result.validation_losses) == 2 and all(v > 0 for v in result.validation_losses)
    assert result.validation_losses != result.losses
    checkpoint = load_model(ModelPaths.in_directory(options.checkpoint_dir / "epoch_1"))
    assert [h["epoch"] for h in checkpoint.config["training"]["curve"]] == [1]
    card = (options.output_dir / "MODEL.md").read_text()
    assert f"| 2 | {result.losses[1]:.4f} | {result.validation_losses[1]:.4f} |" in card


def test_no_validation_share_holds_nothing_out(corpora, tmp_path):
    from bot.training.train import prepare_examples

    trained, held_out = prepare_examples(_options(corpora, tmp_path, validation_share=0.0), alphabet=None)
    assert held_out == [] and trained


def test_interrupted_run_resumes_from_its_last_epoch(corpora, tmp_path):
    options = _options(corpora, tmp_path, epochs=2)

    def stop_after_first_epoch(line):
        if line.strip().startswith("epoch 1/2"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(options, report=stop_after_first_epoch)
    assert not (options.output_dir / "mashup_config.json").exists()  # nothing half-written
    assert (options.checkpoint_dir / "epoch_1" / "mashup_weights.hdf5").exists()

    first = json.loads((options.checkpoint_dir / "history.json").read_text())
    assert [h["epoch"] for h in first] == [1]

    lines = []
    result = train(options, report=lines.append)
    epochs = [line.strip().split(":")[0] for line in lines if line.strip().startswith("epoch")]
    assert epochs == ["epoch 2/2"]
    assert len(result.losses) == 2 and result.losses[0] == first[0]["loss"]  # the whole curve, across the stop
    record = json.loads((options.output_dir / "mashup_config.json").read_text())["training"]
    assert record["epochs"] == 2 and [h["epoch"] for h in record["curve"]] == [1, 2]


def test_resuming_with_other_settings_is_refused(corpora, tmp_path):
    options = _options(corpora, tmp_path, epochs=1)
    (options.checkpoint_dir / "backup").mkdir(parents=True)  # an unfinished run
    (options.checkpoint_dir / "settings.json").write_text(json.dumps({"epochs": "7"}))
    with pytest.raises(TrainingError, match="unfinished run with other settings"):
        train(options, report=lambda line: None)


def test_pretrained_start_needs_the_pretrained_size(corpora, tmp_path):
    with pytest.raises(TrainingError, match="--from-scratch"):
        train(_options(corpora, tmp_path, rnn_size=64), report=lambda line: None)


def test_empty_corpus_stops_before_training(corpora, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n")
    with pytest.raises(CorpusError, match="song corpus has no usable titles"):
        train(_options(corpora, tmp_path, song_titles=empty), report=lambda line: None)


def test_a_finished_run_does_not_bind_its_checkpoints(tmp_path):
    from bot.training.train import _check_resume

    directory = tmp_path / "ck"
    directory.mkdir()
    (directory / "settings.json").write_text(json.dumps({"epochs": "7"}))  # finished: no backup left
    _check_resume(directory, {"epochs": "2"})
    assert json.loads((directory / "settings.json").read_text()) == {"epochs": "2"}


def test_training_does_not_overwrite_the_shipped_model_by_default():
    assert TrainOptions().output_dir != Path("model_weights")


def test_a_validation_share_of_half_or_more_is_refused(corpora, tmp_path):
    with pytest.raises(TrainingError, match="--validation-share must be from 0 up to"):
        train(_options(corpora, tmp_path, validation_share=0.5), report=lambda line: None)
