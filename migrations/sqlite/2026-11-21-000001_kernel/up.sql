-- Kernel tables: audit log, outbox of domain events, idempotency keys.
CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT,
    action TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    before_state TEXT,
    after_state TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX audit_log_entity ON audit_log (tenant_id, entity_type, entity_id, id);

CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    aggregate_type TEXT NOT NULL,
    aggregate_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    actor_id TEXT,
    created_at TIMESTAMP NOT NULL,
    dispatched_at TIMESTAMP,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    next_attempt_at TIMESTAMP NOT NULL
);
CREATE INDEX outbox_tenant ON outbox (tenant_id, id);
CREATE INDEX outbox_pending ON outbox (next_attempt_at, id) WHERE dispatched_at IS NULL;

CREATE TABLE idempotency_keys (
    tenant_id TEXT NOT NULL,
    operation TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    result_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, operation, idempotency_key)
);
