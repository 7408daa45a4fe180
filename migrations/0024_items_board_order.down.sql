CREATE INDEX IF NOT EXISTS items_project_state_position_idx
	ON items (project_id, state, position);
DROP INDEX items_board_idx;
