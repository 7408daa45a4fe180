# The operations tests' shared reporting, sourced by each tests/ops/*_test.sh:
# PASS/FAIL/SKIP lines and the closing "N passed, N failed" line.
# shellcheck shell=bash

passed=0
failed=0
skipped=0

pass() { printf 'PASS %s\n' "$1"; passed=$((passed + 1)); }

# fail NAME [EXPLANATION]: the explanation's first lines, indented.
fail() {
	printf 'FAIL %s\n' "$1"
	[ $# -gt 1 ] && printf '%s\n' "$2" | head -n 40 | sed 's/^/    /'
	failed=$((failed + 1))
}

skip() { printf 'SKIP %s (%s)\n' "$1" "$2"; skipped=$((skipped + 1)); }

# check NAME COMMAND...: pass when COMMAND succeeds; its output explains a
# failure.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "$out"; fi
}

# The closing line, then exit: non-zero when anything failed.
finish() {
	printf '%d passed, %d failed' "$passed" "$failed"
	[ "$skipped" -gt 0 ] && printf ', %d skipped' "$skipped"
	printf '\n'
	[ "$failed" -eq 0 ]
	exit
}

# step NAME COMMAND...: as check, but COMMAND runs in this shell, not in a
# subshell, so that what it starts and records (PIDs for the trap) stays
# known.
step() {
	local name=$1 out rc=0
	shift
	out=$(mktemp "${TMPDIR:-/tmp}/bs-ops-step.XXXXXX")
	"$@" >"$out" 2>&1 || rc=$?
	if [ "$rc" -eq 0 ]; then pass "$name"; else fail "$name" "$(cat "$out")"; fi
	rm -f "$out"
	return 0
}
