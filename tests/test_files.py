"""bot/files.py: a file is replaced whole or not at all."""
import os
import stat

import pytest

from bot.files import atomic_write, atomic_write_text


def test_a_file_is_replaced_whole_with_the_mode_asked_for(tmp_path):
    path = tmp_path / "secret.env"
    path.write_text("OLD=1\n")
    atomic_write_text(path, "NEW=2\n", mode=0o600)
    assert path.read_text() == "NEW=2\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert os.listdir(tmp_path) == ["secret.env"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(tmp_path):
    path = tmp_path / "model_config.json"
    path.write_text("{}")

    def fails(tmp):
        with open(tmp, "w") as f:
            f.write("{half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, fails)
    assert path.read_text() == "{}" and os.listdir(tmp_path) == ["model_config.json"]


def test_two_writers_never_share_a_temporary_name(tmp_path):
    path = tmp_path / "stats.json"
    seen = []
    atomic_write(path, lambda tmp: (seen.append(tmp), atomic_write_text(path, "inner")))
    atomic_write(path, lambda tmp: seen.append(tmp) or open(tmp, "w").write("outer"))
    assert len(set(seen)) == 2 and path.read_text() == "outer"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
