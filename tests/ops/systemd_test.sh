#!/usr/bin/env bash
# The systemd units (systemd/): rendered as the build renders them
# (@sbindir@ and @sysconfdir@ replaced; here by a staging directory whose
# sbin/ holds the built binaries), checked with `systemd-analyze verify` and
# `systemd-analyze security --offline`, checked for what operations rely on
# (socket path and permissions, stop timeout above SHUTDOWN_TIMEOUT, the
# migration unit), and the worker started the way the socket unit starts it
# (systemd-socket-activate) and asked for /api/health over FastCGI
# (cgi-fcgi). Needs no running systemd.
#
#   tests/ops/systemd_test.sh
#
# Needs systemd (systemd-analyze, systemd-socket-activate); the run checks
# also the built brainstorm-fcgi and cgi-fcgi (libfcgi-bin). Prints
# "N passed, N failed" last; exits non-zero on any failure.
# The checks are functions that check() calls.
# shellcheck disable=SC2317
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
UNITS=$ROOT/systemd
# shellcheck source=tests/ops/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if ! command -v systemd-analyze >/dev/null 2>&1; then
	fail "systemd-analyze" "not installed (the Debian package systemd; script/bootstrap)"
	finish
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/bs-systemd.XXXXXX")
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

# ---- render, as the Makefile does ------------------------------------------

SBIN=$TMP/stage/sbin
ETC=$TMP/stage/etc
OUT=$TMP/units
mkdir -p "$SBIN" "$ETC/brainstorm" "$OUT"
BUILT=1
for prog in brainstorm-fcgi brainstormctl; do
	if [ -x "$ROOT/$prog" ]; then
		ln -s "$ROOT/$prog" "$SBIN/$prog"
	else
		# Not built: a stand-in, so verify still checks the units.
		printf '#!/bin/sh\nexit 0\n' >"$SBIN/$prog"
		chmod 755 "$SBIN/$prog"
		BUILT=0
	fi
done

# The same substitution as the Makefile.am rule (sed on @sbindir@,
# @sysconfdir@).
for src in "$UNITS"/*.socket "$UNITS"/*.service.in; do
	name=${src##*/}
	name=${name%.in}
	sed -e "s|@sbindir[@]|$SBIN|g" -e "s|@sysconfdir[@]|$ETC|g" "$src" >"$OUT/$name"
done
# The backup units are installed as they are; ExecStart names where the
# docs install script/backup, here the tree's copy.
BACKUP_BIN=/usr/local/sbin/brainstorm-backup
for src in "$UNITS"/brainstorm-backup.service "$UNITS"/brainstorm-backup.timer; do
	[ -f "$src" ] && sed -e "s|$BACKUP_BIN|$ROOT/script/backup|g" "$src" >"$OUT/${src##*/}"
done
BACKUP_SERVICE=$OUT/brainstorm-backup.service
BACKUP_TIMER=$OUT/brainstorm-backup.timer
SOCKET=$OUT/brainstorm-fcgi.socket
SERVICE=$OUT/brainstorm-fcgi.service
MIGRATE=$OUT/brainstorm-migrate.service
ENGINE=$OUT/brainstorm-engine.service
TMPFILES=$UNITS/brainstorm.tmpfiles

units_exist() {
	local f
	for f in "$SOCKET" "$SERVICE" "$MIGRATE" "$ENGINE" "$BACKUP_SERVICE" "$BACKUP_TIMER" "$TMPFILES"; do
		[ -s "$f" ] || { echo "missing ${f##*/}"; return 1; }
	done
}
no_placeholders() {
	! grep -n '@[a-z_]*@' "$OUT"/*
}
check "units exist" units_exist
check "no placeholders left after rendering" no_placeholders

# ---- systemd-analyze -------------------------------------------------------

# verify prints warnings (an unknown key, a bad value) and still exits 0: any
# output is a failure. Documentation= man pages are looked up in the tree's
# man/ when man is installed.
verify() {
	local out rc=0 man=no
	if command -v man >/dev/null 2>&1; then
		man=yes
		mkdir -p "$TMP/man/man5" "$TMP/man/man8"
		cp "$ROOT"/man/*.5 "$TMP/man/man5/"
		cp "$ROOT"/man/*.8 "$TMP/man/man8/"
	fi
	out=$(cd "$OUT" && MANPATH=$TMP/man SYSTEMD_LOG_COLOR=0 \
		systemd-analyze verify --man="$man" "$@" 2>&1) || rc=$?
	[ "$rc" -eq 0 ] && [ -z "$out" ] && return 0
	echo "exit $rc"
	echo "$out"
	return 1
}
check "systemd-analyze verify (socket, service, migrate, engine)" \
	verify ./brainstorm-fcgi.socket ./brainstorm-fcgi.service ./brainstorm-migrate.service \
	./brainstorm-engine.service
check "systemd-analyze verify (backup timer and service)" \
	verify ./brainstorm-backup.timer ./brainstorm-backup.service

# Exposure at most 2.0 of 10 ("OK") for both services.
security() {
	local out
	out=$(cd "$OUT" && SYSTEMD_LOG_COLOR=0 systemd-analyze security --offline=yes \
		--threshold=20 --no-pager "$1" 2>&1) || { echo "$out" | tail -n 5; return 1; }
	echo "$out" | tail -n 1
}
if systemd-analyze security --help 2>/dev/null | grep -q -- '--offline'; then
	check "security exposure <= 2.0: brainstorm-fcgi" security ./brainstorm-fcgi.service
	check "security exposure <= 2.0: brainstorm-migrate" security ./brainstorm-migrate.service
	check "security exposure <= 2.0: brainstorm-engine" security ./brainstorm-engine.service
	check "security exposure <= 2.0: brainstorm-backup" security ./brainstorm-backup.service
else
	skip "security exposure" "systemd-analyze has no --offline"
fi

# ---- what the rest of the system relies on ---------------------------------

# value FILE KEY: the last assignment of KEY.
value() { sed -n "s/^$2=//p" "$1" | tail -n 1; }
has() {
	local file=$1 line
	shift
	for line in "$@"; do
		grep -qxF -- "$line" "$file" || { echo "${file##*/} lacks: $line"; return 1; }
	done
}

socket_for_nginx() {
	local listen upstream
	listen=$(value "$SOCKET" ListenStream)
	[ "$listen" = /run/brainstorm/fcgi.sock ] || { echo "ListenStream=$listen"; return 1; }
	# nginx (www-data) connects through the group.
	has "$SOCKET" SocketGroup=www-data SocketMode=0660 SocketUser=brainstorm || return 1
	upstream=$(sed -n 's/^[[:space:]]*\(server unix:[^ ;]*\).*/\1/p' "$ROOT/nginx/brainstorm.conf" | head -n 1)
	[ "$upstream" = "server unix:$listen" ] ||
		{ echo "nginx/brainstorm.conf's first upstream server is '$upstream', not $listen"; return 1; }
}
check "socket path and permissions match nginx" socket_for_nginx

stop_timeout() {
	local t shutdown
	t=$(value "$SERVICE" TimeoutStopSec)
	t=${t%s}
	shutdown=$(grep -o '"SHUTDOWN_TIMEOUT", *KEY_INT, *OFF([a-z_]*), *"[0-9]*"' "$ROOT/src/config.c" |
		grep -o '"[0-9]*"$' | tr -d '"')
	[ -n "$shutdown" ] || shutdown=$(sed -n 's/^SHUTDOWN_TIMEOUT=//p' "$ROOT/.env.example")
	[[ $t =~ ^[0-9]+$ ]] || { echo "TimeoutStopSec=$t is not in seconds"; return 1; }
	[ -n "$shutdown" ] || { echo "SHUTDOWN_TIMEOUT default not found"; return 1; }
	[ "$t" -gt "$shutdown" ] || { echo "TimeoutStopSec=$t <= SHUTDOWN_TIMEOUT=$shutdown"; return 1; }
	has "$SERVICE" KillSignal=SIGTERM
}
check "stop timeout above SHUTDOWN_TIMEOUT, SIGTERM" stop_timeout

service_basics() {
	has "$SERVICE" Type=simple User=brainstorm Restart=on-failure \
		Requires=brainstorm-fcgi.socket \
		Wants=brainstorm-migrate.service After=brainstorm-migrate.service \
		"EnvironmentFile=-$ETC/brainstorm/brainstorm.env" \
		"ExecStart=$SBIN/brainstorm-fcgi" \
		"ExecReload=/bin/kill -HUP \$MAINPID" || return 1
	# Socket activation: the worker must not be told where to listen.
	! grep -E '^ExecStart=.*(--listen|-l )' "$SERVICE" || return 1
	# A service RuntimeDirectory would be removed on stop, socket and all.
	! grep -E '^RuntimeDirectory=' "$SERVICE" || { echo "RuntimeDirectory= in the service"; return 1; }
}
check "service: socket activation, migrations first, restart" service_basics

hardening() {
	local f
	for f in "$SERVICE" "$MIGRATE" "$ENGINE"; do
		has "$f" NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes \
			PrivateTmp=yes PrivateDevices=yes \
			"RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6" \
			SystemCallFilter=@system-service CapabilityBoundingSet= \
			LockPersonality=yes MemoryDenyWriteExecute=yes \
			ProtectKernelTunables=yes ProtectKernelModules=yes ProtectKernelLogs=yes \
			ProtectControlGroups=yes RestrictNamespaces=yes RestrictRealtime=yes ||
			return 1
	done
}
check "hardening in the worker, migration and engine services" hardening

# The engine: the worker's configuration, no socket, --engine-only; the
# same sandbox as the worker, line for line.
engine_unit() {
	local a b
	has "$ENGINE" Type=simple User=brainstorm Group=brainstorm Restart=on-failure \
		"EnvironmentFile=-$ETC/brainstorm/brainstorm.env" \
		"ExecStartPre=$SBIN/brainstorm-fcgi --check-config" \
		"ExecStart=$SBIN/brainstorm-fcgi --engine-only" \
		"ExecReload=/bin/kill -HUP \$MAINPID" KillSignal=SIGTERM \
		"$(grep '^TimeoutStopSec=' "$SERVICE")" WantedBy=multi-user.target || return 1
	! grep -E '^(Requires|Also|Sockets)=.*socket' "$ENGINE" || { echo "the engine takes no socket"; return 1; }
	a=$(sed -n '/^# Sandbox/,/^\[Install\]/p' "$SERVICE" | grep -v '^#')
	b=$(sed -n '/^# Sandbox/,/^\[Install\]/p' "$ENGINE" | grep -v '^#')
	[ -n "$a" ] && [ "$a" = "$b" ] || { diff <(echo "$a") <(echo "$b"); return 1; }
}
check "engine unit: --engine-only, same configuration and sandbox as the worker" engine_unit

# /run/brainstorm/: brainstorm and nginx's group may enter, nobody else
# (nginx makes nchan.sock 0666 there); the socket unit's group is nginx's.
tmpfiles_entry() {
	local line
	line=$(grep -v -E '^[[:space:]]*(#|$)' "$TMPFILES")
	[ "$line" = "d /run/brainstorm 0750 brainstorm www-data -" ] || { echo "entry: $line"; return 1; }
	has "$SOCKET" SocketGroup=www-data || return 1
	grep -q '^[[:space:]]*listen unix:/run/brainstorm/nchan.sock;' "$ROOT/nginx/brainstorm.conf" ||
		{ echo "nginx/brainstorm.conf's publisher is not in /run/brainstorm/"; return 1; }
	grep -q '"NCHAN_URL", KEY_STRING, OFF(nchan_url), "unix:/run/brainstorm/nchan.sock"' "$ROOT/src/config.c" ||
		{ echo "NCHAN_URL's default is not unix:/run/brainstorm/nchan.sock"; return 1; }
	grep -q 'tmpfiles_DATA = systemd/tmpfiles/brainstorm.conf' "$ROOT/Makefile.am" ||
		{ echo "Makefile.am does not install it"; return 1; }
}
check "tmpfiles.d: /run/brainstorm/ 0750 brainstorm:www-data guards nchan's socket" tmpfiles_entry

migrate_unit() {
	has "$MIGRATE" Type=oneshot User=brainstorm \
		"ExecStart=$SBIN/brainstormctl migrate up" \
		"EnvironmentFile=-$ETC/brainstorm/brainstorm.env" || return 1
	# Runs again on every start of the worker: not RemainAfterExit.
	! grep -qx 'RemainAfterExit=yes' "$MIGRATE" || { echo "RemainAfterExit=yes"; return 1; }
}
check "migration unit: oneshot brainstormctl migrate up" migrate_unit

backup_timer() {
	local cal
	has "$BACKUP_TIMER" Persistent=true Unit=brainstorm-backup.service \
		WantedBy=timers.target || return 1
	cal=$(value "$BACKUP_TIMER" OnCalendar)
	[ -n "$cal" ] || { echo "no OnCalendar="; return 1; }
	systemd-analyze calendar "$cal" >/dev/null || { echo "OnCalendar=$cal does not parse"; return 1; }
	# Daily: the next two elapses are a day apart (give or take DST).
	local next
	next=$(systemd-analyze calendar --iterations=2 "$cal" | sed -n 's/.*Next elapse: //p;s/.*Iter\. #2: //p')
	[ "$(wc -l <<<"$next")" = 2 ] || { echo "elapses: $next"; return 1; }
	local a b
	a=$(date -d "$(sed -n 1p <<<"$next")" +%s) b=$(date -d "$(sed -n 2p <<<"$next")" +%s)
	[ $((b - a)) -ge 82800 ] && [ $((b - a)) -le 90000 ] || { echo "not daily: $next"; return 1; }
}
check "backup timer: daily, persistent, starts brainstorm-backup.service" backup_timer

# The service hands DATABASE_URL over as a credential, not in its
# environment, and writes where its state directory is.
backup_service() {
	local dir
	has "$BACKUP_SERVICE" Type=oneshot DynamicUser=yes StateDirectory=brainstorm-backup \
		StateDirectoryMode=0700 UMask=0077 \
		LoadCredential=brainstorm.env:/etc/brainstorm/brainstorm.env \
		"ExecStart=$ROOT/script/backup --env-file \${CREDENTIALS_DIRECTORY}/brainstorm.env" ||
		return 1
	! grep -q '^EnvironmentFile=' "$BACKUP_SERVICE" || { echo "EnvironmentFile= hands it every secret"; return 1; }
	dir=$(sed -n 's/^Environment=BACKUP_DIR=//p' "$BACKUP_SERVICE")
	[ "$dir" = /var/lib/brainstorm-backup ] || { echo "BACKUP_DIR=$dir is not the state directory"; return 1; }
	grep -q '^Environment=BACKUP_RETENTION_DAYS=[0-9][0-9]*$' "$BACKUP_SERVICE" ||
		{ echo "no BACKUP_RETENTION_DAYS"; return 1; }
}
check "backup service: oneshot, credential, state directory, retention" backup_service

# ---- the worker as the socket unit starts it -------------------------------

# ExecStart of the rendered service, run by systemd-socket-activate on a
# socket of its own (fd 3, LISTEN_FDS, LISTEN_PID), asked over FastCGI.
socket_activation() {
	local exec sock=$TMP/fcgi.sock out
	exec=$(value "$SERVICE" ExecStart)
	# shellcheck disable=SC2086 # ExecStart is a command line
	systemd-socket-activate -l "$sock" \
		-E APP_ENV=development -E BRAINSTORM_CONFIG=/dev/null \
		-E DATABASE_URL=postgresql://bs@127.0.0.1:1/none -E DB_POOL_MIN=0 \
		-E MIGRATIONS_DIR="$ROOT/migrations" -E LOG_LEVEL=warn -E WORKER_THREADS=2 \
		$exec </dev/null >"$TMP/worker.log" 2>&1 &
	ACT_PID=$!
	for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
	[ -S "$sock" ] || { echo "no socket"; cat "$TMP/worker.log"; return 1; }
	out=$(env -i REQUEST_METHOD=GET DOCUMENT_URI=/api/health REQUEST_URI=/api/health \
		SERVER_PROTOCOL=HTTP/1.1 HTTP_X_REQUEST_ID=systemd-test \
		timeout 10 cgi-fcgi -bind -connect "$sock" 2>&1)
	if ! grep -q '^Status: 200' <<<"$out" || ! grep -q '"status":"ok"' <<<"$out"; then
		echo "$out"
		cat "$TMP/worker.log"
		return 1
	fi
	# SIGTERM (KillSignal) stops it cleanly, exit status 0.
	kill -TERM "$ACT_PID"
	local rc=0
	wait "$ACT_PID" || rc=$?
	ACT_PID=
	[ "$rc" -eq 0 ] || { echo "exit status $rc after SIGTERM"; cat "$TMP/worker.log"; return 1; }
}
check_config() {
	local pre
	pre=$(value "$SERVICE" ExecStartPre)
	# shellcheck disable=SC2086 # ExecStartPre is a command line
	env -i PATH="$PATH" APP_ENV=development BRAINSTORM_CONFIG=/dev/null \
		MIGRATIONS_DIR="$ROOT/migrations" $pre || return 1
	# And production refuses a configuration without secrets.
	# shellcheck disable=SC2086
	! env -i PATH="$PATH" APP_ENV=production BRAINSTORM_CONFIG=/dev/null \
		MIGRATIONS_DIR="$ROOT/migrations" $pre
}
# The engine unit's ExecStart: up without a socket (no database behind it:
# it keeps trying to claim), and SIGTERM stops it cleanly, exit status 0.
engine_run() {
	local exec pid rc=0
	exec=$(value "$ENGINE" ExecStart)
	# shellcheck disable=SC2086 # ExecStart is a command line
	env -i PATH="$PATH" APP_ENV=development BRAINSTORM_CONFIG=/dev/null \
		DATABASE_URL=postgresql://bs@127.0.0.1:1/none DB_POOL_MIN=0 \
		MIGRATIONS_DIR="$ROOT/migrations" LOG_LEVEL=info \
		NCHAN_URL="unix:$TMP/nchan.sock" CLAUDE_BASE_URL=http://127.0.0.1:1 \
		$exec </dev/null >"$TMP/engine.log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		grep -q 'turn engine only' "$TMP/engine.log" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	grep -q 'turn engine only' "$TMP/engine.log" || { kill -KILL "$pid"; cat "$TMP/engine.log"; return 1; }
	kill -TERM "$pid"
	wait "$pid" || rc=$?
	[ "$rc" -eq 0 ] && grep -q 'stopping the turn engine' "$TMP/engine.log" ||
		{ echo "exit status $rc after SIGTERM"; tail -n 5 "$TMP/engine.log"; return 1; }
}
if [ "$BUILT" = 0 ]; then
	skip "socket activation" "brainstorm-fcgi is not built"
	skip "ExecStartPre check-config" "brainstorm-fcgi is not built"
	skip "engine unit runs" "brainstorm-fcgi is not built"
elif ! command -v systemd-socket-activate >/dev/null 2>&1 || ! command -v cgi-fcgi >/dev/null 2>&1; then
	fail "socket activation" "needs systemd-socket-activate (systemd) and cgi-fcgi (libfcgi-bin)"
else
	check "socket activation: ExecStart serves /api/health, SIGTERM exits 0" socket_activation
	check "ExecStartPre --check-config: dev passes, production without secrets fails" check_config
	check "engine unit: ExecStart runs turns only, SIGTERM exits 0" engine_run
fi

finish
