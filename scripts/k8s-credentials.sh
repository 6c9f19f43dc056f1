#!/usr/bin/env bash
# usage: scripts/k8s-credentials.sh
# Generates the credentials that the secretGenerators of deploy/k8s read, once, with the scripts compose's `init`
# runs: the Redis ACL and passwords (deploy/init/credentials.sh) into deploy/k8s/base/credentials/, Grafana's admin
# password (deploy/init/grafana.sh) into deploy/k8s/observability/credentials/; both gitignored, never committed.
# Later runs keep them, so the Secrets' hash suffixes stay stable. Run it before rendering or applying deploy/k8s.
set -euo pipefail
cd "$(dirname "$0")/.."
REDIS_VERSION=$(sed -n 's/^REDIS_VERSION=//p' .env)
export REDIS_VERSION
dir=deploy/k8s/base/credentials
deploy/init/credentials.sh "$dir/redis" "$dir/web" "$dir/exporter"
deploy/init/grafana.sh deploy/k8s/observability/credentials/grafana
