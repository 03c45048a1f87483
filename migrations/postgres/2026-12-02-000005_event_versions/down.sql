ALTER TABLE outbox DROP COLUMN event_version;
