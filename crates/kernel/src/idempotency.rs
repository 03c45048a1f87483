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

/// Claims `key` for this create, first thing in its transaction: `None` when this request
/// holds it now (it creates, then calls [`remember`] before it commits), or the ID the earlier
/// request with the same key created, to answer instead.
///
/// The claim is an insert that does nothing on conflict: a concurrent create with the same key
/// waits on PostgreSQL's unique index until the first one ends; if that one committed, the
/// insert does nothing and its result is read; if it rolled back, this one creates. So ten
/// concurrent creates with one key make one object and all ten answer it (SQLite's single
/// writer serialises them anyway).
pub async fn claim(
    conn: &mut Conn<'_>,
    caller: &Caller,
    operation: &str,
    key: &str,
) -> Result<Option<String>, Error> {
    let key = scoped_key(caller, key)?;
    let key = key.as_str();
    let tenant = caller.tenant_id.to_string();
    let row = (
        keys::tenant_id.eq(&tenant),
        keys::operation.eq(operation),
        keys::idempotency_key.eq(key),
        keys::result_id.eq(""),
        keys::created_at.eq(crate::time::now()),
    );
    let claimed = crate::db_run!(conn, |c| diesel::insert_into(keys::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c)
        .await)?;
    if claimed == 1 {
        return Ok(None);
    }
    let earlier: String = crate::db_run!(conn, |c| keys::table
        .filter(keys::tenant_id.eq(&tenant))
        .filter(keys::operation.eq(operation))
        .filter(keys::idempotency_key.eq(key))
        .select(keys::result_id)
        .first::<String>(c)
        .await)?;
    if earlier.is_empty() {
        // Only a create that claimed and committed without remembering leaves this.
        return Err(Error::internal(anyhow::anyhow!(
            "idempotency key {key} of {operation} was claimed without a result"
        )));
    }
    Ok(Some(earlier))
}

/// Records what the create that claimed `key` (see [`claim`]) created.
pub async fn remember(
    conn: &mut Conn<'_>,
    caller: &Caller,
    operation: &str,
    key: &str,
    result_id: &str,
) -> Result<(), Error> {
    let key = scoped_key(caller, key)?;
    let tenant = caller.tenant_id.to_string();
    crate::db_run!(conn, |c| diesel::update(
        keys::table
            .filter(keys::tenant_id.eq(&tenant))
            .filter(keys::operation.eq(operation))
            .filter(keys::idempotency_key.eq(&key))
    )
    .set(keys::result_id.eq(result_id))
    .execute(c)
    .await)?;
    Ok(())
}
