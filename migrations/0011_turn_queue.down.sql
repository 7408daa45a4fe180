DROP INDEX turns_active_user_idx;
DROP INDEX turns_active_project_idx;
DROP INDEX turns_lease_idx;
DROP INDEX turns_queue_idx;
UPDATE turns SET status = 'failed', finished_at = now(),
	error = 'The turn was queued when its queue was removed.'
	WHERE status = 'queued';
ALTER TABLE turns DROP COLUMN queued_by, DROP COLUMN notes, DROP COLUMN retry, DROP COLUMN runs,
	DROP COLUMN lease_until, DROP COLUMN lease_owner,
	DROP COLUMN queued_at, DROP COLUMN user_id;
ALTER TABLE turns ALTER COLUMN status SET DEFAULT 'pending';
ALTER TABLE turns DROP CONSTRAINT turns_status_check;
ALTER TABLE turns ADD CONSTRAINT turns_status_check
	CHECK (status IN ('pending', 'running', 'done', 'failed'));
CREATE INDEX turns_running_idx ON turns (started_at) WHERE status = 'running';
