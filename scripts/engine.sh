#!/usr/bin/env bash
# usage: scripts/engine.sh — makes sure a Docker engine with Compose v2 answers, installing and starting what is
# missing: Debian's docker.io and debootstrap, and Compose v2 as the single `docker-compose` package of a newer Debian
# suite (the system itself is not upgraded). Starts dockerd in the background when `docker info` fails and leaves it
# running. Prints one line saying what it did.
set -euo pipefail

# The suite Compose v2 comes from (Debian 12 only has Compose v1); the package is a static binary needing libc6 >= 2.34.
COMPOSE_SUITE=${COMPOSE_SUITE:-forky}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
state=${XDG_CACHE_HOME:-$HOME/.cache}/visit-counter/apt-$COMPOSE_SUITE
did=()
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
# The 20.10 engine's own client: BuildKit works with it without buildx (a newer client elsewhere on PATH needs buildx).
export PATH="/usr/bin:$PATH"

apt_install() {
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

missing=()
[[ -x /usr/sbin/dockerd ]] || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v iptables >/dev/null || missing+=(iptables)
if ((${#missing[@]})); then
    apt_install "${missing[@]}" || {
        echo "engine: installing ${missing[*]} failed; see: apt-get install ${missing[*]}" >&2
        exit 1
    }
    did+=("installed ${missing[*]}")
fi

if ! docker compose version >/dev/null 2>&1; then
    # A private sources list and state directory: only this one package comes from the newer suite.
    mkdir -p "$state/lists/partial" "$state/archives/partial"
    chmod -R a+rwX "$state" 2>/dev/null || true
    printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' "$MIRROR" "$COMPOSE_SUITE" \
        >"$state/sources.list"
    opts=(-o "Dir::Etc::SourceList=$state/sources.list" -o Dir::Etc::SourceParts=/dev/null
        -o "Dir::State::Lists=$state/lists" -o "Dir::Cache::Archives=$state/archives"
        -o Acquire::Check-Valid-Until=false -qq)
    if ! { apt-get "${opts[@]}" update && (cd "$state/archives" && apt-get "${opts[@]}" download docker-compose); }; then
        echo "engine: downloading docker-compose from $COMPOSE_SUITE failed; see: apt-get ${opts[*]} update" >&2
        exit 1
    fi
    $sudo dpkg -i "$state"/archives/docker-compose_*.deb >/dev/null || {
        echo "engine: dpkg -i docker-compose failed; see: dpkg -i $state/archives/docker-compose_*.deb" >&2
        exit 1
    }
    did+=("installed Compose $(docker compose version --short) from $COMPOSE_SUITE")
fi

if ! docker info >/dev/null 2>&1; then
    log=${XDG_CACHE_HOME:-$HOME/.cache}/visit-counter/dockerd.log
    mkdir -p "$(dirname "$log")"
    # --userland-proxy=false: published ports through iptables, not one docker-proxy process per connection (the
    # userland proxy runs out of ephemeral ports under load and costs a third of the throughput).
    # Without this script's other open files: the daemon outlives it, and would otherwise keep holding what its caller
    # holds (a `flock` around a test run stayed locked for as long as dockerd ran).
    (
        for fd in /proc/"$BASHPID"/fd/*; do
            fd=${fd##*/}
            if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi
        done
        exec $sudo setsid nohup /usr/sbin/dockerd --userland-proxy=false >"$log" 2>&1 </dev/null
    ) &
    deadline=$((SECONDS + 60))
    until docker info >/dev/null 2>&1; do
        if ((SECONDS > deadline)); then
            echo "engine: dockerd did not answer within 60 s; see: tail $log" >&2
            exit 1
        fi
        sleep 0.5
    done
    did+=("started dockerd (log: $log)")
fi

if ((${#did[@]})); then
    summary=$(printf '%s; ' "${did[@]}")
    printf 'engine: %sDocker %s, Compose %s\n' "$summary" \
        "$(docker version --format '{{.Server.Version}}')" "$(docker compose version --short)"
else
    printf 'engine: already running (Docker %s, Compose %s)\n' "$(docker version --format '{{.Server.Version}}')" \
        "$(docker compose version --short)"
fi
