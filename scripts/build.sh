#!/usr/bin/env bash
# Builds the worker (worker/build/index.js + index_bg.wasm: what `make deploy` ships) and the
# browser client (client-wasm/pkg, copied to public/pkg for the worker to serve at /pkg/) fully
# offline, and reports their gzipped sizes; then the assets `make deploy` publishes
# (worker/build-assets, by scripts/deploy-assets.sh). With --with-contract it also builds the e2e suite's
# variant of the worker (feature `contract`: the storage contract at POST /__contract) into
# worker/build-contract; the deploy bundle never contains it. worker-build would download wasm-bindgen, wasm-opt and esbuild from GitHub;
# these variables point it at the copies `scripts/setup.sh` installed.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${CARGO_HOME:-$HOME/.cargo}/bin"
export WASM_BINDGEN_BIN="$bin/wasm-bindgen"
export WASM_OPT_BIN="$PWD/node_modules/.bin/wasm-opt"
export ESBUILD_BIN="$PWD/node_modules/.bin/esbuild"
# worker-build's own wasm-opt run is off (worker/Cargo.toml): it always keeps the names
# section. The deployed worker goes without it; the e2e build keeps it (-g), for readable
# stack traces in the suite's logs. The features are worker-build's own list.
optimize() {
  "$WASM_OPT_BIN" -O "$@" --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
    --enable-bulk-memory --enable-multivalue --enable-reference-types --enable-exception-handling
}
log=$(mktemp)
if ! (cd worker && "$bin/worker-build" --release) >"$log" 2>&1; then
  cat "$log"
  rm -f "$log"
  exit 1
fi
rm -f "$log"
wasm=worker/build/index_bg.wasm
optimize -o "$wasm" "$wasm"
printf 'build: worker wasm %s bytes, %s bytes gzipped\n' "$(wc -c <"$wasm")" "$(gzip -9c "$wasm" | wc -c)"

if [ "${1:-}" = "--with-contract" ]; then
  log=$(mktemp)
  if ! (cd worker && "$bin/worker-build" --release --out-dir build-contract -- --features contract) >"$log" 2>&1; then
    cat "$log"
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
  optimize -g -o worker/build-contract/index_bg.wasm worker/build-contract/index_bg.wasm
  echo "build: e2e worker with the storage contract in worker/build-contract"
fi

# The browser client: wasm-pack (with the wasm-bindgen CLI setup.sh installed), then binaryen's
# wasm-opt for size, since wasm-pack's own download of it cannot work here.
log=$(mktemp)
if ! PATH="$bin:$PATH" "$bin/wasm-pack" build client-wasm --target web --release >"$log" 2>&1; then
  cat "$log"
  rm -f "$log"
  exit 1
fi
rm -f "$log"
pkg=client-wasm/pkg
"$WASM_OPT_BIN" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  -o "$pkg/portcullis_client_bg.wasm" "$pkg/portcullis_client_bg.wasm"
rm -f "$pkg/.gitignore"
rm -rf public/pkg
cp -r "$pkg" public/pkg
client=$pkg/portcullis_client_bg.wasm
printf 'build: client wasm %s bytes, %s bytes gzipped\n' "$(wc -c <"$client")" "$(gzip -9c "$client" | wc -c)"

# What a Socket.IO server serves beside its endpoint: the socket.io-client browser bundle of
# the version the e2e suite tests against, from npm (package.json pins it), at
# /socket.io/socket.io.js (.min.js, .map); and Feathers' browser client for the demo page's
# Socket.IO transport at /vendor/feathers.js. Static assets, like public/pkg.
rm -rf public/socket.io public/vendor
mkdir -p public/socket.io public/vendor
for f in socket.io.js socket.io.js.map socket.io.min.js socket.io.min.js.map; do
  cp "node_modules/socket.io-client/dist/$f" public/socket.io/
done
cp node_modules/@feathersjs/client/dist/feathers.js node_modules/@feathersjs/client/dist/feathers.js.map public/vendor/
echo "build: socket.io-client $(node -p 'require("./node_modules/socket.io-client/package.json").version') at /socket.io/socket.io.js"

# What `make deploy` publishes (wrangler.toml's [assets]): /socket.io/ only, unless
# DEPLOY_DEMO=1 asks for the demo and guide pages too. `make dev` and the e2e suite serve
# public/ itself.
scripts/deploy-assets.sh
