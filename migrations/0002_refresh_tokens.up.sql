-- Refresh tokens rotate within a family: using one replaces it with the
-- next, and reusing a replaced one revokes the whole family. Only a hash of
-- each token is stored.
CREATE TABLE refresh_tokens (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	user_id		uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	family_id	uuid NOT NULL,
	token_hash	text NOT NULL UNIQUE,
	expires_at	timestamptz NOT NULL,
	revoked_at	timestamptz,
	replaced_by	uuid REFERENCES refresh_tokens (id) ON DELETE SET NULL,
	created_at	timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX refresh_tokens_user_id_idx ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_family_id_idx ON refresh_tokens (family_id);
