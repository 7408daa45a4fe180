-- Turns are durable jobs: queued here, leased by one engine at a time
-- (lease_owner until lease_until, renewed while it runs), and taken over by
-- another engine when a lease expires. runs counts the engines that started
-- the turn. A project has at most one turn queued or running. notes says
-- what did not go to plan, as the turn.done event said it. queued_by names
-- the engine of the process that queued the turn, which runs it first.
ALTER TABLE turns DROP CONSTRAINT turns_status_check;
-- Turns that were running when this migration ran had a worker thread each;
-- that worker is gone by now.
UPDATE turns SET status = 'failed', finished_at = now(),
	error = 'The worker running this turn stopped before it finished.'
	WHERE status IN ('pending', 'running');
ALTER TABLE turns ADD CONSTRAINT turns_status_check
	CHECK (status IN ('queued', 'running', 'done', 'failed'));
ALTER TABLE turns ALTER COLUMN status SET DEFAULT 'queued';
ALTER TABLE turns
	ADD COLUMN user_id uuid REFERENCES users (id) ON DELETE SET NULL,
	ADD COLUMN queued_at timestamptz NOT NULL DEFAULT now(),
	ADD COLUMN lease_owner text,
	ADD COLUMN lease_until timestamptz,
	ADD COLUMN runs integer NOT NULL DEFAULT 0,
	ADD COLUMN retry boolean NOT NULL DEFAULT false,
	ADD COLUMN notes jsonb NOT NULL DEFAULT '[]',
	ADD COLUMN queued_by text;
UPDATE turns t SET user_id = p.owner_id, queued_at = t.started_at
	FROM projects p WHERE p.id = t.project_id;

DROP INDEX turns_running_idx;
CREATE INDEX turns_queue_idx ON turns (queued_at) WHERE status = 'queued';
CREATE INDEX turns_lease_idx ON turns (lease_until) WHERE status = 'running';
CREATE UNIQUE INDEX turns_active_project_idx ON turns (project_id)
	WHERE status IN ('queued', 'running');
CREATE INDEX turns_active_user_idx ON turns (user_id)
	WHERE status IN ('queued', 'running');
