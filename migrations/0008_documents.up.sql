-- Generated documents (PRODUCT.md sections 2 and 3): one document per
-- project and kind, each generation a new numbered version with its
-- Markdown body, the board state and conversation it was made from, the
-- model and its tokens.
--
-- A generation is recorded while it runs: the partial unique index lets
-- only one run per project at a time (the API answers 409 for a second),
-- and its model call goes to agent_runs like a turn's, so GET /api/usage
-- counts it. An agent run now belongs to a turn or to a generation.
CREATE TABLE documents (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	project_id	uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	kind		text NOT NULL
			CHECK (kind IN ('brief', 'decision_log', 'next_steps',
			    'open_questions', 'risks')),
	created_at	timestamptz NOT NULL DEFAULT now(),
	UNIQUE (project_id, kind)
);

-- item_event_id is the project's newest item_events row when the version
-- was made (NULL: the board had no history yet), with no foreign key: an
-- event outlives its item, and nothing deletes events but the project.
CREATE TABLE document_versions (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	document_id	uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
	version		integer NOT NULL CHECK (version >= 1),
	title		text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
	body		text NOT NULL,
	item_event_id	bigint,
	message_id	uuid REFERENCES messages (id) ON DELETE SET NULL,
	model		text NOT NULL,
	input_tokens	integer NOT NULL DEFAULT 0,
	output_tokens	integer NOT NULL DEFAULT 0,
	created_by	uuid REFERENCES users (id) ON DELETE SET NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	UNIQUE (document_id, version)
);

CREATE TABLE document_generations (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	project_id	uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	kind		text NOT NULL,
	user_id		uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	status		text NOT NULL DEFAULT 'running'
			CHECK (status IN ('running', 'done', 'failed')),
	error		text,
	version_id	uuid REFERENCES document_versions (id) ON DELETE SET NULL,
	started_at	timestamptz NOT NULL DEFAULT now(),
	finished_at	timestamptz
);

-- One generation at a time per project.
CREATE UNIQUE INDEX document_generations_running_idx
	ON document_generations (project_id) WHERE status = 'running';

ALTER TABLE agent_runs
	ALTER COLUMN turn_id DROP NOT NULL,
	ADD COLUMN generation_id uuid
	    REFERENCES document_generations (id) ON DELETE CASCADE,
	ADD CONSTRAINT agent_runs_one_origin
	    CHECK (num_nonnulls(turn_id, generation_id) = 1);

CREATE INDEX agent_runs_generation_idx ON agent_runs (generation_id)
	WHERE generation_id IS NOT NULL;
