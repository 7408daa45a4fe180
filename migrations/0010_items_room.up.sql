-- Room on a project's board under a cap (ITEMS_MAX_PER_PROJECT), asked by
-- the insert of an item itself (src/db_items.c), so that two creations at
-- once cannot both pass the cap. The project's row is locked first (FOR NO
-- KEY UPDATE: the items' foreign key checks, KEY SHARE, still pass), so
-- creations in one project take turns until their transactions end; the
-- count is a query of its own, and a VOLATILE function takes a fresh
-- snapshot for each query, so it sees every item committed by the creation
-- before. NULL when there is no such project.
CREATE FUNCTION items_room(p uuid, cap integer) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	PERFORM 1 FROM projects WHERE id = p FOR NO KEY UPDATE;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	RETURN (SELECT count(*) FROM items WHERE project_id = p) < cap;
END;
$$;
