-- Planned reads build global IDs and cursors in SQL: base64url without padding, the text of
-- kernel::ids::encode_global and kernel::connection::Cursor::encode. (SQLite: the same
-- function is registered on every connection by kernel::db.)
CREATE FUNCTION sy_b64url(value text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN translate(rtrim(encode(convert_to(value, 'UTF8'), 'base64'), '='), E'+/\n', '-_');
