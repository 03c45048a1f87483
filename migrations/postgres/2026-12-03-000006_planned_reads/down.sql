DROP FUNCTION sy_utc(timestamp);
DROP FUNCTION sy_b64url(text);
