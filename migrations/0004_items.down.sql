DROP TABLE item_events;
DROP TABLE items;
