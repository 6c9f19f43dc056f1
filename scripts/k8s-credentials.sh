#!/usr/bin/env bash
# usage: scripts/k8s-credentials.sh
# Generates the Redis credentials that deploy/k8s/base's secretGenerators read, once: deploy/init/credentials.sh (the
# script compose's `init` runs) writes them into deploy/k8s/base/credentials/ (gitignored, never committed). Later runs
# keep them, so the Secrets' hash suffixes stay stable. Run it before `kubectl kustomize` or `kubectl apply -k`.
set -euo pipefail
cd "$(dirname "$0")/.."
REDIS_VERSION=$(sed -n 's/^REDIS_VERSION=//p' .env)
export REDIS_VERSION
dir=deploy/k8s/base/credentials
deploy/init/credentials.sh "$dir/redis" "$dir/web" "$dir/exporter"
