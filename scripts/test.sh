#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what it needs (as root:
# openssh-server, iproute2, nftables, zookeeper, redis, chromium… through
# scripts/install-deps.sh), then checks formatting and lints, and runs every
# test under `cargo test` and again under `cargo nextest run`.
#
#   bash scripts/test.sh            # everything
#   bash scripts/test.sh --quick    # skip the nextest pass and the showcase
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
[ "${1:-}" = "--quick" ] && quick=1

if [ "$(id -u)" = 0 ]; then
    bash scripts/install-deps.sh
else
    echo "test.sh: not root: not installing system packages; tests that need root," \
         "sshd or ZooKeeper will say why they are skipped" >&2
fi
# The real-systems examples run only where their systems are installed.
if command -v java >/dev/null && [ -d /usr/share/zookeeper ]; then
    export DUCKTAPE_ZOOKEEPER=1
fi
if command -v redis-server >/dev/null && command -v redis-sentinel >/dev/null; then
    export DUCKTAPE_REDIS=1
fi

step() { printf '\n== %s\n' "$*" >&2; }

if ! cargo nextest --version >/dev/null 2>&1; then
    step "installing cargo-nextest"
    cargo install --locked cargo-nextest
fi

step "cargo fmt --check"
cargo fmt --all -- --check
# The `ssh` feature is off by default (a user's default build links no
# OpenSSL); this suite builds and runs everything with it, and lints both.
step "cargo clippy, with the ssh feature"
cargo clippy --all-targets --features ssh -- -D warnings
cargo clippy --test fixtures --features ssh -- -D warnings
step "cargo clippy, default features: the localhost cluster needs no OpenSSL"
cargo clippy --all-targets -- -D warnings
if cargo tree -e normal -i openssl-sys >/dev/null 2>&1; then
    echo "test.sh: openssl-sys is a dependency of the default features" >&2
    exit 1
fi
step "rustdoc: the crate page is the README, no warnings"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --features ssh
step "both crates package and verify under their published names"
cargo publish --dry-run --workspace --allow-dirty
step "the README's dependency lines build the examples in a fresh crate"
bash scripts/readme-deps.sh
step "cargo test"
cargo test --workspace --features ssh --no-fail-fast
if [ "$quick" = 0 ]; then
    step "cargo nextest run"
    cargo nextest run --workspace --features ssh --no-fail-fast
    if [ "$(id -u)" = 0 ]; then
        step "showcase: ZooKeeper and Redis under faults on the namespace cluster"
        bash scripts/showcase.sh
    fi
fi
