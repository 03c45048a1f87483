//! Identity's tables. Only this crate writes them.

diesel::table! {
    tenants (id) {
        id -> Text,
        name -> Text,
        slug -> Text,
        settings -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    locations (id) {
        id -> Text,
        tenant_id -> Text,
        name -> Text,
        time_zone -> Text,
        address -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        tenant_id -> Text,
        email -> Text,
        name -> Text,
        kind -> Text,
        status -> Text,
        password_hash -> Nullable<Text>,
        invitation_hash -> Nullable<Text>,
        invitation_expires_at -> Nullable<Timestamp>,
        last_login_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    user_locations (tenant_id, user_id, location_id) {
        tenant_id -> Text,
        user_id -> Text,
        location_id -> Text,
    }
}

diesel::table! {
    roles (id) {
        id -> Text,
        tenant_id -> Text,
        key -> Text,
        name -> Text,
        description -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    role_permissions (tenant_id, role_id, permission) {
        tenant_id -> Text,
        role_id -> Text,
        permission -> Text,
        scope -> Text,
    }
}

diesel::table! {
    user_roles (tenant_id, user_id, role_key) {
        tenant_id -> Text,
        user_id -> Text,
        role_key -> Text,
    }
}

diesel::table! {
    user_grants (id) {
        id -> Text,
        tenant_id -> Text,
        user_id -> Text,
        permission -> Text,
        scope -> Text,
        expires_at -> Nullable<Timestamp>,
        reason -> Text,
        granted_by -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        tenant_id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        revoked_reason -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        tenant_id -> Text,
        session_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        tenant_id -> Text,
        name -> Text,
        prefix -> Text,
        secret_hash -> Text,
        permissions -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(locations -> tenants (tenant_id));
diesel::joinable!(users -> tenants (tenant_id));
diesel::joinable!(user_locations -> users (user_id));
diesel::joinable!(user_locations -> locations (location_id));
diesel::joinable!(role_permissions -> roles (role_id));
diesel::joinable!(user_roles -> users (user_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(api_keys -> users (created_by));

diesel::allow_tables_to_appear_in_same_query!(
    tenants,
    locations,
    users,
    user_locations,
    roles,
    role_permissions,
    user_roles,
    user_grants,
    sessions,
    refresh_tokens,
    api_keys,
);
