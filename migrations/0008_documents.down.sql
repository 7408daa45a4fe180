-- The agent runs of document generations go with them: turn_id becomes
-- required again.
DELETE FROM agent_runs WHERE generation_id IS NOT NULL;
ALTER TABLE agent_runs
	DROP CONSTRAINT agent_runs_one_origin,
	DROP COLUMN generation_id,
	ALTER COLUMN turn_id SET NOT NULL;
DROP TABLE document_generations;
DROP TABLE document_versions;
DROP TABLE documents;
