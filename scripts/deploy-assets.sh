#!/usr/bin/env bash
# Prepares the static assets `make deploy` publishes (wrangler.toml's [assets] directory,
# worker/build-assets, or the folder given as $1) from public/ as scripts/build.sh left it.
# By default only /socket.io/ (the socket.io-client bundle a Socket.IO server serves beside
# its endpoint): the demo page, the Feathers guide's page, the API overview and what only they
# load (/pkg/, /vendor/) are for local development, and go out only with DEPLOY_DEMO=1.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-worker/build-assets}"
if [ ! -f public/socket.io/socket.io.js ]; then
  echo "deploy-assets: public/socket.io is missing; run scripts/build.sh first" >&2
  exit 1
fi
rm -rf "$out"
mkdir -p "$out"
if [ "${DEPLOY_DEMO:-}" = "1" ]; then
  cp -r public/. "$out/"
  echo "deploy-assets: $out holds all of public/, the demo and guide pages too (DEPLOY_DEMO=1)"
else
  cp -r public/socket.io "$out/"
  echo "deploy-assets: $out holds /socket.io/ only (DEPLOY_DEMO=1 adds the demo and guide pages)"
fi
