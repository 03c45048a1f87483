-- Planned reads build global IDs and cursors in SQL: base64url without padding, the text of
-- kernel::ids::encode_global and kernel::connection::Cursor::encode. (SQLite: the same
-- function is registered on every connection by kernel::db.)
CREATE FUNCTION sy_b64url(value text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN translate(rtrim(encode(convert_to(value, 'UTF8'), 'base64'), '='), E'+/\n', '-_');

-- A UTC timestamp as chrono's to_rfc3339 writes it (async-graphql's DateTime): 0, 3 or 6 fraction
-- digits, as few as the value needs, and +00:00 (DateTime<Utc>::to_rfc3339).
CREATE FUNCTION sy_utc(value timestamp) RETURNS text
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    RETURN to_char(value, 'YYYY-MM-DD"T"HH24:MI:SS')
        || CASE
            WHEN extract(microseconds FROM value)::bigint % 1000000 = 0 THEN ''
            WHEN extract(microseconds FROM value)::bigint % 1000 = 0
                THEN '.' || lpad((extract(microseconds FROM value)::bigint % 1000000 / 1000)::text, 3, '0')
            ELSE '.' || lpad((extract(microseconds FROM value)::bigint % 1000000)::text, 6, '0')
        END
        || '+00:00';
