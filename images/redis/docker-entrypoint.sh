#!/bin/sh
# The stand-in's entrypoint, behaving as the official redis image's (see the Dockerfile).
set -e

# `docker run redis --port 7000` and `docker run redis /path/redis.conf` mean redis-server.
case "$1" in
    -* | *.conf) set -- redis-server "$@" ;;
esac

if [ "$1" = "redis-server" ] && [ "$(id -u)" = "0" ]; then
    find . \! -user redis -exec chown redis '{}' +
    exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi

if [ "$1" = "redis-server" ]; then
    # Protected mode refuses every client not on loopback when no password is set; a container is never reached on
    # loopback, so unless the config file decides, switch it off (as the official entrypoint does).
    config=""
    if [ -f "${2:-}" ]; then
        config="$2"
    fi
    if [ -z "$config" ] || ! grep -Eq '^[[:space:]]*protected-mode[[:space:]]' "$config"; then
        set -- "$@" --protected-mode no
    fi
fi

umask 0077
exec "$@"
