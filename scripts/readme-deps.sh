#!/usr/bin/env bash
# readme-deps.sh: the README's dependency lines are all a test crate needs.
#
# Builds tests/systest (the examples) in a throwaway crate whose
# [dev-dependencies] are exactly the lines of the README's `Cargo.toml`
# block, with ducktape as a path dependency on this checkout. It shares this
# checkout's lock file and target directory (and its dev profile), so only
# ducktape and the examples compile: seconds, not a fresh build.
#
#   bash scripts/readme-deps.sh
#   README=other.md bash scripts/readme-deps.sh    # another file's block
#
# Exit status: 0 when the examples build and refuse a cluster file as the
# README says, else 1 or cargo's.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The [dev-dependencies] lines of the README's first Cargo.toml block.
readme=${README:-README.md}
deps=$(awk '/^```toml/ {b = 1; next} b && /^```/ {exit} b' "$readme" |
    awk '/^\[dev-dependencies\]/ {d = 1; next} /^\[/ {d = 0} d && NF')
[ -n "$deps" ] || { echo "readme-deps: no [dev-dependencies] in $readme's Cargo.toml block" >&2; exit 1; }
# The published version becomes this checkout.
deps=$(printf '%s\n' "$deps" | sed -E "s|^(ducktape(-rs)?) = .*|\1 = { path = \"$root\" }|")

mkdir -p "$tmp/src"
: > "$tmp/src/lib.rs"
cat > "$tmp/Cargo.toml" <<TOML
[package]
name = "readme-deps"
version = "0.0.0"
edition = "2021"
publish = false

[dev-dependencies]
$deps

[[test]]
name = "systest"
path = "$root/tests/systest/main.rs"
harness = false

# This checkout's profile, so its compiled dependencies are reused.
[profile.dev]
debug = "line-tables-only"

[profile.dev.package."*"]
opt-level = 1
TOML
cp Cargo.lock "$tmp/Cargo.lock"
echo "readme-deps: [dev-dependencies] from $readme:" >&2
printf '%s\n' "$deps" | sed 's/^/  /' >&2
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
cargo test --manifest-path "$tmp/Cargo.toml" --test systest --no-run --offline

# Those lines leave out the `ssh` feature: a cluster file is refused before
# any test runs, in one line saying how to turn it on.
cat >"$tmp/cluster.json" <<'JSON'
{"nodes": [{"externally_routable_ip": "10.251.0.11",
            "ssh_config": {"host": "worker1", "hostname": "10.251.0.11", "port": 22,
                           "user": "root", "identityfile": null, "password": null}}]}
JSON
rc=0
cargo test --manifest-path "$tmp/Cargo.toml" --test systest --offline -q -- \
    --cluster json --cluster-file "$tmp/cluster.json" 2>"$tmp/err" >/dev/null || rc=$?
want="error: the json cluster's nodes are SSH hosts, and this test binary was built without ducktape-rs's \`ssh\` feature"
if [ "$rc" = 0 ] || ! grep -qF "$want" "$tmp/err"; then
    echo "readme-deps: without the ssh feature a cluster file should be refused with '$want'; got exit $rc:" >&2
    cat "$tmp/err" >&2
    exit 1
fi
echo "readme-deps: without the ssh feature a cluster file is refused: ok" >&2
