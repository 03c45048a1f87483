-- Files attached to tickets (the bytes live in the file store under attachments/<tenant>/<id>),
-- which timeline entries are for staff only (internal notes and internal attachments), tickets'
-- custom fields, and the ranks tickets sort by priority and status with.
ALTER TABLE support_ticket_activities ADD COLUMN internal BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE support_ticket_activities SET internal = TRUE WHERE kind = 'INTERNAL_NOTE';

CREATE TABLE support_ticket_attachments (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    ticket_id TEXT NOT NULL REFERENCES support_tickets (id),
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    internal BOOLEAN NOT NULL DEFAULT FALSE,
    author_id TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX support_ticket_attachments_ticket ON support_ticket_attachments (tenant_id, ticket_id, created_at, id);
CREATE INDEX support_ticket_attachments_created ON support_ticket_attachments (tenant_id, created_at, id);

ALTER TABLE support_tickets ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE support_tickets ADD COLUMN priority_rank INTEGER NOT NULL DEFAULT 2;
ALTER TABLE support_tickets ADD COLUMN status_rank INTEGER NOT NULL DEFAULT 1;
UPDATE support_tickets SET
    priority_rank = CASE priority WHEN 'LOW' THEN 1 WHEN 'MEDIUM' THEN 2 WHEN 'HIGH' THEN 3 ELSE 4 END,
    status_rank = CASE status WHEN 'NEW' THEN 1 WHEN 'IN_PROGRESS' THEN 2 WHEN 'WAITING_ON_CLIENT' THEN 3 WHEN 'RESOLVED' THEN 4 ELSE 5 END;
CREATE INDEX support_tickets_priority_rank ON support_tickets (tenant_id, priority_rank, id);
CREATE INDEX support_tickets_status_rank ON support_tickets (tenant_id, status_rank, id);
