#!/bin/sh
# usage: mounted as /docker-entrypoint.d/40-access-log-cap.sh in compose's nginx service; the image's entrypoint runs
# it before NGINX starts. Not used by the native twin (its access log lives in a temp dir).
# Keeps the access log file that NGINX writes for the Collector (NGINX_ACCESS_LOG_FILE, on the nginx-access-log
# volume) under ~32 MiB: every 30 s, once larger, it is truncated in place. NGINX opens it with O_APPEND and keeps
# writing at the new end, no signal needed (the image has no logrotate). The Collector's filelog receiver has read all
# but the last poll interval (200 ms) by then; those few lines are the only loss.
# ACCESS_LOG_CAP_BYTES and ACCESS_LOG_CAP_INTERVAL (seconds) change the two numbers (tests/policy/nginx_config.rs).
set -eu
file=${NGINX_ACCESS_LOG_FILE:?}
max_bytes=${ACCESS_LOG_CAP_BYTES:-33554432}
interval=${ACCESS_LOG_CAP_INTERVAL:-30}
(
    while sleep "$interval"; do
        if [ -f "$file" ] && [ "$(stat -c %s "$file")" -gt "$max_bytes" ]; then
            : >"$file"
        fi
    done
) </dev/null >/dev/null 2>&1 &
