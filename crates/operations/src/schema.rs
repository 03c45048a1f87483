//! Operations' tables. Only this crate writes them.

diesel::table! {
    jobs (id) {
        id -> Text,
        tenant_id -> Text,
        customer_id -> Text,
        quote_id -> Nullable<Text>,
        location_id -> Nullable<Text>,
        status -> Text,
        contact_name -> Nullable<Text>,
        on_site_phone -> Nullable<Text>,
        origin -> Nullable<Text>,
        destination -> Nullable<Text>,
        planned_start -> Nullable<Timestamp>,
        planned_end -> Nullable<Timestamp>,
        estimated_minutes -> Nullable<Integer>,
        crew_size -> Nullable<Integer>,
        notes -> Text,
        currency -> Nullable<Text>,
        items -> Text,
        total_minor -> Nullable<BigInt>,
        actual_minutes -> Nullable<Integer>,
        dispatched_at -> Nullable<Timestamp>,
        started_at -> Nullable<Timestamp>,
        completed_at -> Nullable<Timestamp>,
        cancelled_at -> Nullable<Timestamp>,
        cancel_reason -> Nullable<Text>,
        follow_up_task_id -> Nullable<Text>,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    job_crew (id) {
        id -> Text,
        tenant_id -> Text,
        job_id -> Text,
        resource_kind -> Text,
        resource_id -> Text,
        user_id -> Nullable<Text>,
        lead -> Bool,
        assigned_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
        planned_start -> Nullable<Timestamp>,
        planned_end -> Nullable<Timestamp>,
    }
}

diesel::table! {
    job_steps (id) {
        id -> Text,
        tenant_id -> Text,
        job_id -> Text,
        position -> Integer,
        kind -> Text,
        title -> Text,
        status -> Text,
        started_at -> Nullable<Timestamp>,
        ended_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    field_updates (id) {
        id -> Text,
        tenant_id -> Text,
        job_id -> Text,
        author_id -> Nullable<Text>,
        status -> Nullable<Text>,
        step_id -> Nullable<Text>,
        step_status -> Nullable<Text>,
        note -> Nullable<Text>,
        latitude -> Nullable<Double>,
        longitude -> Nullable<Double>,
        accuracy_meters -> Nullable<Double>,
        attachments -> Text,
        recorded_at -> Timestamp,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    operations_settings (tenant_id) {
        tenant_id -> Text,
        job_follow_up -> Nullable<Text>,
        job_follow_up_days -> Integer,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::joinable!(job_crew -> jobs (job_id));
diesel::joinable!(job_steps -> jobs (job_id));
diesel::joinable!(field_updates -> jobs (job_id));
diesel::allow_tables_to_appear_in_same_query!(jobs, job_crew, job_steps, field_updates);
