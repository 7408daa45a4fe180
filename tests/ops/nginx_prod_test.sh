#!/usr/bin/env bash
# The production nginx site (nginx/brainstorm.conf and nginx/snippets/):
# render it into a temporary prefix with a self-signed certificate and every
# host path replaced, check it with `nginx -t`, start it on free loopback
# ports and check with curl what a browser and Prometheus would see. A real
# brainstorm-fcgi worker (the build's, when it exists) answers /api/ with no
# database behind it; a socket that does not exist stands for a dead worker.
# Then tests/ops/fcgi_accel.py takes the worker's socket and hands requests
# over with X-Accel-Redirect, as the workers do, so that the stream
# locations and nchan's publisher server run for real.
#
#   tests/ops/nginx_prod_test.sh
#
# Needs nginx with nchan (libnginx-mod-nchan), openssl, curl and python3. Binds only 127.0.0.1 (and uses
# 127.0.0.2 as the source address of a non-internal client). Prints
# "N passed, N failed" last; exits non-zero on any failure.
# The checks are functions that check() calls.
# shellcheck disable=SC2317
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/ops/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for tool in nginx openssl curl python3; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		fail "tool $tool" "$tool is not installed (script/bootstrap installs it)"
	fi
done
[ "$failed" -eq 0 ] || finish

TMP=$(mktemp -d "${TMPDIR:-/tmp}/bs-nginx-prod.XXXXXX")
chmod 755 "$TMP"
NGINX_PID=
WORKER_PID=
ACCEL_PID=
SUB_PIDS=
cleanup() {
	local pid
	for pid in $SUB_PIDS $NGINX_PID $WORKER_PID $ACCEL_PID; do
		kill -TERM "$pid" 2>/dev/null || continue
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	if [ "${BS_KEEP_TMP:-0}" = 1 ]; then
		echo "kept $TMP"
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
HTTP_PORT=$(free_port)
HTTPS_PORT=$(free_port)
while [ "$HTTPS_PORT" = "$HTTP_PORT" ]; do HTTPS_PORT=$(free_port); done

# ---- drift: the snippets repeat pieces of nginx/nginx.conf.in ----------------

# Every line of kind PATTERN in the FILES is in nginx.conf.in, and the
# reverse (whitespace-insensitive; each distinct line once; the template's
# run directory read as /run/brainstorm).
same_lines() {
	local pattern=$1 a b
	shift
	a=$(grep -h -E "$pattern" "$@" | sed 's/^[[:space:]]*//;s/[[:space:]]\+/ /g' | sort -u)
	b=$(grep -E "$pattern" "$ROOT/nginx/nginx.conf.in" | sed 's/^[[:space:]]*//;s/[[:space:]]\+/ /g' |
		sed 's|@PREFIX@/|/run/brainstorm/|g' | sort -u)
	[ -n "$a" ] || { echo "no lines match $pattern in $*"; return 1; }
	[ "$a" = "$b" ] || { diff <(echo "$b") <(echo "$a"); return 1; }
}
check "error pages match nginx.conf.in" \
	same_lines "^[[:space:]]*(return [0-9]{3} '|error_page )" \
	"$ROOT/nginx/snippets/brainstorm-errors.conf" "$ROOT/nginx/brainstorm.conf"
# nchan's settings, the stream locations' proxying and the publisher server
# are the template's (the limit_conn zone has the site's prefix).
check "nchan and stream settings match nginx.conf.in" \
	same_lines '^[[:space:]]*(nchan_|proxy_(pass|method|http_version|set_header|buffering|read_timeout|intercept_errors|pass_request_body) |location ~ "\^/(_streams|sub)/|location ~ \^/pub/|listen unix:)' \
	"$ROOT/nginx/brainstorm.conf"
# The template's limit is a setting (BS_STREAMS_PER_ADDRESS for the stacks,
# STREAMS_PER_ADDRESS for the web image) whose default is the site's.
check "stream locations' limit_conn matches nginx.conf.in's default" \
	bash -c '[ "$(grep -c "limit_conn brainstorm_streams 64;" "$1")" = 2 ] &&
		[ "$(grep -c "limit_conn bs_streams @STREAMS_PER_ADDRESS@;" "$2")" = 2 ] &&
		grep -qF "BS_STREAMS_PER_ADDRESS=\${BS_STREAMS_PER_ADDRESS:-64}" "$3" &&
		grep -qF "streams_per_address=\${STREAMS_PER_ADDRESS:-64}" "$4"' _ \
	"$ROOT/nginx/brainstorm.conf" "$ROOT/nginx/nginx.conf.in" \
	"$ROOT/script/lib.sh" "$ROOT/docker/web-entrypoint.sh"
check "fastcgi params match nginx.conf.in" \
	same_lines '^[[:space:]]*fastcgi_param ' \
	"$ROOT/nginx/snippets/brainstorm-fastcgi.conf"
check "content security policy matches nginx.conf.in" \
	same_lines '^[[:space:]]*add_header Content-Security-Policy ' \
	"$ROOT/nginx/snippets/brainstorm-security-headers.conf"

# ---- render --------------------------------------------------------------

CONF=$TMP/conf
mkdir -p "$CONF/snippets" "$CONF/sites" "$TMP/logs" "$TMP/tmp" "$TMP/run" \
	"$TMP/tls" "$TMP/acme/.well-known/acme-challenge" "$TMP/web/assets"

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=brainstorm.test' \
	-addext 'subjectAltName=DNS:brainstorm.test,IP:127.0.0.1' \
	-keyout "$TMP/tls/key.pem" -out "$TMP/tls/cert.pem" >"$TMP/openssl.log" 2>&1 ||
	{ fail "self-signed certificate" "$(cat "$TMP/openssl.log")"; finish; }

# Host paths and ports of the production file -> the temporary prefix.
render() {
	sed -e "s|^\([[:space:]]*listen\) 80;|\1 127.0.0.1:$HTTP_PORT;|" \
		-e "s|^\([[:space:]]*listen\) 443 ssl http2;|\1 127.0.0.1:$HTTPS_PORT ssl http2;|" \
		-e '/^[[:space:]]*listen \[::\]/d' \
		-e "s|^\([[:space:]]*ssl_certificate\)[[:space:]].*;|\1 $TMP/tls/cert.pem;|" \
		-e "s|^\([[:space:]]*ssl_certificate_key\)[[:space:]].*;|\1 $TMP/tls/key.pem;|" \
		-e "s|/var/www/letsencrypt|$TMP/acme|g" \
		-e "s|/usr/share/brainstorm/web|$TMP/web|g" \
		-e "s|/run/brainstorm/|$TMP/run/|g" \
		-e "s|/var/log/nginx/|$TMP/logs/|g" \
		"$1"
}
render "$ROOT/nginx/brainstorm.conf" >"$CONF/sites/brainstorm.conf"
for f in "$ROOT"/nginx/snippets/brainstorm-*.conf; do
	render "$f" >"$CONF/snippets/${f##*/}"
done

# Nothing of the host is left: every path the site names was replaced.
no_host_paths() {
	! grep -n -E '/etc/letsencrypt|/run/brainstorm|/var/log|/usr/share/brainstorm|/var/www|listen (80|443)|\[::\]' \
		"$CONF/sites/brainstorm.conf" "$CONF"/snippets/*.conf
}
check "render replaces every host path" no_host_paths

# A main file like Debian's /etc/nginx/nginx.conf (its http-level gzip and
# ssl settings included, so a duplicate directive in the site shows up), with
# everything under the prefix.
if [ -f /etc/nginx/mime.types ]; then
	cp /etc/nginx/mime.types "$CONF/mime.types"
else
	printf 'types { text/html html; text/css css; application/javascript js; application/json json; }\n' \
		>"$CONF/mime.types"
fi
# Debian's libnginx-mod-nchan links modules-available/mod-nchan.conf into
# modules-enabled/, which the main file includes first; its relative path
# is under Debian's prefix (/usr/share/nginx), not this test's.
mkdir -p "$CONF/modules-enabled"
if [ -f /usr/share/nginx/modules-available/mod-nchan.conf ]; then
	sed 's|modules/|/usr/share/nginx/modules/|' /usr/share/nginx/modules-available/mod-nchan.conf \
		>"$CONF/modules-enabled/50-mod-nchan.conf"
else
	echo 'load_module /usr/lib/nginx/modules/ngx_nchan_module.so;' \
		>"$CONF/modules-enabled/50-mod-nchan.conf"
fi
cat >"$CONF/nginx.conf" <<EOF
user $(id -un) $(id -gn);
worker_processes 1;
pid $TMP/nginx.pid;
include $CONF/modules-enabled/*.conf;
error_log $TMP/logs/error.log warn;
events { worker_connections 256; }
http {
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    include mime.types;
    default_type application/octet-stream;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;
    access_log $TMP/logs/access.log;
    gzip on;
    client_body_temp_path $TMP/tmp/client_body;
    fastcgi_temp_path     $TMP/tmp/fastcgi;
    proxy_temp_path       $TMP/tmp/proxy;
    uwsgi_temp_path       $TMP/tmp/uwsgi;
    scgi_temp_path        $TMP/tmp/scgi;
    include sites/*.conf;
}
EOF

# The web app: an index page and a hashed asset big enough to compress.
cat >"$TMP/web/index.html" <<'EOF'
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Brainstorm</title>
<script type="module" src="/assets/app-1234abcd.js"></script></head>
<body><div id="root">brainstorm-spa-index</div></body></html>
EOF
python3 -c 'print("console.log(\"brainstorm\");\n" * 200, end="")' \
	>"$TMP/web/assets/app-1234abcd.js"
# An asset with the build's gzipped copy beside it (frontend/build/
# precompress.ts): nginx must send that copy's bytes as they are.
python3 -c 'print("console.log(\"precompressed\");\n" * 200, end="")' \
	>"$TMP/web/assets/app-5678efgh.js"
gzip -9 -k -n "$TMP/web/assets/app-5678efgh.js"
echo 'acme-token-body' >"$TMP/acme/.well-known/acme-challenge/tok123"
echo 'secret' >"$TMP/web/.env"

NGINX=(nginx -p "$TMP/" -c "$CONF/nginx.conf" -e "$TMP/logs/error.log")
check "nginx -t" "${NGINX[@]}" -t -q
[ "$failed" -eq 0 ] || finish
"${NGINX[@]}" -T >"$TMP/nginx-T.out" 2>&1

# ---- the configuration as nginx reads it (nginx -T) ------------------------

# conf_has REGEX...: each extended regex matches some line of nginx -T.
conf_has() {
	local re
	for re in "$@"; do
		grep -q -E "$re" "$TMP/nginx-T.out" || { echo "no line matches: $re"; return 1; }
	done
}
# No directive (comments aside) matches REGEX.
conf_lacks() {
	! grep -v -E '^[[:space:]]*#' "$TMP/nginx-T.out" | sed 's/#.*//' | grep -n -E "$1"
}
# The body of the location block whose header matches REGEX.
location_body() {
	awk -v re="$1" '
		!inside && $0 ~ re { inside = 1; depth = 0 }
		inside {
			print
			depth += gsub(/\{/, "{") - gsub(/\}/, "}")
			if (depth == 0 && /\}/) exit
		}' "$TMP/nginx-T.out"
}
# The block of the server listening on PORT (from its "server {" line).
server_body() {
	awk -v port="$1" '
		/^server[[:space:]]*\{/ { buf = ""; depth = 0; inside = 1 }
		inside {
			buf = buf $0 "\n"
			depth += gsub(/\{/, "{") - gsub(/\}/, "}")
			if (depth == 0) { if (buf ~ ("listen[^;]*:" port "[ ;]")) printf "%s", buf; inside = 0 }
		}' "$CONF/sites/brainstorm.conf"
}
sse_location() {
	local body
	body=$(location_body 'location ~ \^/api/projects/\[\^/\]\+/\(events\|messages\|documents\|documents/generations/\[\^/\]\+/events\|turns/\[\^/\]\+/\(retry\|events\)\)\$')
	[ -n "$body" ] || { echo "no SSE location"; return 1; }
	for re in 'fastcgi_buffering off;' 'gzip off;' \
		'limit_req zone=brainstorm_messages' 'fastcgi_pass brainstorm_workers;'; do
		grep -q -- "$re" <<<"$body" || { echo "SSE location lacks $re"; echo "$body"; return 1; }
	done
	# The worker answers at once (nchan holds the stream): no long timeouts.
	! grep -E 'fastcgi_(read|send)_timeout' <<<"$body" || { echo "a long timeout is back"; return 1; }
}
stream_locations() {
	local body loc
	for loc in 'location ~ "\^/_streams/project/' 'location ~ "\^/_streams/turn/'; do
		body=$(location_body "$loc")
		[ -n "$body" ] || { echo "no $loc"; return 1; }
		for re in 'internal;' 'limit_conn brainstorm_streams 64;' 'gzip off;'; do
			grep -q -- "$re" <<<"$body" || { echo "$loc lacks $re"; return 1; }
		done
	done
	grep -q "proxy_pass http://unix:$TMP/run/nchan.sock:/sub/turn/" <<<"$body" ||
		{ echo "the turn location does not ask the publisher socket"; return 1; }
	conf_has '^[[:space:]]*nchan_shared_memory_size ' \
		'^[[:space:]]*limit_conn_zone .* zone=brainstorm_streams:' \
		"^[[:space:]]*listen unix:$TMP/run/nchan.sock;" '^[[:space:]]*limit_conn_status 429;'
	# Loaded once, by modules-enabled: never by the site (inside http {}).
	! grep -n '^[[:space:]]*load_module' "$ROOT/nginx/brainstorm.conf" "$ROOT"/nginx/snippets/*.conf
}
metrics_internal_only() {
	local loc body ip n=0
	for loc in 'location = /metrics \{' 'location ~ "\^/metrics/'; do
		body=$(location_body "$loc")
		[ -n "$body" ] || { echo "no $loc"; return 1; }
		for ip in 127.0.0.1 ::1 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16; do
			grep -q "allow $ip;" <<<"$body" || { echo "$loc: no allow $ip"; return 1; }
		done
		# deny all is the last access rule, and nothing else is allowed.
		[ "$(grep -E '^[[:space:]]*(allow|deny)' <<<"$body" | tail -n 1 | tr -d ' ')" = "denyall;" ] ||
			{ echo "$loc: deny all is not the last rule"; return 1; }
		[ "$(grep -c -E '^[[:space:]]*allow' <<<"$body")" = 5 ] ||
			{ echo "$loc: other allow lines"; echo "$body"; return 1; }
		n=$((n + 1))
	done
	# Included by both servers.
	[ "$(grep -c -E 'location = /metrics \{' "$TMP/nginx-T.out")" = 1 ] &&
		[ "$(grep -c 'include snippets/brainstorm-metrics.conf;' "$ROOT/nginx/brainstorm.conf")" = 2 ]
}
hsts_tls_only() {
	local tls plain
	tls=$(server_body "$HTTPS_PORT")
	plain=$(server_body "$HTTP_PORT")
	if [ -z "$tls" ] || [ -z "$plain" ]; then echo "servers not found"; return 1; fi
	grep -q 'Strict-Transport-Security' <<<"$tls" || { echo "no HSTS in the TLS server"; return 1; }
	! grep -q 'Strict-Transport-Security' <<<"$plain" || { echo "HSTS in the port-80 server"; return 1; }
	! grep -q 'add_header Strict-Transport-Security' "$CONF"/snippets/*.conf ||
		{ echo "HSTS in a snippet (it would reach port 80)"; return 1; }
}
check "retries only on error/timeout, never non_idempotent" \
	conf_has '^[[:space:]]*fastcgi_next_upstream error timeout;'
check "no non_idempotent retry" conf_lacks 'non_idempotent'
check "client_max_body_size 64k" conf_has '^[[:space:]]*client_max_body_size 64k;'
# shellcheck disable=SC2016 # a literal $ in the regex
check "request id to the workers" \
	conf_has '^[[:space:]]*fastcgi_param HTTP_X_REQUEST_ID[[:space:]]+\$request_id;'
check "TLS protocols and certificate" \
	conf_has '^[[:space:]]*ssl_protocols TLSv1\.2 TLSv1\.3;' 'ssl_session_tickets off;' \
	"ssl_certificate $TMP/tls/cert.pem;"
check "limit_req zones for auth and messages" \
	conf_has 'limit_req_zone .* zone=brainstorm_auth:' \
	'limit_req_zone .* zone=brainstorm_messages:' 'limit_req zone=brainstorm_auth ' \
	'^[[:space:]]*limit_req_status 429;'
check "gzip for text assets and JSON" \
	conf_has '^[[:space:]]*gzip on;' 'gzip_types .*text/css' 'gzip_types .*application/javascript' \
	'^[[:space:]]*application/json' '^[[:space:]]*gzip_comp_level 1;' '^[[:space:]]*gzip_static on;'
check "upstream of worker sockets" \
	conf_has '^upstream brainstorm_workers' "server unix:$TMP/run/fcgi\.sock"
check "SSE location unbuffered, uncompressed, no long timeouts" sse_location
check "stream locations internal, limited; nchan loaded once" stream_locations
check "/metrics allow/deny (nginx -T)" metrics_internal_only
check "HSTS in the TLS server only (config)" hsts_tls_only
# The trusted proxies: both servers read the snippet, which as installed
# trusts nobody (X-Forwarded-For ignored) until the operator lists some.
real_ip_snippet() {
	[ "$(grep -c '^[[:space:]]*include snippets/brainstorm-real-ip.conf;' \
		"$CONF/sites/brainstorm.conf")" = 2 ] ||
		{ echo "not included by both servers"; return 1; }
	conf_has '^[[:space:]]*real_ip_header X-Forwarded-For;' \
		'^[[:space:]]*real_ip_recursive on;' &&
		conf_lacks '^[[:space:]]*set_real_ip_from'
}
check "real-ip snippet in both servers, nobody trusted" real_ip_snippet

# ---- a worker, and nginx -------------------------------------------------

WORKER_UP=0
if [ -x "$ROOT/brainstorm-fcgi" ]; then
	# No database behind it: /api/health needs none; /api/ready says 503.
	env -i PATH="$PATH" APP_ENV=development BRAINSTORM_CONFIG=/dev/null \
		DATABASE_URL=postgresql://bs@127.0.0.1:1/none DB_POOL_MIN=0 \
		LOG_LEVEL=warn WORKER_THREADS=4 MIGRATIONS_DIR="$ROOT/migrations" \
		"$ROOT/brainstorm-fcgi" --listen "unix:$TMP/run/fcgi.sock" \
		</dev/null >"$TMP/logs/worker.log" 2>&1 &
	WORKER_PID=$!
	for _ in $(seq 100); do
		[ -S "$TMP/run/fcgi.sock" ] && { WORKER_UP=1; break; }
		kill -0 "$WORKER_PID" 2>/dev/null || break
		sleep 0.1
	done
	[ "$WORKER_UP" = 1 ] || fail "worker starts" "$(tail -n 20 "$TMP/logs/worker.log")"
fi

"${NGINX[@]}" -g 'daemon off;' </dev/null >"$TMP/logs/nginx.out" 2>&1 &
NGINX_PID=$!
up=0
for _ in $(seq 100); do
	if (exec 3<>"/dev/tcp/127.0.0.1/$HTTPS_PORT") 2>/dev/null &&
		(exec 3<>"/dev/tcp/127.0.0.1/$HTTP_PORT") 2>/dev/null; then
		up=1
		break
	fi
	kill -0 "$NGINX_PID" 2>/dev/null || break
	sleep 0.1
done
if [ "$up" = 1 ]; then
	pass "nginx starts"
else
	fail "nginx starts" "$(cat "$TMP/logs/nginx.out" "$TMP/logs/error.log" 2>/dev/null)"
	finish
fi

HTTP=http://127.0.0.1:$HTTP_PORT
HTTPS=https://127.0.0.1:$HTTPS_PORT
HOSTHDR='Host: brainstorm.test'

# fetch NAME CURL-ARGS...: headers to $TMP/NAME.h, body to $TMP/NAME.b, the
# status on stdout.
fetch() {
	local name=$1
	shift
	curl -k -s --max-time 10 -D "$TMP/$name.h" -o "$TMP/$name.b" -w '%{http_code}' "$@"
}
# header NAME FIELD: the value of FIELD in response NAME (case-insensitive).
header() {
	awk -v f="$(tr '[:upper:]' '[:lower:]' <<<"$2")" -F': ' '
		{ sub(/\r$/, "") }
		tolower($1) == f { sub(/^[^:]*: /, ""); print }' "$TMP/$1.h"
}
# expect NAME STATUS GOT: the status is right, else show the response.
expect_status() {
	[ "$3" = "$2" ] && return 0
	echo "status $3, expected $2"
	cat "$TMP/$1.h" "$TMP/$1.b" 2>/dev/null | head -n 20
	return 1
}
# json_error NAME CODE: the body is the API's error shape with CODE, and its
# request_id is the X-Request-Id header.
json_error() {
	python3 - "$TMP/$1.b" "$2" "$(header "$1" X-Request-Id)" "$(header "$1" Content-Type)" <<'EOF'
import json, sys
path, code, rid, ctype = sys.argv[1:5]
body = json.load(open(path))
err = body["error"]
assert ctype.startswith("application/json"), "content type %r" % ctype
assert err["code"] == code, "code %r, expected %r" % (err["code"], code)
assert err["message"], "no message"
assert err["request_id"] and err["request_id"] == rid, \
    "request_id %r, header %r" % (err["request_id"], rid)
EOF
}

t_redirect() {
	local s
	s=$(fetch redir -H "$HOSTHDR" "$HTTP/projects/p1?tab=board") || true
	expect_status redir 301 "$s" || return 1
	[ "$(header redir Location)" = "https://brainstorm.test/projects/p1?tab=board" ] ||
		{ echo "Location: $(header redir Location)"; return 1; }
}
t_no_hsts_on_http() {
	[ -z "$(header redir Strict-Transport-Security)" ] ||
		{ echo "HSTS over plain HTTP"; return 1; }
}
t_acme() {
	local s
	s=$(fetch acme -H "$HOSTHDR" "$HTTP/.well-known/acme-challenge/tok123") || true
	expect_status acme 200 "$s" || return 1
	[ "$(cat "$TMP/acme.b")" = acme-token-body ] || { echo "body: $(cat "$TMP/acme.b")"; return 1; }
}
t_https_index() {
	local s
	s=$(fetch index -H "$HOSTHDR" "$HTTPS/") || true
	expect_status index 200 "$s" || return 1
	grep -q brainstorm-spa-index "$TMP/index.b" || { echo "not the index page"; return 1; }
	[ "$(header index Cache-Control)" = no-cache ] ||
		{ echo "Cache-Control: $(header index Cache-Control)"; return 1; }
}
t_hsts_on_https() {
	case $(header index Strict-Transport-Security) in
	max-age=[0-9]*) ;;
	*) echo "Strict-Transport-Security: $(header index Strict-Transport-Security)"; return 1 ;;
	esac
}
t_security_headers() {
	local csp want name
	csp=$(header index Content-Security-Policy)
	for want in "default-src 'self'" "connect-src 'self'" "img-src 'self' data:" \
		"style-src 'self' 'unsafe-inline'" "frame-ancestors 'none'"; do
		grep -qF -- "$want" <<<"$csp" || { echo "CSP lacks $want: $csp"; return 1; }
	done
	[ "$(header index X-Content-Type-Options)" = nosniff ] || { echo "X-Content-Type-Options"; return 1; }
	[ "$(header index X-Frame-Options)" = DENY ] || { echo "X-Frame-Options"; return 1; }
	[ -n "$(header index Referrer-Policy)" ] || { echo "no Referrer-Policy"; return 1; }
	! header index Server | grep -qF '/' || { echo "server version shown"; return 1; }
	for name in Content-Security-Policy X-Frame-Options X-Content-Type-Options; do
		[ "$(header index "$name" | wc -l)" = 1 ] || { echo "$name repeated"; return 1; }
	done
}
t_spa_fallback() {
	local s
	s=$(fetch spa -H "$HOSTHDR" "$HTTPS/projects/0b6c/board") || true
	expect_status spa 200 "$s" || return 1
	grep -q brainstorm-spa-index "$TMP/spa.b" || { echo "not the index page"; return 1; }
	grep -qi '^content-type: text/html' "$TMP/spa.h" || { echo "not text/html"; return 1; }
}
t_asset_gzip() {
	local s
	s=$(fetch asset -H "$HOSTHDR" -H 'Accept-Encoding: gzip' "$HTTPS/assets/app-1234abcd.js") || true
	expect_status asset 200 "$s" || return 1
	[ "$(header asset Content-Encoding)" = gzip ] || { echo "not gzipped"; return 1; }
	grep -q immutable <<<"$(header asset Cache-Control)" ||
		{ echo "Cache-Control: $(header asset Cache-Control)"; return 1; }
}
t_asset_precompressed() {
	local s
	s=$(fetch pre -H "$HOSTHDR" -H 'Accept-Encoding: gzip' "$HTTPS/assets/app-5678efgh.js") || true
	expect_status pre 200 "$s" || return 1
	[ "$(header pre Content-Encoding)" = gzip ] || { echo "not gzipped"; return 1; }
	cmp -s "$TMP/pre.b" "$TMP/web/assets/app-5678efgh.js.gz" ||
		{ echo "not the build's gzipped copy"; return 1; }
	s=$(fetch preplain -H "$HOSTHDR" "$HTTPS/assets/app-5678efgh.js") || true
	expect_status preplain 200 "$s" || return 1
	[ -z "$(header preplain Content-Encoding)" ] || { echo "gzip to a client without it"; return 1; }
	cmp -s "$TMP/preplain.b" "$TMP/web/assets/app-5678efgh.js" || { echo "not the file"; return 1; }
}
t_missing_asset() {
	local s
	s=$(fetch noasset -H "$HOSTHDR" "$HTTPS/assets/missing-0000.js") || true
	expect_status noasset 404 "$s"
}
t_dotfile() {
	local s
	s=$(fetch dot -H "$HOSTHDR" "$HTTPS/.env") || true
	expect_status dot 404 "$s"
}
t_post_static() {
	local s
	s=$(fetch post405 -H "$HOSTHDR" -X POST -d x=1 "$HTTPS/") || true
	expect_status post405 405 "$s" || return 1
	json_error post405 method_not_allowed || return 1
	[ -n "$(header post405 Allow)" ] || { echo "no Allow header"; return 1; }
}
t_413() {
	local s
	head -c 70000 /dev/zero | tr '\0' a >"$TMP/big.json"
	s=$(fetch big --http1.1 -H "$HOSTHDR" -H 'Content-Type: application/json' \
		--data-binary @"$TMP/big.json" "$HTTPS/api/projects") || true
	expect_status big 413 "$s" && json_error big payload_too_large || return 1
	# Over HTTP/2 nginx sends its own HTML page with the 413 (nginx bug
	# 1356: error_page 413 is not used for HTTP/2): the status is checked.
	s=$(fetch big2 --http2 -H "$HOSTHDR" -H 'Content-Type: application/json' \
		--data-binary @"$TMP/big.json" "$HTTPS/api/projects") || true
	expect_status big2 413 "$s"
}
t_414() {
	local s
	# HTTP/1.1: HTTP/2 has no request line (the worker refuses a long query).
	s=$(fetch long --http1.1 -H "$HOSTHDR" "$HTTPS/api/projects?q=$(head -c 9000 /dev/zero | tr '\0' a)") || true
	expect_status long 414 "$s" && json_error long uri_too_long
}
t_431() {
	local s
	s=$(fetch hdr --http1.1 -H "$HOSTHDR" -H "Cookie: c=$(head -c 9000 /dev/zero | tr '\0' a)" "$HTTPS/api/health") || true
	expect_status hdr 431 "$s" && json_error hdr request_header_too_large
}
t_502() {
	local s
	# A socket that does not exist: the worker behind it is down.
	s=$(fetch dead -H "$HOSTHDR" "$HTTPS/metrics/fcgi-99") || true
	expect_status dead 502 "$s" || return 1
	json_error dead bad_gateway || return 1
	[ "$(header dead Retry-After)" = 5 ] || { echo "Retry-After: $(header dead Retry-After)"; return 1; }
}
t_rate_limit() {
	local s urls=() codes
	# 120 login POSTs at once on one connection: more than the burst (50)
	# plus what 5 r/s refills meanwhile. The worker's own per-address limit
	# may answer some 429s first (with its Retry-After); nginx answers the
	# rest.
	for _ in $(seq 120); do urls+=("$HTTPS/api/auth/login"); done
	codes=$(curl -k -s --max-time 30 --parallel --parallel-max 20 -H "$HOSTHDR" \
		-H 'Content-Type: application/json' \
		-d '{"email":"x@example.com","password":"wrong password"}' \
		-o /dev/null -w "%{http_code}\n" "${urls[@]}")
	grep -q '^429$' <<<"$codes" || { echo "120 POSTs in a burst, none limited:"; sort <<<"$codes" | uniq -c; return 1; }
	# Right after the burst nginx refuses: its JSON 429 with Retry-After 1
	# (a worker's own 429 has its own Retry-After). A few tries, for a slow
	# machine where the bucket drained a little meanwhile.
	local tries=0
	while :; do
		s=$(fetch rl --http1.1 -H "$HOSTHDR" -H 'Content-Type: application/json' \
			-d '{"email":"x@example.com","password":"wrong password"}' \
			"$HTTPS/api/auth/login") || true
		[ "$s" = 429 ] && [ "$(header rl Retry-After)" = 1 ] && break
		tries=$((tries + 1))
		[ "$tries" -lt 20 ] || { echo "no 429 from nginx after the burst (last: $s)"; return 1; }
	done
	json_error rl rate_limited || return 1
	# GETs are never counted.
	s=$(fetch rlget -H "$HOSTHDR" "$HTTPS/api/auth/me") || true
	[ "$s" != 429 ] || { echo "a GET was rate limited"; return 1; }
}
t_metrics_denied() {
	local s
	s=$(fetch mdeny --interface 127.0.0.2 -H "$HOSTHDR" "$HTTPS/metrics") || true
	expect_status mdeny 403 "$s" && json_error mdeny forbidden || return 1
	s=$(fetch mdeny2 --interface 127.0.0.2 -H "$HOSTHDR" "$HTTP/metrics/fcgi") || true
	expect_status mdeny2 403 "$s" && json_error mdeny2 forbidden
}

check "http redirects to https" t_redirect
check "no HSTS over http" t_no_hsts_on_http
check "ACME challenge served over http" t_acme
check "https serves the web app" t_https_index
check "HSTS over https" t_hsts_on_https
check "security headers" t_security_headers
check "SPA fallback to index.html" t_spa_fallback
check "assets gzipped and immutable" t_asset_gzip
check "assets' gzipped copies sent as they are" t_asset_precompressed
check "missing asset is 404" t_missing_asset
check "dot files are 404" t_dotfile
check "POST to a static path: JSON 405" t_post_static
check "body over 64k: JSON 413" t_413
check "URI too long: JSON 414" t_414
check "header too large: JSON 431" t_431
check "dead worker: JSON 502" t_502
check "auth POST flood: JSON 429" t_rate_limit
check "/metrics denied from 127.0.0.2" t_metrics_denied

# ---- with a worker behind nginx ----------------------------------------

t_api_health() {
	local s
	s=$(fetch health -H "$HOSTHDR" -H 'Accept-Encoding: gzip' -H 'X-Request-Id: client-chosen' \
		"$HTTPS/api/health") || true
	expect_status health 200 "$s" || return 1
	[ "$(header health X-Request-Id | wc -l)" = 1 ] || { echo "X-Request-Id repeated"; return 1; }
	[ "$(header health X-Request-Id)" != client-chosen ] ||
		{ echo "the client's X-Request-Id reached the worker"; return 1; }
	[ "$(header health Content-Security-Policy | wc -l)" = 1 ] || { echo "CSP repeated"; return 1; }
	[ -n "$(header health Strict-Transport-Security)" ] || { echo "no HSTS on the API"; return 1; }
}
t_api_ready() {
	local s
	s=$(fetch ready -H "$HOSTHDR" "$HTTPS/api/ready") || true
	# No database behind this worker: not ready, in the API's shape.
	expect_status ready 503 "$s" && json_error ready not_ready
}
t_metrics_internal() {
	local s
	s=$(fetch mok -H "$HOSTHDR" "$HTTPS/metrics") || true
	expect_status mok 200 "$s" || return 1
	grep -q '^http_requests_total' "$TMP/mok.b" || { echo "not the metrics"; return 1; }
	# Per socket, over plain HTTP (the worker is asked for /metrics).
	s=$(fetch mok2 "$HTTP/metrics/fcgi") || true
	expect_status mok2 200 "$s" || return 1
	grep -q '^brainstorm_build_info' "$TMP/mok2.b" || { echo "not the metrics"; return 1; }
}
t_sse_passes() {
	local s
	# No token: the worker answers 401 through the streaming location.
	s=$(fetch sse -H "$HOSTHDR" -H 'Accept: text/event-stream' -H 'Accept-Encoding: gzip' \
		"$HTTPS/api/projects/00000000-0000-0000-0000-000000000000/events") || true
	expect_status sse 401 "$s" || return 1
	[ -z "$(header sse Content-Encoding)" ] || { echo "the stream location compressed"; return 1; }
}
# The built web app (when there is one) keeps to the CSP: no inline script,
# no script from elsewhere, no event handler attribute, no javascript: URL.
csp_web_app() {
	python3 - "$ROOT/frontend/dist/index.html" <<'PY'
import html.parser, sys
bad = []
class P(html.parser.HTMLParser):
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script" and not a.get("src"):
            bad.append("inline <script>")
        if tag == "script" and (a.get("src") or "").startswith(("http:", "https:", "//")):
            bad.append("script from another origin: " + a["src"])
        for k, v in attrs:
            if k.startswith("on"):
                bad.append("event handler attribute " + k)
            if v and v.strip().lower().startswith("javascript:"):
                bad.append("javascript: URL in " + k)
P().feed(open(sys.argv[1]).read())
if bad:
    sys.exit("\n".join(bad))
PY
}
if [ -f "$ROOT/frontend/dist/index.html" ]; then
	check "frontend/dist/index.html keeps to the CSP" csp_web_app
else
	skip "frontend/dist/index.html keeps to the CSP" "the web app is not built"
fi

if [ "$WORKER_UP" = 1 ]; then
	check "/api/health through https, one of each header" t_api_health
	check "/api/ready: JSON 503 without a database" t_api_ready
	check "/metrics and /metrics/NAME from 127.0.0.1" t_metrics_internal
	check "SSE location reaches the worker, uncompressed" t_sse_passes
else
	for name in "/api/health through https" "/api/ready" "/metrics from 127.0.0.1" "SSE location"; do
		skip "$name" "no built brainstorm-fcgi"
	done
fi

# ---- streams: nchan behind the site ------------------------------------------

# The worker's socket now answers as a worker that hands streams over
# (tests/ops/fcgi_accel.py: X-Accel-Redirect to its X-Test-Accel header).
NCHAN_SOCK=$TMP/run/nchan.sock
if [ -n "$WORKER_PID" ]; then
	kill -TERM "$WORKER_PID" 2>/dev/null
	wait "$WORKER_PID" 2>/dev/null
	WORKER_PID=
fi
rm -f "$TMP/run/fcgi.sock"
python3 "$ROOT/tests/ops/fcgi_accel.py" "$TMP/run/fcgi.sock" </dev/null >"$TMP/logs/accel.log" 2>&1 &
ACCEL_PID=$!
for _ in $(seq 100); do
	[ -S "$TMP/run/fcgi.sock" ] && break
	kill -0 "$ACCEL_PID" 2>/dev/null || break
	sleep 0.1
done

# pub METHOD CHANNEL [EVENT DATA]: the publisher, as a worker reaches it.
pub() {
	local method=$1 channel=$2
	shift 2
	if [ $# -eq 2 ]; then
		curl -s --max-time 10 -o "$TMP/pub.b" -w '%{http_code}' --unix-socket "$NCHAN_SOCK" \
			-X "$method" -H "X-EventSource-Event: $1" --data-binary "$2" "http://nchan/pub/$channel"
	else
		curl -s --max-time 10 -o "$TMP/pub.b" -w '%{http_code}' --unix-socket "$NCHAN_SOCK" \
			-X "$method" "http://nchan/pub/$channel"
	fi
}
# Until the stream NAME has received a line matching REGEX (nchan's ": hi"
# on subscribing, or an event), at most 10 s.
wait_stream() {
	for _ in $(seq 100); do
		grep -q -E "$2" "$TMP/$1.b" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "stream $1 did not get $2:"
	cat "$TMP/$1.h" "$TMP/$1.b" 2>/dev/null | head -n 20
	return 1
}
# A stream through the site, in the background: headers and body to
# $TMP/NAME.h and NAME.b. The stream ends when its channel is deleted.
stream_open() {
	local name=$1
	shift
	curl -k -s -N --max-time 30 -D "$TMP/$name.h" -o "$TMP/$name.b" -H "$HOSTHDR" \
		-H 'Accept: text/event-stream' -H 'Accept-Encoding: gzip' "$@" &
	SUB_PIDS="$SUB_PIDS $!"
	STREAM_PID=$!
}

TURN=7d1f0e4a-3c2b-4a59-9e8d-0123456789ab
GONE=7d1f0e4a-3c2b-4a59-9e8d-ba9876543210
PROJECT=0b6c9a51-8f3e-4d2a-b7c1-abcdefabcdef
USERID=5e2d4c3b-1a09-4f8e-8d7c-6b5a49382716

t_publisher() {
	local s
	[ -S "$NCHAN_SOCK" ] || { echo "no socket $NCHAN_SOCK"; return 1; }
	s=$(pub POST "t-$TURN" turn.queued "{\"turn_id\":\"$TURN\"}")
	[ "$s" = 201 ] || [ "$s" = 202 ] || { echo "publish: $s $(cat "$TMP/pub.b")"; return 1; }
	s=$(pub POST "t-$TURN" reply.delta '{"text":"Hel"}')
	[ "$s" = 202 ] || [ "$s" = 201 ] || { echo "publish: $s"; return 1; }
	s=$(curl -s --max-time 10 -o "$TMP/status.b" -w '%{http_code}' --unix-socket "$NCHAN_SOCK" http://nchan/status)
	[ "$s" = 200 ] && grep -q '^shared memory limit: 131072K' "$TMP/status.b" ||
		{ echo "status: $s $(cat "$TMP/status.b")"; return 1; }
}
# POST .../messages as a streaming client: the worker's X-Accel-Redirect,
# then nginx's GET to its own publisher server, from the turn's first event.
t_turn_stream() {
	stream_open turn -X POST -H 'Content-Type: application/json' -d '{"content":"x"}' \
		-H "X-Test-Accel: /_streams/turn/$TURN" \
		"$HTTPS/api/projects/$PROJECT/messages"
	wait_stream turn '^data: \{"text":"Hel"\}' || return 1
	pub POST "t-$TURN" turn.done '{"status":"done"}' >/dev/null
	# Deleting the channel ends the stream (as a turn's end does).
	pub DELETE "t-$TURN" >/dev/null
	wait "$STREAM_PID"
	grep -qi '^content-type: text/event-stream' "$TMP/turn.h" || { cat "$TMP/turn.h"; return 1; }
	! grep -qi '^content-encoding:' "$TMP/turn.h" || { echo "compressed"; return 1; }
	[ "$(grep '^event: ' "$TMP/turn.b" | tr '\n' ' ')" = "event: turn.queued event: reply.delta event: turn.done " ] ||
		{ echo "events:"; cat "$TMP/turn.b"; return 1; }
}
# A turn without a channel (never queued here, or ended and gone): nchan's
# 403 becomes the API's 410.
t_turn_over() {
	local s
	s=$(fetch over -X POST -H 'Content-Type: application/json' -d '{"content":"x"}' \
		-H 'Accept: text/event-stream' -H "X-Test-Accel: /_streams/turn/$GONE" \
		"$HTTPS/api/projects/$PROJECT/messages") || true
	expect_status over 410 "$s" && json_error over turn_over
}
# A project's live events: three channels in one stream, from now on.
t_project_stream() {
	pub POST "p-$PROJECT" items.changed '{"old":true}' >/dev/null
	stream_open proj -H "X-Test-Accel: /_streams/project/$PROJECT/$USERID" \
		"$HTTPS/api/projects/$PROJECT/events"
	wait_stream proj '^: hi' || return 1
	pub POST "p-$PROJECT" items.changed '{"n":1}' >/dev/null
	pub POST "m-$PROJECT-$USERID" question '{"n":2}' >/dev/null
	# Deleting the user's channel (a disabled account) ends the stream.
	pub DELETE "u-$USERID" >/dev/null
	wait "$STREAM_PID"
	grep -q '"n":1' "$TMP/proj.b" && grep -q '"n":2' "$TMP/proj.b" ||
		{ echo "events:"; cat "$TMP/proj.b"; return 1; }
	! grep -q '"old":true' "$TMP/proj.b" || { echo "an event from before the stream"; return 1; }
}
t_streams_internal() {
	local s
	s=$(fetch int1 "$HTTPS/_streams/turn/$TURN") || true
	expect_status int1 404 "$s" || return 1
	s=$(fetch int2 "$HTTPS/_streams/project/$PROJECT/$USERID") || true
	expect_status int2 404 "$s"
}

if [ -S "$TMP/run/fcgi.sock" ]; then
	check "nchan publisher socket: publish, status" t_publisher
	check "turn stream: POST handed over, events from the first, ends with the channel" t_turn_stream
	check "turn over: JSON 410 turn_over" t_turn_over
	check "project stream: three channels multiplexed, new events only" t_project_stream
	check "stream locations are internal (404 from outside)" t_streams_internal
else
	fail "fcgi_accel.py starts" "$(cat "$TMP/logs/accel.log")"
fi

finish
