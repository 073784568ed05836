#!/usr/bin/env bash
# npm ci when node_modules is missing or older than package-lock.json; then checks that the
# node@22 devDependency brought its Node 22 (node_modules/.bin/node), which every npm script uses.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

installed=node_modules/.package-lock.json
if [[ ! -f "$installed" || package-lock.json -nt "$installed" ]]; then
  echo "npm ci (node_modules is missing or older than package-lock.json)"
  npm ci
else
  echo "node_modules is up to date with package-lock.json"
fi

node22=node_modules/node/bin/node
if [[ ! -x "$node22" ]] || [[ "$("$node22" -p 'process.versions.node')" != 22.* ]]; then
  echo "node_modules/node/bin/node (Node 22) is missing: the node@22 package gets it from its install script," >&2
  echo "which npm 11 runs only when package.json's \"allowScripts\" allows \"node\"." >&2
  exit 1
fi
echo "Node for npm scripts: $("$node22" --version)"
