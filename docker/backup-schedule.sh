#!/bin/bash
# The "backup" service of docker/compose.yml and docker/stack.yml (in the
# postgres image as brainstorm-backup-schedule): script/backup
# (brainstorm-backup in the image) every day at BACKUP_AT, and once at start
# when the last successful backup is older than a day (a new deployment, or
# one that was down at BACKUP_AT). Each dump is verified (read through by
# pg_restore) before it counts, then the retention deletes the old ones.
#
#   brainstorm-backup-schedule           the schedule, until SIGTERM
#   brainstorm-backup-schedule --once    one backup now; exits with its status
#   brainstorm-backup-schedule --check   the healthcheck: the last success is
#                                        younger than BACKUP_MAX_AGE_HOURS
#
# The environment is script/backup's (DATABASE_URL, BACKUP_DIR,
# BACKUP_RETENTION_DAYS, BACKUP_UPLOAD_CMD, BACKUP_VERIFY, ...), and:
#   DATABASE_URL_FILE     DATABASE_URL from a file (a Swarm secret)
#   BACKUP_AT             the daily time, HH:MM in UTC (03:15)
#   BACKUP_RETRY_MINUTES  after a failure, try again this much later (60)
#   BACKUP_MAX_AGE_HOURS  the healthcheck's limit (26)
# A success is recorded in BACKUP_DIR/.last-success (the dump's path).
set -euo pipefail

PROG=brainstorm-backup-schedule
log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The backup program: the image's, or the tree's beside this file.
BACKUP=${BACKUP_PROGRAM:-brainstorm-backup}
: "${BACKUP_DIR:=/var/backups/brainstorm}"
: "${BACKUP_AT:=03:15}"
: "${BACKUP_RETRY_MINUTES:=60}"
: "${BACKUP_MAX_AGE_HOURS:=26}"
export BACKUP_DIR
marker=$BACKUP_DIR/.last-success

[[ $BACKUP_AT =~ ^([01][0-9]|2[0-3]):[0-5][0-9]$ ]] || die "BACKUP_AT must be HH:MM (UTC)"
[[ $BACKUP_RETRY_MINUTES =~ ^[1-9][0-9]*$ ]] || die "BACKUP_RETRY_MINUTES must be a number of minutes"
[[ $BACKUP_MAX_AGE_HOURS =~ ^[1-9][0-9]*$ ]] || die "BACKUP_MAX_AGE_HOURS must be a number of hours"

# Seconds since the last success, or a very large number.
since_success() {
	local t
	t=$(stat -c %Y "$marker" 2>/dev/null) || { echo 999999999; return; }
	echo $(($(date +%s) - t))
}

if [ "${1:-}" = --check ]; then
	age=$(since_success)
	[ "$age" -le $((BACKUP_MAX_AGE_HOURS * 3600)) ] ||
		die "no successful backup for $((age / 3600)) hours (limit $BACKUP_MAX_AGE_HOURS)"
	exit 0
fi

if [ -n "${DATABASE_URL_FILE:-}" ]; then
	[ -r "$DATABASE_URL_FILE" ] || die "cannot read $DATABASE_URL_FILE"
	DATABASE_URL=$(cat "$DATABASE_URL_FILE")
	export DATABASE_URL
fi
[ -n "${DATABASE_URL:-}" ] || die "DATABASE_URL (or DATABASE_URL_FILE) is not set"

backup_once() {
	local dump
	if dump=$("$BACKUP"); then
		mkdir -p "$BACKUP_DIR"
		printf '%s\n' "$dump" >"$marker.tmp" && mv "$marker.tmp" "$marker"
		log "backup done: $dump"
		return 0
	fi
	log "error: the backup failed"
	return 1
}

case ${1:-} in
--once) backup_once; exit ;;
"") ;;
*) die "unknown argument $1 (--once, --check)" ;;
esac

# Seconds until the next BACKUP_AT (UTC).
until_next() {
	local now next
	now=$(date -u +%s)
	next=$(date -u -d "$(date -u +%F) $BACKUP_AT" +%s)
	[ "$next" -gt "$now" ] || next=$((next + 86400))
	echo $((next - now))
}

# SIGTERM (docker stop) ends the wait at once; a running backup is let
# finish by the stop grace period, or stopped with it.
sleeper=
trap 'log "stopping"; [ -z "$sleeper" ] || kill "$sleeper" 2>/dev/null; exit 0' TERM INT

log "daily at $BACKUP_AT UTC into $BACKUP_DIR (retention ${BACKUP_RETENTION_DAYS:-14} days)"
if [ "$(since_success)" -ge 86400 ]; then
	log "no backup in the last day: one now"
	ok=0
	backup_once && ok=1
else
	ok=1
fi
while :; do
	wait_s=$(until_next)
	if [ "$ok" = 0 ] && [ "$wait_s" -gt $((BACKUP_RETRY_MINUTES * 60)) ]; then
		wait_s=$((BACKUP_RETRY_MINUTES * 60))
	fi
	log "next backup in $((wait_s / 60)) minutes"
	sleep "$wait_s" &
	sleeper=$!
	wait "$sleeper" || true
	sleeper=
	ok=0
	backup_once && ok=1
done
