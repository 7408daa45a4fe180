#!/usr/bin/env bash
# Benchmark the Claude client loop (struct llm_loop): BENCH_BATCHES batches
# of BENCH_CALLS calls, all in flight at once on one loop driven by one
# thread, against the Claude double with BENCH_LATENCY_MS before each
# answer. Prints wall time, calls/s, the loop's CPU time per call, its peak
# RSS and latency percentiles. A benchmark, not a test: it prints numbers
# and fails only when calls fail.
#
#   bench/llm_loop.sh [-s]		(-s: streamed calls)
#
# BENCH_BATCHES (512), BENCH_CALLS (3), BENCH_LATENCY_MS (200),
# BENCH_TOKEN_DELAY_MS (5, streams only), BENCH_DEADLINE_MS (120000).
set -euo pipefail

BS_PROG=bench/llm_loop.sh
# shellcheck source=script/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../script/lib.sh"

batches=${BENCH_BATCHES:-512}
calls=${BENCH_CALLS:-3}
latency=${BENCH_LATENCY_MS:-200}
token_delay=${BENCH_TOKEN_DELAY_MS:-5}
deadline=${BENCH_DEADLINE_MS:-120000}

BS_TMP=
double_pid=
on_exit() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	bs_restore_output
	[ -n "$double_pid" ] && bs_pid_stop "$double_pid" 5
	[ -n "$BS_TMP" ] && rm -rf "$BS_TMP"
	exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# An existing build as it is configured; otherwise the default one.
if [ ! -f "$BS_ROOT/Makefile" ]; then
	# shellcheck disable=SC2119  # no configure options
	bs_build
fi
make -C "$BS_ROOT" --no-print-directory bench/llm_loop >/dev/null

BS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/brainstorm-bench.XXXXXX")
/usr/bin/python3 "$BS_ROOT/tools/claude-double/claude_double.py" \
	--host 127.0.0.1 --port 0 --port-file "$BS_TMP/port" --quiet \
	--latency-ms "$latency" --token-delay-ms "$token_delay" \
	</dev/null >"$BS_TMP/double.log" 2>&1 \
	{BS_STDOUT_FD}>&- {BS_STDERR_FD}>&- &
double_pid=$!
bs_wait_until 15 "the Claude double" test -s "$BS_TMP/port" ||
	bs_die "the Claude double did not start (see $BS_TMP/double.log)"

printf 'the Claude double: latency %s ms, token delay %s ms\n' "$latency" \
	"$token_delay"
CLAUDE_BASE_URL=http://127.0.0.1:$(<"$BS_TMP/port") \
	"$BS_ROOT/bench/llm_loop" -b "$batches" -c "$calls" -d "$deadline" "$@"
