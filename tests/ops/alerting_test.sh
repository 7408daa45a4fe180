#!/usr/bin/env bash
# Alerts reach someone, end to end: a worker behind nginx, the blackbox
# exporter probing /api/ready with monitoring/blackbox.yml, Prometheus with
# the rules of monitoring/alerts.yml, Alertmanager configured by
# monitoring/alertmanager-config from the environment (a webhook and email),
# and a local receiver (tests/ops/alert_receiver.py: an HTTP webhook and an
# SMTP sink). The worker is stopped: BrainstormNotReady (and
# BrainstormWorkerDown) must arrive at the webhook and by mail; the worker
# is started again: the webhook must hear that it resolved.
#
#   tests/ops/alerting_test.sh
#
# Everything listens on 127.0.0.1 on free ports, keeps its data in a
# temporary directory, and is stopped by PID in a trap. Short on purpose:
# the test's own Prometheus scrapes and evaluates every second, and the
# rules' "for:" holds are shortened to 2s in its copy of alerts.yml (the
# expressions, labels and annotations are the real ones); Alertmanager
# groups for 1s. The waits are generous (90 s) and only bound a failure.
#
# PostgreSQL: the one script/test runs (BS_PG_PORT and BS_PG_SOCK), else
# one of its own (script/lib.sh). Needs a built brainstorm-fcgi and
# brainstormctl, nginx, prometheus, prometheus-alertmanager (amtool),
# prometheus-blackbox-exporter (script/bootstrap installs them) and
# python3. Prints "N passed, N failed" last; exits non-zero on any failure.
# The checks are functions that check() calls.
# shellcheck disable=SC2317
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MON=$ROOT/monitoring
# shellcheck source=tests/ops/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for tool in prometheus promtool prometheus-alertmanager amtool \
	prometheus-blackbox-exporter nginx python3 curl psql; do
	command -v "$tool" >/dev/null 2>&1 ||
		fail "tool $tool" "not installed (script/bootstrap installs it)"
done
if [ ! -x "$ROOT/brainstorm-fcgi" ] || [ ! -x "$ROOT/brainstormctl" ]; then
	skip "alerts end to end" "brainstorm-fcgi is not built"
	finish
fi
[ "$failed" -eq 0 ] || finish

BS_PROG=alerting_test
# shellcheck source=script/lib.sh
. "$ROOT/script/lib.sh"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/bs-ops-alerting.XXXXXX")
chmod 755 "$TMP"
OWN_PG=0
DB=bs_ops_alerting_$$_$RANDOM
PIDS=()		# receiver, blackbox, alertmanager, prometheus

cleanup() {
	local pid
	set +e
	for pid in "${PIDS[@]}"; do bs_pid_stop "$pid" 10; done
	bs_nginx_stop
	bs_workers_stop
	if [ -n "${BS_PG_PORT:-}" ] && bs_pg_ready 2>/dev/null; then
		bs_pg_psql -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
	fi
	[ "$OWN_PG" = 1 ] && bs_pg_stop
	bs_restore_output
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start NAME COMMAND...: a server in the background, its output in
# TMP/NAME.log, its PID in PIDS.
start() {
	local name=$1
	shift
	"$@" </dev/null >"$TMP/$name.log" 2>&1 {BS_STDOUT_FD}>&- {BS_STDERR_FD}>&- &
	PIDS+=("$!")
}

# wait_for SECONDS COMMAND...: poll until COMMAND succeeds.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.5
	done
}

# Four distinct free ports.
ports=()
while [ ${#ports[@]} -lt 4 ]; do
	p=$(bs_free_port)
	[[ " ${ports[*]} " == *" $p "* ]] || ports+=("$p")
done
HTTP_PORT=${ports[0]} PROM_PORT=${ports[1]} AM_PORT=${ports[2]} BB_PORT=${ports[3]}

# ---- PostgreSQL, a worker and nginx --------------------------------------------

if [ -n "${BS_PG_PORT:-}" ] && [ -n "${BS_PG_SOCK:-}" ] && bs_pg_ready; then
	echo "using PostgreSQL on 127.0.0.1:$BS_PG_PORT"
	BS_HTTP_PORT=$HTTP_PORT
	BS_RUN_DIR=$TMP/run
else
	BS_HTTP_PORT=$HTTP_PORT
	BS_PG_PORT=$(bs_free_port)
	BS_REDIS_PORT=$(bs_free_port)
	BS_PG_OPTS="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	bs_stack_init "$TMP/pg-state"
	echo "starting PostgreSQL on 127.0.0.1:$BS_PG_PORT"
	OWN_PG=1
	if ! (bs_pg_init && bs_pg_start) >"$TMP/pg-start.log" 2>&1; then
		fail "start PostgreSQL" "$(tail -n 20 "$TMP/pg-start.log")"
		finish
	fi
fi
mkdir -p "$BS_RUN_DIR"
BS_DATABASE_URL=$(bs_database_url "$DB")
BS_REDIS_URL=		# readiness without Redis: "ready"
BS_CLAUDE_BASE_URL=http://127.0.0.1:9	# nothing listens: a warning at start
BS_CLAUDE_API_KEY=
BS_WORKER_COUNT=1
BS_WORKER_THREADS=2
BS_LOG_LEVEL=warn
BS_BASE_URL=http://127.0.0.1:$HTTP_PORT

stack_up() {
	bs_pg_databases_ensure "$DB" && bs_migrate && bs_workers_start && bs_nginx_start &&
		bs_wait_until 20 "$BS_BASE_URL/api/ready" \
			curl -fsS --max-time 2 -o /dev/null "$BS_BASE_URL/api/ready"
}
step "a worker behind nginx, /api/ready answers 200" stack_up
[ "$failed" -eq 0 ] || finish

# ---- the receiver, the exporter, Alertmanager, Prometheus ------------------------

# Servers started here run in this shell (not in check's subshell), so the
# trap knows their PIDs.
start receiver python3 "$ROOT/tests/ops/alert_receiver.py" "$TMP"
receiver_up() { wait_for 15 test -s "$TMP/ports"; }
check "the webhook and SMTP receiver listens" receiver_up
[ "$failed" -eq 0 ] || finish
read -r HOOK_PORT SMTP_PORT <"$TMP/ports"

# The configuration Alertmanager's container writes, from the environment.
am_config() {
	env ALERT_WEBHOOK_URL="http://127.0.0.1:$HOOK_PORT/alerts" \
		ALERT_EMAIL_TO=oncall@example.com ALERT_EMAIL_FROM=alertmanager@example.com \
		ALERT_SMTP_SMARTHOST="127.0.0.1:$SMTP_PORT" ALERT_SMTP_REQUIRE_TLS=false \
		ALERT_GROUP_WAIT=1s ALERT_GROUP_INTERVAL=1s ALERT_REPEAT_INTERVAL=1h \
		"$MON/alertmanager-config" -o "$TMP/alertmanager.yml" &&
		amtool check-config "$TMP/alertmanager.yml"
}
check "alertmanager-config: webhook and email from the environment; amtool check-config" am_config

am_refuses() {
	local rc=0 out
	out=$(env -u ALERT_WEBHOOK_URL -u ALERT_EMAIL_TO "$MON/alertmanager-config" 2>&1) || rc=$?
	[ "$rc" -ne 0 ] && grep -q 'no destination' <<<"$out" || { echo "exit $rc: $out"; return 1; }
	rc=0
	out=$(env ALERT_EMAIL_TO=a@example.com "$MON/alertmanager-config" 2>&1) || rc=$?
	[ "$rc" -ne 0 ] && grep -q ALERT_SMTP_SMARTHOST <<<"$out" || { echo "exit $rc: $out"; return 1; }
}
check "alertmanager-config refuses no destination, or email without a relay" am_refuses

# The test's Prometheus: the production jobs' shape (monitoring/prometheus.yml),
# this stack's addresses, one-second intervals. The rules: alerts.yml with
# every "for:" hold shortened to 2s.
sed -E 's/^([[:space:]]+for:[[:space:]]*).*/\12s/' "$MON/alerts.yml" >"$TMP/alerts.yml"
cat >"$TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $TMP/alerts.yml
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:$AM_PORT"]
scrape_configs:
  - job_name: brainstorm
    metrics_path: /metrics
    static_configs:
      - targets: ["127.0.0.1:$HTTP_PORT"]
  - job_name: brainstorm-ready
    metrics_path: /probe
    params:
      module: [http_2xx]
    static_configs:
      - targets: ["$BS_BASE_URL/api/ready"]
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: 127.0.0.1:$BB_PORT
EOF
check "promtool: the test's config and its copy of the rules" \
	bash -c 'promtool check config "$1" && promtool check rules "$2"' _ \
	"$TMP/prometheus.yml" "$TMP/alerts.yml"
[ "$failed" -eq 0 ] || finish

mkdir -p "$TMP/am-data" "$TMP/prom-data"
start blackbox prometheus-blackbox-exporter --config.file="$MON/blackbox.yml" \
	--web.listen-address="127.0.0.1:$BB_PORT"
start alertmanager prometheus-alertmanager --config.file="$TMP/alertmanager.yml" \
	--storage.path="$TMP/am-data" --web.listen-address="127.0.0.1:$AM_PORT" \
	--cluster.listen-address=
start prometheus prometheus --config.file="$TMP/prometheus.yml" \
	--storage.tsdb.path="$TMP/prom-data" --web.listen-address="127.0.0.1:$PROM_PORT"

ready() { curl -fsS --max-time 2 -o /dev/null "$1"; }
servers_up() {
	local url
	for url in "http://127.0.0.1:$BB_PORT/-/healthy" "http://127.0.0.1:$AM_PORT/-/ready" \
		"http://127.0.0.1:$PROM_PORT/-/ready"; do
		wait_for 30 ready "$url" || {
			echo "$url did not answer"
			tail -n 5 "$TMP"/blackbox.log "$TMP"/alertmanager.log "$TMP"/prometheus.log
			return 1
		}
	done
}
check "blackbox exporter, Alertmanager and Prometheus start on 127.0.0.1" servers_up
[ "$failed" -eq 0 ] || finish

# query EXPR: the value of an instant query with one result, or nothing.
query() {
	curl -fsS --max-time 3 "http://127.0.0.1:$PROM_PORT/api/v1/query" \
		--data-urlencode "query=$1" |
		python3 -c 'import json, sys; r = json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if len(r) == 1 else "")'
}
value_is() { [ "$(query "$1")" = "$2" ]; }

baseline() {
	wait_for 90 value_is 'probe_success{job="brainstorm-ready"}' 1 &&
		wait_for 90 value_is 'up{job="brainstorm"}' 1 || {
		echo "probe_success: '$(query 'probe_success{job="brainstorm-ready"}')'," \
			"up: '$(query 'up{job="brainstorm"}')'"
		return 1
	}
	# Nothing fires while the worker is up.
	[ -z "$(query 'ALERTS{alertname=~"BrainstormNotReady|BrainstormWorkerDown"}')" ] ||
		{ echo "an alert fires already"; return 1; }
}
check "Prometheus: the probe succeeds and the worker is scraped (up == 1)" baseline
[ "$failed" -eq 0 ] || finish

# received FILE ALERTNAME STATUS: a notice in FILE carries the alert with
# that status (webhook JSON, or a mail whose text names it).
received() {
	python3 - "$TMP/$1" "$2" "$3" <<'EOF'
import json, sys
path, name, status = sys.argv[1:]
try:
    lines = [json.loads(l) for l in open(path) if l.strip()]
except FileNotFoundError:
    sys.exit(1)
for n in lines:
    if "alerts" in n:           # webhook
        for a in n["alerts"]:
            if a["labels"].get("alertname") == name and a["status"] == status:
                if status == "firing" and not a["annotations"].get("runbook"):
                    sys.exit("no runbook annotation")
                sys.exit(0)
    elif name in n["data"] and ("[%s]" % status.upper()) in n["data"]:
        sys.exit(0)             # mail: the subject "[FIRING] name (severity)"
sys.exit(1)
EOF
}
fired() { wait_for 90 received "$@" || { echo "not received:"; tail -c 2000 "$TMP/$1" 2>/dev/null; return 1; }; }

# ---- stop the worker: the alert arrives -------------------------------------------

worker_stop() {
	[ ${#BS_WORKER_PIDS[@]} -eq 1 ] || { echo "workers: ${BS_WORKER_PIDS[*]}"; return 1; }
	bs_workers_stop
	local code
	code=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$BS_BASE_URL/api/ready")
	[ "$code" != 200 ] || { echo "/api/ready still answers 200"; return 1; }
}
step "stop the worker (SIGTERM by PID): /api/ready no longer 200" worker_stop

check "BrainstormNotReady arrives at the webhook, firing, with its runbook" \
	fired webhook.jsonl BrainstormNotReady firing
check "BrainstormWorkerDown arrives at the webhook, firing" \
	fired webhook.jsonl BrainstormWorkerDown firing
check "BrainstormNotReady arrives by mail ([FIRING] in the subject)" \
	fired mail.jsonl BrainstormNotReady firing
mail_to() { grep -q 'oncall@example.com' "$TMP/mail.jsonl"; }
check "the mail went to ALERT_EMAIL_TO" mail_to

# ---- start it again: the alert resolves ------------------------------------------

worker_start() {
	bs_workers_start &&
		bs_wait_until 60 "$BS_BASE_URL/api/ready" \
			curl -fsS --max-time 2 -o /dev/null "$BS_BASE_URL/api/ready" && return 0
	curl -sS --max-time 5 "$BS_BASE_URL/api/ready"
	tail -n 20 "$BS_RUN_DIR"/worker-1.log "$BS_RUN_DIR"/logs/error.log
	return 1
}
step "start the worker again: /api/ready answers 200" worker_start
check "BrainstormNotReady resolves at the webhook" \
	fired webhook.jsonl BrainstormNotReady resolved
check "BrainstormNotReady resolves by mail ([RESOLVED])" \
	fired mail.jsonl BrainstormNotReady resolved

finish
