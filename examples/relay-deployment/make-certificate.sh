#!/bin/sh
# A self-signed certificate for 127.0.0.1 and localhost, valid 30 days, that the three relays serve and
# trust (tlsCa). For relays on real hosts, use certificates for their names (from your CA, or ACME).
set -eu
cd "$(dirname "$0")"
mkdir -p tls
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
  -keyout tls/relay.key -out tls/relay.crt
chmod 600 tls/relay.key
