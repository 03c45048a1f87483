DROP INDEX support_tickets_status_rank;
DROP INDEX support_tickets_priority_rank;
ALTER TABLE support_tickets DROP COLUMN status_rank;
ALTER TABLE support_tickets DROP COLUMN priority_rank;
ALTER TABLE support_tickets DROP COLUMN metadata;
DROP TABLE support_ticket_attachments;
ALTER TABLE support_ticket_activities DROP COLUMN internal;
