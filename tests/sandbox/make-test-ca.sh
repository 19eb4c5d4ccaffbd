#!/bin/sh
# make-test-ca.sh DIR - make throw-away TLS material for tests, at test time
# (keys are never committed):
#   DIR/ca.pem, DIR/ca.key          a test CA
#   DIR/server.pem, DIR/server.key  a server certificate signed by it, for
#                                   127.0.0.1 and localhost (subjectAltName)
#   DIR/other-ca.pem                a second, unrelated CA ("wrong CA" tests)
# Needs the openssl CLI ($OPENSSL or openssl on PATH). Exit 0 on success.
set -eu
dir=${1:?usage: make-test-ca.sh DIR}
openssl=${OPENSSL:-openssl}
mkdir -p "$dir"
cd "$dir"
umask 077

cat > ext.cnf <<'EOC'
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
EOC

mkca() { # NAME SUBJECT
	"$openssl" req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -keyout "$1.key" -out "$1.pem" -days 2 -subj "$2" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}

mkca ca "/CN=twilio-sandbox test CA"
mkca other-ca "/CN=unrelated test CA"
"$openssl" req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null
"$openssl" x509 -req -in server.csr -CA ca.pem -CAkey ca.key \
	-CAcreateserial -out server.pem -days 2 -extfile ext.cnf \
	-extensions server 2>/dev/null
rm -f server.csr ext.cnf ca.srl other-ca.key
chmod 644 ca.pem other-ca.pem server.pem
"$openssl" verify -CAfile ca.pem server.pem >/dev/null
