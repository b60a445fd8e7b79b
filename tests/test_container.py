"""The container files, checked as far as a machine with no container engine allows: the Dockerfile
read instruction by instruction (slim base, unprivileged user, no training stack, state on a volume,
a health check), its build context as .dockerignore leaves it, its build steps run in a virtual
environment and its CMD and HEALTHCHECK run there against a local server; compose.yaml read as
YAML. Building and running the image itself is not done here (README.md, "Deploy")."""
import fnmatch
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import yaml

from bot.store import open_store

ROOT = Path(__file__).resolve().parent.parent
TRAINING_STACK = re.compile(r"tensorflow|keras|textgenrnn|\[(train|test)\]", re.IGNORECASE)


def instructions(text: str) -> list[tuple[int, str, str]]:
    """(stage, INSTRUCTION, arguments) for each instruction, continuation lines joined; stage
    counts FROM lines from 0 (-1 before the first)."""
    out, stage, pending = [], -1, ""
    for line in text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        keyword, _, args = (pending + line).strip().partition(" ")
        pending = ""
        keyword = keyword.upper()
        stage += keyword == "FROM"
        out.append((stage, keyword, " ".join(args.split())))
    return out


DOCKERFILE = instructions((ROOT / "Dockerfile").read_text(encoding="utf8"))
STAGES = max(s for s, _, _ in DOCKERFILE) + 1


def stage(n: int, keyword: str) -> list[str]:
    return [args for s, k, args in DOCKERFILE if s == n % STAGES and k == keyword]


def env_of(n: int) -> dict[str, str]:
    """The ENV values of stage n (KEY=VALUE form)."""
    return dict(item.split("=", 1) for args in stage(n, "ENV") for item in shlex.split(args))


def test_the_image_is_slim_unprivileged_and_without_the_training_stack():
    args = dict(a.split("=", 1) for s, k, a in DOCKERFILE if k == "ARG" and s == -1)
    bases = [re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], a.split()[0]) for _, k, a in DOCKERFILE if k == "FROM"]
    assert bases and all(re.fullmatch(r"python:3\.1[1-9]-slim(-\w+)?", b) for b in bases), bases
    assert not [a for _, k, a in DOCKERFILE if k == "RUN" and TRAINING_STACK.search(a)]
    final = [(k, a) for s, k, a in DOCKERFILE if s == STAGES - 1]
    users = [a for k, a in final if k == "USER"]
    assert users and users[-1] not in ("root", "0") and not users[-1].startswith("0:")
    keywords = [k for k, _ in final]
    assert keywords.index("USER") < keywords.index("CMD")
    assert "useradd" in " ".join(stage(-1, "RUN")) and "--uid" in " ".join(stage(-1, "RUN"))
    # Only the built environment reaches the image: the sources stay in the build stage.
    assert all(a.startswith("--from=") for a in stage(-1, "COPY"))


def test_the_state_lives_on_the_volume_the_health_check_reads():
    (volume,) = stage(-1, "VOLUME")
    (state_dir,) = json.loads(volume)  # ["/state"]
    assert env_of(-1)["DATABASE_URL"] == f"sqlite:///{state_dir}/bot.sqlite3"
    assert stage(-1, "WORKDIR") == [state_dir]  # a .env placed on the volume is read too
    (health,) = stage(-1, "HEALTHCHECK")
    assert health.endswith('CMD ["bot", "health"]')
    assert stage(-1, "CMD") == ['["bot"]']  # exec form: the worker is PID 1 and gets SIGTERM itself


def dockerignore_allows(path: str, patterns: list[str]) -> bool:
    """Whether the build context keeps path (relative, '/'-separated), as Docker reads
    .dockerignore: the last pattern that matches the path or one of its parent directories wins; a
    leading ! keeps; **/ matches any number of directories."""
    parts = path.split("/")
    keep = True
    for pattern in patterns:
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        anywhere = pattern.startswith("**/")
        pattern = pattern.removeprefix("**/")
        prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        candidates = prefixes + (["/".join(parts[i:j]) for j in range(1, len(parts) + 1) for i in range(j)]
                                 if anywhere else [])
        if any(fnmatch.fnmatchcase(c, pattern) for c in candidates):
            keep = negated
    return keep


def build_context(into: Path) -> Path:
    """The files `docker build .` sends, copied into a folder: the working tree (tracked and new
    files) minus what .dockerignore leaves out."""
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text(encoding="utf8").splitlines()
                if line.strip() and not line.startswith("#")]
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, listed):
        if dockerignore_allows(name, patterns) and (ROOT / name).is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, into / name)
    return into


def test_the_build_context_holds_what_the_build_copies_and_no_secrets(tmp_path):
    patterns = [p for p in (ROOT / ".dockerignore").read_text(encoding="utf8").splitlines() if p and p[0] != "#"]
    assert not dockerignore_allows(".env", patterns) and not dockerignore_allows(".venv/bin/python", patterns)
    assert not dockerignore_allows("bot/__pycache__/cli.cpython-311.pyc", patterns)
    context = build_context(tmp_path)
    for args in stage(0, "COPY"):
        *sources, _ = shlex.split(args)
        for source in sources:
            assert (context / source).exists(), f"COPY {source}: not in the build context"
    assert (context / "model_weights" / "mashup_weights.hdf5").exists()
    assert not (context / "data").exists() and not (context / "tests").exists()


def _copy(context: Path, workdir: Path, args: str) -> None:
    *sources, dest = shlex.split(args)
    target = workdir / dest
    for source in sources:
        if len(sources) > 1 or dest.endswith("/"):
            into = target / Path(source).name
        else:
            into = target
        if (context / source).is_dir():
            shutil.copytree(context / source, into)
        else:
            into.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(context / source, into)


def test_the_dockerfile_steps_in_a_venv_give_a_worker_its_health_check_sees(tmp_path, mastodon_server):
    """The build stage's COPY and RUN steps, with /opt/bot a folder here and pip kept offline (the
    runtime dependencies come from this environment); then the run stage's ENV, WORKDIR, CMD and
    HEALTHCHECK, with /state a folder here. The run stage's useradd is not run (it would add a user
    to this machine)."""
    from fake_mastodon import TOKEN

    context = build_context(tmp_path / "context")
    (workdir,) = stage(0, "WORKDIR")
    src = tmp_path / "build" / workdir.lstrip("/")
    src.mkdir(parents=True)
    for args in stage(0, "COPY"):
        _copy(context, src, args)
    venv = tmp_path / "opt-bot"
    (run,) = stage(0, "RUN")
    make_venv, install = (step.strip().replace("/opt/bot", str(venv)) for step in run.split("&&"))
    assert make_venv.startswith("python3 -m venv ") and "pip install" in install
    subprocess.run([sys.executable, *shlex.split(make_venv)[1:]], check=True, timeout=300)
    purelib = subprocess.run([venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    (Path(purelib) / "runtime-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf8")
    offline = ["--no-deps", "--no-build-isolation", "--no-index", "--quiet"]
    done = subprocess.run([*shlex.split(install), *offline], cwd=src, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    state = tmp_path / "state"
    state.mkdir()
    env = {k: v.replace("/opt/bot", str(venv)).replace("$PATH", os.environ["PATH"]).replace("/state", str(state))
           for k, v in env_of(-1).items()}
    env.update({"HOME": str(tmp_path), "MASTODON_API_BASE_URL": mastodon_server.url, "MASTODON_ACCESS_TOKEN": TOKEN,
                "POST_INTERVAL": "1h", "CHECK_EVERY": "0.2s", "POOL_SIZE": "60"})
    (health,) = stage(-1, "HEALTHCHECK")
    health_cmd = json.loads(health.split(" CMD ", 1)[1])
    (cmd,) = stage(-1, "CMD")

    def healthy() -> subprocess.CompletedProcess:
        return subprocess.run(health_cmd, cwd=state, env=env, capture_output=True, text=True, timeout=120)

    before = healthy()
    assert before.returncode == 1 and before.stdout.startswith("worker: NOT running"), before.stdout + before.stderr
    log = tmp_path / "worker.log"  # a file, not a pipe: a full pipe would stop the worker
    with open(log, "w") as out:
        worker = subprocess.Popen(json.loads(cmd), cwd=state, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300  # a guard against a hang: start-up takes what the load makes it take
        while (report := healthy()).returncode != 0:
            assert worker.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, report.stdout + report.stderr
            time.sleep(0.1)
        assert report.stdout.startswith("worker: running (") and f"sqlite {state / 'bot.sqlite3'})" in report.stdout
        while "last post: none yet" in (report := healthy()).stdout:  # the slot is due at once
            assert worker.poll() is None and time.monotonic() < deadline, report.stdout + log.read_text()[-3000:]
            time.sleep(0.1)
        store = open_store(env["DATABASE_URL"])
        try:
            (post,) = [p for p in store.posts() if p.state == "posted"]
        finally:
            store.close()
        assert report.stdout.splitlines()[1].endswith(post.text)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(120)
    assert worker.returncode == 0, log.read_text()[-3000:]
    after = healthy()
    assert after.returncode == 1 and after.stdout.startswith("worker: NOT running")
    # What `pip install .` pulls into the image: the runtime only, no training stack.
    requires = subprocess.run([venv / "bin" / "python", "-c", "from importlib.metadata import requires; "
                               "print('\\n'.join(requires('songs-x-arxiv-bot')))"],
                              capture_output=True, text=True, check=True).stdout.splitlines()
    runtime = [r for r in requires if "extra ==" not in r]
    assert runtime and not [r for r in runtime if TRAINING_STACK.search(r)]


def test_compose_runs_the_worker_beside_a_healthy_postgres_with_restarts_and_the_env_file():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf8"))
    bot, db = compose["services"]["bot"], compose["services"]["db"]
    assert bot["build"] == "." and bot["env_file"] == ".env"
    assert bot["depends_on"] == {"db": {"condition": "service_healthy"}}
    for service in (bot, db):
        assert service["restart"] in ("unless-stopped", "always", "on-failure")
        assert service["healthcheck"]["test"] and service["healthcheck"]["interval"]
    (health,) = stage(-1, "HEALTHCHECK")
    assert bot["healthcheck"]["test"] == ["CMD", *json.loads(health.split(" CMD ", 1)[1])]
    url = re.fullmatch(r"postgresql://(\w+):(\$\{POSTGRES_PASSWORD:-\w+\})@db:5432/(\w+)", bot["environment"]["DATABASE_URL"])
    assert url, bot["environment"]["DATABASE_URL"]
    assert (db["environment"]["POSTGRES_USER"], db["environment"]["POSTGRES_PASSWORD"], db["environment"]["POSTGRES_DB"]) \
        == url.groups()
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    (volume,) = db["volumes"]
    name, path = volume.split(":")
    assert name in compose["volumes"] and path == "/var/lib/postgresql/data"
    assert "ports" not in db  # reachable only on the project's network
