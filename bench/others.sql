-- Other accounts beside the benchmark's own (bench/api.sh,
-- BENCH_OTHER_ACCOUNTS): :accounts accounts with 20 projects each, owned
-- and as memberships, two refresh tokens each (one revoked), and 50 items
-- on the first project of each, so that the lists' statements run against
-- tables the size of a production database, where the planner takes the
-- indexes, rather than against tables of one page. Loaded as the
-- superuser with triggers off (the item counts are set after), then
-- vacuumed and analyzed, as autovacuum would have them.
\set ON_ERROR_STOP 1
BEGIN;
SET LOCAL session_replication_role = replica;
CREATE TEMP TABLE bench_users ON COMMIT DROP AS
SELECT gen_random_uuid() AS id, n FROM generate_series(1, :accounts) AS n;
INSERT INTO users (id, email, password_hash, created_at)
SELECT id, 'other-' || n || '@example.com', 'not a password hash',
	now() - interval '1 year' + n * interval '1 second'
FROM bench_users;
INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at,
	revoked_at)
SELECT u.id, gen_random_uuid(), md5(random()::text || u.id || r),
	now() + interval '30 days', CASE WHEN r = 1 THEN now() END
FROM bench_users u, generate_series(1, 2) AS r;
CREATE TEMP TABLE bench_projects ON COMMIT DROP AS
SELECT gen_random_uuid() AS id, u.id AS owner_id, u.n, k
FROM bench_users u, generate_series(1, 20) AS k;
INSERT INTO projects (id, owner_id, title, description, created_at,
	updated_at)
SELECT id, owner_id, 'Project ' || k, 'A project of another account.',
	now() - interval '1 year' + (n * 20 + k) * interval '1 second',
	now() - interval '1 year' + (n * 20 + k) * interval '1 second'
FROM bench_projects;
-- With triggers off, each membership's copy of its project's created_at
-- (migration 0017) is written here.
INSERT INTO project_members (project_id, user_id, role, added_by,
	project_created_at)
SELECT p.id, p.owner_id, 'owner', p.owner_id, p.created_at
FROM projects p JOIN bench_projects b ON b.id = p.id;
INSERT INTO items (project_id, text, state, position)
SELECT p.id, 'Item ' || i || ': something worth deciding about',
	(ARRAY['decided', 'exploring', 'parked', 'rejected'])[i % 4 + 1], i
FROM bench_projects p, generate_series(0, 49) AS i
WHERE p.k = 1;
UPDATE projects p SET
	decided_count = 13, exploring_count = 13, parked_count = 12,
	rejected_count = 12
FROM bench_projects b WHERE b.id = p.id AND b.k = 1;
COMMIT;
VACUUM (ANALYZE);
