#!/usr/bin/env bash
# Every operations test (tests/ops/*_test.sh), in name order, each in its
# own process: its output as it runs, then one line per test and the total
# "N passed, N failed" last. Exits non-zero if any test failed.
#
#   tests/ops/run.sh [NAME...]     e.g. tests/ops/run.sh nginx_prod systemd
#
# Each test prints "N passed, N failed[, N skipped]" as its last line; a
# test that exits non-zero without such a line counts as one failure. Run by
# script/test after the integration tests, with the stack's environment
# (BS_PG_PORT, BS_PG_SOCK, ...: backup_test.sh and alerting_test.sh use that
# PostgreSQL); alone, each starts a PostgreSQL of its own.
set -uo pipefail

DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
total_passed=0
total_failed=0
total_skipped=0
summary=()

tests=()
if [ $# -gt 0 ]; then
	for name in "$@"; do
		name=${name%.sh}
		name=${name%_test}
		[ -f "$DIR/${name}_test.sh" ] || { echo "run.sh: no test $name" >&2; exit 2; }
		tests+=("$DIR/${name}_test.sh")
	done
else
	tests=("$DIR"/*_test.sh)
fi

re='^([A-Za-z]+: )?([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?$'
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	out=$(mktemp "${TMPDIR:-/tmp}/bs-ops-run.XXXXXX")
	printf '\n==== %s ====\n' "$name"
	started=$SECONDS
	rc=0
	bash "$t" </dev/null 2>&1 | tee "$out" || rc=${PIPESTATUS[0]}
	last=$(tail -n 1 "$out")
	rm -f "$out"
	p=0 f=0 s=0
	if [[ $last =~ $re ]]; then
		p=${BASH_REMATCH[2]}
		f=${BASH_REMATCH[3]}
		s=${BASH_REMATCH[5]:-0}
	fi
	# A crash, or an exit status that its counts do not explain.
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	total_passed=$((total_passed + p))
	total_failed=$((total_failed + f))
	total_skipped=$((total_skipped + s))
	summary+=("$(printf '%-22s %4d passed, %d failed, %d skipped (%d s)' \
		"$name" "$p" "$f" "$s" $((SECONDS - started)))")
done

printf '\n==== operations tests ====\n'
printf '%s\n' "${summary[@]}"
if [ "$total_skipped" -gt 0 ]; then
	printf '%d passed, %d failed, %d skipped\n' "$total_passed" "$total_failed" "$total_skipped"
else
	printf '%d passed, %d failed\n' "$total_passed" "$total_failed"
fi
[ "$total_failed" -eq 0 ]
