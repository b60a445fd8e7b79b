import json
import shutil

import numpy as np
import pytest

from bot.errors import ModelFileError
from bot.model.modelfile import ModelPaths, load_model, save_model


def _edit_json(path, **changes):
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


@pytest.fixture
def saved(tmp_path, pretrained):
    paths = save_model(pretrained, tmp_path, "copy")
    return paths


def test_pretrained_weights_load_with_cudnn_biases_folded(pretrained):
    assert pretrained.embedding.shape == (465, 100)
    assert len(pretrained.lstms) == 2
    assert all(l.bias.shape == (512,) for l in pretrained.lstms)
    assert pretrained.output_kernel.shape == (356, 465)


def test_saved_model_reads_back_identical(saved, pretrained):
    again = load_model(saved)
    assert again.vocab == pretrained.vocab
    assert again.config == pretrained.config
    np.testing.assert_array_equal(again.embedding, pretrained.embedding)
    for a, b in zip(again.lstms, pretrained.lstms):
        np.testing.assert_array_equal(a.kernel, b.kernel)
        np.testing.assert_array_equal(a.recurrent, b.recurrent)
        np.testing.assert_array_equal(a.bias, b.bias)
    np.testing.assert_array_equal(again.attention, pretrained.attention)


def test_a_float16_model_is_half_the_file_and_reads_back_rounded(saved, pretrained, tmp_path):
    half = save_model(pretrained, tmp_path / "half", "copy", precision="float16")
    assert half.weights.stat().st_size < 0.6 * saved.weights.stat().st_size
    again = load_model(half)
    assert again.embedding.dtype == np.float32
    np.testing.assert_array_equal(again.embedding, pretrained.embedding.astype(np.float16).astype(np.float32))
    for a, b in zip(again.lstms, pretrained.lstms):
        np.testing.assert_array_equal(a.kernel, b.kernel.astype(np.float16).astype(np.float32))
    assert again.config == pretrained.config and again.vocab == pretrained.vocab
    with pytest.raises(ValueError, match="precision must be one of float32, float16, compact"):
        save_model(pretrained, tmp_path / "x", "copy", precision="int8")


def test_a_compact_model_is_a_smaller_float16_file_within_its_rounding(pretrained, tmp_path):
    import h5py

    half = save_model(pretrained, tmp_path / "half", "copy", precision="float16")
    compact = save_model(pretrained, tmp_path / "compact", "copy", precision="compact")
    assert compact.weights.stat().st_size < 0.85 * half.weights.stat().st_size
    with h5py.File(compact.weights) as f:  # a plain float16 HDF5 file, gzip as any reader decodes it
        data = f["embedding/embedding/embeddings:0"]
        assert data.dtype == np.float16 and data.compression == "gzip"
    again, exact = load_model(compact), load_model(half)
    for got, want in [(again.embedding, exact.embedding), (again.output_kernel, exact.output_kernel),
                      *[(a.recurrent, b.recurrent) for a, b in zip(again.lstms, exact.lstms)]]:
        assert got.dtype == np.float32
        # 6 of float16's 10 mantissa bits kept: half a step of 2**-6 relative (of 2**-20 below 2**-14)
        assert np.all(np.abs(got - want) <= np.abs(want) * 2.0 ** -7 + 2.0 ** -21)
        assert not np.array_equal(got, want)  # rounded, not copied
    assert again.config == pretrained.config and again.vocab == pretrained.vocab


def test_model_directory_is_found_by_its_config(saved, tmp_path):
    assert ModelPaths.in_directory(tmp_path).weights == saved.weights


def test_missing_weights_file_is_named(saved):
    saved.weights.unlink()
    with pytest.raises(ModelFileError, match=r"weights file .*copy_weights.hdf5 is missing"):
        load_model(saved)


def test_truncated_weights_file_is_reported(saved):
    data = saved.weights.read_bytes()
    saved.weights.write_bytes(data[: len(data) // 3])
    with pytest.raises(ModelFileError, match=r"copy_weights.hdf5"):
        load_model(saved)


def test_vocab_size_that_disagrees_with_embedding_names_both_files(saved):
    _edit_json(saved.vocab, **{"\u2603": 465})
    with pytest.raises(ModelFileError, match=r"embedding has 465 rows but vocab file .*has 465 tokens"):
        load_model(saved)


def test_config_that_disagrees_with_shapes_is_reported(saved):
    _edit_json(saved.config, rnn_size=64)
    with pytest.raises(ModelFileError, match=r"rnn_1 kernel .*shape \(100, 512\), expected \(100, 256\)"):
        load_model(saved)


def test_extra_layer_beyond_config_is_reported(saved):
    _edit_json(saved.config, rnn_layers=1)
    with pytest.raises(ModelFileError, match="more LSTM layers"):
        load_model(saved)


def test_vocab_that_is_not_json_is_reported(saved):
    saved.vocab.write_text("{not json")
    with pytest.raises(ModelFileError, match=r"vocab file .* is not valid JSON"):
        load_model(saved)


def test_vocab_with_holes_in_indices_is_reported(saved):
    vocab = json.loads(saved.vocab.read_text())
    vocab[next(iter(vocab))] = 9999
    saved.vocab.write_text(json.dumps(vocab))
    with pytest.raises(ModelFileError, match="indices must be the integers"):
        load_model(saved)


def test_directory_with_two_models_is_ambiguous(saved, tmp_path):
    shutil.copy(saved.config, tmp_path / "other_config.json")
    with pytest.raises(ModelFileError, match="exactly one"):
        ModelPaths.in_directory(tmp_path)


def test_save_leaves_no_temporary_files(saved, tmp_path):
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy_config.json", "copy_vocab.json",
                                                         "copy_weights.hdf5"]


@pytest.mark.parametrize("key, value, message", [
    ("rnn_size", "abc", "rnn_size must be a whole number of at least 1, not 'abc'"),
    ("max_length", -3, "max_length must be a whole number of at least 1, not -3"),
    ("rnn_bidirectional", "no", "rnn_bidirectional must be true or false, not 'no'"),
    ("halves", True, "a halves model needs 'sources' (its corpus tokens"),
    ("word_retries", -1, "word_retries must be a whole number of at least 0, not -1"),
    ("semantics", "sideways", "semantics must be one of textgenrnn, incremental"),
    ("sources", ["<song>"], "sources must map corpus names to tokens"),
])
def test_bad_config_values_are_one_line_naming_file_and_key(saved, key, value, message):
    _edit_json(saved.config, **{key: value})
    with pytest.raises(ModelFileError) as caught:
        load_model(saved)
    assert str(caught.value).startswith(f"config file {saved.config}: {message}")
    assert "\n" not in str(caught.value)


def test_config_is_typed_with_defaults_and_keeps_keys_it_does_not_know(saved, tmp_path):
    _edit_json(saved.config, some_textgenrnn_key=[1, 2], word_retries=1)
    model = load_model(saved)
    assert model.config.rnn_size == 128 and model.config.semantics == "textgenrnn"
    assert model.config.word_retries == 1 and not model.config.halves
    assert model.config.unknown == {"some_textgenrnn_key": [1, 2]} and model.config["some_textgenrnn_key"] == [1, 2]
    again = load_model(save_model(model, tmp_path / "again", "copy"))
    assert again.config == model.config
    assert json.loads((tmp_path / "again" / "copy_config.json").read_text())["some_textgenrnn_key"] == [1, 2]


def test_sources_tokens_missing_from_the_vocab_are_reported(saved):
    _edit_json(saved.config, sources={"song": "<song>", "arxiv": "<arxiv>"}, halves=True, semantics="incremental")
    with pytest.raises(ModelFileError, match=r"the sources' tokens <song>, <arxiv> are not in vocab file"):
        load_model(saved)


@pytest.mark.parametrize("changes, strategy", [
    ({"training": {"strategy": "plain"}}, "plain"),
    ({"sources": {"song": "<song>", "arxiv": "<arxiv>"}, "semantics": "incremental", "switch_probability": 0.5},
     "sources"),
])
def test_models_of_retired_strategies_name_the_release_that_samples_them(saved, changes, strategy):
    _edit_json(saved.config, **changes)
    with pytest.raises(ModelFileError) as caught:
        load_model(saved)
    message = str(caught.value)
    assert f"retired '{strategy}' strategy" in message and "songs-x-arxiv-bot 0.1.0 (commit 0334321)" in message
    assert message.startswith(f"config file {saved.config}") and "\n" not in message


def test_the_shipped_halves_model_and_textgenrnns_own_files_load(shipped_model_dir, saved):
    shipped = load_model(ModelPaths.in_directory(shipped_model_dir))
    assert shipped.config.halves and shipped.config.sources and shipped.config.word_retries == 3
    assert "switch_probability" in shipped.config.unknown  # a retired option, kept as written
    assert load_model(saved).config.training is None
