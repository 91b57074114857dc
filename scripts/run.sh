#!/usr/bin/env bash
#
# scripts/run.sh: what `make run` executes. Initialises a state directory if
# there is none, starts the stack on loopback, prints how to use it, and
# stays in the foreground until Ctrl-C (or until a component dies).
#
# Settings (environment):
#   ACME_PORT            HTTPS port (14443)
#   ACME_STATE           state directory (./var)
#   ACME_WORKERS         acme-fcgi workers (2)
#   WEBSERVER            nginx or lighttpd (nginx)
#   ACME_RESOLVER        ip:port of the validation resolver (unset: the system's)
#   ACME_HTTP01_PORT     port http-01 validation connects to (5002: a local
#                        `certbot --standalone --http-01-port 5002` answers it
#                        without root; the production default is 80)
#   ACME_TLSALPN01_PORT  port tls-alpn-01 validation connects to (5001)
#   BUILD                build directory (build)
# The last four are written into acme.conf when the state is created; delete
# ACME_STATE (or edit its acme.conf) to change them later.
set -u
cd "$(dirname "$0")/.." || exit 1
# shellcheck source=scripts/stack.sh
. scripts/stack.sh

port=${ACME_PORT:-14443}
state=$(stack__abs "${ACME_STATE:-./var}")
workers=${ACME_WORKERS:-2}
web=${WEBSERVER:-nginx}
resolver=${ACME_RESOLVER:-}
http01=${ACME_HTTP01_PORT:-5002}
tlsalpn01=${ACME_TLSALPN01_PORT:-5001}

# An explicit ACME_WORKERS also applies to an existing state directory.
[ -n "${ACME_WORKERS:-}" ] && export STACK_WORKERS=$ACME_WORKERS

# Everything runs on loopback, so validation must be allowed to connect there.
init=(--port "$port" --http01-port "$http01" --tlsalpn01-port "$tlsalpn01" --workers "$workers"
	--allow-private)
[ -n "$resolver" ] && init+=(--resolver "$resolver")
stack_init "$state" "${init[@]}" || { echo "run: cannot initialise $state" >&2; exit 1; }

stopping=0
on_signal() {
	[ "$stopping" = 1 ] && return
	stopping=1
	echo
	echo "run: stopping"
	stack_stop "$state"
	exit 0
}
trap on_signal INT TERM

stack_start "$state" "$web" "$port" || exit 1

dir="https://localhost:$port/acme/default/directory"
root=$state/ca/root.pem
cat <<EOF

ACME server running: $web on https://localhost:$port, state in $state
  directory      $dir
  root CA        $root
  logs           $state/log/

Get a certificate for app.localhost (names under .localhost are 127.0.0.1)
without root, with certbot answering http-01 on port $http01:

  REQUESTS_CA_BUNDLE=$root certbot certonly --standalone --http-01-port $http01 \\
    --server $dir -d app.localhost \\
    --agree-tos --register-unsafely-without-email --non-interactive \\
    --config-dir $state/certbot/config --work-dir $state/certbot/work --logs-dir $state/certbot/logs

or with lego:

  LEGO_CA_CERTIFICATES=$root lego --server $dir \\
    --accept-tos --email you@example.org --domains app.localhost \\
    --http --http.port :$http01 --path $state/lego run

Ctrl-C stops everything.
EOF

# Stay in the foreground; leave if a component dies. `wait` on a background
# sleep lets the trap run at once on Ctrl-C.
while :; do
	sleep 1 &
	wait $!
	if ! dead=$(stack_alive "$state"); then
		echo "run: $dead stopped unexpectedly; the last log lines:" >&2
		stack_logs "$state" 30 >&2
		stopping=1
		stack_stop "$state"
		exit 1
	fi
done
