//! The support desk's tables. Only this crate writes them.

diesel::table! {
    support_tickets (id) {
        id -> Text,
        tenant_id -> Text,
        number -> Integer,
        subject -> Text,
        description -> Text,
        status -> Text,
        priority -> Text,
        requester_id -> Text,
        assignee_id -> Nullable<Text>,
        customer_id -> Nullable<Text>,
        job_id -> Nullable<Text>,
        tags -> Text,
        reply_token -> Text,
        search_text -> Text,
        first_response_at -> Nullable<Timestamp>,
        resolved_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
        first_response_due_at -> Timestamp,
        resolution_due_at -> Timestamp,
        due_at -> Timestamp,
        sla_breached -> Bool,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
        metadata -> Text,
        priority_rank -> Integer,
        status_rank -> Integer,
    }
}

diesel::table! {
    support_ticket_activities (id) {
        id -> Text,
        tenant_id -> Text,
        ticket_id -> Text,
        kind -> Text,
        author_id -> Nullable<Text>,
        body -> Nullable<Text>,
        from_value -> Nullable<Text>,
        to_value -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
        internal -> Bool,
    }
}

diesel::table! {
    support_ticket_attachments (id) {
        id -> Text,
        tenant_id -> Text,
        ticket_id -> Text,
        file_name -> Text,
        content_type -> Text,
        size_bytes -> BigInt,
        internal -> Bool,
        author_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    support_ticket_numbers (tenant_id) {
        tenant_id -> Text,
        last_number -> Integer,
    }
}

diesel::table! {
    support_slas (tenant_id, priority) {
        tenant_id -> Text,
        priority -> Text,
        first_response_minutes -> Integer,
        resolution_minutes -> Integer,
    }
}

diesel::joinable!(support_ticket_activities -> support_tickets (ticket_id));
diesel::joinable!(support_ticket_attachments -> support_tickets (ticket_id));
diesel::allow_tables_to_appear_in_same_query!(
    support_tickets,
    support_ticket_activities,
    support_ticket_attachments
);
