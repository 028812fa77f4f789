#!/usr/bin/env bash
# make demo: run promaccess.core.provision_access against the embedded local default (playbooks/demo/):
# Prometheus and nginx as plain processes on 127.0.0.1:19090 and 127.0.0.1:18080, files under state/demo.
# Loopback only, so plain HTTP; PROMACCESS_DEMO_TLS=always serves both over TLS with the playbook's local CA.
set -euo pipefail
cd "$(dirname "$0")/.."
export PROMACCESS_DEMO_STATE=${PROMACCESS_DEMO_STATE:-$PWD/state/demo}
export PROMACCESS_VENV=${PROMACCESS_VENV:-$PWD/.venv}
bin=$PROMACCESS_VENV/bin
mkdir -p "$PROMACCESS_DEMO_STATE"
"$bin/ansible-playbook" -i playbooks/demo/inventory.yml playbooks/demo/setup.yml
"$bin/ansible-playbook" -i playbooks/demo/inventory.yml promaccess.core.provision_access "$@"

s=$PROMACCESS_DEMO_STATE
port=${PROMACCESS_DEMO_NGINX_PORT:-18080}
if [[ ${PROMACCESS_DEMO_TLS:-auto} == always ]]; then
  url="https://127.0.0.1:$port/prometheus/" cacert=" --cacert $s/handoff/team-a/ca.crt"
else
  url="http://127.0.0.1:$port/prometheus/" cacert=""
fi
cat <<EOT

Done. Team A's hand-off file: $s/handoff/team-a/credentials.txt.age
The message to send with it:   $s/handoff/team-a/message.txt

Team A decrypts it with its own key (here: $s/team-a-key.txt) and queries Prometheus through nginx:
  creds=\$(age --decrypt -i $s/team-a-key.txt $s/handoff/team-a/credentials.txt.age)
  curl$cacert -u "\$(sed -n 's/^username: //p' <<<"\$creds"):\$(sed -n 's/^password: //p' <<<"\$creds")" \\
       '${url}api/v1/query?query=up'
Without credentials the same URL answers 401. Stop the demo with:
  $s/service.sh stop nginx; $s/service.sh stop prometheus
EOT
