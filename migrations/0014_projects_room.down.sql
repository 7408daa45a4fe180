DROP FUNCTION projects_room(uuid, integer);
