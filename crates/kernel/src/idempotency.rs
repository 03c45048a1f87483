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

/// Claims `key` for the create of `id`, first thing in its transaction, in one call: `None`
/// when this request holds the key now (and with it the ID it is about to create: it creates
/// under that ID and is done; a rollback releases the claim), or the ID the earlier request
/// with the same key created, to answer instead. Without a key, `None`.
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
    key: Option<&str>,
    id: impl std::fmt::Display,
) -> Result<Option<String>, Error> {
    let Some(key) = key else {
        return Ok(None);
    };
    let key = scoped_key(caller, key)?;
    let key = key.as_str();
    let tenant = caller.tenant_id.to_string();
    let id = id.to_string();
    let row = (
        keys::tenant_id.eq(&tenant),
        keys::operation.eq(operation),
        keys::idempotency_key.eq(key),
        keys::result_id.eq(&id),
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
    Ok(Some(earlier))
}
