DROP TABLE support_ticket_attachments;
ALTER TABLE support_ticket_activities DROP COLUMN internal;
