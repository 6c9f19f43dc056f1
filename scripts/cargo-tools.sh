#!/usr/bin/env bash
# usage: scripts/cargo-tools.sh — installs the cargo subcommands the static checks run, pinned, from crates.io into a
# cache keyed by tool and version (~/.cache/visit-counter/cargo-tools/<tool>-<version>), and prints the directory
# to put on PATH. A machine without the cache builds them once (a few minutes).
set -euo pipefail

tools=(cargo-deny@0.20.2 cargo-machete@0.9.2)
root=${XDG_CACHE_HOME:-$HOME/.cache}/visit-counter/cargo-tools
bin=$root/bin
mkdir -p "$bin"
for tool in "${tools[@]}"; do
    name=${tool%@*} version=${tool#*@}
    dir=$root/$name-$version
    if [[ ! -x $dir/bin/$name ]]; then
        echo "==> cargo install $tool" >&2
        # Its own target directory, so the workspace's cache is not rebuilt for other features.
        if ! cargo install --quiet --locked --root "$dir" --target-dir "$root/target" "$name" --version "$version" >&2; then
            echo "cargo-tools: building $tool failed; see: cargo install --locked $name --version $version" >&2
            exit 1
        fi
    fi
    ln -sf "$dir/bin/$name" "$bin/$name"
done
echo "$bin"
