#!/usr/bin/env bash
# scripts/soak.sh: a steady load against the real stack for a while, with a
# record of every server process's resident memory and open descriptors.
# Not part of `make check`.
#
#   scripts/soak.sh [-d SECONDS] [-c CLIENTS] [-o DIR] [-w WARMUP]
#
#   -d  how long the load runs (1800: 30 minutes)
#   -c  concurrent clients, each doing full issuances with http-01 (4)
#   -o  where the state, the load's records and the CSV go (a new
#       directory under $TMPDIR; kept)
#   -w  seconds after which the processes count as warm (300, at most a
#       third of -d)
#
# The stack is the one the tests use (scripts/stack.sh: nginx, acme-fcgi
# with its workers, acme-validator, pebble-challtestsrv as DNS); the load
# is tests/integration/faults_load.py. Every 10 s each server process
# (the acme-fcgi master, each worker, acme-validator, the nginx processes)
# is sampled into DIR/samples.csv:
#
#   t,role,pid,rss_kb,fds,certs,anon_kb,shmem_kb
#       t: seconds since the load began; certs: certificates issued so far;
#       anon_kb: the process's private memory (heap, stacks: where a leak
#       shows); shmem_kb: the shared pages it has touched (the Berkeley DB
#       regions and the nonce table, which fill up to the cache size once)
#
# At the end the summary compares, per role, the first sample after the
# warm-up with the last one, and gives the largest growth over the warm
# value seen (workers: each worker process on its own, the worst shown).
# Exit status 0 when it ran (the figures are for a person to read; a
# benchmark reports, it does not judge). BUILD selects the build (build/).
set -u
cd "$(dirname "$0")/.."
# shellcheck source=scripts/stack.sh
. scripts/stack.sh

duration=1800 clients=4 out= warm=
while getopts "d:c:o:w:h" opt; do
	case $opt in
	d) duration=$OPTARG ;;
	c) clients=$OPTARG ;;
	o) out=$OPTARG ;;
	w) warm=$OPTARG ;;
	*) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
	esac
done
[ -n "$warm" ] || warm=$((duration / 3 < 300 ? duration / 3 : 300))
[ -n "$out" ] || out=$(mktemp -d "${TMPDIR:-/tmp}/acme-soak.XXXXXX")
mkdir -p "$out"
[ "$(id -u)" -eq 0 ] && chmod 0711 "$out"
out=$(cd "$out" && pwd)
state=$out/state
load=$out/load
csv=$out/samples.csv

free_port() { # a free TCP (and UDP) port on 127.0.0.1 in 20000-29999
	python3 -c 'import socket
for p in __import__("random").sample(range(20000, 30000), 200):
    try:
        t = socket.socket(); t.bind(("127.0.0.1", p)); u = socket.socket(type=socket.SOCK_DGRAM); u.bind(("127.0.0.1", p))
    except OSError:
        continue
    t.close(); u.close(); print(p); break'
}
dns=$(free_port) mgmt=$(free_port) h01=$(free_port) port=$(free_port)
STACK_CTS_LOG=$out/challtestsrv.log

LOAD_PID=
cleanup() {
	[ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null && wait "$LOAD_PID" 2>/dev/null
	stack_stop "$state"
	stack_challtestsrv_stop
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "soak: ${duration}s, $clients clients, warm after ${warm}s; everything in $out"
stack_challtestsrv_start "$dns" "$mgmt" || exit 1
stack_init "$state" --port "$port" --resolver "127.0.0.1:$dns" --http01-port "$h01" \
	--allow-private >"$out/init.log" 2>&1 || { cat "$out/init.log"; exit 1; }
stack_start "$state" nginx "$port" || exit 1

/usr/bin/python3 tests/integration/faults_load.py run --dir "https://localhost:$port/acme/default/directory" \
	--ca "$state/ca/root.pem" --h01 "$h01" --out "$load" --clients "$clients" --duration "$duration" \
	>"$out/load.out" 2>&1 &
LOAD_PID=$!

sample() { # T: one line per server process
	local t=$1 master pid role rss fds certs=0
	[ -f "$load/progress" ] && read -r certs <"$load/progress"
	master=$(stack_pid "$state" acme-fcgi)
	{
		[ -n "$master" ] && echo "master $master"
		for pid in $(pgrep -P "$master" 2>/dev/null); do echo "worker $pid"; done
		# The supervising process, and its child that does the work.
		pid=$(stack_pid "$state" acme-validator) && echo "validator-supervisor $pid"
		pid=$(stack_validator_child "$state") && echo "validator $pid"
		pid=$(stack_pid "$state" nginx) && echo "nginx-master $pid" &&
			for w in $(pgrep -P "$pid" 2>/dev/null); do echo "nginx-worker $w"; done
	} | while read -r role pid; do
		read -r rss anon shm < <(awk '/^VmRSS:/ { r = $2 } /^RssAnon:/ { a = $2 }
			/^RssShmem:/ { s = $2 } END { print r, a, s }' "/proc/$pid/status" 2>/dev/null) || continue
		fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
		[ -n "$rss" ] && echo "$t,$role,$pid,$rss,$fds,$certs,$anon,$shm"
	done
}

echo "t,role,pid,rss_kb,fds,certs,anon_kb,shmem_kb" >"$csv"
start=$SECONDS
next=0
while kill -0 "$LOAD_PID" 2>/dev/null; do
	t=$((SECONDS - start))
	if [ "$t" -ge "$next" ]; then
		sample "$t" >>"$csv"
		next=$((next + 10))
		if [ $((t % 300)) -lt 10 ]; then
			echo "soak: ${t}s, $(cat "$load/progress" 2>/dev/null || echo 0) certificates"
		fi
	fi
	if ! dead=$(stack_alive "$state"); then
		echo "soak: $dead died at ${t}s"
		stack_logs "$state" 30
		break
	fi
	sleep 1
done
wait "$LOAD_PID" 2>/dev/null
LOAD_PID=
sample "$((SECONDS - start))" >>"$csv"

python3 - "$csv" "$warm" "$load" <<'PY'
import collections, csv, json, os, sys
path, warm, load = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rows = list(csv.DictReader(open(path)))
by = collections.defaultdict(list)            # (role, pid) -> samples
for r in rows:
    by[(r["role"], r["pid"])].append((int(r["t"]), int(r["rss_kb"]), int(r["fds"]),
                                      int(r["anon_kb"] or 0)))
last_t = max(int(r["t"]) for r in rows)
certs = max(int(r["certs"]) for r in rows)
flows = bad = 0
if os.path.exists(os.path.join(load, "orders.jsonl")):
    for line in open(os.path.join(load, "orders.jsonl")):
        flows += 1
        bad += json.loads(line)["outcome"] != "valid"
print("\nsoak: %d s, %d certificates (%.1f/s), %d flows, %d not valid" %
      (last_t, certs, certs / max(last_t, 1), flows, bad))
print("%-13s %7s %9s %9s %9s %9s %9s %5s %5s %5s  %s" %
      ("role", "pid", "rss warm", "rss last", "rss +max", "anon warm", "anon last", "fd w", "fd l",
       "fd +m", "samples"))
worst = {}
for (role, pid), s in sorted(by.items()):
    warm_s = [x for x in s if x[0] >= warm]
    if len(warm_s) < 2:
        continue                  # a process that did not live past the warm-up
    w, l = warm_s[0], warm_s[-1]
    grow_rss = max(x[1] for x in warm_s) - w[1]
    grow_fd = max(x[2] for x in warm_s) - w[2]
    grow_anon = max(x[3] for x in warm_s) - w[3]
    print("%-13s %7s %7d kB %7d kB %7d kB %7d kB %7d kB %5d %5d %5d  %d (%d..%d s)" %
          (role, pid, w[1], l[1], grow_rss, w[3], l[3], w[2], l[2], grow_fd, len(warm_s), w[0], l[0]))
    key = role
    if key not in worst or grow_anon > worst[key][4]:
        worst[key] = (grow_rss, grow_fd, l[1] - w[1], l[2] - w[2], grow_anon, l[3] - w[3])
print("\nper role, the worst process: growth after the warm-up, max / warm->last")
for role, (gr, gf, dr, df, ga, da) in sorted(worst.items()):
    print("  %-13s rss +%d kB / %+d kB   private +%d kB / %+d kB   fds +%d / %+d" %
          (role, gr, dr, ga, da, gf, df))
PY
echo "soak: samples in $csv"
