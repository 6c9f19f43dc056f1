#!/usr/bin/env bash
# usage: scripts/k8s-sync.sh [--check]
# Copies the configs compose mounts into the kustomizations of deploy/k8s that generate ConfigMaps from them, because
# kustomize reads no file outside a kustomization's directory (nor a symlink that leaves it). A generator entry
# `KEY=files/PATH` reads the copy DIR/files/PATH of the repository's PATH: the kustomization names the sources, this
# script rebuilds each files/ from them, byte for byte, and drops what no entry reads. Edit the source (redis/,
# observability/, dashboards/), never the copy, then run this and commit both. With --check it changes nothing and
# fails, with a diff, where a copy differs (tests/policy/k8s_policy.rs checks the same).
set -euo pipefail
cd "$(dirname "$0")/.."
check=false
case ${1-} in
    "") ;;
    --check) check=true ;;
    *) echo "usage: scripts/k8s-sync.sh [--check]" >&2 && exit 2 ;;
esac

fresh=$(mktemp -d)
trap 'rm -rf "$fresh"' EXIT
stale=0
while read -r kustomization; do
    dir=$(dirname "$kustomization")
    sources=$(sed -n 's/^ *- *[^=]*= *files\///p' "$kustomization")
    [[ -n $sources || -e $dir/files ]] || continue
    mkdir -p "$fresh/$dir"
    for source in $sources; do
        mkdir -p "$(dirname "$fresh/$dir/$source")"
        cp "$source" "$fresh/$dir/$source"
    done
    if $check; then
        diff -r "$dir/files" "$fresh/$dir" >&2 || stale=1
    else
        rm -rf "$dir/files"
        [[ -z $sources ]] || cp -r "$fresh/$dir" "$dir/files"
        echo "$dir/files: $(wc -w <<<"$sources") copies"
    fi
done < <(find deploy/k8s -name kustomization.yaml -not -path '*/files/*' | sort)
if ((stale)); then
    echo "deploy/k8s: copies differ from their sources (above): run scripts/k8s-sync.sh and commit the result" >&2
    exit 1
fi
