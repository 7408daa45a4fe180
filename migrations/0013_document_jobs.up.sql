-- Document generations run as engine jobs: a generation is queued as a
-- row of turns with its document_kind (and no user message), leased,
-- renewed and taken over exactly as a turn is, and its
-- document_generations row (same id) is written in the transaction that
-- queues it. document_generations keeps one running (queued or started)
-- generation per project; turns keeps one message turn per project, so a
-- conversation goes on while a document is written.
--
-- Generations that were running when this migration ran had a request
-- thread each; that thread is gone by now.
UPDATE document_generations SET status = 'failed', finished_at = now(),
	error = 'The worker running this generation stopped before it finished.'
	WHERE status = 'running';
ALTER TABLE turns
	ALTER COLUMN user_message_id DROP NOT NULL,
	ADD COLUMN document_kind text
	    CHECK (document_kind IN ('brief', 'decision_log', 'next_steps',
	    'open_questions', 'risks')),
	ADD CONSTRAINT turns_one_job
	    CHECK (num_nonnulls(user_message_id, document_kind) = 1);
DROP INDEX turns_active_project_idx;
CREATE UNIQUE INDEX turns_active_project_idx ON turns (project_id)
	WHERE status IN ('queued', 'running') AND document_kind IS NULL;
