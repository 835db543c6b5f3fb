#!/usr/bin/env bash
# `make test`: every suite, then one summary line. Native Rust (shared, worker, client logic),
# lints, the client's browser adapters in headless Chromium, and the e2e suite against the
# built worker in workerd with D1, Durable Objects and maildev (official clients, Playwright, deploy bundle).
set -uo pipefail
cd "$(dirname "$0")/.."
export CI="${CI:-true}" WRANGLER_SEND_METRICS=false

# A full disk fails builds and writes in ways that look like test failures: say so first.
df -h . | awk 'NR == 2 { print "disk: " $4 " free of " $2 }'

scripts/setup.sh || exit 1
scripts/build.sh --with-contract || exit 1

passed=0 failed=0 status=0
log=$(mktemp -d)

echo "== cargo test (native)"
cargo test --workspace --quiet 2>&1 | tee "$log/cargo.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
while read -r p f; do passed=$((passed + p)); failed=$((failed + f)); done < <(
  sed -n 's/^test result: [A-Za-z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1 \2/p' "$log/cargo.txt")

echo "== cargo clippy"
if ! cargo clippy --workspace --all-targets --quiet -- -D warnings; then status=1; failed=$((failed + 1)); fi

echo "== client in headless Chromium (wasm-bindgen-test)"
bin="${CARGO_HOME:-$HOME/.cargo}/bin"
(cd client-wasm && PATH="$bin:$PATH" CHROMEDRIVER=/usr/bin/chromedriver \
  cargo test --target wasm32-unknown-unknown --test browser) 2>&1 | tee "$log/browser.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
while read -r p f; do passed=$((passed + p)); failed=$((failed + f)); done < <(
  sed -n 's/^test result: [A-Za-z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1 \2/p' "$log/browser.txt")
if ! cargo clippy -p portcullis-client --target wasm32-unknown-unknown --all-targets --quiet -- -D warnings; then
  status=1; failed=$((failed + 1))
fi

echo "== e2e (node --test)"
# A test that hangs fails at 10 minutes, and the whole suite is stopped at 40, so that a hang
# is reported as a failure instead of running out CI's clock.
timeout --kill-after=30 2400 node --test --test-concurrency=1 --test-timeout=600000 \
  --test-reporter=spec e2e/ 2>&1 | tee "$log/e2e.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
p=$(sed -n 's/^ℹ pass \([0-9]*\)$/\1/p' "$log/e2e.txt" | tail -1)
f=$(sed -n 's/^ℹ fail \([0-9]*\)$/\1/p' "$log/e2e.txt" | tail -1)
passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
[ -n "$p" ] || { echo "e2e: no result line"; status=1; failed=$((failed + 1)); }

rm -rf "$log"
[ "$status" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1
echo "portcullis: $passed passed, $failed failed"
exit "$status"
