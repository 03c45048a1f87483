//! Sales' tables. Only this crate writes them. (`customers.search`, PostgreSQL's generated
//! `tsvector`, and SQLite's `customers_fts` are maintained by the database and used through
//! raw SQL in the customer search.)

diesel::table! {
    sales_settings (tenant_id) {
        tenant_id -> Text,
        currency -> Text,
        tax_rate_bp -> Integer,
        quote_approval_required -> Bool,
        quote_validity_days -> Integer,
        phone_country_code -> Text,
        next_quote_number -> BigInt,
        updated_at -> Timestamp,
        version -> Integer,
        quote_approver_must_differ -> Bool,
    }
}

diesel::table! {
    customers (id) {
        id -> Text,
        tenant_id -> Text,
        location_id -> Nullable<Text>,
        first_name -> Nullable<Text>,
        last_name -> Nullable<Text>,
        company_name -> Nullable<Text>,
        display_name -> Text,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        phone_search -> Text,
        search_text -> Text,
        name_search -> Text,
        address -> Nullable<Text>,
        lead_source -> Nullable<Text>,
        tags -> Text,
        assigned_to -> Nullable<Text>,
        portal_user_id -> Nullable<Text>,
        estimated_value_minor -> Nullable<BigInt>,
        currency -> Nullable<Text>,
        notes -> Text,
        active -> Bool,
        stage -> Text,
        stage_changed_at -> Timestamp,
        merged_into -> Nullable<Text>,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    customer_stage_history (id) {
        id -> Text,
        tenant_id -> Text,
        customer_id -> Text,
        from_stage -> Nullable<Text>,
        to_stage -> Text,
        reason -> Nullable<Text>,
        changed_by -> Nullable<Text>,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    leads (id) {
        id -> Text,
        tenant_id -> Text,
        customer_id -> Text,
        status -> Text,
        priority -> Text,
        score -> Integer,
        source -> Nullable<Text>,
        estimated_move_date -> Nullable<Date>,
        estimated_value_minor -> Nullable<BigInt>,
        currency -> Nullable<Text>,
        follow_up_at -> Nullable<Timestamp>,
        notes -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    sales_activities (id) {
        id -> Text,
        tenant_id -> Text,
        customer_id -> Text,
        lead_id -> Nullable<Text>,
        owner_id -> Text,
        kind -> Text,
        subject -> Text,
        description -> Text,
        outcome -> Nullable<Text>,
        next_action -> Nullable<Text>,
        duration_minutes -> Nullable<Integer>,
        occurred_at -> Timestamp,
        follow_up_at -> Nullable<Timestamp>,
        follow_up_task_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    tasks (id) {
        id -> Text,
        tenant_id -> Text,
        kind -> Text,
        title -> Text,
        status -> Text,
        due_at -> Nullable<Timestamp>,
        customer_id -> Nullable<Text>,
        activity_id -> Nullable<Text>,
        assignee_id -> Nullable<Text>,
        queue -> Nullable<Text>,
        created_by -> Nullable<Text>,
        completed_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    task_events (id) {
        id -> Text,
        tenant_id -> Text,
        task_id -> Text,
        action -> Text,
        from_assignee -> Nullable<Text>,
        to_assignee -> Nullable<Text>,
        from_queue -> Nullable<Text>,
        to_queue -> Nullable<Text>,
        actor_id -> Nullable<Text>,
        note -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    quotes (id) {
        id -> Text,
        tenant_id -> Text,
        customer_id -> Text,
        quote_group_id -> Text,
        number -> Text,
        revision -> Integer,
        status -> Text,
        currency -> Text,
        tax_rate_bp -> Integer,
        subtotal_minor -> BigInt,
        tax_minor -> BigInt,
        total_minor -> BigInt,
        optional_minor -> BigInt,
        cost_minor -> Nullable<BigInt>,
        valid_until -> Timestamp,
        notes -> Text,
        terms -> Text,
        created_by -> Text,
        approved_by -> Nullable<Text>,
        approved_at -> Nullable<Timestamp>,
        sent_at -> Nullable<Timestamp>,
        viewed_at -> Nullable<Timestamp>,
        accepted_at -> Nullable<Timestamp>,
        accepted_by -> Nullable<Text>,
        rejected_at -> Nullable<Timestamp>,
        rejection_reason -> Nullable<Text>,
        expired_at -> Nullable<Timestamp>,
        superseded_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    quote_items (id) {
        id -> Text,
        tenant_id -> Text,
        quote_id -> Text,
        description -> Text,
        quantity -> Integer,
        unit_price_minor -> BigInt,
        unit_cost_minor -> Nullable<BigInt>,
        category -> Text,
        optional -> Bool,
        sort_order -> Integer,
        line_total_minor -> BigInt,
    }
}

diesel::joinable!(customer_stage_history -> customers (customer_id));
diesel::joinable!(leads -> customers (customer_id));
diesel::joinable!(sales_activities -> customers (customer_id));
diesel::joinable!(tasks -> customers (customer_id));
diesel::joinable!(task_events -> tasks (task_id));
diesel::joinable!(quotes -> customers (customer_id));
diesel::joinable!(quote_items -> quotes (quote_id));

diesel::allow_tables_to_appear_in_same_query!(
    sales_settings,
    customers,
    customer_stage_history,
    leads,
    sales_activities,
    tasks,
    task_events,
    quotes,
    quote_items,
    quote_template_items,
    bookings,
);

diesel::table! {
    quote_template_items (id) {
        id -> Text,
        tenant_id -> Text,
        service -> Text,
        description -> Text,
        basis -> Text,
        quantity -> Integer,
        unit_price_minor -> Nullable<BigInt>,
        currency -> Nullable<Text>,
        active -> Bool,
        sort_order -> Integer,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    bookings (id) {
        id -> Text,
        tenant_id -> Text,
        reference -> Text,
        customer_id -> Text,
        lead_id -> Text,
        quote_id -> Text,
        task_id -> Nullable<Text>,
        location_id -> Nullable<Text>,
        assigned_to -> Nullable<Text>,
        move_date -> Date,
        origin -> Text,
        destination -> Text,
        rooms -> Nullable<Integer>,
        volume_m3 -> Nullable<Integer>,
        services -> Text,
        message -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}
