-- Each project's item count per state, kept on its row by a trigger in the
-- same transaction as the item change, so listing projects reads four
-- columns instead of counting every listed project's items.
--
-- Writers of items take the project row's lock before an item's (see
-- src/db_items.c; items_room, migration 0010, takes it too), so two
-- transactions that change items of one project queue on the project
-- instead of deadlocking on each other's items. Imports (src/db_documents.c)
-- insert the items of a project they have just created. Deleting a
-- project deletes its items by cascade; their trigger then finds no row to
-- update, which is what it should find.

-- No item changes while the counts are first taken and the trigger put in;
-- projects first, in the order writers of items take them.
LOCK TABLE projects IN ACCESS EXCLUSIVE MODE;
LOCK TABLE items IN SHARE ROW EXCLUSIVE MODE;

ALTER TABLE projects
	ADD COLUMN decided_count	integer NOT NULL DEFAULT 0,
	ADD COLUMN exploring_count	integer NOT NULL DEFAULT 0,
	ADD COLUMN parked_count		integer NOT NULL DEFAULT 0,
	ADD COLUMN rejected_count	integer NOT NULL DEFAULT 0;

UPDATE projects p SET
	decided_count = c.decided,
	exploring_count = c.exploring,
	parked_count = c.parked,
	rejected_count = c.rejected
FROM (SELECT project_id,
	count(*) FILTER (WHERE state = 'decided') AS decided,
	count(*) FILTER (WHERE state = 'exploring') AS exploring,
	count(*) FILTER (WHERE state = 'parked') AS parked,
	count(*) FILTER (WHERE state = 'rejected') AS rejected
	FROM items GROUP BY project_id) c
WHERE p.id = c.project_id;

-- One item of project leaves from_state and enters to_state (NULL: none).
CREATE FUNCTION projects_item_count_move(project uuid, from_state text,
    to_state text)
RETURNS void LANGUAGE sql AS $$
	UPDATE projects SET
		decided_count = decided_count
		    + CASE WHEN to_state = 'decided' THEN 1 ELSE 0 END
		    - CASE WHEN from_state = 'decided' THEN 1 ELSE 0 END,
		exploring_count = exploring_count
		    + CASE WHEN to_state = 'exploring' THEN 1 ELSE 0 END
		    - CASE WHEN from_state = 'exploring' THEN 1 ELSE 0 END,
		parked_count = parked_count
		    + CASE WHEN to_state = 'parked' THEN 1 ELSE 0 END
		    - CASE WHEN from_state = 'parked' THEN 1 ELSE 0 END,
		rejected_count = rejected_count
		    + CASE WHEN to_state = 'rejected' THEN 1 ELSE 0 END
		    - CASE WHEN from_state = 'rejected' THEN 1 ELSE 0 END
	WHERE id = project;
$$;

CREATE FUNCTION items_count_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		PERFORM projects_item_count_move(NEW.project_id, NULL, NEW.state);
	ELSIF TG_OP = 'DELETE' THEN
		PERFORM projects_item_count_move(OLD.project_id, OLD.state, NULL);
	ELSIF OLD.project_id = NEW.project_id THEN
		PERFORM projects_item_count_move(NEW.project_id, OLD.state,
		    NEW.state);
	ELSE
		PERFORM projects_item_count_move(OLD.project_id, OLD.state, NULL);
		PERFORM projects_item_count_move(NEW.project_id, NULL, NEW.state);
	END IF;
	RETURN NULL;
END;
$$;

CREATE TRIGGER items_count_insert_delete AFTER INSERT OR DELETE ON items
	FOR EACH ROW EXECUTE FUNCTION items_count_trigger();
-- Only a change of state (or of project) moves a count.
CREATE TRIGGER items_count_update AFTER UPDATE OF state, project_id ON items
	FOR EACH ROW
	WHEN (OLD.state IS DISTINCT FROM NEW.state OR
	    OLD.project_id IS DISTINCT FROM NEW.project_id)
	EXECUTE FUNCTION items_count_trigger();
