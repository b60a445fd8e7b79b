"""`bot train`'s options are declared once (bot/training/options.py) and reach training as given."""
from pathlib import Path

import pytest

from bot import cli
from bot.training.options import TrainOptions


def test_no_flags_means_the_declared_defaults():
    assert cli.train_options(cli.parser().parse_args(["train"])) == TrainOptions()


def test_flags_reach_the_options():
    args = cli.parser().parse_args(["train", "--epochs", "5", "--from-scratch", "--sample-temperatures", "0.3,0.4",
                                    "--limit", "7", "--validation-share", "0.1", "--output-dir", "elsewhere"])
    options = cli.train_options(args)
    assert (options.epochs, options.from_scratch, options.sample_temperatures, options.limit) == (5, True, (0.3, 0.4), 7)
    assert (options.validation_share, options.output_dir) == (0.1, Path("elsewhere"))
    assert options.learning_rate == TrainOptions().learning_rate


def test_help_shows_every_option_with_its_default(capsys):
    with pytest.raises(SystemExit):
        cli.parser().parse_args(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--validation-share VALIDATION_SHARE share of the unique song halves and paper phrases held out" in text
    assert "(default: 0.02)" in text
    assert "--from-scratch" in text and "(default: trained_model)" in text and "(default: [0.5, 0.8, 1.0])" in text
    assert "--learning-rate LEARNING_RATE first learning rate" in text and "(default: 0.004)" in text
    assert "--init-from INIT_FROM start from this model directory's weights" in text


@pytest.mark.parametrize("flag, value", [("--epochs", "0"), ("--rnn-size", "0"), ("--limit", "x")])
def test_bad_values_are_refused_by_the_parser(flag, value):
    with pytest.raises(SystemExit):
        cli.parser().parse_args(["train", flag, value])


@pytest.mark.parametrize("flag", ["--strategy", "--switch-probability", "--splice-share", "--word-retries"])
def test_retired_strategy_options_are_gone(flag):
    with pytest.raises(SystemExit):
        cli.parser().parse_args(["train", flag, "1"])
