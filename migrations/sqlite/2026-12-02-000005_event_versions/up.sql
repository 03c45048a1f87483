-- Events are typed and versioned: a consumer decodes a payload only at the version it knows.
ALTER TABLE outbox ADD COLUMN event_version INTEGER NOT NULL DEFAULT 1;
