#!/usr/bin/env bash
# usage: REDIS_VERSION=7.4.2 credentials.sh REDIS_DIR WEB_DIR EXPORTER_DIR
# Generates the Redis ACL once (first start) and keeps it afterwards, so data and credentials survive restarts:
#   REDIS_DIR/users.acl       read by redis-server (--aclfile); passwords stored as SHA-256 only
#   REDIS_DIR/admin.password  the operators' and the healthcheck's full-access user; never given to web
#   WEB_DIR/web.password      the app's password (REDIS_PASSWORD_FILE), for the restricted user `visit-counter`
#   EXPORTER_DIR/exporter.password  redis_exporter's password, for the read-only user `redis-exporter`
# The `default` user is switched off: a connection without credentials can do nothing.
# The same script runs as the compose one-shot service `init` and in `cargo xtask stack up` (the native twin).
set -euo pipefail
[[ $# -eq 3 ]] || { echo "usage: $0 REDIS_DIR WEB_DIR EXPORTER_DIR" >&2; exit 2; }
redis_dir=$1 web_dir=$2 exporter_dir=$3
umask 027

if [[ -s $redis_dir/users.acl && -s $web_dir/web.password && -s $exporter_dir/exporter.password ]]; then
    echo "credentials: keeping the existing ACL"
    exit 0
fi
mkdir -p "$redis_dir" "$web_dir" "$exporter_dir"
password() { openssl rand -hex 32; }
sha256() { printf '%s' "$1" | openssl dgst -sha256 -r | cut -d' ' -f1; }
web=$(password) admin=$(password) exporter=$(password)
# CLIENT SETINFO exists since Redis 7.2; older servers reject the whole ACL file for naming it. redis-rs sends it and
# ignores the server's "unknown subcommand" answer, so on 7.0 (Debian's, the native twin) the grant is simply left out.
setinfo="+client|setinfo"
IFS=. read -r major minor _ <<<"${REDIS_VERSION:?REDIS_VERSION must name the redis-server version}"
if ((major < 7 || (major == 7 && minor < 2))); then setinfo=""; fi

# The app needs exactly: HELLO (RESP3, with AUTH), CLIENT SETINFO (sent by redis-rs), INCR on its key, PING
# (readiness). HELLO/AUTH are allowed before authentication; naming them keeps the list honest.
# redis_exporter reads server state only: INFO, CONFIG GET (maxmemory and the like), SLOWLOG GET/LEN, LATENCY LATEST and
# HISTOGRAM (per-command histograms, asked for since redis_exporter 1.48), CLIENT LIST, CLIENT SETNAME (its own
# connection), MEMORY STATS; no key, no channel, nothing that resets or writes (LATENCY RESET, SLOWLOG RESET, CONFIG
# SET). CONFIG GET shows settings, never ACL passwords. LATENCY HISTOGRAM needs no version gate: it exists since 7.0,
# the first Redis that checks subcommand names in an ACL (6.x accepts any name after `|`).
cat >"$redis_dir/users.acl.tmp" <<ACL
user default off
user visit-counter on #$(sha256 "$web") resetkeys ~visits resetchannels -@all +hello +auth $setinfo +incr +ping
user redis-exporter on #$(sha256 "$exporter") resetkeys resetchannels -@all +hello +auth +ping +info +config|get +slowlog|len +slowlog|get +latency|latest +latency|histogram +client|list +client|setname +memory|stats
user admin on #$(sha256 "$admin") ~* &* +@all
ACL
printf '%s\n' "$web" >"$web_dir/web.password.tmp"
printf '%s\n' "$admin" >"$redis_dir/admin.password.tmp"
printf '%s\n' "$exporter" >"$exporter_dir/exporter.password.tmp"
chmod 0440 "$redis_dir/users.acl.tmp" "$web_dir/web.password.tmp" "$redis_dir/admin.password.tmp" \
    "$exporter_dir/exporter.password.tmp"
mv "$redis_dir/users.acl.tmp" "$redis_dir/users.acl"
mv "$redis_dir/admin.password.tmp" "$redis_dir/admin.password"
mv "$web_dir/web.password.tmp" "$web_dir/web.password"
mv "$exporter_dir/exporter.password.tmp" "$exporter_dir/exporter.password"
echo "credentials: generated users visit-counter, redis-exporter and admin"
