-- Planned reads call sy_b64url(text) and sy_utc(text), registered on every connection by kernel::db (a
-- function of the PostgreSQL schema there). Nothing to store here.
SELECT 1;
