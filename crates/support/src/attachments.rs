//! Files attached to tickets: a client's screenshot, an agent's invoice copy, or a file for
//! staff only (`internal`), which clients never see, like internal notes. Uploaded with the
//! GraphQL multipart request spec (`attachToTicket`), checked by the kernel's file rules
//! (`switchyard_kernel::files`), kept in the file store under `attachments/<tenant>/<id>`
//! (never the client's file name), and downloaded through a short-lived signed link
//! (`downloadUrl`) that opens only while its holder still sees the attachment.

use async_graphql::{Context, ID, InputObject, Object};
use chrono::NaiveDateTime;
use switchyard_identity::User;
use switchyard_kernel::files::Upload;
use switchyard_kernel::policy::Require;
use switchyard_kernel::read::aggregate;
use switchyard_kernel::validate::check_version;
use switchyard_kernel::{
    Caller, ContextExt, Error, Rejection, Services, TenantId, UserErrorCode, UserId, payload, time,
    write,
};

use crate::activities::Entry;
use crate::permissions::{TICKET_READ, TICKET_REPLY, TICKET_WORK};
use crate::tickets::events::TicketAttached;
use crate::tickets::mutations::{open, store};
use crate::tickets::{Ticket, TicketId};

pub use crate::ids::TicketAttachmentId;

switchyard_kernel::aggregate! {
    /// A file attached to a ticket.
    #[aggregate(
        table = crate::schema::support_ticket_attachments,
        id = TicketAttachmentId,
        read = TICKET_READ,
        scope = crate::scope::activities,
        order(created_at, desc),
        one(name = ticket_attachment, doc = "A ticket's attachment by ID."),
    )]
    pub struct TicketAttachment {
        /// The ticket, if you may see it.
        #[field(to_one = Ticket, filter)]
        ticket_id: TicketId,
        /// The file's name as it was uploaded (checked: no path separators or control
        /// characters).
        file_name: String,
        /// The media type, judged from the file's bytes.
        content_type: String,
        size_bytes: i64,
        /// For staff only: clients never see it.
        internal: bool,
        /// Who attached it.
        #[field(to_one = User)]
        author_id: Option<UserId>,
        created_at: NaiveDateTime,
        updated_at: NaiveDateTime,
        version: i32,
    }

    impl TicketAttachment {
        /// A link that downloads the file for you, valid for a few minutes
        /// (`files_link_ttl_secs`); ask again for a fresh one. It opens only while you may
        /// still see the attachment.
        async fn download_url(&self, ctx: &async_graphql::Context<'_>) -> async_graphql::Result<String> {
            let caller = ctx.caller()?;
            let user = caller.user_id().ok_or_else(|| Error::forbidden("downloads are for signed-in people"))?;
            let object = self.row().id.to_global();
            Ok(ctx.services()?.files.link(caller.tenant_id, user, &object))
        }
    }
}

/// Where an attachment's bytes are kept in the file store.
pub fn storage_key(tenant: TenantId, id: TicketAttachmentId) -> String {
    format!("attachments/{tenant}/{id}")
}

/// A file to attach.
#[derive(InputObject)]
pub struct AttachToTicketInput {
    pub ticket_id: ID,
    /// The file: a part of the multipart request that `map` points here.
    pub file: Upload,
    /// For staff only (needs `support.ticket:work`); clients never see it.
    #[graphql(default = false)]
    pub internal: bool,
    pub expected_version: Option<i32>,
}

payload!(
    /// The result of `attachToTicket`.
    TicketAttachmentPayload { attachment: TicketAttachment } from row
);

#[derive(Default)]
pub struct AttachmentMutation;

#[Object]
impl AttachmentMutation {
    /// Attaches a file to a ticket you may reply on (not a CLOSED one), by the GraphQL
    /// multipart request spec. The file's name, size and type (judged from its bytes) are
    /// checked (`files_max_bytes`, `files_types`); a refused file leaves nothing stored.
    #[graphql(directive = Require::apply(TICKET_REPLY))]
    async fn attach_to_ticket(
        &self,
        ctx: &Context<'_>,
        input: AttachToTicketInput,
    ) -> async_graphql::Result<TicketAttachmentPayload> {
        let caller = ctx.caller()?;
        let files = ctx.services()?.files.clone();
        let accepted = input
            .file
            .file(ctx, "input.file")
            .and_then(|file| files.accept(file, "input.file"));
        let accepted = match accepted {
            Ok(accepted) => accepted,
            Err(refused) => {
                return TicketAttachmentPayload::of::<TicketAttachmentRow>(Err(refused));
            }
        };
        if input.internal && !caller.has(TICKET_WORK) {
            return TicketAttachmentPayload::of::<TicketAttachmentRow>(Err(Rejection::invalid(
                "input.internal",
                UserErrorCode::NotAllowed,
                "only staff who work tickets attach files for staff only",
            )));
        }
        let id = TicketAttachmentId::new();
        let key = storage_key(caller.tenant_id, id);
        // The bytes first, outside the transaction (a slow store holds no lock); a refusal or
        // a failed commit removes them again, so nothing is left behind.
        files.put(&key, accepted.bytes.clone()).await?;
        let outcome = ctx
            .mutate(async |tx| {
                let before = open(tx, caller, TICKET_REPLY, &input.ticket_id).await?;
                check_version(input.expected_version, before.version)?;
                let now = time::now();
                let row = TicketAttachmentRow {
                    id,
                    tenant_id: caller.tenant_id,
                    ticket_id: before.id,
                    file_name: accepted.name.clone(),
                    content_type: accepted.content_type.clone(),
                    size_bytes: accepted.bytes.len() as i64,
                    internal: input.internal,
                    author_id: caller.user_id(),
                    created_at: now,
                    updated_at: now,
                    version: 1,
                };
                let row = write::insert::<TicketAttachment>(tx, row).await?;
                let entries = vec![Entry::attached(
                    &row.file_name,
                    id.to_global().to_string(),
                    row.internal,
                )];
                store(
                    tx,
                    caller,
                    &before,
                    before.clone(),
                    entries,
                    TicketAttached::of,
                )
                .await?;
                Ok(row)
            })
            .await;
        if outcome.is_err()
            && let Err(error) = files.delete(&key).await
        {
            tracing::error!(?error, %key, "a refused attachment's file was not removed");
        }
        TicketAttachmentPayload::of(outcome)
    }
}

/// The attachment a download link names, if `caller` sees it now: its row and where its bytes
/// are kept.
pub async fn download(
    services: &Services,
    caller: &Caller,
    id: &str,
) -> Result<(TicketAttachmentRow, String), Error> {
    let id = TicketAttachmentId::from_global(id).ok_or(Error::NotFound)?;
    caller.require(TICKET_READ)?;
    let mut pooled = services.db.read().await?;
    let row =
        aggregate::find_in::<TicketAttachment>(&mut pooled.conn(), caller, TICKET_READ, id).await?;
    let key = storage_key(row.tenant_id, row.id);
    Ok((row, key))
}
