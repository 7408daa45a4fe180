-- The conversation: messages, the turn each user message starts, and every
-- agent call of a turn. A user message is stored before any model call.
CREATE TABLE messages (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	project_id	uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	role		text NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
	agent		text,
	content		text NOT NULL,
	turn_id		uuid,
	created_at	timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX messages_project_created_idx
	ON messages (project_id, created_at DESC, id DESC);

CREATE TABLE turns (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	project_id	uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	user_message_id	uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
	intent		text,
	confidence	integer CHECK (confidence BETWEEN 0 AND 100),
	status		text NOT NULL DEFAULT 'pending'
			CHECK (status IN ('pending', 'running', 'done', 'failed')),
	error		text,
	started_at	timestamptz NOT NULL DEFAULT now(),
	finished_at	timestamptz
);

CREATE INDEX turns_project_idx ON turns (project_id, started_at DESC);
CREATE INDEX turns_running_idx ON turns (started_at) WHERE status = 'running';

ALTER TABLE messages ADD CONSTRAINT messages_turn_fk
	FOREIGN KEY (turn_id) REFERENCES turns (id) ON DELETE SET NULL;

CREATE TABLE agent_runs (
	id			bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	turn_id			uuid NOT NULL REFERENCES turns (id) ON DELETE CASCADE,
	project_id		uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	user_id			uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	agent			text NOT NULL,
	model			text NOT NULL,
	status			text NOT NULL CHECK (status IN ('ok', 'error', 'cached')),
	latency_ms		integer NOT NULL DEFAULT 0,
	attempts		integer NOT NULL DEFAULT 1,
	input_tokens		integer NOT NULL DEFAULT 0,
	output_tokens		integer NOT NULL DEFAULT 0,
	cache_read_tokens	integer NOT NULL DEFAULT 0,
	cache_write_tokens	integer NOT NULL DEFAULT 0,
	error			text,
	created_at		timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX agent_runs_turn_idx ON agent_runs (turn_id);
CREATE INDEX agent_runs_project_idx ON agent_runs (project_id, id DESC);
CREATE INDEX agent_runs_user_day_idx ON agent_runs (user_id, created_at);

-- Board items cite the message they came from.
ALTER TABLE items ADD CONSTRAINT items_source_message_fk
	FOREIGN KEY (source_message_id) REFERENCES messages (id) ON DELETE SET NULL;
