#!/usr/bin/env bash
# script/backup and script/restore against a real PostgreSQL: a throwaway
# database is migrated (brainstormctl migrate up) and filled with users,
# projects, items, their events, messages, turns and agent runs (awkward
# text included: quotes, backslashes, newlines, Unicode, NULLs); it is
# backed up, restored into a second database, and every table's row count
# and content checksum, every sequence, index and constraint must match.
# Also: retention, upload, the production guard, refusing a file that is no
# dump, a failed restore leaving the database unchanged, and a failed backup
# leaving no file. DATABASE_URL's password must never be printed.
#
#   tests/ops/backup_test.sh
#
# PostgreSQL: the one script/test runs (BS_PG_PORT and BS_PG_SOCK in the
# environment, as bs_stack_init exports them), else one this test starts in
# a temporary directory with script/lib.sh (PostgreSQL server packages
# installed, as script/bootstrap does). The test creates its own role and
# databases through the superuser and drops them at the end. Needs a built
# brainstormctl. Prints "N passed, N failed" last; exits non-zero on any
# failure.
# The checks are functions that check() calls.
# shellcheck disable=SC2317
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/ops/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for tool in psql pg_dump pg_restore; do
	command -v "$tool" >/dev/null 2>&1 ||
		fail "tool $tool" "not installed (postgresql-client; script/bootstrap)"
done
if [ ! -x "$ROOT/brainstormctl" ]; then
	skip "backup and restore" "brainstormctl is not built"
	finish
fi
[ "$failed" -eq 0 ] || finish

BS_PROG=backup_test
# shellcheck source=script/lib.sh
. "$ROOT/script/lib.sh"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/bs-ops-backup.XXXXXX")
chmod 755 "$TMP"
OWN_PG=0
SUFFIX=$$_$RANDOM
ROLE=bs_ops_backup_$SUFFIX
PASSWORD=pw-$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
SRC_DB=bs_ops_src_$SUFFIX
DST_DB=bs_ops_dst_$SUFFIX

cleanup() {
	set +e
	if [ -n "${BS_PG_PORT:-}" ] && bs_pg_ready 2>/dev/null; then
		bs_pg_psql -c "DROP DATABASE IF EXISTS $SRC_DB WITH (FORCE)" >/dev/null 2>&1
		bs_pg_psql -c "DROP DATABASE IF EXISTS $DST_DB WITH (FORCE)" >/dev/null 2>&1
		bs_pg_psql -c "DROP DATABASE IF EXISTS ${DRILL_DB:-none} WITH (FORCE)" >/dev/null 2>&1
		bs_pg_psql -c "DROP ROLE IF EXISTS $ROLE" >/dev/null 2>&1
	fi
	[ "$OWN_PG" = 1 ] && bs_pg_stop
	bs_restore_output
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- PostgreSQL: the stack's, or our own ------------------------------------

if [ -n "${BS_PG_PORT:-}" ] && [ -n "${BS_PG_SOCK:-}" ] && bs_pg_ready; then
	echo "using PostgreSQL on 127.0.0.1:$BS_PG_PORT"
else
	BS_HTTP_PORT=$(bs_free_port)
	BS_PG_PORT=$(bs_free_port)
	BS_REDIS_PORT=$(bs_free_port)
	BS_PG_OPTS="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	bs_stack_init "$TMP/pg-state" >/dev/null
	echo "starting PostgreSQL on 127.0.0.1:$BS_PG_PORT in $BS_STATE"
	OWN_PG=1
	if ! (bs_pg_init && bs_pg_start) >"$TMP/pg-start.log" 2>&1; then
		fail "start PostgreSQL" "$(tail -n 20 "$TMP/pg-start.log")"
		finish
	fi
fi

url() {
	printf 'postgresql://%s:%s@127.0.0.1:%s/%s\n' "$ROLE" "$PASSWORD" "$BS_PG_PORT" "$1"
}
SRC_URL=$(url "$SRC_DB")
DST_URL=$(url "$DST_DB")

setup_databases() {
	bs_pg_psql -c "CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD'" &&
		bs_pg_psql -c "CREATE DATABASE $SRC_DB OWNER $ROLE" &&
		bs_pg_psql -c "CREATE DATABASE $DST_DB OWNER $ROLE"
}
check "create a role and two databases" setup_databases
[ "$failed" -eq 0 ] || finish

q() { psql -X -q -v ON_ERROR_STOP=1 -tA -d "$1" -c "$2"; }

migrate() {
	(cd "$ROOT" && env -i PATH="$PATH" APP_ENV=development DATABASE_URL="$SRC_URL" \
		./brainstormctl --config /dev/null --migrations "$ROOT/migrations" migrate up)
}
check "migrate the source database" migrate

populate() {
	psql -X -q -v ON_ERROR_STOP=1 -d "$SRC_URL" <<'EOF'
INSERT INTO users (id, email, password_hash, display_name, disabled_at) VALUES
  ('00000000-0000-4000-8000-000000000001', 'ada@example.com', '$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA', 'Ada Lovelace', NULL),
  ('00000000-0000-4000-8000-000000000002', 'Grace.Hopper@Example.com', '$argon2id$v=19$m=65536,t=3,p=1$c2FsdDI$aGFzaDI', E'Grace \'Amazing\' Hopper', NULL),
  ('00000000-0000-4000-8000-000000000003', 'disabled@example.com', '$argon2id$x', '', now() - interval '3 days');

INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at) VALUES
  ('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-0000000000f1', 'hash-1', now() + interval '30 days'),
  ('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-0000000000f1', 'hash-2', now() + interval '30 days');

INSERT INTO projects (id, owner_id, title, description, status) VALUES
  ('00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-000000000001', 'Tea shop', E'A tea shop\nwith "quotes", back\\slashes and tabs\there', 'active'),
  ('00000000-0000-4000-8000-0000000000a2', '00000000-0000-4000-8000-000000000002', 'Ünïcödé — 头脑风暴 🧠', '', 'archived');

INSERT INTO messages (id, project_id, role, agent, content) VALUES
  ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000a1', 'user', NULL, 'I want to open a tea shop in Lisbon.'),
  ('00000000-0000-4000-8000-0000000000b2', '00000000-0000-4000-8000-0000000000a1', 'assistant', 'conversation', E'Lisbon it is.\nWhat budget?');
-- Many messages: the dump is compressed, the checksums cover them all.
INSERT INTO messages (project_id, role, content)
  SELECT '00000000-0000-4000-8000-0000000000a2', CASE WHEN g % 2 = 0 THEN 'user' ELSE 'assistant' END,
         repeat('idea ' || g || ' ', 1 + g % 40)
  FROM generate_series(1, 3000) g;

INSERT INTO turns (id, project_id, user_message_id, intent, confidence, status, finished_at) VALUES
  ('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000b1', 'explore', 80, 'done', now());
UPDATE messages SET turn_id = '00000000-0000-4000-8000-0000000000c1'
  WHERE id IN ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000b2');

INSERT INTO items (id, project_id, text, state, confidence, user_quote, source_message_id, created_by, position) VALUES
  ('00000000-0000-4000-8000-0000000000d1', '00000000-0000-4000-8000-0000000000a1', 'Open in Lisbon', 'decided', 95, 'I want to open a tea shop in Lisbon.', '00000000-0000-4000-8000-0000000000b1', 'agent:idea_extractor', 0),
  ('00000000-0000-4000-8000-0000000000d2', '00000000-0000-4000-8000-0000000000a1', E'Budget? \'unknown\'', 'exploring', 40, '', NULL, 'user', 1),
  ('00000000-0000-4000-8000-0000000000d3', '00000000-0000-4000-8000-0000000000a1', repeat('x', 2000), 'parked', 0, '', NULL, 'user', 2);

INSERT INTO item_events (project_id, item_id, action, from_state, to_state, old_text, new_text, actor, actor_user_id, reason, turn_id, message_id) VALUES
  ('00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000d1', 'created', NULL, 'decided', NULL, 'Open in Lisbon', 'agent:idea_extractor', NULL, 'explicit decision', '00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-0000000000b1'),
  ('00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000d2', 'created', NULL, 'exploring', NULL, E'Budget? \'unknown\'', 'user', '00000000-0000-4000-8000-000000000001', '', NULL, NULL),
  ('00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000d2', 'moved', 'exploring', 'parked', NULL, NULL, 'user', '00000000-0000-4000-8000-000000000001', 'later', NULL, NULL),
  ('00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000d9', 'deleted', 'parked', NULL, 'gone', NULL, 'user', '00000000-0000-4000-8000-000000000001', '', NULL, NULL);

INSERT INTO agent_runs (turn_id, project_id, user_id, agent, model, status, latency_ms, input_tokens, output_tokens, error) VALUES
  ('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-000000000001', 'conversation', 'claude-sonnet-5-5', 'ok', 2100, 1200, 300, NULL),
  ('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-000000000001', 'gap_detector', 'claude-haiku-5-5', 'error', 60000, 0, 0, 'timeout');
EOF
}
check "populate users, projects, items, events, messages, turns" populate

# A digest of a database: per table, its rows and an md5 of its ordered rows;
# then sequences, indexes and constraints.
digest() {
	local db=$1 table
	for table in $(q "$db" "SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1"); do
		printf '%s %s %s\n' "$table" \
			"$(q "$db" "SELECT count(*) FROM \"$table\"")" \
			"$(q "$db" "SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM \"$table\" t")"
	done
	printf 'sequences %s\n' "$(q "$db" "SELECT md5(coalesce(string_agg(sequencename || '=' || coalesce(last_value, 0), ',' ORDER BY sequencename), ''))
		FROM pg_sequences WHERE schemaname = 'public'")"
	printf 'indexes %s\n' "$(q "$db" "SELECT md5(coalesce(string_agg(indexdef, ',' ORDER BY indexname), ''))
		FROM pg_indexes WHERE schemaname = 'public'")"
	printf 'constraints %s\n' "$(q "$db" "SELECT md5(coalesce(string_agg(conname || ':' || pg_get_constraintdef(oid), ',' ORDER BY conname), ''))
		FROM pg_constraint WHERE connamespace = 'public'::regnamespace")"
}
digest "$SRC_URL" >"$TMP/src.digest" 2>&1
populated() {
	local t n
	for t in users projects items item_events messages turns agent_runs usage_daily schema_migrations; do
		n=$(awk -v t="$t" '$1 == t { print $2 }' "$TMP/src.digest")
		if [ -z "$n" ] || [ "$n" -eq 0 ]; then
			echo "table $t: '${n}' rows"
			cat "$TMP/src.digest"
			return 1
		fi
	done
}
check "source digest: every table populated" populated

BACKUP_DIR=$TMP/backups
mkdir -p "$BACKUP_DIR" "$TMP/uploaded"
# Dumps of an earlier era (must go), a recent one and a foreign file (stay).
touch -d '20 days ago' "$BACKUP_DIR/brainstorm-20200101T000000Z.dump" \
	"$BACKUP_DIR/brainstorm-20200102T000000Z.dump.partial" "$BACKUP_DIR/notes.txt"
touch -d '5 days ago' "$BACKUP_DIR/brainstorm-20200110T000000Z.dump"

run_backup() {
	env DATABASE_URL="$SRC_URL" BACKUP_DIR="$BACKUP_DIR" BACKUP_RETENTION_DAYS=14 \
		BACKUP_UPLOAD_CMD="cp {} '$TMP/uploaded/'" \
		"$ROOT/script/backup" >"$TMP/backup.out" 2>"$TMP/backup.err"
}
backup() {
	run_backup || { cat "$TMP/backup.err"; return 1; }
	DUMP=$(tail -n 1 "$TMP/backup.out")
	[[ ${DUMP##*/} =~ ^brainstorm-[0-9]{8}T[0-9]{6}Z\.dump$ ]] || { echo "printed: $DUMP"; return 1; }
	[ -s "$DUMP" ] || { echo "no dump at $DUMP"; return 1; }
}
check "backup writes a timestamped dump" backup
DUMP=$(tail -n 1 "$TMP/backup.out" 2>/dev/null)

dump_valid() {
	pg_restore --list "$DUMP" >"$TMP/list" || return 1
	grep -q 'TABLE DATA public messages' "$TMP/list" || { echo "no messages data"; return 1; }
	# Custom format, compressed.
	head -c 5 "$DUMP" | grep -q PGDMP || { echo "not a custom-format dump"; return 1; }
	[ "$(stat -c %a "$DUMP")" = 600 ] || { echo "mode $(stat -c %a "$DUMP")"; return 1; }
	[ -z "$(find "$BACKUP_DIR" -name '*.partial' -newer "$TMP/src.digest")" ] ||
		{ echo "a .partial file is left"; return 1; }
}
check "the dump is valid custom format, mode 0600" dump_valid

uploaded() {
	cmp "$DUMP" "$TMP/uploaded/${DUMP##*/}"
}
check "BACKUP_UPLOAD_CMD got the dump" uploaded

retention() {
	[ ! -e "$BACKUP_DIR/brainstorm-20200101T000000Z.dump" ] || { echo "old dump kept"; return 1; }
	[ ! -e "$BACKUP_DIR/brainstorm-20200102T000000Z.dump.partial" ] || { echo "old partial kept"; return 1; }
	[ -e "$BACKUP_DIR/brainstorm-20200110T000000Z.dump" ] || { echo "recent dump deleted"; return 1; }
	[ -e "$BACKUP_DIR/notes.txt" ] || { echo "a foreign file deleted"; return 1; }
}
check "retention deletes only its own dumps older than 14 days" retention

no_secret() {
	! grep -F -e "$PASSWORD" -e "$SRC_URL" "$TMP"/backup.out "$TMP"/backup.err
}
check "backup never prints the password" no_secret

# ---- restore ----------------------------------------------------------------

restore_fresh() {
	env -i PATH="$PATH" DATABASE_URL="$DST_URL" "$ROOT/script/restore" "$DUMP" \
		>"$TMP/restore.out" 2>&1 || { cat "$TMP/restore.out"; return 1; }
	! grep -F -e "$PASSWORD" "$TMP/restore.out" || { echo "the password was printed"; return 1; }
}
check "restore into an empty database" restore_fresh

same_digest() {
	digest "$DST_URL" >"$TMP/dst.digest" 2>&1
	diff "$TMP/src.digest" "$TMP/dst.digest" && [ -s "$TMP/dst.digest" ]
}
check "every table's rows and checksum, sequences, indexes, constraints match" same_digest

migrations_current() {
	(cd "$ROOT" && env -i PATH="$PATH" APP_ENV=development DATABASE_URL="$DST_URL" \
		./brainstormctl --config /dev/null --migrations "$ROOT/migrations" migrate status)
}
check "the restored database is at the current migration" migrations_current

restore_again() {
	q "$DST_URL" "INSERT INTO users (email, password_hash) VALUES ('extra@example.com', 'x')" || return 1
	env -i PATH="$PATH" "$ROOT/script/restore" --database-url "$DST_URL" "$DUMP" \
		>"$TMP/restore2.out" 2>&1 || { cat "$TMP/restore2.out"; return 1; }
	digest "$DST_URL" >"$TMP/dst2.digest" 2>&1
	diff "$TMP/src.digest" "$TMP/dst2.digest"
}
check "restore over an existing database (--clean --if-exists)" restore_again

# A marker that a refused or failed restore must leave in place.
marker() { q "$DST_URL" "SELECT count(*) FROM users WHERE email = 'marker@example.com'"; }
q "$DST_URL" "INSERT INTO users (email, password_hash) VALUES ('marker@example.com', 'x')" >/dev/null

production_guard() {
	local rc=0
	env -i PATH="$PATH" APP_ENV=production DATABASE_URL="$DST_URL" \
		"$ROOT/script/restore" "$DUMP" >"$TMP/guard.out" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] || { echo "restore ran with APP_ENV=production"; return 1; }
	grep -q -- '--yes-i-mean-production' "$TMP/guard.out" || { cat "$TMP/guard.out"; return 1; }
	[ "$(marker)" = 1 ] || { echo "the database changed"; return 1; }
	# The same from an env file.
	printf 'APP_ENV = "production"\n' >"$TMP/prod.conf"
	rc=0
	env -i PATH="$PATH" DATABASE_URL="$DST_URL" "$ROOT/script/restore" \
		--env-file "$TMP/prod.conf" "$DUMP" >/dev/null 2>&1 || rc=$?
	[ "$rc" -ne 0 ] || { echo "restore ran with APP_ENV=production in --env-file"; return 1; }
	[ "$(marker)" = 1 ] || { echo "the database changed"; return 1; }
}
check "APP_ENV=production refuses without --yes-i-mean-production" production_guard

not_a_dump() {
	local rc=0
	head -c 4096 /dev/urandom >"$TMP/garbage.dump"
	env -i PATH="$PATH" DATABASE_URL="$DST_URL" "$ROOT/script/restore" "$TMP/garbage.dump" \
		>"$TMP/garbage.out" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] || { echo "restored a random file"; return 1; }
	grep -q 'not a dump' "$TMP/garbage.out" || { cat "$TMP/garbage.out"; return 1; }
	[ "$(marker)" = 1 ] || { echo "the database changed"; return 1; }
}
check "a file that is no dump is refused" not_a_dump

truncated_dump() {
	local rc=0 size
	size=$(stat -c %s "$DUMP")
	head -c $((size * 2 / 3)) "$DUMP" >"$TMP/truncated.dump"
	env -i PATH="$PATH" DATABASE_URL="$DST_URL" "$ROOT/script/restore" "$TMP/truncated.dump" \
		>"$TMP/truncated.out" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] || { echo "a truncated dump restored without error"; return 1; }
	[ "$(marker)" = 1 ] || { echo "the database changed (not one transaction)"; return 1; }
}
check "a truncated dump fails and leaves the database unchanged" truncated_dump

production_yes() {
	env -i PATH="$PATH" APP_ENV=production DATABASE_URL="$DST_URL" \
		"$ROOT/script/restore" --yes-i-mean-production "$DUMP" >"$TMP/yes.out" 2>&1 ||
		{ cat "$TMP/yes.out"; return 1; }
	[ "$(marker)" = 0 ] || { echo "the marker survived: not restored"; return 1; }
	digest "$DST_URL" >"$TMP/dst3.digest" 2>&1
	diff "$TMP/src.digest" "$TMP/dst3.digest"
}
check "--yes-i-mean-production restores in production" production_yes

# ---- backup failures -----------------------------------------------------------

bad_password() {
	local rc=0 before after
	before=$(find "$BACKUP_DIR" -type f | sort)
	env -i PATH="$PATH" DATABASE_URL="$(url "$SRC_DB" | sed "s/$PASSWORD/wrong-$PASSWORD/")" \
		BACKUP_DIR="$BACKUP_DIR" "$ROOT/script/backup" >"$TMP/bad.out" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] || { echo "backup succeeded with a wrong password"; return 1; }
	after=$(find "$BACKUP_DIR" -type f | sort)
	[ "$before" = "$after" ] || { echo "files changed:"; diff <(echo "$before") <(echo "$after"); return 1; }
	! grep -F "$PASSWORD" "$TMP/bad.out" || { echo "the password was printed"; return 1; }
}
check "a failed backup leaves no file and prints no password" bad_password

upload_fails() {
	local rc=0 dir=$TMP/backups-upload
	mkdir -p "$dir"
	touch -d '40 days ago' "$dir/brainstorm-20200101T000000Z.dump"
	env -i PATH="$PATH" DATABASE_URL="$SRC_URL" BACKUP_DIR="$dir" BACKUP_RETENTION_DAYS=7 \
		BACKUP_UPLOAD_CMD=false "$ROOT/script/backup" >"$TMP/upfail.out" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] || { echo "a failed upload reported success"; return 1; }
	[ "$(find "$dir" -name 'brainstorm-2*Z.dump' | wc -l)" = 2 ] ||
		{ echo "expected the new dump and the old one kept:"; ls -l "$dir"; return 1; }
}
check "a failed upload fails the backup, keeps every dump" upload_fails

no_url() {
	local rc=0
	env -i PATH="$PATH" BACKUP_DIR="$TMP/none" "$ROOT/script/backup" >"$TMP/nourl.out" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] && grep -q DATABASE_URL "$TMP/nourl.out"
}
check "backup without DATABASE_URL refuses" no_url

env_file() {
	local dir=$TMP/backups-envfile out
	printf '# brainstorm.conf\nDATABASE_URL = "%s"\nBACKUP_DIR = %s\n' "$SRC_URL" "$dir" >"$TMP/bs.conf"
	out=$(env -i PATH="$PATH" "$ROOT/script/backup" --env-file "$TMP/bs.conf" 2>"$TMP/envfile.err") ||
		{ cat "$TMP/envfile.err"; return 1; }
	[ "${out%/*}" = "$dir" ] && pg_restore --list "$out" >/dev/null
}
check "backup --env-file reads DATABASE_URL from brainstorm.conf" env_file

# A database without the schema (the wrong one, or migrations not run yet)
# is refused, and says so.
empty_database() {
	local rc=0 db=bs_ops_empty_$SUFFIX
	bs_pg_psql -c "CREATE DATABASE $db OWNER $ROLE" >/dev/null || return 1
	env -i PATH="$PATH" DATABASE_URL="$(url "$db")" BACKUP_DIR="$TMP/backups-empty" \
		"$ROOT/script/backup" >"$TMP/empty.out" 2>&1 || rc=$?
	bs_pg_psql -c "DROP DATABASE $db" >/dev/null
	[ "$rc" -ne 0 ] && grep -q 'no entries (an empty database?)' "$TMP/empty.out" ||
		{ echo "exit $rc:"; cat "$TMP/empty.out"; return 1; }
	[ -z "$(find "$TMP/backups-empty" -type f ! -name .backup.lock 2>/dev/null)" ] ||
		{ echo "files left:"; ls -la "$TMP/backups-empty"; return 1; }
}
check "a database without tables is refused: no dump left" empty_database

# ---- the compose backup service, and a restore drill from what it wrote ---------

# The backup service of docker/compose.yml, run as the container runs it:
# its command and environment from compose.yml (defaults of ${VAR:-x}
# taken), the programs under the names postgres.Dockerfile COPYs them to,
# DATABASE_URL pointed at this PostgreSQL and the backups volume at a
# directory here. --once makes the schedule one run.
DRILL_DB=bs_ops_drill_$SUFFIX
COMPOSE_DIR=$TMP/compose-backups
compose_service() {
	/usr/bin/python3 - "$ROOT/docker/compose.yml" "$ROOT/docker/postgres.Dockerfile" \
		"$TMP/bin" "$ROOT" <<'EOF'
import os, re, sys, yaml
compose, dockerfile, bindir, root = sys.argv[1:]
svc = yaml.safe_load(open(compose))["services"]["backup"]
img = yaml.safe_load(open(compose))["services"]["postgres"]["image"]
if svc.get("image") != img:
    sys.exit("backup does not run the postgres image: %r" % svc.get("image"))
if "entrypoint" in svc:
    sys.exit("backup overrides the entry point; the drill runs the command")
def interpolate(v):
    v = str(v)
    v = re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*:-([^}]*)\}", r"\1", v)
    return re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*(:\?[^}]*)?\}", "", v)
env = {k: interpolate(v) for k, v in svc["environment"].items()}
mounts = [m for m in svc["volumes"] if m.split(":")[0] == "backups"]
if len(mounts) != 1 or mounts[0].split(":")[1] != env.get("BACKUP_DIR"):
    sys.exit("the backups volume is not mounted at BACKUP_DIR")
# COPY SRC DEST of the image: the programs the command names.
os.makedirs(bindir, exist_ok=True)
for src, dest in re.findall(r"^COPY\s+(\S+)\s+(/usr/local/bin/\S+)$", open(dockerfile).read(), re.M):
    os.symlink(os.path.join(root, src), os.path.join(bindir, os.path.basename(dest)))
with open(os.path.join(bindir, "..", "backup.command"), "w") as f:
    f.write("\0".join(svc["command"]))
with open(os.path.join(bindir, "..", "backup.healthcheck"), "w") as f:
    t = svc["healthcheck"]["test"]
    if t[0] != "CMD":
        sys.exit("healthcheck is not a CMD: %r" % t)
    f.write("\0".join(t[1:]))
with open(os.path.join(bindir, "..", "backup.env"), "w") as f:
    f.write("".join("%s=%s\0" % kv for kv in env.items()))
print("command: %s; environment: %s" % (svc["command"], ", ".join(sorted(env))))
EOF
}
check "compose.yml's backup service: the postgres image, its command, environment and volume" compose_service

run_like_compose() {
	local -a cmd envs
	mapfile -d '' -t cmd <"$TMP/backup.$1"
	mapfile -d '' -t envs <"$TMP/backup.env"
	shift
	env -i PATH="$TMP/bin:$PATH" "${envs[@]}" DATABASE_URL="$SRC_URL" BACKUP_DIR="$COMPOSE_DIR" \
		"${cmd[@]}" "$@"
}
compose_backup() {
	[ -s "$TMP/backup.command" ] || return 1
	run_like_compose command --once >"$TMP/compose-backup.out" 2>&1 ||
		{ cat "$TMP/compose-backup.out"; return 1; }
	grep -q 'verified: full' "$TMP/compose-backup.out" ||
		{ echo "not read through (BACKUP_VERIFY=full):"; cat "$TMP/compose-backup.out"; return 1; }
	[ "$(find "$COMPOSE_DIR" -name 'brainstorm-*Z.dump' | wc -l)" = 1 ] || { ls -la "$COMPOSE_DIR"; return 1; }
	! grep -F "$PASSWORD" "$TMP/compose-backup.out" || { echo "the password was printed"; return 1; }
}
check "the backup service's command, once: one verified dump in the volume" compose_backup

compose_healthy() {
	run_like_compose healthcheck || return 1
	# And unhealthy when the last success is too old.
	touch -d '2 days ago' "$COMPOSE_DIR/.last-success"
	! run_like_compose healthcheck 2>/dev/null || { echo "healthy with a 2-day-old backup"; return 1; }
	touch "$COMPOSE_DIR/.last-success"
}
check "its healthcheck: healthy after the backup, unhealthy 2 days later" compose_healthy

drill() {
	local dump
	dump=$(find "$COMPOSE_DIR" -name 'brainstorm-*Z.dump' | sort | tail -n 1)
	[ -n "$dump" ] || { echo "no dump"; return 1; }
	bs_pg_psql -c "CREATE DATABASE $DRILL_DB OWNER $ROLE" >/dev/null || return 1
	# As an operator restores in the service's container: brainstorm-restore
	# with the service's environment (APP_ENV=production: the flag is needed).
	local -a envs
	mapfile -d '' -t envs <"$TMP/backup.env"
	if env -i PATH="$TMP/bin:$PATH" "${envs[@]}" DATABASE_URL="$(url "$DRILL_DB")" \
		brainstorm-restore "$dump" >"$TMP/drill.out" 2>&1; then
		echo "restored without --yes-i-mean-production in the service's environment"
		return 1
	fi
	env -i PATH="$TMP/bin:$PATH" "${envs[@]}" DATABASE_URL="$(url "$DRILL_DB")" \
		brainstorm-restore --yes-i-mean-production "$dump" \
		>"$TMP/drill.out" 2>&1 || { cat "$TMP/drill.out"; return 1; }
	digest "$(url "$DRILL_DB")" >"$TMP/drill.digest" 2>&1
	diff "$TMP/src.digest" "$TMP/drill.digest" && [ -s "$TMP/drill.digest" ]
}
check "restore drill: the service's newest dump, with brainstorm-restore as in its container, into a fresh database: every table the same" drill

# systemd/brainstorm-backup.service's ExecStart with its Environment= lines,
# as systemd runs it: the credential brainstorm.env (a brainstorm.env with
# DATABASE_URL and a secret that must not matter) in CREDENTIALS_DIRECTORY,
# the state directory here.
systemd_unit() {
	local unit=$ROOT/systemd/brainstorm-backup.service exec line dir=$TMP/systemd-state
	local -a envs=() argv=()
	mkdir -p "$TMP/credentials" "$dir"
	printf 'APP_ENV=production\nDATABASE_URL=%s\nJWT_SECRET=not-for-backups\n' "$SRC_URL" \
		>"$TMP/credentials/brainstorm.env"
	while IFS= read -r line; do
		envs+=("${line#Environment=}")
	done < <(grep '^Environment=' "$unit")
	exec=$(sed -n 's/^ExecStart=//p' "$unit")
	exec=${exec//'${CREDENTIALS_DIRECTORY}'/$TMP/credentials}
	exec=${exec//\/usr\/local\/sbin\/brainstorm-backup/$ROOT/script/backup}
	read -r -a argv <<<"$exec"
	env -i PATH="$PATH" "${envs[@]}" BACKUP_DIR="$dir" "${argv[@]}" >"$TMP/unit.out" 2>&1 ||
		{ cat "$TMP/unit.out"; return 1; }
	pg_restore --list "$(tail -n 1 "$TMP/unit.out")" >/dev/null || return 1
	[ "$(stat -c %a "$(tail -n 1 "$TMP/unit.out")")" = 600 ]
}
check "brainstorm-backup.service's ExecStart and Environment= write a dump" systemd_unit

finish
