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
        entry_id -> Text,
        user_id -> Text,
        conflicts -> Text,
        reason -> Text,
        overridden_by -> Nullable<Text>,
        created_at -> Timestamp,
        entry_kind -> Text,
    }
}

diesel::table! {
    appointments (id) {
        id -> Text,
        tenant_id -> Text,
        kind -> Text,
        title -> Text,
        location_id -> Nullable<Text>,
        user_id -> Nullable<Text>,
        customer_id -> Nullable<Text>,
        job_id -> Nullable<Text>,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        recurrence -> Nullable<Text>,
        time_zone -> Text,
        series_ends_at -> Timestamp,
        status -> Text,
        notes -> Text,
        follow_up_task_id -> Nullable<Text>,
        completed_at -> Nullable<Timestamp>,
        cancelled_at -> Nullable<Timestamp>,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    user_working_hours (tenant_id, user_id, weekday) {
        tenant_id -> Text,
        user_id -> Text,
        weekday -> Integer,
        starts -> Text,
        ends -> Text,
    }
}

diesel::table! {
    appointment_follow_ups (tenant_id, kind) {
        tenant_id -> Text,
        kind -> Text,
        title -> Text,
        days -> Integer,
    }
}

diesel::table! {
    user_skills (tenant_id, user_id, skill) {
        tenant_id -> Text,
        user_id -> Text,
        skill -> Text,
    }
}

diesel::table! {
    job_skills (tenant_id, job_id, skill) {
        tenant_id -> Text,
        job_id -> Text,
        skill -> Text,
    }
}
