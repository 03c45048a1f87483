//! The pipeline: where a customer stands, which moves are allowed, and the rules that guard
//! some of them. A refusal names the rule, so the user knows what to do.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::{Conn, Error, Rejection, TenantId, UserErrorCode, db_run};

use super::CustomerId;
use crate::schema::{quotes, sales_activities};

switchyard_kernel::text_enum! {
    /// A customer's place in the pipeline.
    pub enum CustomerStage {
        /// Known, not yet contacted.
        Prospect = "PROSPECT",
        /// Spoken to at least once.
        Contacted = "CONTACTED",
        /// A real opportunity (needs a logged activity).
        Qualified = "QUALIFIED",
        /// A quote is out.
        Proposal = "PROPOSAL",
        /// Terms are being discussed.
        Negotiation = "NEGOTIATION",
        /// Bought (needs an accepted quote).
        Won = "WON",
        /// Chose someone else.
        Lost = "LOST",
        /// Not a fit (needs a reason).
        Disqualified = "DISQUALIFIED",
        /// Gone quiet; may come back.
        Dormant = "DORMANT",
    }
}

use CustomerStage::*;

impl CustomerStage {
    /// Where a customer may move from here.
    pub fn next(&self) -> &'static [CustomerStage] {
        match self {
            Prospect => &[Contacted, Qualified, Disqualified, Dormant],
            Contacted => &[Qualified, Disqualified, Dormant],
            Qualified => &[Proposal, Lost, Disqualified, Dormant],
            Proposal => &[Negotiation, Won, Lost],
            Negotiation => &[Proposal, Won, Lost],
            Won => &[Dormant],
            Lost => &[Prospect, Dormant],
            Disqualified => &[Prospect],
            Dormant => &[Prospect, Contacted],
        }
    }
}

fn list(stages: &[CustomerStage]) -> String {
    let names: Vec<&str> = stages.iter().map(|s| s.as_str()).collect();
    match names.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {}", rest.join(", "), last),
        None => "nowhere".to_owned(),
    }
}

/// Checks a move: that it is allowed, and that its guard rule holds.
pub async fn check_move(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    customer: CustomerId,
    from: CustomerStage,
    to: CustomerStage,
    reason: Option<&str>,
) -> Result<(), Rejection> {
    if from == to {
        return Err(Rejection::invalid(
            "input.stage",
            UserErrorCode::InvalidTransition,
            format!("the customer is already {}", to.as_str()),
        ));
    }
    if !from.next().contains(&to) {
        return Err(Rejection::invalid(
            "input.stage",
            UserErrorCode::InvalidTransition,
            format!(
                "a customer cannot move from {} to {}; from {} it can move to {}",
                from.as_str(),
                to.as_str(),
                from.as_str(),
                list(from.next())
            ),
        ));
    }
    match to {
        Qualified => {
            let activities: i64 = db_run!(conn, |c| sales_activities::table
                .filter(sales_activities::tenant_id.eq(tenant))
                .filter(sales_activities::customer_id.eq(customer))
                .count()
                .get_result(c)
                .await)
            .map_err(Error::from)?;
            if activities == 0 {
                return Err(Rejection::invalid(
                    "input.stage",
                    UserErrorCode::PreconditionFailed,
                    "rule qualified_needs_activity: a customer becomes QUALIFIED only after at least one logged activity (call, meeting, site visit...)",
                ));
            }
        }
        Won => {
            let accepted: i64 = db_run!(conn, |c| quotes::table
                .filter(quotes::tenant_id.eq(tenant))
                .filter(quotes::customer_id.eq(customer))
                .filter(quotes::status.eq_any(["ACCEPTED", "CONVERTED"]))
                .count()
                .get_result(c)
                .await)
            .map_err(Error::from)?;
            if accepted == 0 {
                return Err(Rejection::invalid(
                    "input.stage",
                    UserErrorCode::PreconditionFailed,
                    "rule won_needs_accepted_quote: a customer is WON only with an accepted quote",
                ));
            }
        }
        Disqualified if reason.is_none_or(|r| r.trim().is_empty()) => {
            return Err(Rejection::invalid(
                "input.reason",
                UserErrorCode::PreconditionFailed,
                "rule disqualified_needs_reason: say why the customer is DISQUALIFIED",
            ));
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stage_can_be_left_and_reached() {
        for &stage in CustomerStage::ALL {
            assert!(!stage.next().is_empty(), "{stage:?} is a dead end");
            assert_eq!(CustomerStage::parse(stage.as_str()), Some(stage));
            if stage != Prospect {
                assert!(
                    CustomerStage::ALL.iter().any(|s| s.next().contains(&stage)),
                    "{stage:?} cannot be reached"
                );
            }
        }
        assert_eq!(
            list(Prospect.next()),
            "CONTACTED, QUALIFIED, DISQUALIFIED or DORMANT"
        );
    }
}
