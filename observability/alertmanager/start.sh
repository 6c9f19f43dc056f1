#!/bin/sh
# Alertmanager's start in docker-compose.yml (the same contract in the official image and our stand-in: /bin/sh,
# /bin/alertmanager, a writable /tmp). Alertmanager does not expand environment variables in its config, so:
# - ALERTMANAGER_WEBHOOK_URL set: written to /tmp/alertmanager/webhook-url, the `url_file` of the `webhook` receiver;
# - unset or empty: the route's receiver becomes `nowhere`. Alerts are kept and shown, and sent to no one.
# The config actually run is /tmp/alertmanager/alertmanager.yml; the arguments are passed on to Alertmanager.
set -eu
shipped=/etc/alertmanager/alertmanager.yml
run=/tmp/alertmanager
mkdir -p "$run"
if [ -n "${ALERTMANAGER_WEBHOOK_URL:-}" ]; then
    printf '%s\n' "$ALERTMANAGER_WEBHOOK_URL" >"$run/webhook-url"
    cp "$shipped" "$run/alertmanager.yml"
    echo "start.sh: alerts go to the webhook of ALERTMANAGER_WEBHOOK_URL" >&2
else
    sed 's/^  receiver: webhook$/  receiver: nowhere/' "$shipped" >"$run/alertmanager.yml"
    grep -q '^  receiver: nowhere$' "$run/alertmanager.yml" || {
        echo "start.sh: $shipped has no line '  receiver: webhook' to switch" >&2
        exit 1
    }
    echo "start.sh: ALERTMANAGER_WEBHOOK_URL is unset: alerts are kept and shown, and sent nowhere" >&2
fi
exec /bin/alertmanager --config.file="$run/alertmanager.yml" "$@"
