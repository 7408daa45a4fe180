#!/usr/bin/env bash
# Logs to Loki: monitoring/alloy/config.alloy, the Grafana Alloy
# configuration that ships the workers' JSON lines (journal or LOG_FILE)
# and nginx's JSON access log.
#
# Alloy's own checker cannot run here: Debian 12 has no Alloy (nor
# promtail) package (apt-cache policy alloy promtail: none), and nothing may
# be downloaded. So tests/ops/alloy_check.py parses the file by the Alloy
# syntax and checks its wiring (known components, references to existing
# components and exports, every source reaching loki.write); it must refuse
# broken files. Then what the pipelines promise, against real lines: a
# worker started here (socket activation, as systemd_test.sh) answers
# FastCGI requests and its log lines carry every field the pipeline reads;
# the labels are level, route, status, job and host only (never a user id,
# request id or path), and a route label is the pattern, not the path;
# nginx's log_format (nginx/brainstorm.conf) is JSON with the fields its
# pipeline reads; both "time" fields parse as RFC 3339.
#
#   tests/ops/logs_test.sh
#
# Needs python3; the worker lines also the built brainstorm-fcgi,
# systemd-socket-activate and cgi-fcgi. Prints "N passed, N failed" last.
# The checks are functions that check() calls.
# shellcheck disable=SC2317
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CONFIG=$ROOT/monitoring/alloy/config.alloy
CHECKER=$ROOT/tests/ops/alloy_check.py
# shellcheck source=tests/ops/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/bs-ops-logs.XXXXXX")
ACT_PID=
cleanup() {
	if [ -n "$ACT_PID" ]; then
		kill -TERM "$ACT_PID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$ACT_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$ACT_PID" 2>/dev/null
		wait "$ACT_PID" 2>/dev/null
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

parse() { python3 "$CHECKER" "$CONFIG" >"$TMP/pipelines.json"; }
check "config.alloy parses and is wired (alloy_check.py)" parse

# The checker has teeth: each broken copy is refused.
refuses() {	# refuses NAME SED-EXPRESSION EXPECTED-WORDS
	local rc=0 out
	sed -e "$2" "$CONFIG" >"$TMP/$1.alloy"
	cmp -s "$CONFIG" "$TMP/$1.alloy" && { echo "the edit changed nothing"; return 1; }
	out=$(python3 "$CHECKER" "$TMP/$1.alloy" 2>&1) || rc=$?
	[ "$rc" -eq 1 ] && grep -q -- "$3" <<<"$out" && return 0
	echo "exit $rc: $out"
	return 1
}
check "the checker refuses a missing brace" \
	refuses brace '0,/^loki.write "default" {$/s//loki.write "default"/' 'expected {'
check "the checker refuses a reference to no component" \
	refuses dangling 's/loki\.process\.nginx\.receiver/loki.process.nginks.receiver/' 'no component loki.process.nginks'
check "the checker refuses an export a component lacks" \
	refuses export 's/local\.file_match\.nginx\.targets/local.file_match.nginx.receiver/' 'exports targets'
check "the checker refuses an unknown block" \
	refuses block 's/stage\.timestamp {/stage.timestmap {/' 'no block stage.timestmap'
check "the checker refuses an unterminated string" \
	refuses string 's/"RFC3339"/"RFC3339/' 'unexpected'

# pipeline SOURCE: labels and fields of one source, as alloy_check.py says.
pipeline() {
	python3 -c 'import json, sys; p = json.load(open(sys.argv[1]))[sys.argv[2]]; print(" ".join(p[sys.argv[3]]))' \
		"$TMP/pipelines.json" "$1" "$2"
}

labels_bounded() {
	python3 - "$TMP/pipelines.json" <<'EOF'
import json, sys
p = json.load(open(sys.argv[1]))
allowed = {"job", "host", "level", "route", "status"}
bad = []
for src, v in p.items():
    extra = set(v["labels"]) - allowed
    if extra:
        bad.append("%s: labels %s (only %s)" % (src, sorted(extra), sorted(allowed)))
want = {"loki.source.journal.workers": {"level", "route", "status", "job"},
        "loki.source.file.worker_files": {"level", "route", "status", "job"},
        "loki.source.file.nginx": {"status", "job"}}
for src, labels in want.items():
    if src not in p:
        bad.append("no source %s" % src)
    elif not labels <= set(p[src]["labels"]):
        bad.append("%s: labels %s, wants %s" % (src, p[src]["labels"], sorted(labels)))
if bad:
    sys.exit("\n".join(bad))
print(json.dumps({k: v["labels"] for k, v in p.items()}))
EOF
}
check "labels: level, route, status (workers), status (nginx), job, host; nothing else" labels_bounded

# nginx's access log format in the production site: fill each variable with
# a sample value and the line must be JSON with the fields the pipeline reads.
nginx_fields() {
	python3 - "$ROOT/nginx/brainstorm.conf" "$(pipeline loki.source.file.nginx fields)" <<'EOF'
import datetime, json, re, sys
conf = open(sys.argv[1]).read()
m = re.search(r"log_format\s+brainstorm_json\s+escape=json\s+(.*?);", conf, re.S)
if not m:
    sys.exit("no log_format brainstorm_json in nginx/brainstorm.conf")
fmt = "".join(re.findall(r"'([^']*)'", m.group(1)))
line = re.sub(r"\$time_iso8601", "2026-11-25T03:15:00+00:00", fmt)
line = re.sub(r"\$(status|body_bytes_sent|request_length|request_time|bytes_sent)\b", "200", line)
line = re.sub(r"\$[a-z_0-9]+", "x", line)
rec = json.loads(line)
missing = [f for f in sys.argv[2].split() if f not in rec]
if missing:
    sys.exit("the access log has no %s: %s" % (missing, sorted(rec)))
datetime.datetime.fromisoformat(rec["time"])
print(sorted(rec))
EOF
}
check "nginx's log_format is JSON with every field the nginx pipeline reads" nginx_fields

# ---- real worker lines ---------------------------------------------------------

worker_lines() {
	local sock=$TMP/fcgi.sock path
	systemd-socket-activate -l "$sock" \
		-E APP_ENV=development -E BRAINSTORM_CONFIG=/dev/null \
		-E DATABASE_URL=postgresql://bs@127.0.0.1:1/none -E DB_POOL_MIN=0 \
		-E MIGRATIONS_DIR="$ROOT/migrations" -E LOG_LEVEL=debug -E WORKER_THREADS=2 \
		-E CLAUDE_BASE_URL=http://127.0.0.1:9 \
		"$ROOT/brainstorm-fcgi" </dev/null >"$TMP/worker.log" 2>&1 &
	ACT_PID=$!
	for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
	[ -S "$sock" ] || { echo "no socket"; cat "$TMP/worker.log"; return 1; }
	for path in /api/health /api/projects/00000000-0000-4000-8000-0000000000a1; do
		env -i REQUEST_METHOD=GET DOCUMENT_URI="$path" REQUEST_URI="$path" \
			SERVER_PROTOCOL=HTTP/1.1 HTTP_X_REQUEST_ID=logs-test \
			timeout 10 cgi-fcgi -bind -connect "$sock" >/dev/null 2>&1 || return 1
	done
	kill -TERM "$ACT_PID"
	wait "$ACT_PID" 2>/dev/null
	ACT_PID=
	grep -c '"msg":"request"' "$TMP/worker.log" | grep -qx 2 ||
		{ echo "not two request lines:"; cat "$TMP/worker.log"; return 1; }
}
# The labels a worker pipeline gives each real line: every worker line is JSON with
# a time in RFC 3339; request lines have every field the pipeline reads, and
# their route is the pattern.
worker_labels() {
	python3 - "$TMP/worker.log" "$(pipeline loki.source.journal.workers fields)" \
		"$(pipeline loki.source.journal.workers labels)" <<'EOF'
import datetime, json, re, sys
fields, labels = sys.argv[2].split(), set(sys.argv[3].split())
requests = 0
for raw in open(sys.argv[1]):
    if not raw.startswith("{"):
        continue        # systemd-socket-activate's own lines
    rec = json.loads(raw)
    datetime.datetime.fromisoformat(rec["time"].replace("Z", "+00:00"))
    if rec.get("msg") != "request":
        continue
    requests += 1
    missing = [f for f in fields if f not in rec]
    if missing:
        sys.exit("a request line lacks %s: %s" % (missing, raw.strip()))
    got = {k: str(rec[k]) for k in labels if k in rec}
    if re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", got.get("route", "")):
        sys.exit("route label holds an id: %s" % got)
    print(got)
if requests != 2:
    sys.exit("%d request lines" % requests)
EOF
}
if [ ! -x "$ROOT/brainstorm-fcgi" ]; then
	skip "real worker lines" "brainstorm-fcgi is not built"
elif ! command -v systemd-socket-activate >/dev/null 2>&1 || ! command -v cgi-fcgi >/dev/null 2>&1; then
	fail "real worker lines" "needs systemd-socket-activate (systemd) and cgi-fcgi (libfcgi-bin)"
else
	step "a worker logs two requests (socket activation, cgi-fcgi)" worker_lines
	check "its lines: JSON, RFC 3339 time, every field read; route is the pattern" worker_labels
fi

documented() {
	grep -q '^## Logs to Loki' "$ROOT/docs/OPERATIONS.md" &&
		grep -q 'monitoring/alloy/config.alloy' "$ROOT/docs/OPERATIONS.md"
}
check "docs/OPERATIONS.md has a section Logs to Loki naming config.alloy" documented

finish
