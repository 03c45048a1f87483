//! A ticket's custom fields (`metadata`): string values under short keys, such as the order
//! number a partner's system files a ticket under. Staff who work tickets set, read and filter
//! by them (`setTicketMetadata`, `createTicket`'s `metadata`, the `metadata` filter); clients
//! see none. Each change is an internal timeline entry (METADATA_CHANGED, before and after).

use std::collections::BTreeMap;

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use switchyard_kernel::db::sql::Sql;
use switchyard_kernel::policy::{Inherit, Require};
use switchyard_kernel::validate::{Check, check_version};
use switchyard_kernel::{Caller, ContextExt, Error, UserErrorCode};

use super::events::TicketMetadataChanged;
use super::mutations::{TicketPayload, open, store};
use crate::activities::{Entry, TicketActivityKind};
use crate::permissions::TICKET_WORK;

/// Most custom fields on one ticket.
const MAX_ENTRIES: usize = 50;
const MAX_KEY: usize = 64;
const MAX_VALUE: usize = 1_000;

/// One custom field.
#[derive(SimpleObject)]
#[graphql(directive = Inherit::apply())]
pub struct TicketMetadataEntry {
    pub key: String,
    pub value: String,
}

/// A custom field to set.
#[derive(InputObject)]
pub struct TicketMetadataInput {
    /// Letters, digits, `_`, `-` and `.`; at most 64.
    pub key: String,
    /// At most 1,000 characters; null removes the field.
    pub value: Option<String>,
}

/// Tickets whose custom field `key` is exactly `value`.
#[derive(InputObject, Debug, Clone)]
pub struct TicketMetadataFilter {
    pub key: String,
    pub value: String,
}

/// Custom fields to set or remove on a ticket; the others stay as they are.
#[derive(InputObject)]
pub struct SetTicketMetadataInput {
    pub ticket_id: ID,
    pub entries: Vec<TicketMetadataInput>,
    pub expected_version: Option<i32>,
}

/// The stored fields (a JSON object of strings).
pub(crate) fn parse(stored: &str) -> BTreeMap<String, String> {
    serde_json::from_str(stored).unwrap_or_default()
}

/// The fields as `caller` may read them: all for staff who work tickets, none for others.
pub(crate) fn visible(caller: &Caller, stored: &str) -> Vec<TicketMetadataEntry> {
    if !caller.has(TICKET_WORK) {
        return Vec::new();
    }
    parse(stored)
        .into_iter()
        .map(|(key, value)| TicketMetadataEntry { key, value })
        .collect()
}

fn is_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_KEY
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Applies `entries` (at `path`) to `fields`, adding what is wrong to `check`.
pub(crate) fn apply(
    check: &mut Check,
    path: &str,
    fields: &mut BTreeMap<String, String>,
    entries: &[TicketMetadataInput],
) {
    for (i, entry) in entries.iter().enumerate() {
        let key = entry.key.trim();
        if !is_key(key) {
            check.add(
                &format!("{path}.{i}.key"),
                UserErrorCode::InvalidFormat,
                format!("a key is 1 to {MAX_KEY} letters, digits, `_`, `-` or `.`"),
            );
            continue;
        }
        match &entry.value {
            None => {
                fields.remove(key);
            }
            Some(value) => {
                check.max_len(&format!("{path}.{i}.value"), value, MAX_VALUE);
                fields.insert(key.to_owned(), value.clone());
            }
        }
    }
    if fields.len() > MAX_ENTRIES {
        check.add(
            path,
            UserErrorCode::OutOfRange,
            format!("a ticket has at most {MAX_ENTRIES} custom fields"),
        );
    }
}

/// The `metadata` filter: the field `key` equals `value` (JSON on both backends).
pub(crate) fn condition(caller: &Caller, wanted: &TicketMetadataFilter) -> Result<Sql, Error> {
    if !caller.has(TICKET_WORK) {
        return Err(Error::forbidden(
            "only staff who work tickets filter by custom fields",
        ));
    }
    let key = wanted.key.trim();
    if !is_key(key) {
        return Ok(Sql::new("1 = 0"));
    }
    let mut pg = Sql::new("(t.metadata::jsonb ->> ");
    pg.bind(key.to_owned())
        .push(") = ")
        .bind(wanted.value.clone());
    let mut sqlite = Sql::new("json_extract(t.metadata, ");
    sqlite
        .bind(format!("$.\"{key}\""))
        .push(") = ")
        .bind(wanted.value.clone());
    let mut sql = Sql::new("");
    sql.either(pg, sqlite);
    Ok(sql)
}

#[derive(Default)]
pub struct MetadataMutation;

#[Object]
impl MetadataMutation {
    /// Sets or removes custom fields of a ticket you work.
    #[graphql(directive = Require::apply(TICKET_WORK))]
    async fn set_ticket_metadata(
        &self,
        ctx: &Context<'_>,
        input: SetTicketMetadataInput,
    ) -> async_graphql::Result<TicketPayload> {
        let caller = ctx.caller()?;
        let outcome = ctx
            .mutate(async |tx| {
                let before = open(tx, caller, TICKET_WORK, &input.ticket_id).await?;
                check_version(input.expected_version, before.version)?;
                let mut fields = parse(&before.metadata);
                let mut check = Check::new();
                apply(&mut check, "input.entries", &mut fields, &input.entries);
                check.finish()?;
                let after = serde_json::to_string(&fields).map_err(Error::internal)?;
                if after == before.metadata {
                    return Ok(before);
                }
                let mut row = before.clone();
                row.metadata = after.clone();
                let entries = vec![Entry {
                    kind: TicketActivityKind::MetadataChanged,
                    body: None,
                    from: Some(before.metadata.clone()),
                    to: Some(after),
                    internal: true,
                }];
                store(tx, caller, &before, row, entries, TicketMetadataChanged::of).await
            })
            .await;
        TicketPayload::of(outcome)
    }
}
