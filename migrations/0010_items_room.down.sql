DROP FUNCTION items_room(uuid, integer);
