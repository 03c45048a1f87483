ALTER TABLE reminder_offsets DROP COLUMN customer_minutes;

CREATE TABLE notification_messages_old (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    notification_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    claimed_until TIMESTAMP,
    last_error TEXT,
    provider_id TEXT,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
INSERT INTO notification_messages_old
    SELECT id, tenant_id, notification_id, user_id, channel, recipient, subject, body, status, attempts, next_attempt_at, claimed_until, last_error, provider_id, created_at, sent_at
    FROM notification_messages WHERE customer_id IS NULL;
DROP TABLE notification_messages;
ALTER TABLE notification_messages_old RENAME TO notification_messages;
CREATE INDEX notification_messages_due ON notification_messages (next_attempt_at) WHERE status = 'PENDING';
CREATE INDEX notification_messages_log ON notification_messages (tenant_id, created_at);

CREATE TABLE reminders_old (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    lead_minutes INTEGER NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    due_at TIMESTAMP NOT NULL,
    title TEXT NOT NULL,
    claimed_until TIMESTAMP,
    sent_at TIMESTAMP
);
INSERT INTO reminders_old
    SELECT id, tenant_id, subject_type, subject_id, user_id, lead_minutes, starts_at, due_at, title, claimed_until, sent_at
    FROM reminders WHERE customer_id IS NULL;
DROP TABLE reminders;
ALTER TABLE reminders_old RENAME TO reminders;
CREATE UNIQUE INDEX reminders_key ON reminders (tenant_id, subject_type, subject_id, user_id, lead_minutes, starts_at);
CREATE INDEX reminders_due ON reminders (due_at) WHERE sent_at IS NULL;
