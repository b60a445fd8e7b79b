"""Every mistake a newcomer can make on the command line, in the settings or in a model directory
is one line on stderr (`bot: error: ...`), with no traceback."""
import json
import shutil
import sys

import pytest

from bot import cli
from bot.posting import settings


@pytest.fixture(autouse=True)
def clean_env(tmp_path, monkeypatch):
    """No .env, no settings from the caller's environment."""
    monkeypatch.chdir(tmp_path)
    for s in settings.SETTINGS:
        monkeypatch.delenv(s.name, raising=False)


def one_line(capsys, argv, code=1) -> str:
    try:
        returned = cli.main(argv)
    except SystemExit as e:
        returned = e.code
    err = capsys.readouterr().err
    assert returned == code, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err.strip()


@pytest.fixture
def model_copy(tmp_path, shipped_model_dir):
    target = tmp_path / "model"
    shutil.copytree(shipped_model_dir, target)
    return target


def edit_config(model_dir, **changes):
    path = model_dir / "mashup_config.json"
    config = json.loads(path.read_text())
    for key, value in changes.items():
        if value is None:
            config.pop(key)
        else:
            config[key] = value
    path.write_text(json.dumps(config))
    return path


def test_negative_seed(capsys):
    assert one_line(capsys, ["--dry-run", "--seed", "-1"], 2) == \
        "bot: error: argument --seed: must be at least 0, not -1 (see bot --help)"
    assert one_line(capsys, ["evaluate", "--seed", "-1"], 2) == \
        "bot evaluate: error: argument --seed: must be at least 0, not -1 (see bot evaluate --help)"


@pytest.mark.parametrize("text", ["nan", "inf", "100", "0"])
def test_unusable_temperatures(capsys, text):
    assert one_line(capsys, ["--dry-run", "--temperatures", text], 2) == (
        f"bot: error: argument --temperatures: {text!r} must be numbers above 0 and at most 3, separated by "
        "commas, e.g. 0.5,0.7,0.9 (see bot --help)")


def test_unusable_temperatures_setting(capsys, monkeypatch):
    monkeypatch.setenv("TEMPERATURES", "nan")
    assert one_line(capsys, ["--dry-run"]) == (
        "bot: error: TEMPERATURES='nan' must be numbers above 0 and at most 3, separated by commas, e.g. 0.5,0.7,0.9")


def test_jitter_longer_than_the_interval(capsys, monkeypatch):
    monkeypatch.setenv("POST_JITTER", "7h")
    assert one_line(capsys, ["--dry-run"]).startswith(
        "bot: error: POST_JITTER (25200 s) must be shorter than POST_INTERVAL (21600 s)")


def test_a_retired_evaluate_option_is_a_usage_error(capsys):
    assert one_line(capsys, ["evaluate", "--switch-probability", "0.5"], 2).startswith(
        "bot: error: unrecognized arguments: --switch-probability")


def test_truncated_novelty_index(capsys, model_copy):
    path = model_copy / "mashup_novelty.npz"
    path.write_bytes(path.read_bytes()[:5000])
    assert one_line(capsys, ["--dry-run", "--model-dir", str(model_copy)]) == (
        f"bot: error: novelty index {path} is unreadable (File is not a zip file); rebuild it with `bot derive`")


@pytest.mark.parametrize("key, value", [("rnn_size", "abc"), ("max_length", -3), ("rnn_layers", 0)])
def test_config_numbers_that_are_not_sizes(capsys, model_copy, key, value):
    path = edit_config(model_copy, **{key: value})
    assert one_line(capsys, ["--dry-run", "--model-dir", str(model_copy)]) == (
        f"bot: error: config file {path}: {key} must be a whole number of at least 1, not {value!r}")


def test_config_without_sources_does_not_fall_back_silently(capsys, model_copy):
    path = edit_config(model_copy, sources=None)
    assert one_line(capsys, ["--dry-run", "--model-dir", str(model_copy)]) == (
        f"bot: error: config file {path}: a halves model needs 'sources' (its corpus tokens, e.g. "
        '{"song": "<song>", "arxiv": "<arxiv>"}); restore it from the trained model')


def test_config_without_semantics_does_not_fall_back_silently(capsys, model_copy):
    path = edit_config(model_copy, semantics=None)
    assert one_line(capsys, ["--dry-run", "--model-dir", str(model_copy)]) == (
        f"bot: error: config file {path}: a halves model needs 'semantics': 'incremental' (models trained by "
        "`bot train` are); restore it from the trained model")


def test_plot_without_matplotlib_is_said_before_sampling(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed
    assert one_line(capsys, ["evaluate", "--plot", str(tmp_path / "out.png")]) == (
        "bot: error: --plot needs matplotlib, which the worker does not install: pip install -e '.[plot]' "
        "(or pip install matplotlib)")


def test_preview_options_without_dry_run_say_so_in_one_line(capsys):
    assert "--posts only applies to a preview: add --dry-run" in one_line(capsys, ["--posts", "2"], 2)
    assert "--posts, --json only apply to a preview" in one_line(capsys, ["--posts", "2", "--json"], 2)
    assert "--pool-size: must be at most 20000" in one_line(capsys, ["--dry-run", "--pool-size", "100000000"], 2)


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == "bot 0.1.0"


def test_a_missing_state_directory_is_named_not_created(capsys, monkeypatch, mastodon_server, tmp_path):
    from fake_mastodon import TOKEN

    target = tmp_path / "not" / "yet" / "state.sqlite3"
    monkeypatch.setenv("MASTODON_API_BASE_URL", mastodon_server.url)
    monkeypatch.setenv("MASTODON_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{target}")
    for command in (["check"], ["health"], []):  # [] is the worker
        assert cli.main(command) == 1
        assert capsys.readouterr().err == (f"bot: error: DATABASE_URL=sqlite:///{target} is the file {target}, and "
                                           f"its directory {target.parent} does not exist (create it; the bot does not)\n")
    assert not (tmp_path / "not").exists()


def test_a_relative_sqlite_url_is_resolved_and_the_four_slash_form_suggested(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "sqlite:///var/lib/bot/state.sqlite3")
    assert cli.main(["health"]) == 1
    assert capsys.readouterr().err == (
        f"bot: error: DATABASE_URL=sqlite:///var/lib/bot/state.sqlite3 is the file {tmp_path}/var/lib/bot/state.sqlite3, "
        f"and its directory {tmp_path}/var/lib/bot does not exist (create it; the bot does not); a path after three "
        "slashes is relative to the working directory: for /var/lib/bot/state.sqlite3 write "
        "sqlite:////var/lib/bot/state.sqlite3\n")


def test_unreachable_server_is_one_line_with_a_hint(capsys, monkeypatch):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("MASTODON_API_BASE_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("MASTODON_ACCESS_TOKEN", "x")
    assert one_line(capsys, ["check"]) == (
        f"bot: error: verify credentials: cannot reach 127.0.0.1:{port} (connection refused); "
        "check MASTODON_API_BASE_URL and the network")


def test_a_short_token_does_not_mangle_the_log(monkeypatch):
    import logging

    record = logging.LogRecord("bot", logging.WARNING, __file__, 1, "Max retries for %s", ("x",), None)
    assert cli._Redact("x").filter(record) and record.getMessage() == "Max retries for [token]"


TRAIN_PROBE = """
import sys
from bot import cli
code = cli.main(sys.argv[1:])
print("tensorflow" in sys.modules, "keras" in sys.modules)
sys.exit(code)
"""


@pytest.mark.parametrize("args, message", [
    (["--song-titles", "nowhere/songs.txt"],
     "bot: error: corpus file nowhere/songs.txt is missing; pass its path (see bot train --help)"),
    (["--dropout", "2"], "bot: error: --dropout must be from 0 up to (not including) 1, not 2"),
])
def test_train_mistakes_are_reported_before_tensorflow_starts(tmp_path, args, message, corpora):
    import subprocess

    corpus_args = ["--song-titles", str(corpora["song"]), "--arxiv-titles", str(corpora["arxiv"])]
    done = subprocess.run([sys.executable, "-c", TRAIN_PROBE, "train", *corpus_args, *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and done.stderr.strip() == message, done.stderr
    assert done.stdout.split() == ["False", "False"]  # TensorFlow never imported
