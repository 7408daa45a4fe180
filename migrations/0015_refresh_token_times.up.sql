-- A session's refresh tokens by the time they were made: a refresh counts
-- its family's tokens of the last hour (REFRESH_RATE_LIMIT) and deletes
-- its rotated tokens that have expired, each a short range of this index
-- instead of every token the session was ever given. It serves the
-- lookups by family alone as well, so the index on family_id goes.
CREATE INDEX refresh_tokens_family_created_idx
	ON refresh_tokens (family_id, created_at);
DROP INDEX refresh_tokens_family_id_idx;
