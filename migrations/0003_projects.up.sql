-- A user's brainstorming projects. version counts updates (optimistic
-- concurrency); the index serves the owner's list, newest first, with a
-- (created_at, id) cursor.
CREATE TABLE projects (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	owner_id	uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	title		text NOT NULL
			CHECK (char_length(title) BETWEEN 1 AND 255),
	description	text NOT NULL DEFAULT '',
	status		text NOT NULL DEFAULT 'active'
			CHECK (status IN ('active', 'archived')),
	version		integer NOT NULL DEFAULT 1,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX projects_owner_created_idx
	ON projects (owner_id, created_at DESC, id DESC);
