DROP FUNCTION sy_b64url(text);
