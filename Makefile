# Portcullis. `make dev` runs it locally; `make test` runs every suite; `make deploy` ships it.
.PHONY: dev test build setup deploy clean

dev:
	@scripts/dev.sh

test:
	@scripts/test.sh

build: setup
	@scripts/build.sh

setup:
	@scripts/setup.sh

# One-time steps first: see README "Deploy".
deploy: build
	./node_modules/.bin/wrangler d1 migrations apply DB --remote
	./node_modules/.bin/wrangler deploy

clean:
	rm -rf worker/build target
