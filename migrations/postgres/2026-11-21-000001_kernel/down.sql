DROP TABLE idempotency_keys;
DROP TABLE outbox;
DROP TABLE audit_log;
