-- Teams (PRODUCT.md sections 2 and 3): who may do what in a project. Every
-- project route checks membership here, in the one guard (src/app.c):
-- viewers read; editors also change the board, talk to the agents and
-- generate documents; owners also manage members, rename, archive and
-- delete. The project's creator is its first owner; a project always keeps
-- at least one owner (the API refuses to remove or demote the last).
CREATE TABLE project_members (
	project_id	uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	user_id		uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	role		text NOT NULL
			CHECK (role IN ('owner', 'editor', 'viewer')),
	added_by	uuid REFERENCES users (id) ON DELETE SET NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (project_id, user_id)
);

-- A member's project list, and the guard's lookup by (project, user)
-- through the primary key.
CREATE INDEX project_members_user_idx ON project_members (user_id, project_id);

INSERT INTO project_members (project_id, user_id, role, added_by, created_at)
SELECT id, owner_id, 'owner', owner_id, created_at FROM projects;

-- A project made by the release before this one (during a rolling update,
-- or by an import of it) gets its owner as a member all the same. This
-- release inserts the membership itself; the trigger then does nothing.
CREATE FUNCTION project_members_add_owner() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO project_members (project_id, user_id, role, added_by,
	    created_at)
	VALUES (NEW.id, NEW.owner_id, 'owner', NEW.owner_id, NEW.created_at)
	ON CONFLICT DO NOTHING;
	RETURN NULL;
END
$$;

CREATE TRIGGER projects_owner_member AFTER INSERT ON projects
	FOR EACH ROW EXECUTE FUNCTION project_members_add_owner();

-- An owner's invitation of an email without an account (REGISTRATION =
-- invite): registering with that email becomes a membership with the role.
CREATE TABLE project_invitations (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	project_id	uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	email		text NOT NULL
			CHECK (char_length(email) BETWEEN 3 AND 254),
	role		text NOT NULL
			CHECK (role IN ('owner', 'editor', 'viewer')),
	invited_by	uuid REFERENCES users (id) ON DELETE SET NULL,
	created_at	timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX project_invitations_project_email_key
	ON project_invitations (project_id, lower(email));
CREATE INDEX project_invitations_email_idx ON project_invitations (lower(email));

-- The guard checks on every request that the access token's session (its
-- refresh-token family, the "sid" claim) is still open: one live token per
-- family, found without reading the family's rotated ones.
CREATE INDEX refresh_tokens_live_family_idx ON refresh_tokens (family_id)
	WHERE revoked_at IS NULL;
