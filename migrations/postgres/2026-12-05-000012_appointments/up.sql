-- Appointments (site visits, meetings, maintenance blocks), once or recurring by an RFC 5545
-- RRULE; a person's own working week; the follow-up a completed appointment raises, per kind.
CREATE TABLE appointments (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    location_id TEXT,
    user_id TEXT,
    customer_id TEXT,
    job_id TEXT,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    recurrence TEXT,
    time_zone TEXT NOT NULL,
    series_ends_at TIMESTAMP NOT NULL,
    status TEXT NOT NULL,
    notes TEXT NOT NULL DEFAULT '',
    follow_up_task_id TEXT,
    completed_at TIMESTAMP,
    cancelled_at TIMESTAMP,
    created_by TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    CHECK (ends_at > starts_at),
    CHECK (series_ends_at >= ends_at)
);
CREATE INDEX appointments_user ON appointments (tenant_id, user_id, series_ends_at);
CREATE INDEX appointments_window ON appointments (tenant_id, series_ends_at, starts_at);

-- A person's own working week (1 = Monday), judged in the time zone of the location the work
-- is at; without one, the location's week holds.
CREATE TABLE user_working_hours (
    tenant_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    weekday INTEGER NOT NULL,
    starts TEXT NOT NULL,
    ends TEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, weekday)
);

CREATE TABLE appointment_follow_ups (
    tenant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    days INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, kind)
);

-- Overrides are kept for appointments as well as jobs.
ALTER TABLE schedule_overrides RENAME COLUMN job_id TO entry_id;
ALTER TABLE schedule_overrides ADD COLUMN entry_kind TEXT NOT NULL DEFAULT 'JOB';

-- What people can do (PIANO, HEAVY_GOODS_LICENCE, PACKING...) and what a job needs: crew
-- suggestions rank by them.
CREATE TABLE user_skills (
    tenant_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    skill TEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, skill)
);
CREATE TABLE job_skills (
    tenant_id TEXT NOT NULL,
    job_id TEXT NOT NULL,
    skill TEXT NOT NULL,
    PRIMARY KEY (tenant_id, job_id, skill)
);
