-- Operations: jobs (work orders), their steps and their crew.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    -- The accepted quote the job was made from; a quote makes at most one job.
    quote_id TEXT REFERENCES quotes (id),
    location_id TEXT,
    status TEXT NOT NULL,
    contact_name TEXT,
    on_site_phone TEXT,
    origin TEXT,
    destination TEXT,
    -- Null until a dispatcher plans the job (a job made from a quote without a service date).
    planned_start TIMESTAMP,
    planned_end TIMESTAMP,
    estimated_minutes INTEGER,
    crew_size INTEGER,
    notes TEXT NOT NULL DEFAULT '',
    currency TEXT,
    items TEXT NOT NULL DEFAULT '[]',
    total_minor BIGINT,
    actual_minutes INTEGER,
    dispatched_at TIMESTAMP,
    started_at TIMESTAMP,
    completed_at TIMESTAMP,
    cancelled_at TIMESTAMP,
    cancel_reason TEXT,
    -- The follow-up task raised when the job completed (once).
    follow_up_task_id TEXT,
    created_by TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    CHECK (planned_end > planned_start)
);
CREATE UNIQUE INDEX jobs_quote ON jobs (tenant_id, quote_id);
CREATE INDEX jobs_customer ON jobs (tenant_id, customer_id, id);
CREATE INDEX jobs_window ON jobs (tenant_id, planned_start, id);
CREATE INDEX jobs_location ON jobs (tenant_id, location_id, planned_start);
CREATE INDEX jobs_status ON jobs (tenant_id, status, id);

-- Who or what works a job. A person today (`resource_kind` USER, `user_id` set); vehicles and
-- equipment join with their own kind and `resource_id`.
CREATE TABLE job_crew (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    job_id TEXT NOT NULL REFERENCES jobs (id),
    resource_kind TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    user_id TEXT,
    lead BOOLEAN NOT NULL DEFAULT FALSE,
    assigned_by TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX job_crew_resource ON job_crew (tenant_id, job_id, resource_kind, resource_id);
CREATE UNIQUE INDEX job_crew_lead ON job_crew (tenant_id, job_id) WHERE lead;
CREATE INDEX job_crew_user ON job_crew (tenant_id, user_id, job_id);

-- A job's steps (load, drive, unload, ...), in order.
CREATE TABLE job_steps (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    job_id TEXT NOT NULL REFERENCES jobs (id),
    position INTEGER NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    started_at TIMESTAMP,
    ended_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX job_steps_position ON job_steps (tenant_id, job_id, position);

-- What a phone on site reported: a status or step change, a note, a position, attachments.
CREATE TABLE field_updates (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    job_id TEXT NOT NULL REFERENCES jobs (id),
    author_id TEXT,
    status TEXT,
    step_id TEXT REFERENCES job_steps (id),
    step_status TEXT,
    note TEXT,
    latitude DOUBLE PRECISION,
    longitude DOUBLE PRECISION,
    accuracy_meters DOUBLE PRECISION,
    attachments TEXT NOT NULL DEFAULT '[]',
    recorded_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX field_updates_job ON field_updates (tenant_id, job_id, created_at);

-- A tenant's operations settings: the follow-up task a completed job raises (none if null).
CREATE TABLE operations_settings (
    tenant_id TEXT PRIMARY KEY,
    job_follow_up TEXT,
    job_follow_up_days INTEGER NOT NULL DEFAULT 1,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
