#!/usr/bin/env bash
# usage: grafana.sh DIR
# Generates Grafana's admin password once (first start) into DIR/admin.password (mode 0440), read by Grafana through
# GF_SECURITY_ADMIN_PASSWORD__FILE. There is no default password: visitors are anonymous read-only viewers, and an
# operator reads the generated one with `docker compose exec grafana cat /run/credentials/admin.password`.
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: $0 DIR" >&2; exit 2; }
dir=$1
umask 027
if [[ -s $dir/admin.password ]]; then
    echo "grafana: keeping the existing admin password"
    exit 0
fi
mkdir -p "$dir"
openssl rand -hex 24 >"$dir/admin.password.tmp"
chmod 0440 "$dir/admin.password.tmp"
mv "$dir/admin.password.tmp" "$dir/admin.password"
echo "grafana: generated the admin password"
