-- People who sign in. Email is unique regardless of case; the password is
-- stored only as an Argon2id hash.
CREATE TABLE users (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	email		text NOT NULL
			CONSTRAINT users_email_length
			CHECK (char_length(email) BETWEEN 3 AND 254),
	password_hash	text NOT NULL,
	display_name	text NOT NULL DEFAULT '',
	created_at	timestamptz NOT NULL DEFAULT now(),
	disabled_at	timestamptz
);

CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
