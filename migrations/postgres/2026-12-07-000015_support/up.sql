-- The support desk: tickets, their timelines, and each tenant's last ticket number.
CREATE TABLE support_tickets (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    number INTEGER NOT NULL,
    subject TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL,
    priority TEXT NOT NULL,
    requester_id TEXT NOT NULL,
    assignee_id TEXT,
    customer_id TEXT,
    job_id TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    reply_token TEXT NOT NULL,
    search_text TEXT NOT NULL DEFAULT '',
    first_response_at TIMESTAMP,
    resolved_at TIMESTAMP,
    closed_at TIMESTAMP,
    first_response_due_at TIMESTAMP NOT NULL,
    resolution_due_at TIMESTAMP NOT NULL,
    due_at TIMESTAMP NOT NULL,
    sla_breached BOOLEAN NOT NULL DEFAULT FALSE,
    created_by TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, number)
);
CREATE INDEX support_tickets_created ON support_tickets (tenant_id, created_at, id);
CREATE INDEX support_tickets_updated ON support_tickets (tenant_id, updated_at, id);
CREATE INDEX support_tickets_requester ON support_tickets (tenant_id, requester_id, created_at);
CREATE INDEX support_tickets_assignee ON support_tickets (tenant_id, assignee_id, created_at);
CREATE INDEX support_tickets_status ON support_tickets (tenant_id, status, created_at);
CREATE INDEX support_tickets_due ON support_tickets (tenant_id, due_at, id);
-- Replies by email find their ticket by the token in the reply address (random, unique).
CREATE UNIQUE INDEX support_tickets_reply_token ON support_tickets (reply_token);
-- Full-text search on subject and description (`search_text` is written by the application,
-- lower-cased and without diacritics).
ALTER TABLE support_tickets ADD COLUMN search tsvector GENERATED ALWAYS AS (
    to_tsvector('simple', search_text)
) STORED;
CREATE INDEX support_tickets_search ON support_tickets USING GIN (search);

CREATE TABLE support_ticket_activities (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    ticket_id TEXT NOT NULL REFERENCES support_tickets (id),
    kind TEXT NOT NULL,
    author_id TEXT,
    body TEXT,
    from_value TEXT,
    to_value TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX support_ticket_activities_ticket ON support_ticket_activities (tenant_id, ticket_id, created_at, id);
CREATE INDEX support_ticket_activities_created ON support_ticket_activities (tenant_id, created_at, id);

-- Service-level targets per priority, in minutes from a ticket's opening; a priority without
-- a row uses the built-in targets.
CREATE TABLE support_slas (
    tenant_id TEXT NOT NULL,
    priority TEXT NOT NULL,
    first_response_minutes INTEGER NOT NULL,
    resolution_minutes INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, priority)
);

-- Ticket numbers are taken from here in the creating transaction: #1001, #1002, ... per
-- tenant, without gaps (a rolled-back creation gives its number back) or duplicates (the row
-- is locked until the creation commits).
CREATE TABLE support_ticket_numbers (
    tenant_id TEXT PRIMARY KEY,
    last_number INTEGER NOT NULL
);
