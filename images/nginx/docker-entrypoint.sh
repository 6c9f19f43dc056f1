#!/bin/sh
# The stand-in's entrypoint, behaving as the official nginx image's: for an `nginx` or `nginx-debug` command, run the
# scripts in /docker-entrypoint.d in name order (executable *.sh are run, *.envsh are sourced, anything else is
# skipped with a note), then exec the command. NGINX_ENTRYPOINT_QUIET_LOGS silences the notes.
set -e

note() {
    if [ -z "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ]; then
        echo "$@"
    fi
}

if [ "$1" = "nginx" ] || [ "$1" = "nginx-debug" ]; then
    if find /docker-entrypoint.d/ -mindepth 1 -maxdepth 1 -type f -print -quit 2>/dev/null | read -r _; then
        note "$0: /docker-entrypoint.d/ is not empty, will attempt to perform configuration"
        for script in $(find /docker-entrypoint.d/ -follow -type f -print | sort -V); do
            case "$script" in
                *.envsh)
                    if [ -x "$script" ]; then
                        note "$0: Sourcing $script"
                        # shellcheck source=/dev/null
                        . "$script"
                    else
                        note "$0: Ignoring $script, not executable"
                    fi
                    ;;
                *.sh)
                    if [ -x "$script" ]; then
                        note "$0: Launching $script"
                        "$script"
                    else
                        note "$0: Ignoring $script, not executable"
                    fi
                    ;;
                *) note "$0: Ignoring $script" ;;
            esac
        done
        note "$0: Configuration complete; ready for start up"
    else
        note "$0: No files found in /docker-entrypoint.d/, skipping configuration"
    fi
fi

exec "$@"
