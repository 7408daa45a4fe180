#!/bin/sh
# Entry point of the postgres image (docker/postgres.Dockerfile).
# First start: initdb in $PGDATA, then the role POSTGRES_USER (password from
# POSTGRES_PASSWORD or the file POSTGRES_PASSWORD_FILE) and the database
# POSTGRES_DB. Every start: PostgreSQL in the foreground on every address,
# password (SCRAM) authentication over TCP.
set -eu

die() { echo "brainstorm-postgres-entrypoint: $*" >&2; exit 1; }

if [ "${1:-}" != postgres ]; then
	exec "$@"
fi
shift

if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
	[ -r "$POSTGRES_PASSWORD_FILE" ] || die "cannot read $POSTGRES_PASSWORD_FILE"
	POSTGRES_PASSWORD=$(cat "$POSTGRES_PASSWORD_FILE")
fi
: "${POSTGRES_USER:?}" "${POSTGRES_DB:?}"
case $POSTGRES_USER$POSTGRES_DB in
*[!A-Za-z0-9_]*) die "POSTGRES_USER and POSTGRES_DB: letters, digits and _ only" ;;
esac

mkdir -p "$PGDATA"
chmod 0700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
	[ -n "${POSTGRES_PASSWORD:-}" ] || die "POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE) is required for a new database"
	echo "brainstorm-postgres-entrypoint: initdb $PGDATA"
	initdb --pgdata="$PGDATA" --encoding=UTF8 --locale=C.UTF-8 \
		--auth-local=peer --auth-host=scram-sha-256 --username=postgres >/dev/null
	{
		echo "listen_addresses = '*'"
		echo "unix_socket_directories = '/run/postgresql'"
		echo "log_destination = 'stderr'"
		echo "logging_collector = off"
	} >>"$PGDATA/postgresql.auto.conf"
	{
		echo "host all all 0.0.0.0/0 scram-sha-256"
		echo "host all all ::/0 scram-sha-256"
	} >>"$PGDATA/pg_hba.conf"
	# Set-up on the unix socket only, so nothing reaches a half-made server.
	pg_ctl --pgdata="$PGDATA" --wait --silent -o "-c listen_addresses=''" start
	# The password goes in a dollar-quoted literal: no quoting issues.
	psql -X -q -v ON_ERROR_STOP=1 -h /run/postgresql -U postgres -d postgres <<SQL
CREATE ROLE "$POSTGRES_USER" LOGIN PASSWORD \$bs_pw\$$POSTGRES_PASSWORD\$bs_pw\$;
CREATE DATABASE "$POSTGRES_DB" OWNER "$POSTGRES_USER";
SQL
	pg_ctl --pgdata="$PGDATA" --wait --silent -m fast stop
	echo "brainstorm-postgres-entrypoint: created role $POSTGRES_USER and database $POSTGRES_DB"
fi
unset POSTGRES_PASSWORD
exec postgres -D "$PGDATA" "$@"
