#!/usr/bin/env bash
# usage: scripts/k8s-credentials.sh
# Generates the credentials that the secretGenerators of deploy/k8s read, once, with the scripts compose's `init`
# runs: the Redis ACL and the app's password (deploy/init/credentials.sh) into deploy/k8s/base/credentials/, the Redis
# exporter's password and Grafana's admin password (deploy/init/grafana.sh) into deploy/k8s/observability/credentials/;
# all gitignored, never committed. Later runs keep them, so the Secrets' hash suffixes stay stable. Run it before
# rendering or applying deploy/k8s.
set -euo pipefail
cd "$(dirname "$0")/.."
REDIS_VERSION=$(sed -n 's/^REDIS_VERSION=//p' .env)
export REDIS_VERSION
base=deploy/k8s/base/credentials observability=deploy/k8s/observability/credentials
# Checkouts that generated the exporter's password under base/ keep it (and so the ACL that holds its hash).
if [[ -d $base/exporter && ! -e $observability/redis-exporter ]]; then
    mkdir -p "$observability"
    mv "$base/exporter" "$observability/redis-exporter"
fi
deploy/init/credentials.sh "$base/redis" "$base/web" "$observability/redis-exporter"
deploy/init/grafana.sh "$observability/grafana"
