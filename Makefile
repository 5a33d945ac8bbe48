# Rentory: everyday commands. Every target runs with the defaults of scripts/env
# (anything already set in your environment wins).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
ENV := . scripts/env &&

.PHONY: help bootstrap run demo admin lease-audit test release-check bench lint fmt sqlx-prepare sqlx-check dev-db build release clean-data

help:
	@echo "make run           start Postgres+PostGIS, Redis, NATS if needed, build and run the whole stack"
	@echo "make demo          the whole journey against make run (in another terminal): people, KYC, listing,"
	@echo "                   concierge, discovery, Socket.IO chat, unlock, lease, rent; exits 1 at a failure"
	@echo "make admin EMAIL=.. PASSWORD=.. PIN=..  create the first ADMIN for make run"
	@echo "make lease-audit   walk every lease's hash-chained audit log in DATABASE_URL; names the first broken row (exit 1)"
	@echo "make test          start the servers if needed, then cargo test --workspace"
	@echo "make release-check release build of the eight services; each started alone (as Cloud Run would) on the local servers:"
	@echo "                   time to ready, idle memory, binary size; fails if one is not ready in 20 s (CI runs it after make test)"
	@echo "make bench         release build; gateway latency and throughput per route, as ratios to /healthz;"
	@echo "                   then discover latency at 1/8/32 clients over 100k seeded listings beside the bare PostGIS query"
	@echo "                   (RENTORY_BENCH_LISTINGS=1000000 make bench for the 1M run)"
	@echo "                   then chat delivery: 1,000 Socket.IO clients over two gateways at 1,000 msg/s beside bare NATS and a bare Socket.IO echo"
	@echo "make lint          cargo fmt --check and cargo clippy -D warnings"
	@echo "make fmt           cargo fmt --all"
	@echo "make sqlx-prepare  regenerate .sqlx/ after changing a query or a migration"
	@echo "make sqlx-check    fail if .sqlx/ is stale (CI runs it)"
	@echo "make dev-db        create and migrate rentory_sqlx; prints the DATABASE_URL to develop with"
	@echo "make build         cargo build --workspace"
	@echo "make release       cargo build --release --workspace"
	@echo "make clean-data    drop the per-test databases (rentory_t_*) tests left behind"
	@echo "make bootstrap     only install/start the local servers"

bootstrap:
	@$(ENV) scripts/bootstrap

# rentory-stack starts every service in one process and prints the gateway URL itself.
run: bootstrap
	@$(ENV) cargo build -p rentory-stack && exec "$$CARGO_TARGET_DIR/debug/rentory-stack"

# Against the stack `make run` started (RENTORY_DEMO_URL for another). Its ADMIN is made with
# identity's create-admin and make run's pepper unless RENTORY_DEMO_ADMIN_EMAIL/_PIN name one.
# The black-box suite runs the same journey (tests/blackbox/demo.rs).
demo: bootstrap
	@$(ENV) cargo build -q -p rentory-blackbox --bin rentory-demo && exec "$$CARGO_TARGET_DIR/debug/rentory-demo"

# The first ADMIN, through the identity binary's own subcommand, with the pepper `make run`
# uses (created here if `make run` has not made it yet).
admin: bootstrap
	@$(ENV) : "$${EMAIL:?set EMAIL}" "$${PASSWORD:?set PASSWORD}" "$${PIN:?set PIN}"; \
	mkdir -p .local/secrets; \
	[[ -s .local/secrets/pepper ]] || (umask 077; od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > .local/secrets/pepper); \
	RENTORY_PEPPER="$$(cat .local/secrets/pepper)" cargo run -q -p identity -- create-admin --email "$$EMAIL" --password "$$PASSWORD" --pin "$$PIN"

# The lease binary's own subcommand; reads only DATABASE_URL (make run's database by default).
lease-audit: bootstrap
	@$(ENV) cargo run -q -p lease -- verify-audit

test: bootstrap
	@$(ENV) cargo test --workspace

# The eight release binaries, built in their own target directory (a release build would hold
# the shared one's lock for minutes while other clones build), then tools/release-check starts
# each alone against the local servers and prints its table (README, "Deploying").
release-check: bootstrap
	@$(ENV) release_dir="$${RENTORY_RELEASE_TARGET_DIR:-$$(dirname "$$CARGO_TARGET_DIR")/release-target}"; \
	CARGO_TARGET_DIR="$$release_dir" cargo build --release --locked --bins \
	  -p gateway -p identity -p kyc -p ai-orchestrator -p listings -p chat -p lease -p payments && \
	cargo run -q --locked -p rentory-release-check -- --bin-dir "$$release_dir/release"

# Release build of a whole stack per run; prints tables (tests/bench/gateway.rs, then
# tests/bench/discover.rs with RENTORY_BENCH_LISTINGS seeded listings, default 100000,
# then tests/bench/chat.rs).
bench: bootstrap
	@$(ENV) cargo bench -p rentory-blackbox --bench gateway --bench discover --bench chat

lint:
	@$(ENV) cargo fmt --all -- --check --color "$${CARGO_TERM_COLOR:-auto}" && cargo clippy --workspace --all-targets -- -D warnings

fmt:
	@$(ENV) cargo fmt --all

sqlx-prepare: bootstrap
	@$(ENV) scripts/sqlx-prepare

# Fails when the committed .sqlx/ data no longer matches the queries and migrations.
sqlx-check: bootstrap
	@$(ENV) scripts/sqlx-prepare --check

dev-db: bootstrap
	@$(ENV) scripts/dev-db

build:
	@$(ENV) cargo build --workspace

release:
	@$(ENV) cargo build --release --workspace

clean-data:
	@$(ENV) drops=$$(psql -X -q -At -d "$$RENTORY_TEST_DATABASE_URL" -c \
	  "SELECT format('DROP DATABASE IF EXISTS %I WITH (FORCE);', datname) FROM pg_database WHERE starts_with(datname, 'rentory_t_')"); \
	if [[ -n $$drops ]]; then psql -X -q -v ON_ERROR_STOP=1 -d "$$RENTORY_TEST_DATABASE_URL" <<<"$$drops"; fi; \
	echo "clean-data: dropped $$(grep -c . <<<"$$drops" || true) test database(s)"
