-- Notifications: in-app notices per person, the messages sent for them on other channels
-- (email; the log), each person's choices, the tenant's message templates, and reminders due
-- before jobs and appointments.
CREATE TABLE notifications (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    subject_type TEXT,
    subject_id TEXT,
    -- A notice with a key is shown to its person once (a reminder delivered twice).
    dedupe_key TEXT,
    read_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX notifications_user ON notifications (tenant_id, user_id, created_at);
CREATE UNIQUE INDEX notifications_key ON notifications (tenant_id, user_id, dedupe_key);
CREATE INDEX notifications_unread ON notifications (tenant_id, user_id) WHERE read_at IS NULL;

-- A message on a channel other than in-app: sent by the delivery worker, retried with
-- backoff, FAILED after the last try; also the log staff read.
CREATE TABLE notification_messages (
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
CREATE INDEX notification_messages_due ON notification_messages (next_attempt_at) WHERE status = 'PENDING';
CREATE INDEX notification_messages_log ON notification_messages (tenant_id, created_at);

-- The channels a person wants per kind (in-app always); without a row, the kind's default.
CREATE TABLE notification_preferences (
    tenant_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    channels TEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, kind)
);

-- A person's language, quiet hours ('22:00'-'07:00', in their location's zone) and the phone
-- number text messages go to (E.164).
CREATE TABLE notification_settings (
    tenant_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    language TEXT NOT NULL DEFAULT 'en',
    phone TEXT,
    quiet_starts TEXT,
    quiet_ends TEXT,
    PRIMARY KEY (tenant_id, user_id)
);

-- A tenant's wording of a kind in a language, with {{variables}}.
CREATE TABLE message_templates (
    tenant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    language TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, kind, language)
);

-- A reminder due `lead_minutes` before something starts, to one person.
CREATE TABLE reminders (
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
CREATE UNIQUE INDEX reminders_key ON reminders (tenant_id, subject_type, subject_id, user_id, lead_minutes, starts_at);
CREATE INDEX reminders_due ON reminders (due_at) WHERE sent_at IS NULL;

-- When reminders are due, per tenant (minutes before the start).
CREATE TABLE reminder_offsets (
    tenant_id TEXT PRIMARY KEY,
    minutes TEXT NOT NULL
);
