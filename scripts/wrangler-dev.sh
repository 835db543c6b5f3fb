#!/usr/bin/env bash
# `wrangler dev` as `make dev` runs it, with local D1 and Durable Objects. scripts/dev.sh adds
# `--port 8787`; the e2e suite (e2e/wrangler_dev.test.js) adds its own ports, state folder and
# JWT_SECRET, so it tests the command line `make dev` uses. Extra arguments go to wrangler.
set -euo pipefail
cd "$(dirname "$0")/.."
export CI="${CI:-true}" WRANGLER_SEND_METRICS=false
# DRAIN_REQUEST_BODIES: wrangler dev's proxy loses the worker's answer when the worker leaves a
# request body unread (a body too large, say), and answers 503 instead; read to the end, the body
# gets the same 413 as in production (docs/configuration.md). Never set it for a deploy.
# RATE_LIMIT_HEADER:none: locally a client may send any CF-Connecting-IP it likes (only
# Cloudflare's edge sets it for real), so the throttles believe no header here: every request is
# the same client.
# --test-scheduled: GET /__scheduled runs the hourly purge now (README, "What is kept").
exec ./node_modules/.bin/wrangler dev --local --ip 127.0.0.1 --show-interactive-dev-session=false \
  --test-scheduled --var DRAIN_REQUEST_BODIES:true --var RATE_LIMIT_HEADER:none "$@"
