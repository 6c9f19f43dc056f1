#!/usr/bin/env bash
# usage: scripts/test.sh
# Runs every check on a fresh machine: installs the real programs the tests start (redis-server, redis-cli, nginx,
# envsubst, openssl, curl, prometheus/promtool, the Redis and NGINX exporters, chromium) if they are missing, then the
# static checks of the Docker files (scripts/static-checks.sh), the offline Kubernetes checks (scripts/k8s-checks.sh),
# `cargo fmt --check`, `cargo clippy -D warnings` and the dependency checks (scripts/dependency-checks.sh:
# cargo deny licenses and bans, cargo machete); then a Docker engine with Compose v2 (scripts/engine.sh) and the
# stack's images (`cargo xtask images`, no registry needed), and every test of the workspace — the compose acceptance
# suite (tests/compose) among them, on the shipped docker-compose.yml.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v redis-cli >/dev/null || missing+=(redis-tools)
command -v promtool >/dev/null || missing+=(prometheus)
command -v prometheus-redis-exporter >/dev/null || missing+=(prometheus-redis-exporter)
command -v prometheus-nginx-exporter >/dev/null || missing+=(prometheus-nginx-exporter)
command -v nginx >/dev/null || missing+=(nginx)
command -v envsubst >/dev/null || missing+=(gettext-base)
command -v openssl >/dev/null || missing+=(openssl)
command -v curl >/dev/null || missing+=(curl)
# Headless Chromium for tests/twin/browser.rs (the pages through NGINX, screenshots).
command -v chromium >/dev/null || missing+=(chromium)
if ((${#missing[@]})); then
    echo "==> installing ${missing[*]}"
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
for component in rustfmt clippy; do
    rustup component list --installed 2>/dev/null | grep -q "^$component" || rustup component add "$component"
done

scripts/static-checks.sh
scripts/k8s-checks.sh
echo "==> cargo fmt --check"
cargo fmt --all --check
echo "==> cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
scripts/dependency-checks.sh
echo "==> Docker engine"
scripts/engine.sh
echo "==> cargo xtask images"
cargo xtask images
echo "==> cargo test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --locked 2>&1 | tee "$log"
# One closing line for the whole run, summed over every test binary.
awk '/^test result:/ { p += $4; f += $6 } END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
