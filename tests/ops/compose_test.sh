#!/usr/bin/env bash
# The container stack's operations parts, without a container engine
# (script/containers builds and runs the stack for real): docker/compose.yml
# and docker/stack.yml have the backup, blackbox and alertmanager services
# on the images that carry their programs; the container Prometheus
# (docker/prometheus.yml) probes readiness as the host one does and sends
# to Alertmanager; Grafana's entry point refuses an empty or default admin
# password; every file a Dockerfile COPYs exists and its .dockerignore lets
# it through.
#
#   tests/ops/compose_test.sh
#
# Needs python3 with yaml (python3-yaml) and promtool. Prints
# "N passed, N failed" last; exits non-zero on any failure.
# The checks are functions that check() calls.
# shellcheck disable=SC2317
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
D=$ROOT/docker
# shellcheck source=tests/ops/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PY=/usr/bin/python3
if ! "$PY" -c 'import yaml' 2>/dev/null; then
	fail "python3-yaml" "not installed (script/bootstrap)"
	finish
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/bs-ops-compose.XXXXXX")
# What the checks start (they run in subshells): one PID a line in
# $TMP/pids, stopped here and at the end of the check.
stop_started() {
	local pid
	[ -f "$TMP/pids" ] || return 0
	while read -r pid; do
		kill -TERM "$pid" 2>/dev/null || continue
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done <"$TMP/pids"
	rm -f "$TMP/pids"
}
cleanup() {
	stop_started
	rm -rf "$TMP"
}
trap cleanup EXIT

services() {
	"$PY" - "$1" <<'EOF'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
s = doc["services"]
bad = []
def image(name):
    return s[name]["image"].split("/")[-1].split(":")[0]
for name in ("backup", "blackbox", "alertmanager", "prometheus"):
    if name not in s:
        bad.append("no service " + name)
if bad:
    sys.exit("\n".join(bad))
if image("backup") != "postgres":
    bad.append("backup: not the postgres image")
if s["backup"].get("command") != ["brainstorm-backup-schedule"]:
    bad.append("backup: command %r" % s["backup"].get("command"))
if "brainstorm-backup-schedule" not in s["backup"]["healthcheck"]["test"]:
    bad.append("backup: healthcheck")
env = s["backup"]["environment"]
for k in ("BACKUP_DIR", "BACKUP_RETENTION_DAYS", "BACKUP_VERIFY", "BACKUP_AT"):
    if k not in env:
        bad.append("backup: no " + k)
if not any(str(v).split(":")[0] == "backups" for v in s["backup"]["volumes"]):
    bad.append("backup: no backups volume")
for name in ("blackbox", "alertmanager"):
    if image(name) != "prometheus":
        bad.append(name + ": not the monitoring (prometheus) image")
    if not s[name].get("healthcheck", {}).get("test"):
        bad.append(name + ": no healthcheck")
if s["alertmanager"]["entrypoint"] != ["/usr/local/bin/brainstorm-alertmanager"]:
    bad.append("alertmanager: entrypoint")
for k in ("ALERT_WEBHOOK_URL", "ALERT_EMAIL_TO", "ALERT_SMTP_SMARTHOST"):
    if k not in s["alertmanager"]["environment"]:
        bad.append("alertmanager: no " + k)
if "blackbox.yml" not in " ".join(s["blackbox"]["entrypoint"]):
    bad.append("blackbox: not monitoring/blackbox.yml")
for v in ("backups", "alertmanagerdata"):
    if v not in (doc.get("volumes") or {}):
        bad.append("no volume " + v)
if bad:
    sys.exit("\n".join(bad))
EOF
}
check "compose.yml: backup (postgres image), blackbox and alertmanager (monitoring image)" \
	services "$D/compose.yml"
check "stack.yml: the same services" services "$D/stack.yml"

# Grafana's entry point, as compose runs it ($$ is compose's $), with a
# stand-in for the image's /run.sh.
grafana_password() {
	local script rc
	script=$("$PY" -c 'import sys, yaml; e = yaml.safe_load(open(sys.argv[1]))["services"]["grafana"]["entrypoint"]; assert e[:2] == ["/bin/sh", "-c"]; print(e[2].replace("$$", "$"))' "$D/compose.yml") ||
		return 1
	script=${script//\/run.sh/echo started}
	for pw in "" admin; do
		rc=0
		GF_SECURITY_ADMIN_PASSWORD=$pw sh -c "$script" grafana >/dev/null 2>&1 || rc=$?
		[ "$rc" -ne 0 ] || { echo "started with the password '$pw'"; return 1; }
	done
	[ "$(GF_SECURITY_ADMIN_PASSWORD=a-long-secret sh -c "$script" grafana)" = started ] ||
		{ echo "refused a good password"; return 1; }
	# The variable it checks is the one compose sets from GRAFANA_ADMIN_PASSWORD.
	grep -q 'GF_SECURITY_ADMIN_PASSWORD: ${GRAFANA_ADMIN_PASSWORD' "$D/compose.yml"
}
check "grafana refuses to start with an empty or 'admin' password" grafana_password

# The container Prometheus: valid, the same readiness probe as the host's
# (job brainstorm-ready through a blackbox exporter, module http_2xx), a
# target for every job alerts.yml names, and Alertmanager.
container_prometheus() {
	promtool check config "$D/prometheus.yml" >/dev/null || return 1
	"$PY" - "$D/prometheus.yml" "$ROOT/monitoring/prometheus.yml" "$ROOT/monitoring/alerts.yml" <<'EOF'
import re, sys, yaml
c, h = (yaml.safe_load(open(p)) for p in sys.argv[1:3])
jobs = lambda d: {j["job_name"]: j for j in d["scrape_configs"]}
cj, hj = jobs(c), jobs(h)
bad = []
for name in set(re.findall(r'job="([^"]+)"', open(sys.argv[3]).read())):
    if name not in cj:
        bad.append("alerts.yml uses job %s, which docker/prometheus.yml lacks" % name)
r = cj.get("brainstorm-ready")
if r:
    for k in ("metrics_path", "params", "relabel_configs"):
        if k == "relabel_configs":
            strip = lambda rs: [{x: y for x, y in e.items() if x != "replacement"} for e in rs]
            if strip(r[k]) != strip(hj["brainstorm-ready"][k]):
                bad.append("brainstorm-ready: relabel_configs differ from the host's")
        elif r[k] != hj["brainstorm-ready"][k]:
            bad.append("brainstorm-ready: %s differs from the host's" % k)
    if r["relabel_configs"][-1].get("replacement") != "blackbox:9115":
        bad.append("brainstorm-ready does not go through blackbox:9115")
    if r["static_configs"][0]["targets"] != ["http://web:8080/api/ready"]:
        bad.append("brainstorm-ready does not probe web's /api/ready")
am = [t for a in c.get("alerting", {}).get("alertmanagers", []) for s in a["static_configs"] for t in s["targets"]]
if am != ["alertmanager:9093"]:
    bad.append("alerting: %r" % am)
if bad:
    sys.exit("\n".join(bad))
EOF
}
check "docker/prometheus.yml: readiness probe as on a host, every alert's job, Alertmanager" container_prometheus

# Every COPY source of every Dockerfile exists, and NAME.dockerignore (the
# build context) lets it through: "*" then "!path" lines.
copies_reach_context() {
	"$PY" - "$D" "$ROOT" <<'EOF'
import fnmatch, glob, os, re, sys
d, root = sys.argv[1:]
bad = []
for df in sorted(glob.glob(os.path.join(d, "*Dockerfile"))):
    text = re.sub(r"\\\n", " ", open(df).read())
    ign = df + ".dockerignore"
    rules = [l.strip() for l in open(ign)] if os.path.exists(ign) else []
    def included(path):
        ok = True
        for r in rules:
            if not r or r.startswith("#"):
                continue
            neg = r.startswith("!")
            pat = r[1:] if neg else r
            if fnmatch.fnmatch(path, pat) or path.startswith(pat.rstrip("/") + "/"):
                ok = neg
        return ok
    for line in text.splitlines():
        m = re.match(r"\s*COPY\s+(.*)$", line)
        if not m or "--from=" in line:
            continue
        args = [a for a in m.group(1).split() if not a.startswith("--")]
        for src in args[:-1]:
            optional = src.endswith("*")
            src = src.rstrip("*")
            path = os.path.join(root, src)
            if not os.path.exists(path):
                if not optional:
                    bad.append("%s: COPY %s: no such file" % (os.path.basename(df), src))
                continue
            if os.path.isfile(path) and not included(src):
                bad.append("%s: COPY %s: excluded by %s" % (os.path.basename(df), src, os.path.basename(ign)))
if bad:
    sys.exit("\n".join(bad))
EOF
}
check "every Dockerfile COPY source exists and its .dockerignore lets it in" copies_reach_context

# The entry points the new services run are executable shell that parses.
entry_points() {
	local f
	for f in "$D/backup-schedule.sh" "$D/alertmanager-entrypoint.sh" "$ROOT/monitoring/alertmanager-config"; do
		[ -x "$f" ] || { echo "${f#"$ROOT"/} is not executable"; return 1; }
		bash -n "$f" || return 1
	done
}
# Only web shares a network with the workers' FastCGI port, and the
# networks of the data and the demo model have no way out.
fastcgi_reach() {
	"$PY" - "$1" <<'EOF'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
nets = doc.get("networks") or {}
bad = []
def on(name):
    n = doc["services"][name].get("networks")
    if n is None:
        return {"default"}
    return set(n if isinstance(n, list) else n.keys())
app = on("app")
for name in doc["services"]:
    if name in ("app", "web"):
        continue
    for shared in on(name) & app:
        if shared == "default" or not (nets.get(shared) or {}).get("internal"):
            bad.append(f"{name} reaches the workers over {shared}")
        elif shared == "fastcgi":
            bad.append(f"{name} is on the fastcgi network")
if "fastcgi" not in on("web") or "fastcgi" not in app:
    bad.append("web and app do not share the fastcgi network")
for n in ("fastcgi", "data", "claude"):
    if not (nets.get(n) or {}).get("internal"):
        bad.append(f"network {n} is not internal")
for n in sorted(on("app") - {"fastcgi", "data", "claude"}):
    others = [s for s in doc["services"] if s != "app" and n in on(s)]
    if others:
        bad.append(f"the workers' egress network {n} also has {others}")
print("\n".join(bad))
sys.exit(1 if bad else 0)
EOF
}
check "compose.yml: only web reaches the workers' FastCGI port" fastcgi_reach "$D/compose.yml"
check "stack.yml: only web reaches the workers' FastCGI port" fastcgi_reach "$D/stack.yml"

check "entry points executable: backup-schedule, alertmanager, alertmanager-config" entry_points

# The live path: the engine service runs brainstorm-fcgi --engine-only with
# the workers' settings and no port; the workers (over fastcgi) and the
# engines (over an internal network of their own with web, not fastcgi)
# publish to web's nchan port (NCHAN_URL), which is never published; more than one web task share their
# channels through a Redis of their own.
live_path() {
	"$PY" - "$1" <<'EOF'
import re, sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
s, nets = doc["services"], doc.get("networks") or {}
bad = []
def on(name):
    n = s[name].get("networks") or ["default"]
    return set(n if isinstance(n, list) else n.keys())
for name in ("app", "engine", "web"):
    if name not in s:
        sys.exit("no service " + name)
e, a, w = s["engine"], s["app"], s["web"]
if e.get("command") != ["brainstorm-fcgi", "--engine-only"]:
    bad.append("engine: command %r" % e.get("command"))
if e["image"] != a["image"]:
    bad.append("engine: not the app image")
if e.get("ports") or e.get("expose"):
    bad.append("engine: it listens on nothing, yet has ports")
if "brainstorm-probe" in " ".join(map(str, (e.get("healthcheck") or {}).get("test", ["brainstorm-probe"]))):
    bad.append("engine: a healthcheck that needs FastCGI (or the image's, which does)")
ae, ee = dict(a["environment"]), dict(e["environment"])
for k in set(ae) | set(ee):
    if k in ("ENGINE", "ENGINE_IO_THREADS"):
        continue
    if ae.get(k) != ee.get(k):
        bad.append("engine: %s differs from the workers' (%r, %r)" % (k, ee.get(k), ae.get(k)))
wenv = w.get("environment") or {}
port = str(wenv.get("NCHAN_PORT", "9146"))
for name in ("app", "engine"):
    url = s[name]["environment"].get("NCHAN_URL")
    if url != "http://web:%s" % port:
        bad.append("%s: NCHAN_URL %r, wanted http://web:%s" % (name, url, port))
    # The workers reach web over fastcgi; the engines must not be there.
    shared = [n for n in on(name) & on("web") if name == "app" or n != "fastcgi"]
    if not shared:
        bad.append("%s shares no network with web" % name)
    for n in shared:
        if not (nets.get(n) or {}).get("internal"):
            bad.append("%s reaches web over %s, which is not internal" % (name, n))
        others = sorted(x for x in s if x not in ("app", "engine", "web") and n in on(x))
        if others:
            bad.append("network %s (nchan's port) also has %s" % (n, others))
if "nchan" in on("app"):
    bad.append("app is on the engines' nchan network (it reaches web over fastcgi)")
if "fastcgi" in on("engine"):
    bad.append("engine is on the fastcgi network (it is no client of the workers)")
for p in w.get("ports") or []:
    target = str(p.get("target") if isinstance(p, dict) else str(p).split(":")[-1])
    if target == port:
        bad.append("web publishes nchan's port %s" % port)
replicas = ((w.get("deploy") or {}).get("replicas")) or 1
redis = wenv.get("NCHAN_REDIS_URL") or ""
if replicas > 1:
    m = re.fullmatch(r"redis://(?:[^@/]*@)?([a-z0-9-]+):([0-9]+)(/[0-9]+)?", redis)
    if not m or m.group(1) not in s:
        bad.append("web has %d replicas without NCHAN_REDIS_URL to a service: %r" % (replicas, redis))
    else:
        store = m.group(1)
        shared = on(store) & on("web")
        if not shared:
            bad.append("web shares no network with %s" % store)
        for n in shared:
            others = sorted(x for x in s if x not in ("web", store) and n in on(x))
            if others or not (nets.get(n) or {}).get("internal"):
                bad.append("nchan's Redis network %s: internal, web's only (also %s)" % (n, others))
print("\n".join(bad))
sys.exit(1 if bad else 0)
EOF
}
check "compose.yml: engine service, NCHAN_URL to web's unpublished nchan port" live_path "$D/compose.yml"
check "stack.yml: the same, web's tasks sharing channels through nchan-redis" live_path "$D/stack.yml"

# The web image's entry point: the template's marker becomes the private
# port and its allow list (deny all last), NCHAN_REDIS_URL the Redis lines,
# and nginx accepts the result (when nchan is installed here).
web_entrypoint() {
	local run=$TMP/web-run ep=$TMP/web-entrypoint conf
	mkdir -p "$run" "$TMP/html"
	sed "s|^template=.*|template=$ROOT/nginx/nginx.conf.in|" "$D/web-entrypoint.sh" >"$ep"
	BRAINSTORM_UPSTREAM=127.0.0.1:9000 WEB_RUN_DIR=$run WEB_ROOT=$TMP/html NCHAN_PORT=19146 \
		NCHAN_REDIS_URL=redis://nchan-redis:6379/0 bash "$ep" true || return 1
	conf=$(sed -n '/listen unix:.*nchan.sock;/,/^    }/p' "$run/nginx.conf")
	grep -q '^        listen 19146;$' <<<"$conf" || { echo "no listen 19146 in the publisher server"; return 1; }
	grep -q '^        allow unix:;$' <<<"$conf" || { echo "no allow unix:"; return 1; }
	[ "$(grep -E '^[[:space:]]*(allow|deny)' <<<"$conf" | tail -n 1 | tr -d ' ')" = "denyall;" ] ||
		{ echo "deny all is not the last rule"; return 1; }
	! grep -q '@NCHAN_PUBLISH_TCP@' "$run/nginx.conf" || { echo "marker left"; return 1; }
	! grep -Ev '^[[:space:]]*#' "$run/nginx.conf" | grep -Eq '@[A-Z_]+@' ||
		{ echo "a placeholder left"; return 1; }
	grep -q '^worker_processes 1;$' "$run/nginx.conf" || { echo "not one nginx worker by default"; return 1; }
	[ "$(grep -c '^ *limit_conn bs_streams 64;$' "$run/nginx.conf")" = 2 ] ||
		{ echo "not 64 streams per address by default"; return 1; }
	grep -q '^    nchan_redis_url "redis://nchan-redis:6379/0";$' "$run/nginx.conf" &&
		grep -q '^    nchan_use_redis on;$' "$run/nginx.conf" || { echo "no Redis lines"; return 1; }
	# A bad value is refused before nginx sees it.
	! NCHAN_PORT=x BRAINSTORM_UPSTREAM=a:1 WEB_RUN_DIR=$run bash "$ep" true 2>/dev/null || return 1
	! NCHAN_REDIS_URL='redis://x";' BRAINSTORM_UPSTREAM=a:1 WEB_RUN_DIR=$run bash "$ep" true 2>/dev/null || return 1
	! NGINX_WORKERS='2; user root' BRAINSTORM_UPSTREAM=a:1 WEB_RUN_DIR=$run bash "$ep" true 2>/dev/null || return 1
	NGINX_WORKERS=auto BRAINSTORM_UPSTREAM=a:1 WEB_RUN_DIR=$run WEB_ROOT=$TMP/html bash "$ep" true &&
		grep -q '^worker_processes auto;$' "$run/nginx.conf" || { echo "NGINX_WORKERS=auto not applied"; return 1; }
	for bad in 0 65536 064 x '64; user root'; do
		! STREAMS_PER_ADDRESS=$bad BRAINSTORM_UPSTREAM=a:1 WEB_RUN_DIR=$run bash "$ep" true 2>/dev/null ||
			{ echo "STREAMS_PER_ADDRESS='$bad' taken"; return 1; }
	done
	STREAMS_PER_ADDRESS=500 BRAINSTORM_UPSTREAM=a:1 WEB_RUN_DIR=$run WEB_ROOT=$TMP/html bash "$ep" true &&
		[ "$(grep -c '^ *limit_conn bs_streams 500;$' "$run/nginx.conf")" = 2 ] ||
		{ echo "STREAMS_PER_ADDRESS=500 not applied"; return 1; }
	if [ -f /usr/lib/nginx/modules/ngx_nchan_module.so ]; then
		# Without Redis: nginx -t (Redis would be connected to at start only).
		BRAINSTORM_UPSTREAM=127.0.0.1:9000 WEB_RUN_DIR=$run WEB_ROOT=$TMP/html \
			bash "$ep" nginx -t -q 2>&1 | grep -v '\[info\]' | grep . && return 1
		return 0
	fi
}
check "web entry point: nchan's private port, allow list, Redis option, nginx workers, streams per address" web_entrypoint

# NGINX_PRIORITY: unset, -5 where the container may take it (CAP_SYS_NICE,
# or RLIMIT_NICE of 25), else 0, which leaves nginx's priority alone; a
# value below what it may take, or no nice value, is refused. The web image
# runs as a user without capabilities: setpriv makes one here.
web_entrypoint_priority() {
	local ep=$TMP/web-entrypoint err=$TMP/prio.err user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	chmod 755 "$TMP" "$TMP/html"
	# render [VAR=VALUE...] [COMMAND...]: the entry point's worker_priority.
	render() {
		local run
		run=$(mktemp -d "$TMP/prio.XXXXXX") && chmod 777 "$run" || return 1
		env BRAINSTORM_UPSTREAM=a:1 WEB_RUN_DIR="$run" WEB_ROOT="$TMP/html" \
			"$@" bash "$ep" true 2>"$err" &&
			sed -n 's/^worker_priority \(.*\);$/\1/p' "$run/nginx.conf"
	}
	[ "$(render)" = -5 ] || { echo "root with CAP_SYS_NICE: not -5"; return 1; }
	[ "$(render "${user[@]}")" = 0 ] || { echo "no capability, RLIMIT_NICE 0: not 0"; return 1; }
	[ "$(render NGINX_PRIORITY=3 "${user[@]}")" = 3 ] || { echo "3 not taken"; return 1; }
	[ "$(render NGINX_PRIORITY=0 nice -n 5 "${user[@]}")" = 0 ] || { echo "0 refused at nice 5"; return 1; }
	! render NGINX_PRIORITY=-5 "${user[@]}" >/dev/null || return 1
	grep -q 'RLIMIT_NICE 25 (compose: ulimits: nice: 25)' "$err" ||
		{ echo "no hint for -5:"; cat "$err"; return 1; }
	! render NGINX_PRIORITY=3 nice -n 5 "${user[@]}" >/dev/null || return 1
	local bad
	for bad in -21 20 '-5; user root' 05 x; do
		! render NGINX_PRIORITY="$bad" >/dev/null || { echo "'$bad' taken"; return 1; }
		grep -q 'is not a nice value' "$err" || { echo "'$bad': no message"; return 1; }
	done
}
if [ "$(id -u)" -eq 0 ] &&
	(((16#$(awk '/^CapEff:/ { print $2 }' /proc/self/status) >> 23) & 1)); then
	check "web entry point: NGINX_PRIORITY, by what the container may take" web_entrypoint_priority
else
	skip "web entry point: NGINX_PRIORITY" "needs root with CAP_SYS_NICE (setpriv makes the unprivileged user)"
fi

# Two web containers' nginx (the entry point's config, nchan on a shared
# Redis, as the swarm stack and Kubernetes run web): a worker's publish on
# one reaches a turn's stream on the other.
free_port() {
	"$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
shared_channels() {
	local rc=0
	shared_channels_run || rc=$?
	stop_started
	return "$rc"
}
# start_web NAME REDIS_PORT: a web nginx of the entry point's config on
# free ports, listening when this returns; ports[NAME] is its nchan port.
# A port that another process took between free_port and nginx's bind
# means new ports, up to five times.
start_web() {
	local n=$1 rport=$2 port pid
	for _ in 1 2 3 4 5; do
		port=$(free_port)
		rm -rf "$TMP/web-$n"
		mkdir -p "$TMP/web-$n"
		BRAINSTORM_UPSTREAM=127.0.0.1:9 WEB_RUN_DIR=$TMP/web-$n WEB_ROOT=$TMP/html \
			WEB_PORT=$(free_port) METRICS_PORT=$(free_port) NCHAN_PORT=$port \
			NCHAN_REDIS_URL=redis://127.0.0.1:$rport/0 \
			bash "$TMP/web-entrypoint" nginx </dev/null >"$TMP/web-$n.log" 2>&1 &
		pid=$!
		# nginx writes its pid file once it has bound every listener (a
		# port that answers may be another process's).
		for _ in $(seq 100); do
			kill -0 "$pid" 2>/dev/null || break
			if [ -s "$TMP/web-$n/nginx.pid" ] &&
				(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
				echo "$pid" >>"$TMP/pids"
				ports[$n]=$port
				return 0
			fi
			sleep 0.1
		done
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		grep -q 'Address already in use' "$TMP/web-$n.log" ||
			{ tail -n 5 "$TMP/web-$n.log"; return 1; }
	done
	echo "web $n: no free ports in five tries"
	return 1
}
shared_channels_run() {
	local rport n turn=5a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d pid
	local -A ports
	rport=$(free_port)
	redis-server --bind 127.0.0.1 --port "$rport" --save '' --appendonly no \
		--dir "$TMP" </dev/null >"$TMP/redis.log" 2>&1 &
	echo "$!" >>"$TMP/pids"
	for n in a b; do
		start_web "$n" "$rport" || return 1
	done
	# Until nginx a has reached Redis: a publish is taken (201/202).
	for _ in $(seq 100); do
		case $(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --unix-socket "$TMP/web-a/nchan.sock" \
			-X POST -H 'X-EventSource-Event: turn.queued' -d '{"n":1}' "http://nchan/pub/t-$turn") in
		201 | 202) break ;;
		esac
		sleep 0.1
	done
	# The channel exists on b too: its stream starts with a's event, and
	# ends when a deletes the channel.
	curl -s -N --max-time 20 -o "$TMP/sub.b" -H 'Accept: text/event-stream' \
		"http://127.0.0.1:${ports[b]}/sub/turn/$turn" &
	pid=$!
	for _ in $(seq 100); do grep -q '"n":1' "$TMP/sub.b" 2>/dev/null && break; sleep 0.1; done
	curl -s -o /dev/null --max-time 5 --unix-socket "$TMP/web-a/nchan.sock" \
		-X POST -H 'X-EventSource-Event: turn.done' -d '{"n":2}' "http://nchan/pub/t-$turn"
	curl -s -o /dev/null --max-time 5 --unix-socket "$TMP/web-a/nchan.sock" \
		-X DELETE "http://nchan/pub/t-$turn"
	wait "$pid"
	grep -q '^event: turn.queued' "$TMP/sub.b" && grep -q '^event: turn.done' "$TMP/sub.b" ||
		{ echo "b's stream:"; cat "$TMP/sub.b"; tail -n 5 "$TMP/web-b.log" "$TMP/redis.log"; return 1; }
}
if [ -f /usr/lib/nginx/modules/ngx_nchan_module.so ] && command -v redis-server >/dev/null 2>&1; then
	check "two web nginx on one Redis: a publish on one reaches a stream on the other" shared_channels
else
	skip "two web nginx on one Redis" "needs libnginx-mod-nchan and redis-server"
fi

finish
