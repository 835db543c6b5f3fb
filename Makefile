# Portcullis. `make dev` runs it locally; `make test` runs every suite; `make bench` measures it
# against an empty worker and upstream Feathers; `make fuzz` throws more hostile input at it;
# `make deploy` ships it.
.PHONY: dev test bench fuzz build setup deploy clean

dev:
	@scripts/dev.sh

test:
	@scripts/test.sh

build: setup
	@scripts/build.sh

# Not part of `make test`: a few minutes on 2 cores, prints a table (README, "Benchmarks"), with the
# e2e build for Argon2id measured alone; BENCH_ACCOUNTS=N adds a scale table (docs/testing.md).
bench: setup
	@scripts/build.sh --with-contract
	@node bench/run.mjs

# Not part of `make test`: the hostile-input property tests with many more cases (minutes).
fuzz:
	PROPTEST_CASES=20000 cargo test -p portcullis-shared --all-features --release --test hostile_input

setup:
	@scripts/setup.sh

# One-time steps first: see README "Deploy". Publishes /socket.io/ and no page; DEPLOY_DEMO=1
# (given to make, which builds first) publishes the demo and guide pages too.
deploy: build
	./node_modules/.bin/wrangler d1 migrations apply DB --remote
	./node_modules/.bin/wrangler deploy

clean:
	rm -rf worker/build worker/build-contract worker/build-assets target
