#!/usr/bin/env bash
# Build the Dockerfile with podman where no image registry is reachable, then run the image's
# worker and health check against tests/fake_mastodon.py. Needs root and Debian's podman and
# debootstrap (apt install podman debootstrap); about 15 minutes on 2 cores.
# The base image is a Debian 12 root with python3 (Python 3.11, as python:3.11-slim) made by
# debootstrap. Where podman cannot start containers (no cgroup or rlimit control, as in a nested
# sandbox), the built image's file system is run with chroot as the image's user instead.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/smoke-image-XXXXXX)
podman=(podman --storage-driver vfs)
cleanup() {
  "${podman[@]}" image unmount localhost/songs-x-arxiv-bot:smoke >/dev/null 2>&1 || true
  "${podman[@]}" rmi -f localhost/songs-x-arxiv-bot:smoke localhost/smoke-python:3.11 >/dev/null 2>&1 || true
  "${podman[@]}" image prune -f >/dev/null 2>&1 || true  # the build stage's untagged layers
  rm -rf "$work"
}
trap cleanup EXIT

debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$work/root" \
  http://deb.debian.org/debian >"$work/debootstrap.log"
cp /etc/ssl/certs/ca-certificates.crt "$work/root/etc/ssl/certs/"  # the host's CAs (a proxy's too)
[ -f /etc/pip.conf ] && cp /etc/pip.conf "$work/root/etc/pip.conf"
tar -C "$work/root" -c . | "${podman[@]}" import - localhost/smoke-python:3.11 >/dev/null
"${podman[@]}" build --format docker --isolation chroot --network host --build-arg PYTHON_IMAGE=localhost/smoke-python:3.11 \
  -t localhost/songs-x-arxiv-bot:smoke . >"$work/build.log"
"${podman[@]}" image inspect localhost/songs-x-arxiv-bot:smoke --format 'user {{.Config.User}}, cmd {{.Config.Cmd}}, size {{.Size}}'

root=$("${podman[@]}" image mount localhost/songs-x-arxiv-bot:smoke)
user=$(stat -c %u:%g "$root/state")
.venv/bin/python - "$root" "$user" <<'PY'
import shutil, subprocess, sys, time
sys.path.insert(0, "tests")
from fake_mastodon import TOKEN, FakeMastodon

root, user = sys.argv[1:]
chroot = shutil.which("chroot") or "/usr/sbin/chroot"
with FakeMastodon() as server:
    env = {"PATH": "/opt/bot/bin:/usr/bin:/bin", "HOME": "/state", "DATABASE_URL": "sqlite:////state/bot.sqlite3",
           "MASTODON_API_BASE_URL": server.url, "MASTODON_ACCESS_TOKEN": TOKEN, "POOL_SIZE": "60", "CHECK_EVERY": "1s"}
    run = lambda *cmd, **kw: subprocess.run([chroot, f"--userspec={user}", root, "sh", "-c", "cd /state && exec " + " ".join(cmd)],
                                            env=env, capture_output=True, text=True, **kw)
    print(run("bot", "--dry-run").stdout.splitlines()[-1])
    worker = subprocess.Popen([chroot, f"--userspec={user}", root, "sh", "-c", "cd /state && exec bot"], env=env)
    deadline = time.monotonic() + 300
    while "none yet" in (health := run("bot", "health")).stdout or health.returncode:
        assert worker.poll() is None and time.monotonic() < deadline, health.stdout
        time.sleep(0.5)
    print(health.stdout, end="")
    worker.terminate()
    assert worker.wait(120) == 0 and run("bot", "health").returncode == 1
    print("worker stopped on SIGTERM; posted:", server.texts())
PY
