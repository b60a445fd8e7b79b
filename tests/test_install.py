"""The shipped model travels with the package: a built wheel installed into a fresh virtual
environment runs `bot --dry-run` from an unrelated directory, as pip install ., pipx and Heroku's
requirements.txt install it; an editable install finds it from anywhere too."""
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DRY_RUN = ["--dry-run", "--seed", "4", "--pool-size", "60", "--json"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the package's sources (the build writes build/ and *.egg-info
    beside them), with this environment's setuptools: no network needed."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for name in ("bot", "model_weights"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                           "--quiet", "-w", str(out), str(source)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    (built,) = out.glob("*.whl")
    return built


def test_the_wheel_holds_the_whole_shipped_model_inside_the_package(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {p.name for p in (ROOT / "model_weights").iterdir() if p.is_file()}
    assert {n.removeprefix("bot/shipped_model/") for n in names if n.startswith("bot/shipped_model/")} == shipped
    assert not [n for n in names if n.split("/")[0] not in ("bot",) and ".dist-info/" not in n]  # nothing else on top


def _dry_run(bot: list[str], cwd: Path, env: dict[str, str]) -> dict:
    done = subprocess.run([*bot, *DRY_RUN], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_a_wheel_in_a_fresh_venv_posts_from_another_directory(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    fresh = Path(subprocess.run([venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                capture_output=True, text=True, check=True).stdout.strip())
    # The runtime dependencies come from this environment (no download); its editable `bot` does
    # not: a directory named in a .pth file is searched, its own .pth files are not run.
    (fresh / "runtime-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf8")
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
                           "--no-deps", "--no-index", "--quiet", str(wheel)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)}  # nothing from this checkout
    installed = _dry_run([str(venv / "bin" / "bot")], elsewhere, env)
    assert Path(installed["model"]).is_relative_to(fresh / "bot" / "shipped_model"), installed["model"]
    assert installed["passed"] >= 1 and installed["would_post"].strip()

    # The same model as the checkout's: the same seed chooses the same post.
    assert installed["would_post"] == _from_the_checkout(tmp_path)["would_post"]


def _from_the_checkout(tmp_path: Path) -> dict:
    """This environment's (editable) bot, run from an empty directory with no settings."""
    elsewhere = tmp_path / "checkout-elsewhere"
    elsewhere.mkdir()
    return _dry_run([sys.executable, "-m", "bot"], elsewhere, {"PATH": os.environ["PATH"], "HOME": str(tmp_path)})


def test_an_editable_install_finds_the_model_from_another_directory(tmp_path):
    assert Path(_from_the_checkout(tmp_path)["model"]).parent == ROOT / "model_weights"
