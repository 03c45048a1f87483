//! The kernel's tables: audit log, outbox, idempotency keys. Domain crates declare their own
//! tables in their own `schema.rs`, so only the owning crate can name (and write) them.

diesel::table! {
    audit_log (id) {
        id -> Text,
        tenant_id -> Text,
        actor_kind -> Text,
        actor_id -> Nullable<Text>,
        action -> Text,
        entity_type -> Text,
        entity_id -> Text,
        before_state -> Nullable<Text>,
        after_state -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    outbox (id) {
        id -> Text,
        tenant_id -> Text,
        event_type -> Text,
        aggregate_type -> Text,
        aggregate_id -> Text,
        payload -> Text,
        actor_id -> Nullable<Text>,
        created_at -> Timestamp,
        dispatched_at -> Nullable<Timestamp>,
        attempts -> Integer,
        last_error -> Nullable<Text>,
        next_attempt_at -> Timestamp,
        event_version -> Integer,
    }
}

diesel::table! {
    idempotency_keys (tenant_id, operation, idempotency_key) {
        tenant_id -> Text,
        operation -> Text,
        idempotency_key -> Text,
        result_id -> Text,
        created_at -> Timestamp,
    }
}
