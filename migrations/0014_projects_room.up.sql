-- Room for one more project under a cap (PROJECTS_MAX_PER_USER), asked by
-- the insert of a project itself (src/db_projects.c, src/db_documents.c:
-- creation and import), so that two creations at once cannot both pass
-- the cap. The owner's row in users is locked first (FOR NO KEY UPDATE:
-- the projects' foreign key checks, KEY SHARE, still pass), so one
-- account's creations take turns until their transactions end; the count
-- is a query of its own, and a VOLATILE function takes a fresh snapshot
-- for each query, so it sees every project committed by the creation
-- before. NULL when there is no such user.
CREATE FUNCTION projects_room(owner uuid, cap integer) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	PERFORM 1 FROM users WHERE id = owner FOR NO KEY UPDATE;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	RETURN (SELECT count(*) FROM projects WHERE owner_id = owner) < cap;
END;
$$;
