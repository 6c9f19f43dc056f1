#!/usr/bin/env bash
# usage: tls.sh TLS_DIR [NAME...]
# Creates a self-signed certificate for NGINX's TLS port on first start (ECDSA P-256, one year, SAN localhost,
# 127.0.0.1 and the extra NAMEs) and keeps it afterwards. No key is ever committed; replace TLS_DIR's tls.crt/tls.key
# with a real certificate to serve one.
set -euo pipefail
[[ $# -ge 1 ]] || { echo "usage: $0 TLS_DIR [NAME...]" >&2; exit 2; }
dir=$1
shift
umask 027
if [[ -s $dir/tls.crt && -s $dir/tls.key ]]; then
    echo "tls: keeping the existing certificate"
    exit 0
fi
mkdir -p "$dir"
san="DNS:localhost,IP:127.0.0.1"
for name in "$@"; do san+=",DNS:$name"; done
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 -subj "/CN=localhost" \
    -addext "subjectAltName=$san" -keyout "$dir/tls.key.tmp" -out "$dir/tls.crt.tmp" 2>/dev/null
chmod 0440 "$dir/tls.key.tmp" "$dir/tls.crt.tmp"
mv "$dir/tls.key.tmp" "$dir/tls.key"
mv "$dir/tls.crt.tmp" "$dir/tls.crt"
echo "tls: generated a self-signed certificate for $san"
