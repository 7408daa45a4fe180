CREATE INDEX item_events_project_id_idx ON item_events (project_id);
DROP INDEX item_events_project_idx;
DROP TRIGGER item_events_count_delete ON item_events;
DROP TRIGGER item_events_count_insert ON item_events;
DROP FUNCTION item_events_count_delete();
DROP FUNCTION item_events_count_insert();
ALTER TABLE projects DROP COLUMN item_event_count;
