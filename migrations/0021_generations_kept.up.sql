-- A bound on a project's record of document generations. Each generation
-- writes a document_generations row, its job's turns row (same id) and
-- its agent runs, and nothing removed them but deleting the project: at
-- DOCUMENT_RATE_LIMIT (10 a minute) one user could add 14,400 a day.
-- Versions had their bound (DOCUMENT_VERSIONS_MAX); the generations that
-- made them did not. Now queueing a generation removes the project's
-- finished ones past DOCUMENT_GENERATIONS_KEPT (src/db_documents.c), by
-- this index; their runs go by cascade, and their tokens stay in the
-- usage ledger (migration 0020).
CREATE INDEX IF NOT EXISTS turns_documents_idx
	ON turns (project_id, queued_at DESC, id DESC)
	WHERE document_kind IS NOT NULL;

-- What is past the default already goes now, not in the first request
-- that queues a generation of the project.
WITH old AS (
	SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY project_id
		ORDER BY queued_at DESC, id DESC) AS n
		FROM turns WHERE document_kind IS NOT NULL
		AND status IN ('done', 'failed')) r
	WHERE n > 100),
gone AS (DELETE FROM turns t USING old WHERE t.id = old.id RETURNING t.id)
DELETE FROM document_generations g USING gone WHERE g.id = gone.id;
