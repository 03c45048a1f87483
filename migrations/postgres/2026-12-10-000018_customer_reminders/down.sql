ALTER TABLE reminder_offsets DROP COLUMN customer_minutes;

DELETE FROM notification_messages WHERE customer_id IS NOT NULL;
ALTER TABLE notification_messages
    DROP CONSTRAINT notification_messages_one_recipient,
    DROP COLUMN customer_id,
    ALTER COLUMN user_id SET NOT NULL,
    ALTER COLUMN notification_id SET NOT NULL;

DELETE FROM reminders WHERE customer_id IS NOT NULL;
DROP INDEX reminders_customer_key;
ALTER TABLE reminders
    DROP CONSTRAINT reminders_one_recipient,
    DROP COLUMN time_zone,
    DROP COLUMN customer_id,
    ALTER COLUMN user_id SET NOT NULL;
