# shellcheck shell=bash
#
# Shared by script/server, script/test and bench/health.sh: build the tree
# and run the local stack (PostgreSQL, Redis, brainstorm-fcgi workers, nginx)
# on 127.0.0.1. Sourced, not run.
#
# A caller sets the ports (BS_HTTP_PORT, BS_PG_PORT, BS_REDIS_PORT), calls
# bs_stack_init with a state directory, then bs_stack_start; bs_stack_stop
# stops everything by PID, whichever part was started. PostgreSQL and Redis
# are found through their pid files, so they can be stopped and started
# again by other processes (the integration tests do, see bs_command_for).

BS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BS_PG_USER=brainstorm-pg		# the system user that runs PostgreSQL
BS_DB_NAME=brainstorm
BS_DB_USER=brainstorm
BS_DB_PASSWORD=brainstorm		# local stack only, 127.0.0.1
BS_WORKER_COUNT=${BS_WORKER_COUNT:-2}
BS_WORKER_THREADS=${BS_WORKER_THREADS:-8}
BS_NGINX_WORKERS=${BS_NGINX_WORKERS:-1}	# nginx's worker_processes (or auto)
# Open streams per client address (nginx's limit_conn on the stream locations).
BS_STREAMS_PER_ADDRESS=${BS_STREAMS_PER_ADDRESS:-64}
# nginx's worker_priority: ahead of the workers and PostgreSQL when nginx's
# master starts as root (it sets the priority before it drops to the user).
if [ "$(id -u)" -eq 0 ]; then
	BS_NGINX_PRIORITY=${BS_NGINX_PRIORITY:--5}
else
	BS_NGINX_PRIORITY=${BS_NGINX_PRIORITY:-0}
fi
BS_LOG_LEVEL=${BS_LOG_LEVEL:-info}
BS_DEBUG_ROUTES=${BS_DEBUG_ROUTES:-false}
BS_WORKER_PIDS=()
BS_NGINX_PID=
BS_PG_STARTED_PID=		# as started here, if its pid file disappears
BS_REDIS_STARTED_PID=
BS_WORKER_ENV=()

# The caller's stdout and stderr. A trap can run while a redirection is in
# effect (bs_wait_until sends its command's output to /dev/null): an exit
# handler calls bs_restore_output first so that what it prints is seen.
# Every server started here closes them ({BS_STDOUT_FD}>&-): one that kept
# them would keep its starter's output pipe open after the starter exits.
exec {BS_STDOUT_FD}>&1 {BS_STDERR_FD}>&2
bs_restore_output() { exec 1>&"$BS_STDOUT_FD" 2>&"$BS_STDERR_FD"; }

bs_log() { printf '%s: %s\n' "${BS_PROG:-lib.sh}" "$*" >&2; }
bs_die() { bs_log "error: $*"; exit 1; }

# The newest PostgreSQL server binaries Debian installed.
bs_pg_bindir() {
	local dir
	dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d \
		2>/dev/null | sort -V | tail -n 1)
	if [ -z "$dir" ] || [ ! -x "$dir/postgres" ]; then
		bs_die "no PostgreSQL server in /usr/lib/postgresql (run script/bootstrap)"
	fi
	printf '%s\n' "$dir"
}

bs_bootstrap() {
	"$BS_ROOT/script/bootstrap"
}

# Build in the source tree. Arguments are the ./configure options; configure
# runs again only when they differ from the last run or configure changed.
bs_build() {
	local want have
	(
		cd "$BS_ROOT" || exit 1
		if [ ! -x configure ] || [ configure.ac -nt configure ] ||
			[ Makefile.am -nt configure ]; then
			bs_log "autoreconf -fi"
			mkdir -p m4
			autoreconf -fi
		fi
		want=$(printf '%s\n' "$@")
		have=
		if [ -x config.status ]; then
			have=$(eval "printf '%s\n' $(./config.status --config)")
		fi
		if [ ! -f Makefile ] || [ ! -x config.status ] ||
			[ configure -nt config.status ] || [ "$want" != "$have" ]; then
			bs_log "./configure $*"
			./configure --quiet "$@"
		fi
		bs_log "make -j2"
		make -j2
	)
}

# A TCP port on 127.0.0.1 that nothing listens on now, chosen by the kernel.
bs_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

bs_port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# True while PID is a live process (a zombie is not).
bs_pid_alive() {
	local state
	[ -n "${1:-}" ] || return 1
	state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	[[ $state != Z* ]]
}

# True while PID runs the program NAME (its /proc/PID/comm).
bs_pid_is() {
	[ -n "${1:-}" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]
}

# bs_wait_until SECONDS WHAT COMMAND...: poll COMMAND until it succeeds.
bs_wait_until() {
	local seconds=$1 what=$2 deadline
	shift 2
	deadline=$((SECONDS + seconds))
	until "$@" >/dev/null 2>&1; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			bs_log "timed out after ${seconds}s waiting for $what"
			return 1
		fi
		sleep 0.2
	done
}

# Send SIGTERM, wait up to SECONDS for the process to go, then SIGKILL.
bs_pid_stop() {
	local pid=$1 seconds=${2:-30} deadline
	bs_pid_alive "$pid" || { wait "$pid" 2>/dev/null || true; return 0; }
	kill -TERM "$pid" 2>/dev/null || true
	deadline=$((SECONDS + seconds))
	while bs_pid_alive "$pid"; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			bs_log "pid $pid did not stop in ${seconds}s: SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
			break
		fi
		sleep 0.1
	done
	wait "$pid" 2>/dev/null || true
}

# Paths and ports of one stack, exported so that bs_command_for's commands,
# run by the tests in another process, see the same stack.
bs_stack_init() {
	local state=$1
	mkdir -p "$state"
	BS_STATE=$(cd "$state" && pwd)
	BS_RUN_DIR=$BS_STATE/run
	BS_PG_DIR=$BS_STATE/pg
	BS_PG_DATA=$BS_PG_DIR/data
	BS_PG_SOCK=$BS_PG_DIR/sock
	BS_PG_LOG=$BS_PG_DIR/postgres.log
	BS_REDIS_DIR=$BS_STATE/redis
	: "${BS_PG_OPTS:=}"
	export BS_STATE BS_RUN_DIR BS_PG_DIR BS_PG_DATA BS_PG_SOCK BS_PG_LOG \
		BS_REDIS_DIR BS_PG_OPTS BS_HTTP_PORT BS_PG_PORT BS_REDIS_PORT
	BS_DATABASE_URL=$(bs_database_url "$BS_DB_NAME")
	BS_REDIS_URL=redis://127.0.0.1:$BS_REDIS_PORT
	BS_BASE_URL=http://127.0.0.1:$BS_HTTP_PORT
	# A unix socket path is at most 107 bytes.
	if [ ${#BS_RUN_DIR} -gt 80 ] || [ ${#BS_PG_SOCK} -gt 80 ]; then
		bs_die "state directory path too long for unix sockets: $BS_STATE"
	fi
}

# The application's connections go over the unix socket: a statement's
# round trip costs less there than over TCP on loopback (bench/api.sh).
bs_database_url() {
	printf 'postgresql://%s:%s@/%s?host=%s&port=%s\n' \
		"$BS_DB_USER" "$BS_DB_PASSWORD" "$1" "$BS_PG_SOCK" "$BS_PG_PORT"
}

# A shell command line that runs FUNCTION of this file against the current
# stack, for the integration tests (BS_PG_STOP, BS_PG_START, ...).
bs_command_for() {
	local lib
	lib=$(printf '%q' "$BS_ROOT/script/lib.sh")
	printf 'bash -c %q\n' ". $lib && $1"
}

# ---- PostgreSQL ------------------------------------------------------------

# Run a command as the PostgreSQL user (PostgreSQL refuses to run as root),
# from / so that it never depends on the caller's directory being readable.
bs_as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		(cd / && runuser -u "$BS_PG_USER" -- "$@")
	else
		(cd / && "$@")
	fi
}

bs_pg_user_ensure() {
	[ "$(id -u)" -eq 0 ] || return 0
	id -u "$BS_PG_USER" >/dev/null 2>&1 && return 0
	bs_log "creating system user $BS_PG_USER"
	useradd --system --user-group --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin "$BS_PG_USER"
}

# initdb once; a second run of script/server reuses the data directory.
# Local (socket) connections use peer auth for the superuser; the
# application role gives its password, on the socket as over TCP.
bs_pg_init() {
	local bin
	bin=$(bs_pg_bindir)
	bs_pg_user_ensure
	mkdir -p "$BS_PG_DIR"
	if [ "$(id -u)" -eq 0 ]; then
		chown "$BS_PG_USER:" "$BS_PG_DIR"
		bs_as_pg test -w "$BS_PG_DIR" ||
			bs_die "$BS_PG_USER cannot write $BS_PG_DIR (a parent directory is not searchable)"
	fi
	bs_as_pg mkdir -p "$BS_PG_SOCK"
	if [ ! -f "$BS_PG_DATA/PG_VERSION" ]; then
		bs_log "initdb $BS_PG_DATA"
		bs_as_pg "$bin/initdb" --pgdata="$BS_PG_DATA" --encoding=UTF8 \
			--locale=C.UTF-8 --auth-local=peer --auth-host=scram-sha-256 \
			>"$BS_PG_DIR/initdb.log" 2>&1 ||
			{ cat "$BS_PG_DIR/initdb.log" >&2; bs_die "initdb failed"; }
	fi
	# Before the peer rule (the first that matches decides); also in a
	# data directory made before this rule was.
	grep -q "^local all $BS_DB_USER scram-sha-256" "$BS_PG_DATA/pg_hba.conf" ||
		bs_as_pg sed -i "0,/^local/s//local all $BS_DB_USER scram-sha-256\\n&/" \
			"$BS_PG_DATA/pg_hba.conf"
}

# The postmaster's PID: its pid file, else the one this shell started.
bs_pg_pid() {
	if [ -f "$BS_PG_DATA/postmaster.pid" ]; then
		head -n 1 "$BS_PG_DATA/postmaster.pid"
	elif bs_pid_is "$BS_PG_STARTED_PID" postgres; then
		printf '%s\n' "$BS_PG_STARTED_PID"
	else
		return 1
	fi
}

bs_pg_ready() {
	"$(bs_pg_bindir)/pg_isready" -q -h 127.0.0.1 -p "$BS_PG_PORT" -t 2
}

# Start PostgreSQL on 127.0.0.1:BS_PG_PORT and wait until it accepts
# connections. BS_PG_OPTS adds server options (script/test turns fsync off).
bs_pg_start() {
	local bin pid
	bin=$(bs_pg_bindir)
	if pid=$(bs_pg_pid) && bs_pid_alive "$pid"; then
		bs_log "PostgreSQL already running (pid $pid): stopping it first"
		bs_pg_stop
	fi
	bs_as_pg "$bin/pg_ctl" --pgdata="$BS_PG_DATA" --log="$BS_PG_LOG" \
		--wait --timeout=60 --silent \
		-o "-h 127.0.0.1 -p $BS_PG_PORT -k '$BS_PG_SOCK' $BS_PG_OPTS" start \
		</dev/null {BS_STDOUT_FD}>&- {BS_STDERR_FD}>&- ||
		{ tail -n 30 "$BS_PG_LOG" >&2; bs_die "PostgreSQL did not start"; }
	bs_wait_until 30 "PostgreSQL on port $BS_PG_PORT" bs_pg_ready ||
		bs_die "PostgreSQL is not ready"
	BS_PG_STARTED_PID=$(bs_pg_pid)
}

# Fast shutdown (SIGINT) of the postmaster by its PID; waits until it is
# gone: immediate shutdown (SIGQUIT) after a minute, SIGKILL 10 s later.
bs_pg_stop() {
	local pid waited=0
	pid=$(bs_pg_pid) || return 0
	bs_pid_alive "$pid" || return 0
	kill -INT "$pid" 2>/dev/null || return 0
	while bs_pid_alive "$pid"; do
		case $waited in
		600) kill -QUIT "$pid" 2>/dev/null ;;
		700) kill -KILL "$pid" 2>/dev/null ;;
		esac
		sleep 0.1
		waited=$((waited + 1))
	done
	BS_PG_STARTED_PID=
}

# psql as the superuser over the unix socket.
bs_pg_psql() {
	bs_as_pg "$(bs_pg_bindir)/psql" -X -q -v ON_ERROR_STOP=1 -h "$BS_PG_SOCK" \
		-p "$BS_PG_PORT" -d postgres "$@"
}

# The application role and its databases; nothing happens if they exist.
bs_pg_databases_ensure() {
	local db exists
	exists=$(bs_pg_psql -tA -c \
		"SELECT 1 FROM pg_roles WHERE rolname = '$BS_DB_USER'")
	if [ "$exists" != 1 ]; then
		bs_pg_psql -c "CREATE ROLE $BS_DB_USER LOGIN PASSWORD '$BS_DB_PASSWORD'"
	fi
	for db in "$@"; do
		exists=$(bs_pg_psql -tA -c \
			"SELECT 1 FROM pg_database WHERE datname = '$db'")
		[ "$exists" = 1 ] && continue
		bs_log "creating database $db"
		bs_pg_psql -c "CREATE DATABASE $db OWNER $BS_DB_USER"
	done
}

# ---- Redis -----------------------------------------------------------------

# Redis's PID: its pid file, else the one this shell started.
bs_redis_pid() {
	if [ -f "$BS_REDIS_DIR/redis.pid" ]; then
		cat "$BS_REDIS_DIR/redis.pid"
	elif bs_pid_is "$BS_REDIS_STARTED_PID" redis-server; then
		printf '%s\n' "$BS_REDIS_STARTED_PID"
	else
		return 1
	fi
}

bs_redis_ready() {
	[ "$(redis-cli -h 127.0.0.1 -p "$BS_REDIS_PORT" ping 2>/dev/null)" = PONG ]
}

# In the background, not daemonized; redis-server writes its pid file.
bs_redis_start() {
	mkdir -p "$BS_REDIS_DIR"
	redis-server --bind 127.0.0.1 --port "$BS_REDIS_PORT" --save '' \
		--appendonly no --dir "$BS_REDIS_DIR" --daemonize no \
		--pidfile "$BS_REDIS_DIR/redis.pid" \
		</dev/null >>"$BS_REDIS_DIR/redis.log" 2>&1 \
		{BS_STDOUT_FD}>&- {BS_STDERR_FD}>&- &
	BS_REDIS_STARTED_PID=$!
	bs_wait_until 15 "Redis on port $BS_REDIS_PORT" bs_redis_ready ||
		{ tail -n 20 "$BS_REDIS_DIR/redis.log" >&2; bs_die "Redis did not start"; }
}

bs_redis_stop() {
	local pid
	pid=$(bs_redis_pid) || return 0
	bs_pid_stop "$pid" 15
	rm -f "$BS_REDIS_DIR/redis.pid"
	BS_REDIS_STARTED_PID=
}

# ---- migrations and workers ------------------------------------------------

bs_migrate() {
	bs_log "migrate up"
	(cd "$BS_ROOT" && env -u LOG_FILE BRAINSTORM_CONFIG=/dev/null \
		DATABASE_URL="$BS_DATABASE_URL" MIGRATIONS_DIR="$BS_ROOT/migrations" \
		./brainstormctl --config /dev/null --migrations "$BS_ROOT/migrations" \
		migrate up)
}

# The workers' environment; also written to run/worker.env (KEY=VALUE lines)
# so a test can start one more worker just like these.
bs_worker_env() {
	BS_WORKER_ENV=(
		APP_ENV=development
		BRAINSTORM_CONFIG=/dev/null
		DATABASE_URL="$BS_DATABASE_URL"
		REDIS_URL="$BS_REDIS_URL"
		NCHAN_URL="unix:$BS_RUN_DIR/nchan.sock"
		LOG_LEVEL="$BS_LOG_LEVEL"
		WORKER_THREADS="$BS_WORKER_THREADS"
		MIGRATIONS_DIR="$BS_ROOT/migrations"
		DEBUG_ROUTES="$BS_DEBUG_ROUTES"
		CLAUDE_BASE_URL="$BS_CLAUDE_BASE_URL"
		CLAUDE_API_KEY="$BS_CLAUDE_API_KEY"
		CLAUDE_TIMEOUT_MS="${BS_CLAUDE_TIMEOUT_MS:-60000}"
		${BS_WORKER_EXTRA_ENV[@]+"${BS_WORKER_EXTRA_ENV[@]}"}
	)
	# A caller's own signing key (script/test makes a random one);
	# otherwise the development default applies.
	if [ -n "${BS_JWT_SECRET:-}" ]; then
		BS_WORKER_ENV+=(JWT_SECRET="$BS_JWT_SECRET")
	fi
	printf '%s\n' "${BS_WORKER_ENV[@]}" >"$BS_RUN_DIR/worker.env"
}

bs_workers_start() {
	local i sock pid
	bs_worker_env
	for ((i = 1; i <= BS_WORKER_COUNT; i++)); do
		sock=$BS_RUN_DIR/fcgi-$i.sock
		rm -f "$sock"
		# shellcheck disable=SC2086 # a command and its arguments
		env -u LOG_FILE "${BS_WORKER_ENV[@]}" ${BS_WORKER_WRAPPER:-} \
			"$BS_ROOT/brainstorm-fcgi" --listen "unix:$sock" \
			</dev/null >>"$BS_RUN_DIR/worker-$i.log" 2>&1 \
			{BS_STDOUT_FD}>&- {BS_STDERR_FD}>&- &
		BS_WORKER_PIDS+=("$!")
	done
	for ((i = 1; i <= BS_WORKER_COUNT; i++)); do
		pid=${BS_WORKER_PIDS[i - 1]}
		bs_wait_until 15 "worker $i socket" bs_worker_listening "$pid" \
			"$BS_RUN_DIR/fcgi-$i.sock" || {
			tail -n 20 "$BS_RUN_DIR/worker-$i.log" >&2
			bs_die "worker $i (pid $pid) did not start"
		}
	done
	# Their pid file, for script/server's next start and the benches.
	printf '%s\n' "${BS_WORKER_PIDS[@]}" >"$BS_RUN_DIR/workers.pid"
	bs_log "workers: ${BS_WORKER_PIDS[*]}"
}

bs_worker_listening() {
	bs_pid_alive "$1" && [ -S "$2" ]
}

bs_workers_stop() {
	local pid
	for pid in "${BS_WORKER_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${BS_WORKER_PIDS[@]}"; do
		bs_pid_stop "$pid" 30
	done
	BS_WORKER_PIDS=()
}

# ---- nginx -----------------------------------------------------------------

# The web app's build, or a placeholder page with one asset.
bs_static_root() {
	local root=$BS_RUN_DIR/html
	if [ -f "$BS_ROOT/frontend/dist/index.html" ]; then
		printf '%s\n' "$BS_ROOT/frontend/dist"
		return
	fi
	mkdir -p "$root/assets"
	cat >"$root/index.html" <<'EOF'
<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Brainstorm</title>
<script type="module" src="/assets/placeholder.js"></script></head>
<body><p>Brainstorm: the web app is not built (frontend/dist is missing).
The API is under <a href="/api/health">/api/</a>.</p></body>
</html>
EOF
	printf '%s\n' 'console.log("brainstorm placeholder");' \
		>"$root/assets/placeholder.js"
	printf '%s\n' "$root"
}

# bs_real_ip_lines CIDRS: a set_real_ip_from line for each of the trusted
# proxies (addresses or CIDRs separated by spaces or commas), joined for the
# template's @REAL_IP@; a comment when there are none. Anything but an IPv4
# or IPv6 address with an optional prefix length is refused.
bs_real_ip_lines() {
	local out="" addr
	for addr in ${1//,/ }; do
		[[ $addr =~ ^[0-9A-Fa-f.:]+(/[0-9]{1,3})?$ ]] ||
			bs_die "TRUSTED_PROXIES: '$addr' is not an address or CIDR"
		[ -n "$out" ] && out+=$'\n    '
		out+="set_real_ip_from $addr;"
	done
	printf '%s\n' "${out:-# TRUSTED_PROXIES is empty: X-Forwarded-For is ignored.}"
}

# bs_nice_valid N: N is a nice value, -20 to 19.
bs_nice_valid() {
	[[ $1 =~ ^(-?(1?[0-9])|-20)$ ]]
}

# Whether $1 is a count nginx takes for limit_conn: 1 to 65535, no leading
# zero.
bs_streams_per_address_valid() {
	[[ $1 =~ ^[1-9][0-9]{0,4}$ ]] && [ "$1" -le 65535 ]
}

# nginx/nginx.conf.in -> run/nginx.conf. BS_TRUSTED_PROXIES (else
# TRUSTED_PROXIES) are the proxies whose X-Forwarded-For nginx believes.
bs_nginx_render() {
	local conf servers="" i user root real_ip
	user="$(id -un) $(id -gn)"
	root=$(bs_static_root)
	real_ip=$(bs_real_ip_lines "${BS_TRUSTED_PROXIES-${TRUSTED_PROXIES:-}}") || exit 1
	for ((i = 1; i <= BS_WORKER_COUNT; i++)); do
		[ -n "$servers" ] && servers+=$'\n        '
		servers+="server unix:$BS_RUN_DIR/fcgi-$i.sock max_fails=3 fail_timeout=10s;"
	done
	[[ $BS_NGINX_WORKERS =~ ^([1-9][0-9]{0,2}|auto)$ ]] ||
		bs_die "BS_NGINX_WORKERS: '$BS_NGINX_WORKERS' is not a count (1-999) or auto"
	bs_nice_valid "$BS_NGINX_PRIORITY" ||
		bs_die "BS_NGINX_PRIORITY: '$BS_NGINX_PRIORITY' is not a nice value (-20 to 19)"
	bs_streams_per_address_valid "$BS_STREAMS_PER_ADDRESS" ||
		bs_die "BS_STREAMS_PER_ADDRESS: '$BS_STREAMS_PER_ADDRESS' is not a count (1-65535)"
	conf=$(<"$BS_ROOT/nginx/nginx.conf.in")
	conf=${conf//@NGINX_WORKERS@/$BS_NGINX_WORKERS}
	conf=${conf//@NGINX_PRIORITY@/$BS_NGINX_PRIORITY}
	conf=${conf//@STREAMS_PER_ADDRESS@/$BS_STREAMS_PER_ADDRESS}
	conf=${conf//@PREFIX@/$BS_RUN_DIR}
	conf=${conf//@PORT@/$BS_HTTP_PORT}
	conf=${conf//@ROOT@/$root}
	conf=${conf//@USER@/$user}
	conf=${conf//@UPSTREAM_SERVERS@/$servers}
	conf=${conf//@REAL_IP@/$real_ip}
	# nchan's channels in Redis (BS_NCHAN_REDIS_URL), shared by every
	# nginx that uses it; else in this nginx's memory.
	if [ -n "${BS_NCHAN_REDIS_URL:-}" ]; then
		conf=${conf//"# @NCHAN_STORE@"/"nchan_redis_url $BS_NCHAN_REDIS_URL; nchan_use_redis on; #"}
	fi
	mkdir -p "$BS_RUN_DIR/logs" "$BS_RUN_DIR/tmp"
	printf '%s\n' "$conf" >"$BS_RUN_DIR/nginx.conf"
}

bs_nginx_check() {
	nginx -q -t -c "$BS_RUN_DIR/nginx.conf" -p "$BS_RUN_DIR" \
		-e "$BS_RUN_DIR/logs/error.log"
}

bs_nginx_start() {
	bs_nginx_render
	bs_nginx_check || bs_die "nginx -t failed for $BS_RUN_DIR/nginx.conf"
	nginx -c "$BS_RUN_DIR/nginx.conf" -p "$BS_RUN_DIR" \
		-e "$BS_RUN_DIR/logs/error.log" -g 'daemon off;' \
		</dev/null >>"$BS_RUN_DIR/logs/nginx.out" 2>&1 \
		{BS_STDOUT_FD}>&- {BS_STDERR_FD}>&- &
	BS_NGINX_PID=$!
	bs_wait_until 15 "nginx on port $BS_HTTP_PORT" bs_port_in_use "$BS_HTTP_PORT" ||
		{ tail -n 20 "$BS_RUN_DIR/logs/error.log" >&2; bs_die "nginx did not start"; }
}

bs_nginx_stop() {
	[ -n "$BS_NGINX_PID" ] || return 0
	bs_pid_stop "$BS_NGINX_PID" 15
	BS_NGINX_PID=
}

bs_http_healthy() {
	curl -fsS --max-time 2 -o /dev/null "$BS_BASE_URL/api/health"
}

# ---- the Claude API: the real one, or the offline double -------------------

# With CLAUDE_API_KEY set (script/server) the workers talk to the real API;
# otherwise to tools/claude-double on a free loopback port, which speaks the
# same protocol with deterministic answers (the offline demo model).
bs_double_start() {
	local port_file=$BS_RUN_DIR/claude-double.port
	if [ -n "${BS_USE_REAL_CLAUDE:-}" ]; then
		BS_CLAUDE_BASE_URL=${CLAUDE_BASE_URL:-https://api.anthropic.com}
		BS_CLAUDE_API_KEY=$CLAUDE_API_KEY
		bs_log "Claude: $BS_CLAUDE_BASE_URL"
		return 0
	fi
	rm -f "$port_file"
	/usr/bin/python3 "$BS_ROOT/tools/claude-double/claude_double.py" \
		--host 127.0.0.1 --port 0 --port-file "$port_file" --quiet \
		--latency-ms "${BS_DOUBLE_LATENCY_MS:-0}" \
		--token-delay-ms "${BS_DOUBLE_TOKEN_DELAY_MS:-5}" \
		</dev/null >>"$BS_RUN_DIR/claude-double.log" 2>&1 \
		{BS_STDOUT_FD}>&- {BS_STDERR_FD}>&- &
	BS_DOUBLE_PID=$!
	echo "$BS_DOUBLE_PID" >"$BS_RUN_DIR/claude-double.pid"
	bs_wait_until 15 "the Claude double" test -s "$port_file" ||
		bs_die "the Claude double did not start (see $BS_RUN_DIR/claude-double.log)"
	BS_CLAUDE_BASE_URL=http://127.0.0.1:$(<"$port_file")
	BS_CLAUDE_API_KEY=
	export BS_CLAUDE_BASE_URL BS_DOUBLE_PID
	bs_log "Claude: the offline double at $BS_CLAUDE_BASE_URL"
}

bs_double_stop() {
	if [ -n "${BS_DOUBLE_PID:-}" ]; then
		bs_pid_stop "$BS_DOUBLE_PID" 5
		BS_DOUBLE_PID=
	fi
}

# ---- the whole stack -------------------------------------------------------

# bs_stack_start [DATABASE...]: PostgreSQL with the application database and
# any extra ones, Redis, migrations, the workers and nginx, then wait until
# /api/health answers through nginx.
bs_stack_start() {
	local port
	for port in "$BS_HTTP_PORT" "$BS_PG_PORT" "$BS_REDIS_PORT"; do
		bs_port_in_use "$port" && bs_die "port $port on 127.0.0.1 is in use"
	done
	mkdir -p "$BS_RUN_DIR"
	bs_pg_init
	bs_pg_start
	bs_pg_databases_ensure "$BS_DB_NAME" "$@"
	bs_redis_start
	bs_migrate
	bs_double_start
	bs_workers_start
	bs_nginx_start
	bs_wait_until 20 "$BS_BASE_URL/api/health" bs_http_healthy ||
		bs_die "the stack does not answer $BS_BASE_URL/api/health"
}

bs_stack_stop() {
	bs_nginx_stop
	bs_workers_stop
	bs_double_stop
	[ -n "${BS_REDIS_DIR:-}" ] && bs_redis_stop
	[ -n "${BS_PG_DATA:-}" ] && bs_pg_stop
	return 0
}

# The end of every log, for a failure in CI.
bs_stack_dump_logs() {
	local f
	for f in "$BS_RUN_DIR"/worker-*.log "$BS_RUN_DIR/logs/error.log" \
		"$BS_PG_LOG" "$BS_REDIS_DIR/redis.log"; do
		[ -s "$f" ] || continue
		printf '\n---- %s (last 30 lines) ----\n' "$f" >&2
		tail -n 30 "$f" >&2
	done
}
