#!/usr/bin/env bash
# Builds and packages the extension, installs the .vsix into a code-server of the repository's
# own, and serves a demo workspace holding a copy of the populated Trac fixture (as demo-trac).
# Open the printed address in a browser; Ctrl+C stops it. PORT picks the port (default 8080).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/node_modules/.bin:$PATH"
PORT="${PORT:-8080}"
DEMO="$ROOT/.demo"

bash scripts/ensure-system-deps.sh
bash scripts/ensure-node-modules.sh
hash -r
npm run build
npm run package
bash scripts/setup-code-server.sh

NODE22="$ROOT/node_modules/node/bin/node"
ENTRY="$ROOT/.cache/code-server/node_modules/code-server/out/node/entry.js"
CODE_SERVER=("$NODE22" "$ENTRY" --user-data-dir "$DEMO/user-data" --extensions-dir "$DEMO/extensions" --config "$DEMO/config.yaml")
mkdir -p "$DEMO/user-data/User" "$DEMO/extensions"
export XDG_DATA_HOME="$DEMO/data"

WORKSPACE="$(node scripts/make-demo-workspace.mjs)" # .demo/workspace with demo-trac, a copy of trac-1.6-populated
SETTINGS="$DEMO/user-data/User/settings.json"
[[ -f "$SETTINGS" ]] || cat > "$SETTINGS" <<'JSON'
{
  "workbench.startupEditor": "none",
  "telemetry.telemetryLevel": "off",
  "extensions.autoCheckUpdates": false,
  "update.mode": "none",
  "chat.disableAIFeatures": true
}
JSON

"${CODE_SERVER[@]}" --force --install-extension "$ROOT/trac-backup.vsix"

echo
echo "Trac Backup demo: open http://127.0.0.1:$PORT/?folder=$WORKSPACE (Ctrl+C to stop)"
echo
exec "${CODE_SERVER[@]}" --auth none --bind-addr "127.0.0.1:$PORT" --disable-telemetry --disable-update-check \
  --disable-workspace-trust "$WORKSPACE"
