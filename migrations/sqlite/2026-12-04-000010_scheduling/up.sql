-- Scheduling: time off, working hours, and the conflicts a dispatcher overrode.
CREATE TABLE time_off (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    created_by TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    CHECK (ends_at > starts_at)
);
CREATE INDEX time_off_user ON time_off (tenant_id, user_id, starts_at);
CREATE INDEX time_off_window ON time_off (tenant_id, starts_at);

-- A location's working week, in its own time zone: one row per weekday it works (1 = Monday).
CREATE TABLE working_hours (
    tenant_id TEXT NOT NULL,
    location_id TEXT NOT NULL,
    weekday INTEGER NOT NULL,
    starts TEXT NOT NULL,
    ends TEXT NOT NULL,
    PRIMARY KEY (tenant_id, location_id, weekday)
);

-- Conflicts a holder of the override permission accepted, with who and why.
CREATE TABLE schedule_overrides (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    job_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    conflicts TEXT NOT NULL,
    reason TEXT NOT NULL,
    overridden_by TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX schedule_overrides_job ON schedule_overrides (tenant_id, job_id);
