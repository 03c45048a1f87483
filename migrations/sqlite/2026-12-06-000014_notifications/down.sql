DROP TABLE reminder_offsets;
DROP TABLE reminders;
DROP TABLE message_templates;
DROP TABLE notification_settings;
DROP TABLE notification_preferences;
DROP TABLE notification_messages;
DROP TABLE notifications;
