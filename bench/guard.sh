#!/usr/bin/env bash
# The cost of the guard's one query (src/app.c) in PostgreSQL, on a
# database of its own (not a test: it prints numbers and judges nothing).
# pgbench runs, as prepared statements as the workers run them, against
# the same seeded data:
#   owner-only  the guard before teams: enabled user, project owned;
#   guard       enabled user, session open, role in the project;
#   metered     the same and the month's tokens (ROUTE_METERED routes).
# The seed: BENCH_USERS users with BENCH_PROJECTS projects each, every
# project shared with two other members, BENCH_ROTATIONS rotated refresh
# tokens per session, BENCH_RUNS agent runs per user this month.
#
#   bench/guard.sh
#
# BENCH_DURATION (10 seconds per query), BENCH_CLIENTS (4).
set -euo pipefail

BS_PROG=bench/guard.sh
# shellcheck source=script/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../script/lib.sh"

duration=${BENCH_DURATION:-10}
clients=${BENCH_CLIENTS:-4}
users=${BENCH_USERS:-1000}
projects=${BENCH_PROJECTS:-5}
rotations=${BENCH_ROTATIONS:-200}
runs=${BENCH_RUNS:-200}

BS_TMP=
on_exit() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	bs_restore_output
	[ -n "${BS_PG_DATA:-}" ] && bs_pg_stop
	[ -n "$BS_TMP" ] && rm -rf "$BS_TMP"
	exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

BS_TMP=$(mktemp -d /tmp/brainstorm-bench.XXXXXX)
chmod 755 "$BS_TMP"
BS_HTTP_PORT=$(bs_free_port)
BS_PG_PORT=$(bs_free_port)
BS_REDIS_PORT=$(bs_free_port)
BS_PG_OPTS="-c fsync=off -c synchronous_commit=off"
bs_stack_init "$BS_TMP/state"
[ -x "$BS_ROOT/brainstormctl" ] || bs_build
bs_pg_init
bs_pg_start
bs_pg_databases_ensure "$BS_DB_NAME"
bs_migrate >/dev/null

db() { psql "$BS_DATABASE_URL" -X -q -v ON_ERROR_STOP=1; }

bs_log "seeding $users users"
db <<SQL
INSERT INTO users (email, password_hash)
SELECT 'bench-' || g || '@example.com', 'x' FROM generate_series(1, $users) g;
INSERT INTO projects (owner_id, title)
SELECT u.id, 'p' || g FROM users u, generate_series(1, $projects) g;
INSERT INTO project_members (project_id, user_id, role)
SELECT p.id, o.id, CASE WHEN random() < 0.5 THEN 'viewer' ELSE 'editor' END
FROM projects p CROSS JOIN LATERAL (SELECT id FROM users
    WHERE id <> p.owner_id ORDER BY random() LIMIT 2) o
ON CONFLICT DO NOTHING;
-- One session per user with a chain of rotated tokens, the last one live.
INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at,
    revoked_at)
SELECT u.id, md5(u.id::text)::uuid, md5(u.id::text || g), now() + interval '30 days',
    CASE WHEN g < $rotations THEN now() END
FROM users u, generate_series(1, $rotations) g;
INSERT INTO messages (project_id, role, content)
SELECT id, 'user', 'm' FROM projects;
INSERT INTO turns (project_id, user_message_id)
SELECT project_id, id FROM messages;
INSERT INTO agent_runs (turn_id, project_id, user_id, agent, model, status,
    input_tokens, output_tokens)
SELECT t.id, t.project_id, p.owner_id, 'conversation', 'm', 'ok', 1000, 200
FROM turns t JOIN projects p ON p.id = t.project_id,
    generate_series(1, $runs / $projects) g;
ANALYZE users, projects, project_members, refresh_tokens, agent_runs;
SQL

# The pgbench scripts: a random member's view of one of their projects.
pick='\set n random(1, '"$users"')
SELECT u.id AS uid, md5(u.id::text)::uuid AS sid, m.project_id AS pid
FROM users u JOIN project_members m ON m.user_id = u.id
WHERE u.email = '"'"'bench-'"'"' || :n || '"'"'@example.com'"'"' LIMIT 1 \gset
'
cat >"$BS_TMP/owner-only.sql" <<SQL
$pick
SELECT u.disabled_at IS NULL, EXISTS (SELECT 1 FROM projects p
WHERE p.id = :pid::uuid AND p.owner_id = u.id) FROM users u WHERE u.id = :uid::uuid;
SQL
guard_columns="u.disabled_at IS NULL,
EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = :sid::uuid
AND t.user_id = u.id AND t.revoked_at IS NULL AND t.expires_at > now()),
(SELECT m.role FROM project_members m
WHERE m.project_id = :pid::uuid AND m.user_id = u.id)"
cat >"$BS_TMP/guard.sql" <<SQL
$pick
SELECT $guard_columns FROM users u WHERE u.id = :uid::uuid;
SQL
cat >"$BS_TMP/metered.sql" <<SQL
$pick
SELECT $guard_columns,
(SELECT coalesce(sum(r.input_tokens::bigint + r.output_tokens +
r.cache_read_tokens + r.cache_write_tokens), 0) FROM agent_runs r
WHERE r.user_id = u.id AND r.created_at >=
date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')
FROM users u WHERE u.id = :uid::uuid;
SQL
cat >"$BS_TMP/pick.sql" <<SQL
$pick
SQL

printf '\n%-12s %12s %12s\n' query "tps" "latency ms"
for q in pick owner-only guard metered; do
	out=$(pgbench -n -M prepared -c "$clients" -j "$clients" -T "$duration" \
		-f "$BS_TMP/$q.sql" "$BS_DATABASE_URL" 2>&1) ||
		bs_die "pgbench $q: $out"
	printf '%-12s %12s %12s\n' "$q" \
		"$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out")" \
		"$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$out")"
done
printf '\n"pick" is the cost of choosing a random member, paid by every row.\n'
