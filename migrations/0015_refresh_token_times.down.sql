CREATE INDEX refresh_tokens_family_id_idx ON refresh_tokens (family_id);
DROP INDEX refresh_tokens_family_created_idx;
