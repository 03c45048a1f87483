//! Notifications' tables. Only this crate writes them.

diesel::table! {
    notifications (id) {
        id -> Text,
        tenant_id -> Text,
        user_id -> Text,
        kind -> Text,
        title -> Text,
        body -> Text,
        subject_type -> Nullable<Text>,
        subject_id -> Nullable<Text>,
        dedupe_key -> Nullable<Text>,
        read_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    notification_messages (id) {
        id -> Text,
        tenant_id -> Text,
        notification_id -> Nullable<Text>,
        user_id -> Nullable<Text>,
        customer_id -> Nullable<Text>,
        channel -> Text,
        recipient -> Text,
        subject -> Text,
        body -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claimed_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        provider_id -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    notification_preferences (tenant_id, user_id, kind) {
        tenant_id -> Text,
        user_id -> Text,
        kind -> Text,
        channels -> Text,
    }
}

diesel::table! {
    notification_settings (tenant_id, user_id) {
        tenant_id -> Text,
        user_id -> Text,
        language -> Text,
        phone -> Nullable<Text>,
        quiet_starts -> Nullable<Text>,
        quiet_ends -> Nullable<Text>,
    }
}

diesel::table! {
    message_templates (tenant_id, kind, language) {
        tenant_id -> Text,
        kind -> Text,
        language -> Text,
        subject -> Text,
        body -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    reminders (id) {
        id -> Text,
        tenant_id -> Text,
        subject_type -> Text,
        subject_id -> Text,
        user_id -> Nullable<Text>,
        customer_id -> Nullable<Text>,
        lead_minutes -> Integer,
        starts_at -> Timestamp,
        due_at -> Timestamp,
        title -> Text,
        time_zone -> Text,
        claimed_until -> Nullable<Timestamp>,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    reminder_offsets (tenant_id) {
        tenant_id -> Text,
        minutes -> Text,
        customer_minutes -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(notifications, notification_messages);
