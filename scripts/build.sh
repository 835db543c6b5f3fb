#!/usr/bin/env bash
# Builds the worker (worker/build/index.js + index_bg.wasm) fully offline and reports its
# gzipped size. worker-build would download wasm-bindgen, wasm-opt and esbuild from GitHub;
# these variables point it at the copies `scripts/setup.sh` installed.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${CARGO_HOME:-$HOME/.cargo}/bin"
export WASM_BINDGEN_BIN="$bin/wasm-bindgen"
export WASM_OPT_BIN="$PWD/node_modules/.bin/wasm-opt"
export ESBUILD_BIN="$PWD/node_modules/.bin/esbuild"
log=$(mktemp)
if ! (cd worker && "$bin/worker-build" --release) >"$log" 2>&1; then
  cat "$log"
  rm -f "$log"
  exit 1
fi
rm -f "$log"
wasm=worker/build/index_bg.wasm
printf 'build: worker wasm %s bytes, %s bytes gzipped\n' "$(wc -c <"$wasm")" "$(gzip -9c "$wasm" | wc -c)"
