//! Replies by email. Every ticket has a random reply token; its reply address is
//! `ticket+<token>@<support_reply_domain>`. The mail provider posts each inbound message to
//! `POST /hooks/support/email` (the gateway checks the shared secret) as JSON
//! `{"from": "...", "to": ["..."], "text": "..."}`. The message lands on the ticket whose token
//! is in a recipient address, never on one found by its subject, and only when the sender's
//! address is the requester's or the assigned agent's. It is stored as that person's reply,
//! through the same rules as `replyToTicket`.

use std::future::Future;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use rand::Rng;
use serde::Deserialize;
use switchyard_kernel::{Caller, Error, Rejection, Services, TenantId, UserId, db_run};

use crate::permissions::TICKET_REPLY;
use crate::schema::support_tickets as t;
use crate::tickets::TicketId;

/// The domain of reply addresses; empty: no reply addresses.
pub const REPLY_DOMAIN: &str = "support_reply_domain";
/// The bearer token the mail provider posts inbound messages with; empty: the hook is off.
pub const SECRET: &str = "support_inbound_email_secret";

/// A new reply token: 24 random lower-case letters and digits.
pub fn token() -> String {
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(24)
        .map(|c| char::from(c).to_ascii_lowercase())
        .collect()
}

/// The reply address of a ticket's token.
pub fn address(token: &str, domain: &str) -> String {
    format!("ticket+{token}@{domain}")
}

/// An inbound message, as the mail provider's webhook posts it.
#[derive(Debug, Deserialize)]
pub struct InboundEmail {
    /// The sender: `ana@example.com` or `Ana <ana@example.com>`.
    pub from: String,
    /// The recipients.
    pub to: Vec<String>,
    /// The plain-text body.
    pub text: String,
}

/// What became of an inbound message.
#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    /// Stored as a reply on the ticket.
    Stored(TicketId),
    /// Not stored, and why (the provider should not retry).
    Ignored(&'static str),
}

/// The bare address of `Name <address>` or `address`, lower-cased.
fn bare(address: &str) -> String {
    let address = match (address.rfind('<'), address.rfind('>')) {
        (Some(open), Some(close)) if open < close => &address[open + 1..close],
        _ => address,
    };
    address.trim().to_ascii_lowercase()
}

/// The reply token in a recipient address (`ticket+<token>@...`).
fn token_of(address: &str) -> Option<String> {
    let address = bare(address);
    let local = address.split('@').next()?;
    let token = local.strip_prefix("ticket+")?;
    (token.len() == 24 && token.chars().all(|c| c.is_ascii_alphanumeric()))
        .then(|| token.to_owned())
}

/// The new text of a reply: the lines above the quoted message.
pub fn new_text(text: &str) -> String {
    let mut kept = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('>')
            || trimmed.starts_with("-----Original Message-----")
            || (trimmed.starts_with("On ") && trimmed.ends_with("wrote:"))
        {
            break;
        }
        kept.push(line);
    }
    kept.join("\n").trim().to_owned()
}

/// Stores `message` as a reply on the ticket its recipient names, as the sender; `caller_for`
/// builds the caller of a user (the sender's current rights).
pub async fn receive<F, Fut>(
    services: &Services,
    message: &InboundEmail,
    caller_for: F,
) -> Result<Received, Error>
where
    F: FnOnce(TenantId, UserId) -> Fut,
    Fut: Future<Output = Result<Caller, Error>>,
{
    let Some(token) = message.to.iter().find_map(|a| token_of(a)) else {
        return Ok(Received::Ignored(
            "no ticket reply address among the recipients",
        ));
    };
    let mut pooled = services.db.read().await?;
    let mut conn = pooled.conn();
    let found: Option<(TicketId, TenantId, UserId, Option<UserId>)> =
        db_run!(&mut conn, |c| t::table
            .filter(t::reply_token.eq(&token))
            .select((t::id, t::tenant_id, t::requester_id, t::assignee_id))
            .first(c)
            .await
            .optional())?;
    let Some((ticket, tenant, requester, assignee)) = found else {
        return Ok(Received::Ignored("no ticket has this reply address"));
    };
    let from = bare(&message.from);
    let mut sender = None;
    for user in std::iter::once(requester).chain(assignee) {
        let contact = switchyard_identity::users::contact(&mut conn, tenant, user).await?;
        if contact.is_some_and(|(_, email)| email.eq_ignore_ascii_case(&from)) {
            sender = Some(user);
            break;
        }
    }
    // The connection goes back to the pool before the reply takes a write connection.
    drop(pooled);
    let Some(sender) = sender else {
        return Ok(Received::Ignored(
            "the sender is neither the ticket's requester nor its agent",
        ));
    };
    let body = new_text(&message.text);
    if body.is_empty() {
        return Ok(Received::Ignored("the message has no new text"));
    }
    let caller = match caller_for(tenant, sender).await {
        Ok(caller) if caller.has(TICKET_REPLY) => caller,
        Ok(_) | Err(Error::Unauthenticated(_)) | Err(Error::Forbidden(_)) => {
            return Ok(Received::Ignored("the sender may not reply on tickets"));
        }
        Err(other) => return Err(other),
    };
    let outcome = services
        .mutate(async |tx| crate::tickets::mutations::reply(tx, &caller, ticket, &body, None).await)
        .await;
    match outcome {
        Ok(_) => Ok(Received::Stored(ticket)),
        Err(Rejection::Invalid(errors)) => {
            tracing::info!(?errors, %ticket, "an email reply was refused");
            Ok(Received::Ignored(
                "the ticket takes no reply (closed, or the text is too long)",
            ))
        }
        Err(Rejection::Failed(Error::NotFound)) => {
            Ok(Received::Ignored("the sender no longer sees the ticket"))
        }
        Err(Rejection::Failed(error)) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_address_carries_its_token_and_nothing_else_does() {
        let token = token();
        assert_eq!(token.len(), 24);
        assert_eq!(
            token_of(&format!("Support <{}>", address(&token, "reply.example"))),
            Some(token.clone())
        );
        assert_eq!(
            token_of(&format!("TICKET+{}@reply.example", token.to_uppercase())),
            Some(token)
        );
        assert_eq!(token_of("ticket+short@reply.example"), None);
        assert_eq!(token_of("support@reply.example"), None);
    }

    #[test]
    fn only_the_new_text_of_a_reply_is_kept() {
        let text =
            "Thanks, that works.\n\nOn Fri, 4 Dec 2026, Support wrote:\n> Can you send a photo?\n";
        assert_eq!(new_text(text), "Thanks, that works.");
        assert_eq!(new_text("> only quoted"), "");
    }
}
