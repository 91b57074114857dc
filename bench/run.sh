#!/usr/bin/env bash
#
# bench/run.sh: the benchmark behind `make bench`. Starts our stack (nginx,
# acme-fcgi with its workers, acme-validator) and Pebble with equivalent
# settings on loopback, runs the same workloads against both with
# acme-bench, prints one side-by-side table and writes the raw figures to
# bench/results/<date>-<commit>.json. It measures and reports; it asserts
# nothing (a failed run is reported as such). See bench/README.md.
#
# Settings (environment):
#   BENCH_SECONDS=10       length of each flows run (new flows start until then)
#   BENCH_FLOWS=           flows per run instead (a count; overrides BENCH_SECONDS)
#   BENCH_RAW_SECONDS=5    length of each raw newNonce / directory run
#   BENCH_CONC="1 8 32"    flows concurrencies
#   BENCH_NONCE_CONC="1 32" newNonce concurrencies; BENCH_DIR_CONC="32" directory
#   BENCH_BACKOFF=1        also run our flows with the client's own backoff instead
#                          of Retry-After (0: skip)
#   BENCH_SCALE=           store sizes for the scaling runs, e.g. "10000 100000"
#                          (empty: none); BENCH_SCALE_CONC=8, BENCH_SCALE_SECONDS=10
#   BENCH_TIMEOUT=15       per-request timeout of the client (s)
#   BENCH_STALL=3          end a run when the server answered nothing for this long
#                          while requests were out (Pebble's deadlock)
#   BENCH_OUT=FILE         the JSON report (default bench/results/<date>-<commit>.json)
#   BENCH_KEEP=1           keep the work directory (state, logs, per-run JSON)
#   BUILD=build            where the programs are
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
export BUILD=${BUILD:-build}
BIN=$ROOT/$BUILD
# shellcheck source=scripts/stack.sh
. "$ROOT/scripts/stack.sh"

B_SECONDS=${BENCH_SECONDS:-10}
B_FLOWS=${BENCH_FLOWS:-}
B_RAW=${BENCH_RAW_SECONDS:-5}
B_CONC=${BENCH_CONC:-"1 8 32"}
B_NONCE=${BENCH_NONCE_CONC:-"1 32"}
B_DIR=${BENCH_DIR_CONC:-"32"}
B_BACKOFF=${BENCH_BACKOFF:-1}
B_SCALE=${BENCH_SCALE:-}
B_SCALE_CONC=${BENCH_SCALE_CONC:-8}
B_SCALE_SECONDS=${BENCH_SCALE_SECONDS:-10}
B_TIMEOUT=${BENCH_TIMEOUT:-15}
B_STALL=${BENCH_STALL:-3}

say() { echo "bench: $*" >&2; }
die() { say "$*"; exit 1; }

for c in "$BIN/acme-bench" "$BIN/acme-fcgi" "$BIN/acme-validator" "$BIN/acme-admin"; do
	[ -x "$c" ] || die "$c not built (make BUILD=$BUILD all $BUILD/acme-bench)"
done
for c in pebble pebble-challtestsrv nginx spawn-fcgi openssl python3 curl; do
	command -v "$c" >/dev/null || die "$c is not installed (make deps)"
done

COMMIT=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- 2>/dev/null || COMMIT=$COMMIT-dirty
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${BENCH_OUT:-$ROOT/bench/results/$STAMP-$COMMIT.json}
mkdir -p "$(dirname "$OUT")" || exit 1
WORK=$(mktemp -d "${TMPDIR:-/tmp}/acme-bench.XXXXXX") || exit 1
# As root, scripts/stack.sh runs the server as its service users: they must
# be able to reach the state directory inside (STACK_USER= keeps root).
chmod 0711 "$WORK" || exit 1
STATE=$WORK/ours
PEBBLE_PID=

cleanup() {
	trap - EXIT INT TERM HUP
	stack_stop "$STATE" 2>/dev/null
	declare -F pebble_stop >/dev/null && pebble_stop
	stack_challtestsrv_stop
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		say "kept $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# A free loopback port (TCP, and UDP with "udp"), never one picked before.
PICKED=" "
pick_port() {
	local p i
	for ((i = 0; i < 200; i++)); do
		# Below the ephemeral range (32768-60999 on Linux), which outgoing
		# connections take ports from while Pebble restarts.
		p=$((10000 + RANDOM % 10000))
		[[ $PICKED == *" $p "* ]] && continue
		if python3 - "$p" "${1:-tcp}" <<'PY'; then
import socket, sys
port, proto = int(sys.argv[1]), sys.argv[2]
kinds = [socket.SOCK_STREAM] + ([socket.SOCK_DGRAM] if proto == "udp" else [])
for kind in kinds:
    s = socket.socket(socket.AF_INET, kind)
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        sys.exit(1)
    finally:
        s.close()
PY
			PICKED+="$p "
			echo "$p"
			return 0
		fi
	done
	die "no free port"
}

DNS=$(pick_port udp)
MGMT=$(pick_port)
H01=$(pick_port)
TLSALPN=$(pick_port)
OURS_PORT=$(pick_port)
PEBBLE_PORT=$(pick_port)
PEBBLE_MGMT=$(pick_port)
export STACK_CTS_LOG=$WORK/challtestsrv.log
say "work $WORK; DNS 127.0.0.1:$DNS, http-01 port $H01, ours :$OURS_PORT, Pebble :$PEBBLE_PORT"

stack_challtestsrv_start "$DNS" "$MGMT" || die "pebble-challtestsrv did not start"
CTS_PID=$STACK_CTS_PID

# --- acme-bench ---------------------------------------------------------

# bench_run OUTFILE LABEL DIR_URL CAFILE GROUPS RUNS [EXTRA...]
bench_run() {
	local out=$1 label=$2 url=$3 ca=$4 groups=$5 runs=$6
	shift 6
	# shellcheck disable=SC2086
	"$BIN/acme-bench" -d "$url" -C "$ca" -p "$H01" -r "$runs" -l "$label" -T "$B_TIMEOUT" -S "$B_STALL" \
		$groups -x "dns=$CTS_PID" -o "$out" "$@" 2> >(sed 's/^acme-bench: /  /' >&2)
}

flows_limit() { # CONC
	if [ -n "$B_FLOWS" ]; then
		echo "flows:$1:$B_FLOWS"
	else
		echo "flows:$1:${B_SECONDS}s"
	fi
}

raw_runs() {
	local c runs=""
	for c in $B_NONCE; do runs+="nonce:$c:${B_RAW}s,"; done
	for c in $B_DIR; do runs+="directory:$c:${B_RAW}s,"; done
	echo "${runs%,}"
}

# --- the two servers ------------------------------------------------------------

ours_groups() {
	local g="" n
	for n in nginx acme-fcgi acme-validator; do
		g+=" -g ${n#acme-}=$(stack__pid "$STATE" "$n")"
	done
	echo "$g"
}

OURS_URL=https://localhost:$OURS_PORT/acme/default/directory
PEBBLE_URL=https://localhost:$PEBBLE_PORT/dir
PDIR=$WORK/pebble

pebble_start() {
	local deadline=$((SECONDS + 15))
	PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0 \
		pebble -config "$PDIR/pebble-config.json" -dnsserver "127.0.0.1:$DNS" \
		>>"$PDIR/pebble.log" 2>&1 &
	PEBBLE_PID=$!
	until curl -sf -o /dev/null --cacert "$PDIR/cert.pem" "$PEBBLE_URL"; do
		if ! kill -0 "$PEBBLE_PID" 2>/dev/null || [ $SECONDS -ge "$deadline" ]; then
			tail -n 20 "$PDIR/pebble.log" >&2
			die "Pebble did not start"
		fi
		sleep 0.1
	done
}

pebble_stop() {
	local i
	[ -n "$PEBBLE_PID" ] || return 0
	kill -TERM "$PEBBLE_PID" 2>/dev/null
	for i in $(seq 50); do
		kill -0 "$PEBBLE_PID" 2>/dev/null || break
		[ "$i" -eq 50 ] && kill -KILL "$PEBBLE_PID" 2>/dev/null
		sleep 0.1
	done
	wait "$PEBBLE_PID" 2>/dev/null
	PEBBLE_PID=
}

# Pebble 2.4's in-memory store can deadlock under concurrent orders (its
# lock ordering: a newOrder scanning authorizations under the store's read
# lock against a writer). acme-bench ends a run that stalls (-S) and counts
# its rate over the time before; such a run is done again on a fresh
# Pebble, and every attempt is kept in the report.
stalled() { # JSON
	python3 - "$1" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception:
    sys.exit(0)
sys.exit(0 if any(r.get("stalled") or any(k.startswith("transport:timeout") for k in r.get("errors", {}))
                 for r in d.get("runs", [])) else 1)
PY
}

# pebble_flows CONC: one flows run on a fresh Pebble; up to three attempts
# when it stalls (the report takes the attempt that completed most flows).
pebble_flows() {
	local c=$1 f=$WORK/pebble-flows-honour-$1.json attempt
	for attempt in 1 2 3; do
		if [ "$attempt" = 1 ]; then
			say "Pebble: flows c=$c"
		else
			say "Pebble: stalled (requests unanswered): flows c=$c again on a fresh Pebble"
			mv "$f" "$WORK/pebble-stalled-$c-$attempt.json"
		fi
		pebble_start
		bench_run "$f" pebble "$PEBBLE_URL" "$PDIR/cert.pem" "-g pebble=$PEBBLE_PID" \
			"$(flows_limit "$c")" -P honour || say "Pebble: flows c=$c failed"
		pebble_stop
		stalled "$f" || break
	done
}

say "our stack: nginx, acme-fcgi (2 workers), acme-validator; durable commits"
stack_init "$STATE" --port "$OURS_PORT" --resolver "127.0.0.1:$DNS" --http01-port "$H01" \
	--tlsalpn01-port "$TLSALPN" --allow-private --workers 2 >"$WORK/ours-init.log" 2>&1 ||
	{ cat "$WORK/ours-init.log" >&2; die "stack_init failed"; }
stack_start "$STATE" nginx "$OURS_PORT" 2>"$WORK/ours-start.log" ||
	{ cat "$WORK/ours-start.log" >&2; die "our stack did not start"; }
sleep 2
G=$(ours_groups)
bench_run "$WORK/ours-idle.json" ours "$OURS_URL" "$STATE/ca/root.pem" "$G" directory:1:1 ||
	die "acme-bench failed against our stack"

say "Pebble: PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0, fresh for each flows run"
mkdir -p "$PDIR"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$PDIR/key.pem" -out "$PDIR/cert.pem" -subj /CN=localhost \
	-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >/dev/null 2>&1 ||
	die "cannot make Pebble's TLS certificate"
sed -e "s|@PORT@|$PEBBLE_PORT|; s|@MGMT@|$PEBBLE_MGMT|; s|@CERT@|$PDIR/cert.pem|" \
	-e "s|@KEY@|$PDIR/key.pem|; s|@HTTP01@|$H01|; s|@TLSALPN@|$TLSALPN|" \
	bench/pebble-config.json.in >"$PDIR/pebble-config.json"
pebble_start
sleep 2
bench_run "$WORK/pebble-idle.json" pebble "$PEBBLE_URL" "$PDIR/cert.pem" "-g pebble=$PEBBLE_PID" \
	directory:1:1 || die "acme-bench failed against Pebble"
pebble_stop

# The workloads, ours and Pebble's in turn, so that both see the same
# background load (the "other load" rows show how much there was).
for c in $B_CONC; do
	say "ours: flows c=$c (Retry-After honoured)"
	bench_run "$WORK/ours-flows-honour-$c.json" ours "$OURS_URL" "$STATE/ca/root.pem" "$G" \
		"$(flows_limit "$c")" -P honour || say "ours: flows c=$c failed"
	pebble_flows "$c"
	if [ "$B_BACKOFF" = 1 ]; then
		say "ours: flows c=$c (client backoff, Retry-After ignored)"
		bench_run "$WORK/ours-flows-backoff-$c.json" ours "$OURS_URL" "$STATE/ca/root.pem" "$G" \
			"$(flows_limit "$c")" -P backoff || say "ours: flows c=$c failed"
	fi
done
say "ours: raw newNonce and directory"
bench_run "$WORK/ours-raw.json" ours "$OURS_URL" "$STATE/ca/root.pem" "$G" "$(raw_runs)" ||
	say "ours: raw runs failed"
say "Pebble: raw newNonce and directory"
pebble_start
bench_run "$WORK/pebble-raw.json" pebble "$PEBBLE_URL" "$PDIR/cert.pem" "-g pebble=$PEBBLE_PID" \
	"$(raw_runs)" || say "Pebble: raw runs failed"
pebble_stop

# The store-size scaling: seed the store up to each size with acme-admin
# bench-seed (realistic records written through the store API, outside the
# server), then measure issuance through the protocol.
store_certs() {
	"$BIN/acme-admin" -c "$STATE/acme.conf" stats --json 2>/dev/null |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["certificates"]["total"])'
}

if [ -n "$B_SCALE" ]; then
	for size in $B_SCALE; do
		have=$(store_certs) || die "acme-admin stats failed"
		if [ "$size" -gt "$have" ]; then
			say "ours: seeding the store with $((size - have)) issuances ($have -> $size certificates)"
			start=$SECONDS
			"$BIN/acme-admin" -c "$STATE/acme.conf" bench-seed "$((size - have))" \
				>"$WORK/seed-$size.log" 2>&1 || { cat "$WORK/seed-$size.log" >&2; die "bench-seed failed"; }
			echo "$((SECONDS - start))" >"$WORK/seed-$size.seconds"
		else
			say "ours: the store has $have certificates already (>= $size)"
		fi
		du -sk "$STATE/db" | cut -f1 >"$WORK/seed-$size.dbkb"
		say "ours: flows c=$B_SCALE_CONC with $size certificates in the store"
		bench_run "$WORK/ours-scale-$size.json" ours "$OURS_URL" "$STATE/ca/root.pem" "$G" \
			"flows:$B_SCALE_CONC:${B_SCALE_SECONDS}s" -P backoff -w 64 || say "ours: scale $size failed"
	done
fi
stack_stop "$STATE"

# --- report -------------------------------------------------------------------

python3 "$ROOT/bench/report.py" --work "$WORK" --out "$OUT" --commit "$COMMIT" \
	--settings "seconds=$B_SECONDS flows=$B_FLOWS raw_seconds=$B_RAW conc=$B_CONC nonce_conc=$B_NONCE dir_conc=$B_DIR scale=$B_SCALE scale_conc=$B_SCALE_CONC timeout=$B_TIMEOUT" ||
	die "report failed"
say "raw figures: $OUT"
