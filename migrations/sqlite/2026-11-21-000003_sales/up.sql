-- Sales: settings, customers (with full-text search), stage history, leads, activities,
-- tasks and their history, quotes and their items.
CREATE TABLE sales_settings (
    tenant_id TEXT PRIMARY KEY,
    currency TEXT NOT NULL,
    tax_rate_bp INTEGER NOT NULL,
    quote_approval_required BOOLEAN NOT NULL,
    quote_validity_days INTEGER NOT NULL,
    phone_country_code TEXT NOT NULL,
    next_quote_number BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE customers (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    location_id TEXT,
    first_name TEXT,
    last_name TEXT,
    company_name TEXT,
    display_name TEXT NOT NULL,
    email TEXT,
    phone TEXT,
    phone_search TEXT NOT NULL DEFAULT '',
    search_text TEXT NOT NULL DEFAULT '',
    name_search TEXT NOT NULL DEFAULT '',
    address TEXT,
    lead_source TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    assigned_to TEXT,
    portal_user_id TEXT,
    estimated_value_minor BIGINT,
    currency TEXT,
    notes TEXT NOT NULL DEFAULT '',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    stage TEXT NOT NULL,
    stage_changed_at TIMESTAMP NOT NULL,
    merged_into TEXT,
    created_by TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX customers_email ON customers (tenant_id, email);
CREATE UNIQUE INDEX customers_phone ON customers (tenant_id, phone);
CREATE INDEX customers_name ON customers (tenant_id, display_name, id);
CREATE INDEX customers_assigned ON customers (tenant_id, assigned_to, id);
CREATE INDEX customers_location ON customers (tenant_id, location_id, id);
CREATE INDEX customers_stage ON customers (tenant_id, stage, id);
CREATE UNIQUE INDEX customers_portal_user ON customers (tenant_id, portal_user_id);

CREATE TABLE customer_stage_history (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    from_stage TEXT,
    to_stage TEXT NOT NULL,
    reason TEXT,
    changed_by TEXT,
    changed_at TIMESTAMP NOT NULL
);
CREATE INDEX customer_stage_history_customer ON customer_stage_history (tenant_id, customer_id, id);

CREATE TABLE leads (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    status TEXT NOT NULL,
    priority TEXT NOT NULL,
    score INTEGER NOT NULL DEFAULT 0,
    source TEXT,
    estimated_move_date DATE,
    estimated_value_minor BIGINT,
    currency TEXT,
    follow_up_at TIMESTAMP,
    notes TEXT NOT NULL DEFAULT '',
    created_by TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX leads_customer ON leads (tenant_id, customer_id, id);
CREATE INDEX leads_status ON leads (tenant_id, status, id);

CREATE TABLE sales_activities (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    lead_id TEXT REFERENCES leads (id),
    owner_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    outcome TEXT,
    next_action TEXT,
    duration_minutes INTEGER,
    occurred_at TIMESTAMP NOT NULL,
    follow_up_at TIMESTAMP,
    follow_up_task_id TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX sales_activities_customer ON sales_activities (tenant_id, customer_id, id);
CREATE INDEX sales_activities_owner ON sales_activities (tenant_id, owner_id, id);

CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    due_at TIMESTAMP,
    customer_id TEXT REFERENCES customers (id),
    activity_id TEXT,
    assignee_id TEXT,
    queue TEXT,
    created_by TEXT,
    completed_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX tasks_assignee ON tasks (tenant_id, assignee_id, status, id);
CREATE INDEX tasks_queue ON tasks (tenant_id, queue, status, id);
CREATE INDEX tasks_customer ON tasks (tenant_id, customer_id, id);

CREATE TABLE task_events (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    task_id TEXT NOT NULL REFERENCES tasks (id),
    action TEXT NOT NULL,
    from_assignee TEXT,
    to_assignee TEXT,
    from_queue TEXT,
    to_queue TEXT,
    actor_id TEXT,
    note TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX task_events_task ON task_events (tenant_id, task_id, id);

CREATE TABLE quotes (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    quote_group_id TEXT NOT NULL,
    number TEXT NOT NULL,
    revision INTEGER NOT NULL,
    status TEXT NOT NULL,
    currency TEXT NOT NULL,
    tax_rate_bp INTEGER NOT NULL,
    subtotal_minor BIGINT NOT NULL,
    tax_minor BIGINT NOT NULL,
    total_minor BIGINT NOT NULL,
    optional_minor BIGINT NOT NULL,
    cost_minor BIGINT,
    valid_until TIMESTAMP NOT NULL,
    notes TEXT NOT NULL DEFAULT '',
    terms TEXT NOT NULL DEFAULT '',
    recipient_user_id TEXT,
    created_by TEXT NOT NULL,
    approved_by TEXT,
    approved_at TIMESTAMP,
    sent_at TIMESTAMP,
    viewed_at TIMESTAMP,
    accepted_at TIMESTAMP,
    accepted_by TEXT,
    rejected_at TIMESTAMP,
    rejection_reason TEXT,
    expired_at TIMESTAMP,
    superseded_by TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX quotes_customer ON quotes (tenant_id, customer_id, id);
CREATE INDEX quotes_status ON quotes (tenant_id, status, valid_until);
CREATE UNIQUE INDEX quotes_number ON quotes (tenant_id, number, revision);
CREATE INDEX quotes_recipient ON quotes (tenant_id, recipient_user_id, id);
CREATE INDEX quotes_expiry ON quotes (valid_until) WHERE status IN ('SENT', 'VIEWED');

CREATE TABLE quote_items (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    quote_id TEXT NOT NULL REFERENCES quotes (id),
    description TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    unit_price_minor BIGINT NOT NULL,
    unit_cost_minor BIGINT,
    category TEXT NOT NULL,
    optional BOOLEAN NOT NULL DEFAULT FALSE,
    sort_order INTEGER NOT NULL,
    line_total_minor BIGINT NOT NULL
);
CREATE INDEX quote_items_quote ON quote_items (tenant_id, quote_id, sort_order);

-- Full-text search on name, email and phone: an FTS5 index kept in step by triggers.
CREATE VIRTUAL TABLE customers_fts USING fts5 (
    customer_id UNINDEXED,
    tenant_id UNINDEXED,
    body,
    tokenize = 'unicode61'
);
CREATE TRIGGER customers_fts_insert AFTER INSERT ON customers BEGIN
    INSERT INTO customers_fts (customer_id, tenant_id, body)
    VALUES (new.id, new.tenant_id, new.search_text);
END;
CREATE TRIGGER customers_fts_update AFTER UPDATE ON customers BEGIN
    DELETE FROM customers_fts WHERE customer_id = old.id;
    INSERT INTO customers_fts (customer_id, tenant_id, body)
    VALUES (new.id, new.tenant_id, new.search_text);
END;
CREATE TRIGGER customers_fts_delete AFTER DELETE ON customers BEGIN
    DELETE FROM customers_fts WHERE customer_id = old.id;
END;
