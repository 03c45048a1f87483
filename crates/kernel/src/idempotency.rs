//! Idempotency keys for creates: a retried request with the same key gets the object the first
//! attempt created instead of a second one. The key is stored in the create's transaction and
//! belongs to the user who sent it (two users' keys never collide).

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::access::Caller;
use crate::db::Conn;
use crate::error::Error;
use crate::schema::idempotency_keys as keys;

/// The longest key accepted.
pub const MAX_KEY: usize = 200;

fn scoped_key(caller: &Caller, key: &str) -> Result<String, Error> {
    if key.is_empty() || key.len() > MAX_KEY {
        return Err(Error::bad_input(
            "input.idempotencyKey",
            format!("an idempotency key has 1 to {MAX_KEY} characters"),
        ));
    }
    let who = match &caller.principal {
        crate::access::Principal::User { id, .. } => format!("user:{id}"),
        crate::access::Principal::ApiKey { id, .. } => format!("api_key:{id}"),
        crate::access::Principal::System => "system".to_owned(),
    };
    Ok(format!("{who}:{key}"))
}

/// The ID created earlier under this key for this operation, if any.
pub async fn find(
    conn: &mut Conn<'_>,
    caller: &Caller,
    operation: &str,
    key: &str,
) -> Result<Option<String>, Error> {
    let key = scoped_key(caller, key)?;
    let key = key.as_str();
    let tenant = caller.tenant_id.to_string();
    Ok(crate::db_run!(conn, |c| keys::table
        .filter(keys::tenant_id.eq(&tenant))
        .filter(keys::operation.eq(operation))
        .filter(keys::idempotency_key.eq(key))
        .select(keys::result_id)
        .first::<String>(c)
        .await
        .optional())?)
}

/// Remembers that `key` created `result_id`.
pub async fn remember(
    conn: &mut Conn<'_>,
    caller: &Caller,
    operation: &str,
    key: &str,
    result_id: &str,
) -> Result<(), Error> {
    let key = scoped_key(caller, key)?;
    let row = (
        keys::tenant_id.eq(caller.tenant_id.to_string()),
        keys::operation.eq(operation),
        keys::idempotency_key.eq(key),
        keys::result_id.eq(result_id),
        keys::created_at.eq(crate::time::now()),
    );
    crate::db_run!(conn, |c| diesel::insert_into(keys::table)
        .values(row)
        .execute(c)
        .await)?;
    Ok(())
}
