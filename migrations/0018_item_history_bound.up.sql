-- A bound on a project's item history. Every change of an item adds an
-- item_events row, and nothing removed them but deleting the project: at
-- ITEM_RATE_LIMIT (600 a minute) one user could add 860,000 a day, and a
-- project past EXPORT_MAX_BYTES can no longer be exported. Now each
-- project's row counts its events, kept by statement triggers in the same
-- transaction as the change, and the statements that write an event
-- (src/db_items.c) remove the project's oldest when it holds
-- ITEM_EVENTS_MAX_PER_PROJECT already, in the same statement. They read
-- the count from the project's row, which they lock first: changes in one
-- project take turns, so the count they read is the one they change.
-- Deleting a project deletes its events by cascade; the trigger then finds
-- no row to update, which is what it should find.

-- No events written while they are first counted and the triggers put in;
-- projects first, in the order writers of items take them.
LOCK TABLE projects IN ACCESS EXCLUSIVE MODE;
LOCK TABLE item_events IN SHARE ROW EXCLUSIVE MODE;

ALTER TABLE projects ADD COLUMN item_event_count integer NOT NULL DEFAULT 0;
UPDATE projects p SET item_event_count = c.n
FROM (SELECT project_id, count(*) AS n FROM item_events GROUP BY project_id) c
WHERE p.id = c.project_id;

-- One statement's events, added or removed, counted once per project:
-- a row trigger would update the project's row once per event (an import
-- writes thousands).
CREATE FUNCTION item_events_count_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE projects p SET item_event_count = p.item_event_count + c.n
	FROM (SELECT project_id, count(*) AS n FROM added GROUP BY project_id) c
	WHERE p.id = c.project_id;
	RETURN NULL;
END
$$;

CREATE FUNCTION item_events_count_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE projects p SET item_event_count = p.item_event_count - c.n
	FROM (SELECT project_id, count(*) AS n FROM removed
	    GROUP BY project_id) c
	WHERE p.id = c.project_id;
	RETURN NULL;
END
$$;

CREATE TRIGGER item_events_count_insert AFTER INSERT ON item_events
	REFERENCING NEW TABLE AS added
	FOR EACH STATEMENT EXECUTE FUNCTION item_events_count_insert();
CREATE TRIGGER item_events_count_delete AFTER DELETE ON item_events
	REFERENCING OLD TABLE AS removed
	FOR EACH STATEMENT EXECUTE FUNCTION item_events_count_delete();

-- A project's events oldest first: the ones to remove, and the export's
-- order; it also serves the cascade from projects.
CREATE INDEX IF NOT EXISTS item_events_project_idx ON item_events (project_id, id);
DROP INDEX item_events_project_id_idx;
