DROP TRIGGER items_count_update ON items;
DROP TRIGGER items_count_insert_delete ON items;
DROP FUNCTION items_count_trigger();
DROP FUNCTION projects_item_count_move(uuid, text, text);
ALTER TABLE projects
	DROP COLUMN decided_count,
	DROP COLUMN exploring_count,
	DROP COLUMN parked_count,
	DROP COLUMN rejected_count;
