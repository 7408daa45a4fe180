-- The names and titles as they were are not kept: nothing to undo.
SELECT 1;
