UPDATE document_generations g SET status = 'failed', finished_at = now(),
	error = 'The generation was queued when its queue was removed.'
	FROM turns t WHERE t.id = g.id AND g.status = 'running';
DELETE FROM turns WHERE document_kind IS NOT NULL;
DROP INDEX turns_active_project_idx;
CREATE UNIQUE INDEX turns_active_project_idx ON turns (project_id)
	WHERE status IN ('queued', 'running');
ALTER TABLE turns DROP CONSTRAINT turns_one_job,
	DROP COLUMN document_kind,
	ALTER COLUMN user_message_id SET NOT NULL;
