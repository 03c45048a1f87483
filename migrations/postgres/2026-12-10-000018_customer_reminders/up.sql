-- Reminders to customers. A reminder, and a message on a channel, goes either to a person
-- (user_id) or to a customer (customer_id: email or a text message to the customer's own
-- address and number; no in-app notification, so notification_id is null). Reminders carry
-- the time zone of what they are about, so their wording gives the local time. A tenant
-- chooses the customers' offsets apart from its staff's; empty (the default): none.
ALTER TABLE reminders
    ALTER COLUMN user_id DROP NOT NULL,
    ADD COLUMN customer_id TEXT COLLATE "C",
    ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC',
    ADD CONSTRAINT reminders_one_recipient CHECK ((user_id IS NULL) <> (customer_id IS NULL));
CREATE UNIQUE INDEX reminders_customer_key ON reminders (tenant_id, subject_type, subject_id, customer_id, lead_minutes, starts_at);

ALTER TABLE notification_messages
    ALTER COLUMN notification_id DROP NOT NULL,
    ALTER COLUMN user_id DROP NOT NULL,
    ADD COLUMN customer_id TEXT COLLATE "C",
    ADD CONSTRAINT notification_messages_one_recipient CHECK ((user_id IS NULL) <> (customer_id IS NULL));

ALTER TABLE reminder_offsets ADD COLUMN customer_minutes TEXT NOT NULL DEFAULT '';
