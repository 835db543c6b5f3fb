# Portcullis. `make dev` runs it locally; `make test` runs every suite; `make bench` measures it
# against an empty worker and upstream Feathers; `make deploy` ships it.
.PHONY: dev test bench build setup deploy clean

dev:
	@scripts/dev.sh

test:
	@scripts/test.sh

build: setup
	@scripts/build.sh

# Not part of `make test`: a few minutes on 2 cores, prints a table (README, "Benchmarks").
bench: build
	@node bench/run.mjs

setup:
	@scripts/setup.sh

# One-time steps first: see README "Deploy".
deploy: build
	./node_modules/.bin/wrangler d1 migrations apply DB --remote
	./node_modules/.bin/wrangler deploy

clean:
	rm -rf worker/build worker/build-contract target
