//! Changing leads: what `createLead` and `updateLead` (declared on [`Lead`]) answer, and the
//! rules a lead is stored by.

use super::{Lead, LeadRow};
use crate::customers::{customer_for, still_active};
use crate::permissions::LEAD_MANAGE;
use switchyard_kernel::validate::Check;
use switchyard_kernel::{Caller, Conn, Rejection, payload};

payload!(
    /// The result of a lead mutation.
    LeadPayload { lead: Lead } from row
);

/// The rules of a lead as it is to be stored; a new one is opened for an active customer
/// the caller may work on.
pub(super) async fn check(
    tx: &mut Conn<'_>,
    caller: &Caller,
    row: &LeadRow,
    before: Option<&LeadRow>,
) -> Result<(), Rejection> {
    if before.is_none() {
        let customer = customer_for(tx, caller, LEAD_MANAGE, row.customer_id).await?;
        still_active(&customer, "input.customerId")?;
    }
    let mut check = Check::new();
    check
        .within("input.score", row.score, 0..=100)
        .max_len("input.source", row.source.as_deref().unwrap_or(""), 100)
        .max_len("input.notes", &row.notes, 10_000);
    if let (Some(amount), Some(currency)) = (row.estimated_value_minor, &row.currency) {
        check.money("input.estimatedValue", amount, currency);
    }
    check.finish()
}
