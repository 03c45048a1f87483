//! Scheduling's tables. Only this crate writes them.

diesel::table! {
    time_off (id) {
        id -> Text,
        tenant_id -> Text,
        user_id -> Text,
        kind -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        note -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    working_hours (tenant_id, location_id, weekday) {
        tenant_id -> Text,
        location_id -> Text,
        weekday -> Integer,
        starts -> Text,
        ends -> Text,
    }
}

diesel::table! {
    schedule_overrides (id) {
        id -> Text,
        tenant_id -> Text,
        job_id -> Text,
        user_id -> Text,
        conflicts -> Text,
        reason -> Text,
        overridden_by -> Nullable<Text>,
        created_at -> Timestamp,
    }
}
