-- Files attached to tickets (the bytes live in the file store under attachments/<tenant>/<id>),
-- and which timeline entries are for staff only (internal notes and internal attachments).
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
