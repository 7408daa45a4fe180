DROP INDEX projects_id_hash_idx;
