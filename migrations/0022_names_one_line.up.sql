-- Names and titles others see, stored before the API's rules for them
-- (FIELD_LINE, 2026-12-06), made to follow them: one line, without
-- control characters and without bidirectional embeddings, overrides or
-- isolates (U+202A-U+202E, U+2066-U+2069), which could make a name on a
-- shared board read as someone else's ("Bob" U+202E "etihw" shows as
-- "Bobwhite"). Control characters become spaces, the others go: what
-- person_text_clean (src/validate.c) does to an import. A display name
-- left blank is cleared, as "" clears it through the API; a title left
-- blank becomes "Untitled". Only rows that hold such a character are
-- written; a project's version moves on, so an edit made from the old
-- title is refused as any stale edit is.

-- One line (for this migration's session only).
CREATE FUNCTION pg_temp.one_line(t text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT regexp_replace(regexp_replace(t, '[\u202A-\u202E\u2066-\u2069]',
	    '', 'g'), '[\x01-\x1F\x7F-\x9F]', ' ', 'g')
$$;

UPDATE users SET display_name = CASE
	WHEN btrim(pg_temp.one_line(display_name)) = '' THEN ''
	ELSE pg_temp.one_line(display_name) END
WHERE display_name ~ '[\x01-\x1F\x7F-\x9F\u202A-\u202E\u2066-\u2069]';

UPDATE projects SET title = CASE
	WHEN btrim(pg_temp.one_line(title)) = '' THEN 'Untitled'
	ELSE pg_temp.one_line(title) END, version = version + 1
WHERE title ~ '[\x01-\x1F\x7F-\x9F\u202A-\u202E\u2066-\u2069]';

DROP FUNCTION pg_temp.one_line(text);
