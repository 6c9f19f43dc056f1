#!/usr/bin/env bash
# usage: scripts/k8s-checks.sh
# Checks the Kubernetes manifests without a cluster: the config copies in deploy/k8s equal the files compose mounts
# (scripts/k8s-sync.sh --check); plain `kubectl kustomize DIR` (no flags: the kustomize `kubectl apply -k` runs)
# renders deploy/k8s/base, observability, ingress-nginx-metrics and every overlay with nothing on stderr (no
# warnings); every rendered object passes `kubernetes-validate --strict` against the bundled schemas of the Kubernetes
# version below (offline). `kubectl apply -k --dry-run=client` is not run: it needs an API server for discovery, even
# with --validate=false. Generates the gitignored credentials the secretGenerators read if they are missing
# (scripts/k8s-credentials.sh). The policy rules on the rendered objects run as a Rust test (tests/policy/k8s_policy.rs).
# Installs kubernetes-validate into a venv under ~/.cache.
set -euo pipefail
cd "$(dirname "$0")/.."

# The Kubernetes version the manifests target: the kubectl client here is 1.32.
kubernetes_version=1.32.0
if ! command -v kubectl >/dev/null; then
    # Where an apt source carries the `kubectl` package (this machine's kind does), install it from there.
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    if apt-cache policy kubectl 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        echo "==> installing kubectl"
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends kubectl >/dev/null
    else
        echo "kubectl is missing and no apt source has it: install the kubectl client (>= 1.32) first" >&2
        exit 1
    fi
fi

venv="${XDG_CACHE_HOME:-$HOME/.cache}/visit-counter/k8s-venv"
requirements=(kubernetes-validate==1.37.0)
stamp="$venv/.requirements"
if [[ ! -x $venv/bin/python || $(cat "$stamp" 2>/dev/null) != "${requirements[*]}" ]]; then
    echo "==> installing ${requirements[*]} into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${requirements[@]}"
    echo "${requirements[*]}" >"$stamp"
fi

echo "==> scripts/k8s-sync.sh --check"
scripts/k8s-sync.sh --check
scripts/k8s-credentials.sh >/dev/null
rendered=$(mktemp -d)
trap 'rm -rf "$rendered"' EXIT
for dir in deploy/k8s/base deploy/k8s/observability deploy/k8s/ingress-nginx-metrics deploy/k8s/overlays/*/; do
    dir=${dir%/}
    out="$rendered/${dir//\//_}.yaml"
    echo "==> kubectl kustomize $dir"
    kubectl kustomize "$dir" >"$out" 2>"$rendered/stderr"
    if [[ -s $rendered/stderr ]]; then
        cat "$rendered/stderr" >&2
        echo "kubectl kustomize $dir: warnings (above)" >&2
        exit 1
    fi
    echo "==> kubernetes-validate --strict $dir"
    "$venv/bin/kubernetes-validate" --strict --quiet -k "$kubernetes_version" "$out"
done
