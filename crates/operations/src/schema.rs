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
    }
}

diesel::joinable!(job_crew -> jobs (job_id));
diesel::allow_tables_to_appear_in_same_query!(jobs, job_crew);
