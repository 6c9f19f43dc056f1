#!/usr/bin/env bash
# usage: scripts/dependency-checks.sh — the static checks of the dependency graph: `cargo deny check licenses bans`
# (deny.toml: permissive licences only, no wildcard versions, no OpenSSL) and `cargo machete` (no dependency a crate
# declares but never uses). The advisories check is not run here: its database is fetched from GitHub, which this
# build machine cannot reach (see deny.toml). Installs both tools on a fresh machine (scripts/cargo-tools.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

PATH="$(scripts/cargo-tools.sh):$PATH"
echo "==> cargo deny check licenses bans"
cargo deny --locked check --hide-inclusion-graph licenses bans
echo "==> cargo machete"
cargo machete
