#!/usr/bin/env bash
# Benchmark GET /api/health through nginx with wrk, then print the workers'
# resident memory. A benchmark, not a test: it prints numbers and judges
# nothing.
#
#   bench/health.sh [URL]
#
# Without URL it starts a stack of its own (script/lib.sh) in a temporary
# directory and stops it afterwards; with one (a loopback address only) it
# measures that stack and reads the RSS of every brainstorm-fcgi process.
# BENCH_DURATION (10s), BENCH_THREADS (2), BENCH_CONNECTIONS (64).
set -euo pipefail

BS_PROG=bench/health.sh
# shellcheck source=script/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../script/lib.sh"

duration=${BENCH_DURATION:-10s}
threads=${BENCH_THREADS:-2}
connections=${BENCH_CONNECTIONS:-64}

# VmRSS of each PID, from /proc/PID/status.
print_rss() {
	local pid rss
	for pid in "$@"; do
		rss=$(sed -n 's/^VmRSS:[[:space:]]*//p' "/proc/$pid/status" 2>/dev/null)
		printf '  worker pid %-8s VmRSS %s\n' "$pid" "${rss:-gone}"
	done
}

BS_TMP=
on_exit() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	bs_restore_output
	if [ -n "$BS_TMP" ]; then
		[ "$rc" -ne 0 ] && bs_stack_dump_logs
		bs_stack_stop
		rm -rf "$BS_TMP"
	fi
	exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

command -v wrk >/dev/null || bs_die "wrk is missing (run script/bootstrap)"

if [ $# -gt 0 ]; then
	url=${1%/}
	# Load goes to this machine only.
	[[ $url =~ ^https?://(127\.[0-9.]+|localhost|\[::1\])(:[0-9]+)?$ ]] ||
		bs_die "not a loopback URL: $url"
	mapfile -t pids < <(pgrep -x brainstorm-fcgi || true)
else
	bs_bootstrap
	# shellcheck disable=SC2119  # no configure options
	bs_build
	BS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/brainstorm-bench.XXXXXX")
	chmod 755 "$BS_TMP"
	BS_HTTP_PORT=$(bs_free_port)
	BS_PG_PORT=$(bs_free_port)
	BS_REDIS_PORT=$(bs_free_port)
	BS_LOG_LEVEL=warn
	bs_stack_init "$BS_TMP"
	# shellcheck disable=SC2119  # no extra databases
	bs_stack_start
	url=$BS_BASE_URL
	pids=("${BS_WORKER_PIDS[@]}")
fi

printf 'workers before:\n'
print_rss "${pids[@]}"
printf '\nwrk -t%s -c%s -d%s %s/api/health\n' "$threads" "$connections" \
	"$duration" "$url"
wrk -t"$threads" -c"$connections" -d"$duration" --latency "$url/api/health"
printf '\nworkers after:\n'
print_rss "${pids[@]}"
