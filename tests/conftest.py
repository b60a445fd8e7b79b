"""Shared fixtures: the textgenrnn pretrained model, the corpora in data/ and the reference oracle."""
import os
from pathlib import Path

# Every BLAS library the tests load, now or later (numpy's, then the copies TensorFlow and SciPy
# bring), starts with one thread: threadpoolctl (below) can only pin the ones already loaded.
os.environ.update(dict.fromkeys(("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                 "BLIS_NUM_THREADS"), "1"))

import pytest  # noqa: E402

from bot.model.modelfile import ModelPaths, load_model  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"


@pytest.fixture(scope="session", autouse=True)
def one_blas_thread():
    """numpy's BLAS pool pinned as the bot pins it (BLAS_THREADS=1): a busy CI box must not change
    the outcome of timing-sensitive tests (bench/threads.py). `bot` subprocesses pin themselves."""
    from bot.model.threads import limit_blas

    limit_blas(1)


@pytest.fixture(scope="session")
def pretrained():
    return load_model(ModelPaths.pretrained())


@pytest.fixture(scope="session")
def corpora() -> dict[str, Path]:
    """The two training corpora shipped in data/ (data/README.md)."""
    return {"song": DATA / "song_titles.txt", "arxiv": DATA / "arxiv_titles.txt"}


@pytest.fixture(scope="session")
def reference_script() -> Path:
    """textgenrnn's own code as an oracle, run as a script (tests/textgenrnn_reference.py)."""
    return ROOT / "tests" / "textgenrnn_reference.py"


@pytest.fixture(scope="session")
def shipped_model_dir() -> Path:
    return ROOT / "model_weights"


@pytest.fixture(scope="session")
def runtime(shipped_model_dir):
    """The shipped model and its evidence, loaded once for the session (bot/runtime.py)."""
    from bot.runtime import Runtime

    return Runtime.load(shipped_model_dir)


@pytest.fixture(scope="session")
def evidence(runtime):
    return runtime.evidence


@pytest.fixture(scope="session")
def training_titles(corpora) -> list[str]:
    from bot.training import corpus

    return [t for p in corpora.values() for t in corpus.clean_titles(corpus.read_titles(p), 10**6)]


# --- PostgreSQL: a private cluster for the session, a fresh database per test -------------------

def _postgres_bin() -> Path | None:
    import glob
    import shutil

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@pytest.fixture(scope="session")
def postgres_cluster():
    import shutil
    import subprocess
    import tempfile

    bindir = _postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not found (Debian package postgresql); .ci/run installs them")
    root = Path(tempfile.mkdtemp(prefix="bot-test-pg-"))  # not under pytest's 0700 tree: postgres must enter it
    data, sockets = root / "data", root / "sock"
    sockets.mkdir()
    as_user = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    run = lambda *cmd: subprocess.run([*as_user, *cmd], check=True, capture_output=True, text=True)  # noqa: E731
    run(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
    run(str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(root / "log"), "-o",
        f"-k {sockets} -c listen_addresses='' -c fsync=off", "start")
    _PG_CTL[:] = [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(root / "log"), "-o",
                  f"-k {sockets} -c listen_addresses='' -c fsync=off"]
    yield sockets
    subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                   capture_output=True)
    shutil.rmtree(root, ignore_errors=True)


_PG_CTL: list[str] = []  # the session cluster's pg_ctl command line, for pg_ctl below


@pytest.fixture
def pg_ctl(postgres_cluster):
    """pg_ctl("restart", "-m", "fast") and the like on the session's cluster: every connection is
    cut, as in a failover. The cluster is running again when the test ends."""
    import subprocess

    def run(*args):
        subprocess.run([*_PG_CTL, *args], check=True, capture_output=True, text=True)

    yield run
    if subprocess.run([*_PG_CTL, "status"], capture_output=True).returncode != 0:
        run("start")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """The same behaviour tests run on both stores."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.sqlite3'}"
    import uuid

    import psycopg

    sockets = request.getfixturevalue("postgres_cluster")
    name = "bot_" + uuid.uuid4().hex[:12]
    with psycopg.connect(f"postgresql://postgres@/postgres?host={sockets}", autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name}")
    return f"postgresql://postgres@/{name}?host={sockets}"


@pytest.fixture
def mastodon_server():
    from fake_mastodon import FakeMastodon

    with FakeMastodon() as server:
        yield server


# --- Bluesky: the reference PDS for the session (tests/pds_network.py) ----------------------------

@pytest.fixture(scope="session")
def pds():
    """The real PDS and PLC on loopback; pds.url, pds.create_account(). Skipped only where the PDS
    is not installed (.ci/run installs it)."""
    from pds_network import PdsNetwork, missing

    reason = missing()
    if reason:
        pytest.skip(reason)
    with PdsNetwork() as network:
        yield network


@pytest.fixture(scope="session")
def redis_host():
    """A private Redis on loopback for the session (the AppView's cache), as host:port. Skipped
    only where redis-server is not installed (Debian package redis-server; .ci/run installs it)."""
    import shutil
    import socket
    import subprocess
    import time

    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server not found (Debian package redis-server); .ci/run installs it")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--daemonize", "no"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60  # a deadline, not a wait: it serves as soon as it listens
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"redis-server did not start on port {port}")
            time.sleep(0.05)
    yield f"127.0.0.1:{port}"
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="session")
def bsky_network(request):
    """The real PDS, PLC and Bluesky AppView on loopback (network.process() makes the AppView index
    what was written), its database in the session's PostgreSQL and its cache in redis_host.
    Skipped where the PDS, PostgreSQL or Redis is not installed (.ci/run installs them)."""
    import random
    import string

    import psycopg
    from pds_network import PdsNetwork, missing

    reason = missing()
    if reason:
        pytest.skip(reason)
    sockets = request.getfixturevalue("postgres_cluster")
    redis = request.getfixturevalue("redis_host")
    name = "appview_" + "".join(random.choices(string.ascii_lowercase, k=10))
    with psycopg.connect(f"postgresql://postgres@/postgres?host={sockets}", autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name}")
    schema = "".join(random.choices(string.ascii_lowercase, k=8))  # letters and '_' only
    with PdsNetwork(appview={"DB_POSTGRES_URL": f"postgresql://postgres@localhost/{name}?host={sockets}",
                             "DB_POSTGRES_SCHEMA": schema, "REDIS_HOST": redis}) as network:
        yield network
