"""deploy/songs-x-arxiv-bot.service: the unit and the setup steps written above it agree (user,
paths, .env, `bot check` as the service's user), it restarts on failure and not after a clean
stop, and systemd itself accepts it (systemd-analyze verify)."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parent.parent / "deploy" / "songs-x-arxiv-bot.service"


def parse(text: str) -> tuple[dict[str, dict[str, str]], list[str]]:
    """({section: {key: value}}, the setup commands in the leading comment)."""
    sections, current, setup = {}, None, []
    for line in text.splitlines():
        if current is None and line.startswith("#   "):
            setup.append(line[4:].split("  #")[0].strip())
        elif line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
        elif current is not None and "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            assert key not in current, f"{key} set twice"
            current[key] = value
    return sections, setup


SECTIONS, SETUP = parse(UNIT.read_text(encoding="utf8"))
SERVICE = SECTIONS["Service"]


def test_the_worker_restarts_after_a_failure_but_not_after_a_clean_stop():
    assert SERVICE["Restart"] == "on-failure"
    assert int(SERVICE["RestartSec"]) >= 5  # no tight loop against a server that is down
    assert int(SERVICE["TimeoutStopSec"]) >= 60  # the job in hand finishes after SIGTERM
    assert SECTIONS["Install"]["WantedBy"] == "multi-user.target"


def test_the_setup_steps_make_what_the_unit_uses():
    user, workdir, executable = SERVICE["User"], SERVICE["WorkingDirectory"], SERVICE["ExecStart"]
    assert user not in ("root", "0") and SERVICE["Group"] == user
    assert workdir == f"/var/lib/{SERVICE['StateDirectory']}"  # systemd gives the directory to the user
    steps = "\n".join(SETUP)
    assert "apt install python3-venv" in steps
    assert re.search(rf"useradd --system .* {user}$", steps, re.MULTILINE)
    venv = executable.removesuffix("/bin/bot")
    assert f"python3 -m venv {venv}" in steps and f"{venv}/bin/pip install ." in steps
    assert f"install -d -o {user} -g {user} -m 0700 {workdir}" in steps
    assert f"install -o {user} -g {user} -m 0600 .env {workdir}/.env" in steps  # read from the working directory
    # The check runs as the worker will: its user, its directory, its .env.
    assert f"sudo -u {user} sh -c 'cd {workdir} && {executable} check'" in steps
    assert f"cp deploy/{UNIT.name} /etc/systemd/system/" in steps
    assert f"systemctl enable --now {UNIT.stem}" in steps


def test_systemd_accepts_the_unit(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not installed (Debian package systemd)")
    # The executable does not exist on this machine: verify checks that it does.
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text(encoding="utf8").replace(SERVICE["ExecStart"], "/bin/true"), encoding="utf8")
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr
