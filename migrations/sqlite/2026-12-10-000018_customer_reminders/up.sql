-- Reminders to customers. A reminder, and a message on a channel, goes either to a person
-- (user_id) or to a customer (customer_id: email or a text message to the customer's own
-- address and number; no in-app notification, so notification_id is null). Reminders carry
-- the time zone of what they are about, so their wording gives the local time. A tenant
-- chooses the customers' offsets apart from its staff's; empty (the default): none.
-- SQLite cannot drop NOT NULL from a column: both tables are built anew and their rows copied.
CREATE TABLE reminders_new (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    user_id TEXT,
    customer_id TEXT,
    lead_minutes INTEGER NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    due_at TIMESTAMP NOT NULL,
    title TEXT NOT NULL,
    time_zone TEXT NOT NULL DEFAULT 'UTC',
    claimed_until TIMESTAMP,
    sent_at TIMESTAMP,
    CHECK ((user_id IS NULL) <> (customer_id IS NULL))
);
INSERT INTO reminders_new (id, tenant_id, subject_type, subject_id, user_id, lead_minutes, starts_at, due_at, title, claimed_until, sent_at)
    SELECT id, tenant_id, subject_type, subject_id, user_id, lead_minutes, starts_at, due_at, title, claimed_until, sent_at FROM reminders;
DROP TABLE reminders;
ALTER TABLE reminders_new RENAME TO reminders;
CREATE UNIQUE INDEX reminders_key ON reminders (tenant_id, subject_type, subject_id, user_id, lead_minutes, starts_at);
CREATE UNIQUE INDEX reminders_customer_key ON reminders (tenant_id, subject_type, subject_id, customer_id, lead_minutes, starts_at);
CREATE INDEX reminders_due ON reminders (due_at) WHERE sent_at IS NULL;

CREATE TABLE notification_messages_new (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    notification_id TEXT,
    user_id TEXT,
    customer_id TEXT,
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
    sent_at TIMESTAMP,
    CHECK ((user_id IS NULL) <> (customer_id IS NULL))
);
INSERT INTO notification_messages_new (id, tenant_id, notification_id, user_id, channel, recipient, subject, body, status, attempts, next_attempt_at, claimed_until, last_error, provider_id, created_at, sent_at)
    SELECT id, tenant_id, notification_id, user_id, channel, recipient, subject, body, status, attempts, next_attempt_at, claimed_until, last_error, provider_id, created_at, sent_at FROM notification_messages;
DROP TABLE notification_messages;
ALTER TABLE notification_messages_new RENAME TO notification_messages;
CREATE INDEX notification_messages_due ON notification_messages (next_attempt_at) WHERE status = 'PENDING';
CREATE INDEX notification_messages_log ON notification_messages (tenant_id, created_at);

ALTER TABLE reminder_offsets ADD COLUMN customer_minutes TEXT NOT NULL DEFAULT '';
