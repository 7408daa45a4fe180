#!/usr/bin/env bash
# Benchmarks of the API through nginx, on a stack of their own (not tests:
# they print numbers and judge nothing):
#   1. GET /api/health with wrk, and the workers' RSS;
#   2. an authenticated GET /api/projects (20 projects) with wrk;
#   3. turns against the Claude double: the platform's overhead per turn,
#      and concurrent streaming turns on one worker process.
#
#   bench/api.sh
#
# BENCH_DURATION (10s), BENCH_CONNECTIONS (64), BENCH_TURN_THREADS (64: the
# worker's threads for part 3), BENCH_CONCURRENCY (8,16,32,64).
set -euo pipefail

BS_PROG=bench/api.sh
# shellcheck source=script/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../script/lib.sh"

duration=${BENCH_DURATION:-10s}
connections=${BENCH_CONNECTIONS:-64}

rss() {
	local pid
	for pid in "$@"; do
		printf '  worker pid %-8s VmRSS %s\n' "$pid" \
			"$(sed -n 's/^VmRSS:[[:space:]]*//p' "/proc/$pid/status")"
	done
}

BS_TMP=
on_exit() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	bs_restore_output
	[ "$rc" -ne 0 ] && [ -n "${BS_STATE:-}" ] && bs_stack_dump_logs
	bs_stack_stop
	[ -n "$BS_TMP" ] && rm -rf "$BS_TMP"
	exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# stack THREADS COUNT: a fresh stack with COUNT workers of THREADS threads.
stack() {
	bs_stack_stop
	BS_WORKER_PIDS=()
	BS_WORKER_THREADS=$1
	BS_WORKER_COUNT=$2
	BS_HTTP_PORT=$(bs_free_port)
	BS_PG_PORT=$(bs_free_port)
	BS_REDIS_PORT=$(bs_free_port)
	BS_LOG_LEVEL=warn
	# Many accounts from one machine: the per-address limits stay out of it.
	BS_WORKER_EXTRA_ENV=(AUTH_RATE_LIMIT_IP=100000 MESSAGE_RATE_LIMIT=100000
		DB_POOL_MAX=16)
	bs_stack_init "$BS_TMP/stack-$1-$2"
	# shellcheck disable=SC2119  # no extra databases
	bs_stack_start
}

command -v wrk >/dev/null || bs_die "wrk is missing (run script/bootstrap)"
bs_bootstrap
# shellcheck disable=SC2119  # no configure options
bs_build
BS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/brainstorm-bench.XXXXXX")
chmod 755 "$BS_TMP"

stack 8 2
printf '== 1. GET /api/health (2 workers x 8 threads)\nworkers before:\n'
rss "${BS_WORKER_PIDS[@]}"
wrk -t2 -c"$connections" -d"$duration" --latency "$BS_BASE_URL/api/health"
printf 'workers after:\n'
rss "${BS_WORKER_PIDS[@]}"

token=$(/usr/bin/python3 - "$BS_BASE_URL" <<'PY'
import http.client, json, sys, urllib.parse, uuid
u = urllib.parse.urlsplit(sys.argv[1])
def call(method, path, body, headers={}):
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    c.request(method, path, json.dumps(body),
              dict(headers, **{"Content-Type": "application/json"}))
    r = c.getresponse()
    return json.loads(r.read())
s = call("POST", "/api/auth/register", {"email": "bench-%s@example.com" %
         uuid.uuid4().hex[:8], "password": "benchmark passphrase"})
auth = {"Authorization": "Bearer " + s["access_token"]}
for i in range(20):
    call("POST", "/api/projects", {"title": "Project %d" % i}, auth)
print(s["access_token"])
PY
)
printf '\n== 2. GET /api/projects, authenticated, 20 projects\n'
wrk -t2 -c"$connections" -d"$duration" --latency \
	-H "Authorization: Bearer $token" "$BS_BASE_URL/api/projects"
printf 'workers after:\n'
rss "${BS_WORKER_PIDS[@]}"

stack "${BENCH_TURN_THREADS:-64}" 1
printf '\n== 3. turns (1 worker x %s threads)\n' "${BENCH_TURN_THREADS:-64}"
BS_BASE_URL=$BS_BASE_URL BS_CLAUDE_URL=$BS_CLAUDE_BASE_URL /usr/bin/python3 \
	"$BS_ROOT/bench/turns.py" --concurrency "${BENCH_CONCURRENCY:-8,16,32,64}"
printf 'worker after:\n'
rss "${BS_WORKER_PIDS[@]}"
