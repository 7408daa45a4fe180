-- The board: a project's items and the history of every change to them.
-- position orders items within a state; version counts updates (optimistic
-- concurrency). source_message_id will reference messages once that table
-- exists.
CREATE TABLE items (
	id			uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	project_id		uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	text			text NOT NULL
				CHECK (char_length(text) BETWEEN 1 AND 2000),
	state			text NOT NULL
				CHECK (state IN ('decided', 'exploring', 'parked',
				    'rejected')),
	confidence		integer NOT NULL DEFAULT 100
				CHECK (confidence BETWEEN 0 AND 100),
	user_quote		text NOT NULL DEFAULT '',
	source_message_id	uuid,
	created_by		text NOT NULL DEFAULT 'user',
	position		integer NOT NULL DEFAULT 0
				CHECK (position >= 0),
	version			integer NOT NULL DEFAULT 1,
	created_at		timestamptz NOT NULL DEFAULT now(),
	updated_at		timestamptz NOT NULL DEFAULT now()
);

-- The board's order, the ?state= filter and "after the last of its state".
CREATE INDEX items_project_state_position_idx
	ON items (project_id, state, position);

-- item_id has no foreign key on purpose: the event that records a deletion
-- outlives the item. Deleting the project removes the events with it.
CREATE TABLE item_events (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	project_id	uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	item_id		uuid NOT NULL,
	action		text NOT NULL
			CHECK (action IN ('created', 'updated', 'moved', 'deleted')),
	from_state	text,
	to_state	text,
	old_text	text,
	new_text	text,
	actor		text NOT NULL,
	actor_user_id	uuid,
	reason		text NOT NULL DEFAULT '',
	turn_id		uuid,
	message_id	uuid,
	created_at	timestamptz NOT NULL DEFAULT now()
);

-- An item's history, oldest first.
CREATE INDEX item_events_item_id_idx ON item_events (item_id, id);
-- Without it, deleting a project scans every event for the cascade.
CREATE INDEX item_events_project_id_idx ON item_events (project_id);
