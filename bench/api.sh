#!/usr/bin/env bash
# Benchmarks of the API through nginx, on a stack of their own (not tests:
# they print numbers and judge nothing):
#   1. reads against the FastCGI ceiling: a libfcgi hello (bench/fcgi_hello.c,
#      built here) behind the same nginx, GET /api/health, an authenticated
#      GET /api/projects (20 projects) and GET /api/projects/{id}/items (50
#      items), the latter also with "Accept-Encoding: gzip" as browsers
#      send it (nginx compresses the answer), with wrk; a table of req/s,
#      p50 and p99 as wrk saw them, nginx's own p99 (its request_time, from
#      the request's first bytes to the answer's last, from the access log)
#      and each one's ratio to the hello of the same round. A round takes
#      the rows in turn, a slice of wrk each, BENCH_SLICES times over, so
#      that what the machine does meanwhile falls on all of them alike;
#      each row adds up its slices (req/s over their total time, p50 and
#      p99 of all their answers: wrk's histograms through
#      bench/wrk-report.lua). Before the first round
#      each URL is requested for BENCH_WARMUP: fresh workers open their
#      pooled connections and plan their statements on their first
#      requests (ARCHITECTURE.md, "Reads near the FastCGI ceiling");
#   2. turns against the Claude double: the platform's overhead per turn,
#      and concurrent streaming turns on one worker process.
#
#   Unless BENCH_OTHER_ACCOUNTS is 0, the database also holds that many
#      other accounts (20000: 400,000 projects, 1,000,000 items;
#      bench/others.sql), so that the statements run on tables of a
#      production's size, where PostgreSQL walks the indexes; and part 1
#      has a sixth row: GET /api/projects for a member of 1,000 of their
#      projects (or as many as there are), whose first page lists 20 like
#      the others';
#
#   bench/api.sh [--reads]
#
#   --reads   part 1 only
#
# BENCH_DURATION (10: seconds per endpoint and round), BENCH_SLICES (5:
# the slices a round cuts that time into), BENCH_WARMUP (2: seconds per URL
# before the first round; 0: none), BENCH_CONNECTIONS (64), BENCH_ROUNDS (1:
# the read table again, on the same stack), BENCH_LOG_LEVEL (info, as script/server
# and production run), BENCH_HELLO_PROCESSES (2), BENCH_HELLO_THREADS (4),
# BENCH_TURN_THREADS (64: the worker's threads for part 2),
# BENCH_CONCURRENCY (8,16,32,64), BENCH_OTHER_ACCOUNTS (20000; at most
# 1000000). The API's workers run as script/server
# runs them, 2 processes of 8 threads, unless BENCH_API_PROCESSES and
# BENCH_API_THREADS say otherwise (part 1).
set -euo pipefail

BS_PROG=bench/api.sh
# shellcheck source=script/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../script/lib.sh"

case ${1:-} in
-h | --help)
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
	exit 0 ;;
--reads) reads_only=1 ;;
"") reads_only= ;;
*) bs_die "unknown argument $1 (see --help)" ;;
esac

duration=${BENCH_DURATION:-10}
duration=${duration%s}
slices=${BENCH_SLICES:-5}
warmup=${BENCH_WARMUP:-2}
warmup=${warmup%s}
[[ $duration =~ ^[1-9][0-9]*$ && $slices =~ ^[1-9][0-9]*$ &&
	$warmup =~ ^[0-9]+$ ]] ||
	bs_die "BENCH_DURATION, BENCH_SLICES and BENCH_WARMUP are whole numbers of seconds and slices"
slice=$((duration / slices))
[ "$slice" -ge 1 ] || bs_die "BENCH_DURATION ($duration s) is shorter than BENCH_SLICES ($slices) seconds"
connections=${BENCH_CONNECTIONS:-64}
rounds=${BENCH_ROUNDS:-1}
hello_processes=${BENCH_HELLO_PROCESSES:-2}
hello_threads=${BENCH_HELLO_THREADS:-4}
others=${BENCH_OTHER_ACCOUNTS:-20000}
[[ $others =~ ^(0|[1-9][0-9]{0,5}|1000000)$ ]] ||
	bs_die "BENCH_OTHER_ACCOUNTS is a whole number from 0 to 1000000"

rss() {
	local pid
	for pid in "$@"; do
		printf '  worker pid %-8s VmRSS %s\n' "$pid" \
			"$(sed -n 's/^VmRSS:[[:space:]]*//p' "/proc/$pid/status")"
	done
}

BS_TMP=
hello_pids=()
on_exit() {
	local rc=$? pid
	set +e
	trap - EXIT INT TERM
	bs_restore_output
	[ "$rc" -ne 0 ] && [ -n "${BS_STATE:-}" ] && bs_stack_dump_logs
	bs_stack_stop
	for pid in ${hello_pids[@]+"${hello_pids[@]}"}; do
		bs_pid_stop "$pid" 5
	done
	[ -n "$BS_TMP" ] && rm -rf "$BS_TMP"
	exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# stack THREADS COUNT LOG_LEVEL: a fresh stack with COUNT workers of THREADS
# threads.
stack() {
	bs_stack_stop
	BS_WORKER_PIDS=()
	BS_WORKER_THREADS=$1
	BS_WORKER_COUNT=$2
	BS_LOG_LEVEL=$3
	BS_HTTP_PORT=$(bs_free_port)
	BS_PG_PORT=$(bs_free_port)
	BS_REDIS_PORT=$(bs_free_port)
	# Many accounts from one machine: the per-address limits stay out of it.
	BS_WORKER_EXTRA_ENV=(AUTH_RATE_LIMIT_IP=100000 MESSAGE_RATE_LIMIT=100000
		${BENCH_WORKER_ENV[@]+"${BENCH_WORKER_ENV[@]}"})
	bs_stack_init "$BS_TMP/stack-$1-$2"
	mkdir -p "$BS_RUN_DIR"
}

# The hello's processes, and the nginx pieces (nginx/nginx.conf.in includes
# run/nginx.d/) that route /bench/hello to them. The hello is the fixed
# yardstick of issue #13: 2 processes of 4 threads, a new FastCGI connection
# per request (fastcgi_keep_conn off, no upstream keepalive), whatever the
# API's own settings are.
hello_start() {
	local i sock
	mkdir -p "$BS_RUN_DIR/nginx.d"
	{
		printf 'upstream bench_hello {\n'
		for ((i = 1; i <= hello_processes; i++)); do
			sock=$BS_RUN_DIR/hello-$i.sock
			rm -f "$sock"
			"$BS_TMP/fcgi-hello" "unix:$sock" "$hello_threads" \
				</dev/null >>"$BS_RUN_DIR/hello-$i.log" 2>&1 \
				{BS_STDOUT_FD}>&- {BS_STDERR_FD}>&- &
			hello_pids+=("$!")
			bs_wait_until 15 "hello $i socket" bs_worker_listening "$!" \
				"$sock" || bs_die "the libfcgi hello did not start"
			printf '    server unix:%s;\n' "$sock"
		done
		printf '}\n'
	} >"$BS_RUN_DIR/nginx.d/http-bench-hello.conf"
	cat >"$BS_RUN_DIR/nginx.d/server-bench-hello.conf" <<'EOF'
location = /bench/hello {
    fastcgi_keep_conn off;
    fastcgi_pass bench_hello;
}
EOF
}

# wrk_slice LABEL SECONDS FILE URL [HEADER...]: one run of wrk, its report
# (bench/wrk-report.lua) added to FILE with nginx's request_time of each
# of its requests (from the access log, in ms); wrk's own output goes to
# wrk.log, and what its errors count, in wrk's words, to stderr.
wrk_slice() {
	local label=$1 seconds=$2 file=$3 url=$4 out from
	local log=$BS_RUN_DIR/logs/access.log
	shift 4
	from=$(($(stat -c %s "$log") + 1))
	out=$(wrk -t2 -c"$connections" -d"${seconds}s" --latency \
		-s "$BS_ROOT/bench/wrk-report.lua" "$@" "$url")
	printf '%s\n' "$out" | sed '/^report /,$d' >>"$BS_TMP/wrk.log"
	printf '%s\n' "$out" | grep -E 'Non-2xx|Socket errors' |
		sed "s|^|  $label: |" >&2 || true
	printf '%s\n' "$out" | sed -n '/^report /,$p' >>"$file"
	tail -c +"$from" "$log" |
		sed -n 's/.*"request_time":\([0-9.]*\),.*/nginx \1 1/p' >>"$file"
}

# percentiles KIND FILE: p50 and p99, tab-separated, of the values of the
# "KIND VALUE COUNT" lines of FILE.
percentiles() {
	awk -v kind="$1" '$1 == kind { print $2, $3 }' "$2" | sort -n |
		awk '
			{ value[NR] = $1; count[NR] = $2; total += $2 }
			END {
				p50 = p99 = -1
				for (i = 1; i <= NR; i++) {
					seen += count[i]
					if (p50 < 0 && seen >= total * 0.50) p50 = value[i]
					if (p99 < 0 && seen >= total * 0.99) p99 = value[i]
				}
				printf "%s\t%s\n", p50, p99
			}'
}

# row LABEL FILE: one row of the table from the reports in FILE: label,
# req/s over the slices' total time, p50 and p99 in ms of all their
# answers as wrk saw them, p99 in ms of nginx's request_time, and the
# errors.
row() {
	awk -v label="$1" -v wrk="$(percentiles latency "$2")" \
		-v nginx="$(percentiles nginx "$2")" '
		$1 == "report" { n += $2; us += $3; errs += $4 }
		END {
			split(wrk, w, "\t")	# microseconds
			split(nginx, g, "\t")	# seconds
			printf "%s\t%.0f\t%.2f\t%.2f\t%.0f\t%d\n", label,
			    (us > 0 ? n / (us / 1e6) : 0), w[1] / 1000, w[2] / 1000,
			    g[2] * 1000, errs
		}' "$2"
}

# The table of one round, ratios to its first row (the hello).
print_table() {
	awk -F'\t' '
		BEGIN {
			printf "%-34s %7s %7s %7s %7s %6s %6s\n", "endpoint", "req/s",
			    "p50 ms", "p99 ms", "nginx99", "ratio", "errors"
		}
		NR == 1 { base = $2 }
		{
			printf "%-34s %7d %7.2f %7.2f %7d %6.2f %6d\n", $1, $2, $3,
			    $4, $5, (base > 0 ? $2 / base : 0), $6
		}' "$1"
}

command -v wrk >/dev/null || bs_die "wrk is missing (run script/bootstrap)"
bs_bootstrap
# shellcheck disable=SC2119  # no configure options
bs_build
BS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/brainstorm-bench.XXXXXX")
chmod 755 "$BS_TMP"
bs_log "building the libfcgi hello"
"${CC:-cc}" -O2 -Wall -o "$BS_TMP/fcgi-hello" "$BS_ROOT/bench/fcgi_hello.c" \
	-lfcgi -lpthread

stack "${BENCH_API_THREADS:-8}" "${BENCH_API_PROCESSES:-2}" "${BENCH_LOG_LEVEL:-info}"
hello_start
# shellcheck disable=SC2119  # no extra databases
bs_stack_start

# An account with 20 projects, the first of which has 50 items.
mapfile -t seed < <(/usr/bin/python3 - "$BS_BASE_URL" <<'PY'
import http.client, json, sys, urllib.parse, uuid
u = urllib.parse.urlsplit(sys.argv[1])
def call(method, path, body, headers={}):
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    c.request(method, path, json.dumps(body),
              dict(headers, **{"Content-Type": "application/json"}))
    r = c.getresponse()
    data = json.loads(r.read())
    if r.status >= 300:
        sys.exit("%s %s: %d %s" % (method, path, r.status, data))
    return data
s = call("POST", "/api/auth/register", {"email": "bench-%s@example.com" %
         uuid.uuid4().hex[:8], "password": "benchmark passphrase"})
auth = {"Authorization": "Bearer " + s["access_token"]}
projects = [call("POST", "/api/projects", {"title": "Project %d" % i,
            "description": "A project of the benchmark."}, auth)["id"]
            for i in range(20)]
states = ["decided", "exploring", "parked", "rejected"]
for i in range(50):
    call("POST", "/api/projects/%s/items" % projects[0],
         {"text": "Item %d: something worth deciding about" % i,
          "state": states[i % 4]}, auth)
print(s["access_token"])
print(projects[0])
# An account that owns nothing, to be made a member of others' projects.
w = call("POST", "/api/auth/register", {"email": "bench-%s@example.com" %
         uuid.uuid4().hex[:8], "password": "benchmark passphrase"})
print(w["access_token"])
print(w["user"]["id"])
PY
)
[ "${#seed[@]}" -eq 4 ] || bs_die "could not seed the benchmark's data"
auth="Authorization: Bearer ${seed[0]}"
wide_auth="Authorization: Bearer ${seed[2]}"
if [ "$others" -gt 0 ]; then
	bs_log "loading $others other accounts (bench/others.sql)"
	bs_pg_psql -d "$BS_DB_NAME" -v accounts="$others" \
		<"$BS_ROOT/bench/others.sql"
	# The wide member: a viewer of 1,000 of their projects, picked at
	# random (memberships made over time, not in the projects' order).
	bs_pg_psql -d "$BS_DB_NAME" -q -v member="${seed[3]}" <<'SQL'
\set ON_ERROR_STOP 1
INSERT INTO project_members (project_id, user_id, role)
SELECT id, :'member', 'viewer' FROM projects
WHERE owner_id <> :'member' ORDER BY random() LIMIT 1000;
VACUUM (ANALYZE) project_members;
SQL
fi
items_url=$BS_BASE_URL/api/projects/${seed[1]}/items

# Every URL answers 200 before it is timed: a fast 401 measures nothing.
for url in "$BS_BASE_URL/bench/hello" "$BS_BASE_URL/api/health" \
	"$BS_BASE_URL/api/projects" "$items_url"; do
	curl -fsS -o /dev/null -H "$auth" "$url" || bs_die "$url does not answer 200"
done
curl -fsS -o /dev/null -H "$wide_auth" "$BS_BASE_URL/api/projects" ||
	bs_die "the wide member's project list does not answer 200"

printf '\n== 1. reads through nginx, wrk -t2 -c%s, %s x %s s per endpoint and round, in turn (API: %s workers x %s threads, LOG_LEVEL=%s; nginx at nice %s)\n' \
	"$connections" "$slices" "$slice" "$BS_WORKER_COUNT" "$BS_WORKER_THREADS" "$BS_LOG_LEVEL" "$BS_NGINX_PRIORITY"
bs_pg_psql -d "$BS_DB_NAME" -tA -F ' ' -c "SELECT (SELECT count(*) FROM users),
	(SELECT count(*) FROM projects), (SELECT count(*) FROM items),
	pg_size_pretty(pg_database_size(current_database()))" |
	awk '{ printf "database: %d accounts, %d projects, %d items, %s %s\n", $1, $2, $3, $4, $5 }'
printf 'workers before:\n'
rss "${BS_WORKER_PIDS[@]}"
# Each row's URL and what its requests carry: nothing, the token, the
# token and "Accept-Encoding: gzip" as a browser sends it (nginx then
# compresses the answer), or the wide member's token.
labels=("libfcgi hello (${hello_processes} x ${hello_threads} threads)"
	"GET /api/health" "GET /api/projects (20 projects)"
	"GET /api/projects/{id}/items (50)" "  the same, gzip")
urls=("$BS_BASE_URL/bench/hello" "$BS_BASE_URL/api/health"
	"$BS_BASE_URL/api/projects" "$items_url" "$items_url")
sends=(- - token token gzip)
if [ "$others" -gt 0 ]; then
	labels+=("GET /api/projects (member of 1000)")
	urls+=("$BS_BASE_URL/api/projects")
	sends+=(wide)
fi
# wrk_endpoint I SECONDS FILE: a slice of endpoint I.
wrk_endpoint() {
	local header=()
	case ${sends[$1]} in
	token) header=(-H "$auth") ;;
	gzip) header=(-H "$auth" -H "Accept-Encoding: gzip") ;;
	wide) header=(-H "$wide_auth") ;;
	esac
	wrk_slice "${labels[$1]}" "$2" "$3" "${urls[$1]}" ${header[@]+"${header[@]}"}
}
if [ "$warmup" -gt 0 ]; then
	for i in "${!urls[@]}"; do
		wrk_endpoint "$i" "$warmup" "$BS_TMP/warmup"
	done
fi
for ((round = 1; round <= rounds; round++)); do
	rm -f "$BS_TMP"/slices-*
	for ((s = 1; s <= slices; s++)); do
		for i in "${!urls[@]}"; do
			wrk_endpoint "$i" "$slice" "$BS_TMP/slices-$i"
		done
	done
	: >"$BS_TMP/table"
	for i in "${!urls[@]}"; do
		row "${labels[$i]}" "$BS_TMP/slices-$i" >>"$BS_TMP/table"
	done
	[ "$rounds" -gt 1 ] && printf '\nround %d:\n' "$round"
	print_table "$BS_TMP/table"
done
printf 'workers after:\n'
rss "${BS_WORKER_PIDS[@]}"

[ -n "$reads_only" ] && exit 0

for pid in "${hello_pids[@]}"; do
	bs_pid_stop "$pid" 5
done
hello_pids=()
BENCH_WORKER_ENV=(DB_POOL_MAX=16)
stack "${BENCH_TURN_THREADS:-64}" 1 warn
# shellcheck disable=SC2119  # no extra databases
bs_stack_start
printf '\n== 2. turns (1 worker x %s threads)\n' "${BENCH_TURN_THREADS:-64}"
BS_BASE_URL=$BS_BASE_URL BS_CLAUDE_URL=$BS_CLAUDE_BASE_URL /usr/bin/python3 \
	"$BS_ROOT/bench/turns.py" --concurrency "${BENCH_CONCURRENCY:-8,16,32,64}" \
	--run-dir "$BS_RUN_DIR"
printf 'worker after:\n'
rss "${BS_WORKER_PIDS[@]}"
