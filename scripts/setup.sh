#!/usr/bin/env bash
# Installs what building and testing Portcullis needs, skipping everything already present at
# the right version. Safe to run repeatedly; `make dev` and `make test` call it first.
# Every download comes from a package registry (crates.io, npm, apt): see docs/toolchain.md.
set -euo pipefail
cd "$(dirname "$0")/.."

WORKER_BUILD_VERSION=0.8.7
WASM_PACK_VERSION=0.15.1
# The wasm-bindgen CLI must match the wasm-bindgen crate in Cargo.lock exactly.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/[^0-9.]/,""); print; exit}' Cargo.lock)

say() { printf 'setup: %s\n' "$*"; }
# `cargo install` puts binaries here; check and use exactly these, not whatever is on PATH.
bin="${CARGO_HOME:-$HOME/.cargo}/bin"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

have_version() { [ -x "$bin/$1" ] && "$bin/$1" --version 2>/dev/null | grep -qw "$2"; }

if ! have_version worker-build "$WORKER_BUILD_VERSION"; then
  say "installing worker-build $WORKER_BUILD_VERSION (several minutes on a cold machine)"
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked
fi

if ! have_version wasm-bindgen "$WASM_BINDGEN_VERSION"; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  # No --locked: one locked dependency of 0.2.130 is missing from the registry (docs/toolchain.md).
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

if ! have_version wasm-pack "$WASM_PACK_VERSION"; then
  say "installing wasm-pack $WASM_PACK_VERSION (about 2 minutes)"
  cargo install wasm-pack --version "$WASM_PACK_VERSION" --locked
fi

# Chromium and its driver from Debian, for the client's browser tests and Playwright; and the
# reference Argon2 CLI, which `make bench` measures the worker's Argon2id against.
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] || [ ! -x /usr/bin/argon2 ]; then
  say "installing chromium, chromium-driver and argon2 from Debian"
  sudo_=""
  [ "$(id -u)" -eq 0 ] || sudo_="sudo"
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq chromium chromium-driver argon2 >/dev/null
fi

# npm packages from the lockfile; re-installed only when the lockfile changed.
stamp=node_modules/.portcullis-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "installing npm packages from package-lock.json"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi
