#!/bin/sh
# Regenerates the TEST ONLY certificates of the merchant platform simulator.
# Needs openssl (1.1 or 3). After regenerating, rebuild poskit-sim: the
# simulator embeds these files with include_str!, and its tests compare the
# pin below with the one computed from the certificate.
set -eu
cd "$(dirname "$0")"
# Valid from 2000 to the end of 2049 (the last year an X.509 UTCTime can
# carry), so that neither a machine with a wrong clock nor time breaks tests.
START=20000101000000Z
END=20491231235959Z
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

mkdir "$tmp/db"
: > "$tmp/db/index.txt"
echo 1000 > "$tmp/db/serial"
cat > "$tmp/ca.cnf" <<CNF
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = $tmp/db
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[ any ]
organizationName = optional
commonName = supplied
[ v3_ca ]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ v3_server ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF

key() { # out
  openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/k.sec1"
  openssl pkcs8 -topk8 -nocrypt -in "$tmp/k.sec1" -out "$1"
}
sign() { # csr, out, extensions, ca cert ("" for self-signed), ca key
  if [ -z "$4" ]; then self="-selfsign"; cert=""; else self=""; cert="-cert $4"; fi
  # shellcheck disable=SC2086
  openssl ca -batch -config "$tmp/ca.cnf" $self $cert -keyfile "$5" -in "$1" \
    -startdate "$START" -enddate "$END" -extensions "$3" -notext -out "$2" 2>/dev/null
}

# The platform's test CA.
key platform-ca-key.pem
openssl req -new -key platform-ca-key.pem -subj "/O=PosKit TEST ONLY/CN=PosKit Test Platform CA" -out "$tmp/ca.csr"
sign "$tmp/ca.csr" platform-ca.pem v3_ca "" platform-ca-key.pem

# An unrelated CA, only to be trusted wrongly in tests; its key is thrown away.
key "$tmp/other.key"
openssl req -new -key "$tmp/other.key" -subj "/O=PosKit TEST ONLY/CN=PosKit Unrelated Test CA" -out "$tmp/other.csr"
sign "$tmp/other.csr" platform-other-ca.pem v3_ca "" "$tmp/other.key"

# The simulator's server certificate: 127.0.0.1 and localhost.
key platform-server-key.pem
openssl req -new -key platform-server-key.pem -subj "/O=PosKit TEST ONLY/CN=localhost" -out "$tmp/server.csr"
sign "$tmp/server.csr" platform-server.pem v3_server platform-ca.pem platform-ca-key.pem

# The pin: SHA-256 of the server certificate's SubjectPublicKeyInfo (DER).
openssl x509 -in platform-server.pem -noout -pubkey | openssl pkey -pubin -outform DER \
  | openssl dgst -sha256 -r | cut -d' ' -f1 > platform-server-spki-sha256.txt
openssl verify -CAfile platform-ca.pem platform-server.pem
