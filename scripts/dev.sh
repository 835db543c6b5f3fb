#!/usr/bin/env bash
# `make dev`: set up, build, migrate the local D1, then run the mail catcher and the worker.
# Ctrl-C or SIGTERM stops everything this script started. Local D1 persists under
# .wrangler/state, so accounts survive a restart.
set -euo pipefail
cd "$(dirname "$0")/.."
export CI="${CI:-true}" WRANGLER_SEND_METRICS=false

scripts/setup.sh
scripts/build.sh

if [ ! -f .dev.vars ]; then
  umask 077
  printf 'JWT_SECRET=%s\n' "$(head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')" > .dev.vars
  echo "dev: created .dev.vars with a random JWT_SECRET (git-ignored)"
fi

./node_modules/.bin/wrangler d1 migrations apply DB --local >/dev/null
echo "dev: local D1 migrated"

pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "dev: stopped"
}
trap stop INT TERM EXIT

setsid ./node_modules/.bin/maildev --ip 127.0.0.1 --smtp 1025 --web 8025 >.wrangler/maildev.log 2>&1 &
pids+=($!)
# public/, with the demo and guide pages (a deploy publishes only worker/build-assets).
setsid scripts/wrangler-dev.sh --port 8787 --assets public &
pids+=($!)

for _ in $(seq 1 120); do
  curl -fs -o /dev/null http://127.0.0.1:8787/health && curl -fs -o /dev/null http://127.0.0.1:8025/api/email && break
  sleep 0.5
done
cat <<MSG

  Portcullis is running.
    Demo page (REST or Socket.io)                 http://127.0.0.1:8787/
    The Feathers guide's page (over Socket.io)    http://127.0.0.1:8787/feathers-guide.html
    API (GoTrue, Feathers, graphql, passwordless) http://127.0.0.1:8787   (overview: /api.html)
    Browser client package                        http://127.0.0.1:8787/pkg/portcullis_client.js
    Mail inbox (maildev) and its REST API         http://127.0.0.1:8025   (GET /api/email)
    SMTP for the worker                           127.0.0.1:1025
  Ctrl-C to stop.

MSG
wait
