//! Who hears about a ticket, through the notification service (in the app, and by email or
//! text as each person chose): the requester when someone else answers, the assigned agent
//! when the requester answers, and an agent given a ticket by someone else. In the
//! transaction of the change.

use switchyard_kernel::{Caller, Conn, Error, UserId};
use switchyard_notifications::{Notice, NotificationKind, raise};

use super::TicketRow;

/// Tells whoever is waiting for it about a reply on `ticket`.
pub(crate) async fn replied(
    tx: &mut Conn<'_>,
    caller: &Caller,
    ticket: &TicketRow,
    body: &str,
) -> Result<(), Error> {
    let to = if caller.user_id() == Some(ticket.requester_id) {
        ticket.assignee_id
    } else {
        Some(ticket.requester_id)
    };
    let title = format!("New reply on #{}: {}", ticket.number, ticket.subject);
    tell(
        tx,
        caller,
        ticket,
        to,
        NotificationKind::TicketReplied,
        title,
        body,
    )
    .await
}

/// Tells the agent given `ticket` by someone else.
pub(crate) async fn assigned(
    tx: &mut Conn<'_>,
    caller: &Caller,
    ticket: &TicketRow,
) -> Result<(), Error> {
    let to = ticket.assignee_id.filter(|a| caller.user_id() != Some(*a));
    let title = format!("Ticket #{} is yours: {}", ticket.number, ticket.subject);
    let body = format!("Priority {}.", ticket.priority.as_str());
    tell(
        tx,
        caller,
        ticket,
        to,
        NotificationKind::TicketAssigned,
        title,
        &body,
    )
    .await
}

async fn tell(
    tx: &mut Conn<'_>,
    caller: &Caller,
    ticket: &TicketRow,
    to: Option<UserId>,
    kind: NotificationKind,
    title: String,
    body: &str,
) -> Result<(), Error> {
    let Some(user) = to.filter(|u| caller.user_id() != Some(*u)) else {
        return Ok(());
    };
    let notice = Notice {
        user,
        kind,
        title,
        body: body.chars().take(500).collect(),
        subject: Some(("Ticket", ticket.id.to_global())),
        key: None,
    };
    raise(tx, caller, notice).await?;
    Ok(())
}
