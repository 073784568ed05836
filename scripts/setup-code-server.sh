#!/usr/bin/env bash
# Installs code-server (VS Code's server and web workbench, from the npm registry) into
# .cache/code-server/, the way docs/testing-in-real-vscode.md describes: its own postinstall
# downloads ripgrep from GitHub, so scripts stay off and its steps are done here by hand.
# A no-op when the stamp file says this version is already set up.
set -euo pipefail

CODE_SERVER_VERSION=4.103.2
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$ROOT/.cache/code-server"
STAMP="$DIR/.setup-done"
NODE22="$ROOT/node_modules/node/bin/node"

if [[ ! -x "$NODE22" ]]; then
  echo "setup-code-server: $NODE22 is missing; run npm ci first (the node@22 devDependency needs its install script allowed)" >&2
  exit 1
fi
NODE_VERSION="$("$NODE22" -p 'process.versions.node')"
WANT="code-server $CODE_SERVER_VERSION node $NODE_VERSION"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; then
  echo "code-server $CODE_SERVER_VERSION already set up in .cache/code-server"
  exit 0
fi

step() { printf '\n== setup-code-server: %s (%ss)\n' "$1" "$SECONDS"; }
for tool in rg python3 make g++; do
  command -v "$tool" >/dev/null || { echo "setup-code-server: $tool is missing; run scripts/ensure-system-deps.sh" >&2; exit 1; }
done

# Node 22 first on PATH (npm itself then runs on it too), and its headers as nodedir so
# node-gyp builds without downloading them.
NODE_BIN_DIR="$DIR/node-bin"
mkdir -p "$NODE_BIN_DIR"
ln -sfn "$NODE22" "$NODE_BIN_DIR/node"
export PATH="$NODE_BIN_DIR:$PATH"

case "$(uname -m)" in
  x86_64) ARCH=x64 ;;
  aarch64) ARCH=arm64 ;;
  *) echo "setup-code-server: unsupported machine $(uname -m)" >&2; exit 1 ;;
esac
NODEDIR="$ROOT/node_modules/node/node_modules/node-linux-$ARCH"
if [[ ! -f "$NODEDIR/include/node/node.h" ]]; then
  # npm sometimes prunes node@22's nested package after the install script ran; fetch its headers.
  NODEDIR="$ROOT/.cache/node-linux-$ARCH-$NODE_VERSION"
  if [[ ! -f "$NODEDIR/include/node/node.h" ]]; then
    step "fetching Node $NODE_VERSION headers (node-linux-$ARCH@$NODE_VERSION)"
    rm -rf "$NODEDIR" && mkdir -p "$NODEDIR"
    tarball="$(cd "$NODEDIR" && npm pack --silent "node-linux-$ARCH@$NODE_VERSION")"
    tar -xzf "$NODEDIR/$tarball" -C "$NODEDIR" --strip-components=1 package/include
    rm -f "$NODEDIR/$tarball"
  fi
fi
export npm_config_nodedir="$NODEDIR"
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

rm -f "$STAMP"
mkdir -p "$DIR"
cd "$DIR"
# A package.json of its own, so npm installs here and not into the project above.
[[ -f package.json ]] || echo '{ "name": "trac-backup-code-server", "private": true }' > package.json

step "npm install --ignore-scripts code-server@$CODE_SERVER_VERSION"
npm install --ignore-scripts --no-save "code-server@$CODE_SERVER_VERSION"

VSCODE_DIR="$DIR/node_modules/code-server/lib/vscode"
cd "$VSCODE_DIR"
step "lib/vscode: npm install --omit=dev --ignore-scripts"
npm install --omit=dev --ignore-scripts

step "lib/vscode: ripgrep from the system"
mkdir -p node_modules/@vscode/ripgrep/bin
ln -sfn "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg

step "lib/vscode: npm rebuild (native modules for Node $NODE_VERSION)"
npm_config_yes=true npm rebuild

step "lib/vscode: node_modules.asar link"
ln -sfn node_modules node_modules.asar

step "argon2: npm run install"
ARGON2_DIR="$DIR/node_modules/argon2"
[[ -d "$ARGON2_DIR" ]] || ARGON2_DIR="$DIR/node_modules/code-server/node_modules/argon2"
(cd "$ARGON2_DIR" && npm run install)

step "check"
"$NODE22" "$DIR/node_modules/code-server/out/node/entry.js" --version
echo "$WANT" > "$STAMP"
step "done"
