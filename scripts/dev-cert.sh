#!/usr/bin/env bash
# Makes a local certificate authority and a certificate for localhost / 127.0.0.1 signed by it, for
# running both servers over HTTPS on one machine:
#
#   scripts/dev-cert.sh [DIR]        (default: data/tls)
#
# writes DIR/ca.pem (give it to clients: curl --cacert, introspection.ca_file), DIR/ca-key.pem,
# DIR/localhost.pem and DIR/localhost-key.pem (server.tls.cert / server.tls.key). Existing files are
# kept unless they expire within a day.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-data/tls}
mkdir -p "$dir"
if ! command -v openssl >/dev/null 2>&1; then
    echo "installing openssl" >&2
    apt-get install -y openssl >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y openssl >/dev/null; }
fi
if [ -f "$dir/localhost.pem" ] && openssl x509 -checkend 86400 -noout -in "$dir/localhost.pem" >/dev/null 2>&1; then
    echo "$dir/localhost.pem is still valid; keeping it"
    exit 0
fi
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
    -subj "/CN=oauth-rs development CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$dir/ca-key.pem" -out "$dir/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$dir/localhost-key.pem" -out "$dir/localhost.csr" 2>/dev/null
cat > "$dir/localhost.ext" <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
EXT
openssl x509 -req -in "$dir/localhost.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca-key.pem" \
    -CAcreateserial -days 397 -extfile "$dir/localhost.ext" -out "$dir/localhost.pem" 2>/dev/null
rm -f "$dir/localhost.csr" "$dir/localhost.ext" "$dir/ca.srl"
chmod 644 "$dir/ca.pem" "$dir/localhost.pem"
echo "wrote $dir/ca.pem, $dir/localhost.pem and $dir/localhost-key.pem"
