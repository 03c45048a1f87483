//! `suggestCrew`: the crew not yet on a job, ranked by availability in its window (the same
//! conflict check as staffing), the skills it needs, distance between locations and workload,
//! each with its score and reasons.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::Duration;
use switchyard_kernel::address::Address;
use switchyard_kernel::policy::Require;
use switchyard_kernel::read::aggregate;
use switchyard_kernel::write::Settable;
use switchyard_kernel::{ContextExt, Error, UserId};
use switchyard_operations::Job;
use switchyard_operations::jobs::JobId;
use switchyard_operations::permissions::CREW_ASSIGN;

use crate::staffing::{Planning, ScheduleConflict, conflicts, week_at};

/// A crew member ranked for a job, with the reasons.
#[derive(SimpleObject)]
#[graphql(directive = switchyard_kernel::policy::Inherit::apply())]
pub struct CrewSuggestion {
    pub user_id: ID,
    pub name: String,
    /// Higher is better: free for the window (+100), each conflict (−25), each other job
    /// within three days of it (−10), each skill the job needs that they have (+15) or lack
    /// (−40), each 5 km between their location and the job's (−1).
    pub score: i32,
    /// Free for the whole window.
    pub available: bool,
    pub reasons: Vec<String>,
    pub conflicts: Vec<ScheduleConflict>,
}

/// Days around a job's window whose other jobs count as workload.
const WORKLOAD_DAYS: i64 = 3;
/// A crew member, their name, and how far they are based from the job's location (km, and the
/// place), when known.
type Candidate = (UserId, String, Option<(f64, String)>);

/// How far from the job's location crew of other locations are still suggested.
const MAX_KM: f64 = 100.0;
/// Kilometres that cost one point of score.
const KM_PER_POINT: f64 = 5.0;

#[derive(Default)]
pub struct SuggestionQuery;

#[Object]
impl SuggestionQuery {
    /// The crew not yet on the job, of its location and of locations within 100 km of it (by
    /// the locations' address positions), best first: who is free for the window, has the
    /// skills the job needs (`setJobSkills`, `setUserSkills`), is nearest and has the least
    /// other work around it.
    #[graphql(directive = Require::apply(CREW_ASSIGN))]
    async fn suggest_crew(
        &self,
        ctx: &Context<'_>,
        job_id: ID,
        #[graphql(default = 10)] first: i32,
    ) -> async_graphql::Result<Vec<CrewSuggestion>> {
        let caller = ctx.caller()?;
        let id = JobId::from_input(&job_id)?;
        if !(1..=50).contains(&first) {
            return Err(Error::bad_input("first", "between 1 and 50").into());
        }
        let mut pooled = ctx.services()?.db.read().await?;
        let mut conn = pooled.conn();
        let job = aggregate::find_in::<Job>(&mut conn, caller, CREW_ASSIGN, id).await?;
        let tenant = caller.tenant_id;
        let on_it = switchyard_operations::crew::people(&mut conn, tenant, id).await?;
        let crew_role = switchyard_kernel::access::BuiltinRole::Crew.key();
        let crew =
            switchyard_identity::users::staff_with_role(&mut conn, tenant, crew_role, None).await?;
        let ids: Vec<UserId> = crew.iter().map(|(u, _)| *u).collect();
        let homes = switchyard_identity::locations::of_users(&mut conn, tenant, &ids).await?;
        let places = switchyard_identity::locations::positions(&mut conn, tenant).await?;
        // Kilometres from a person's nearest location to the job's (0 when they work there);
        // none when a position is unknown. Candidates: the crew of the job's location and of
        // locations within MAX_KM of it (everyone for a job without a location).
        let distance = |user: &UserId| -> Option<(f64, String)> {
            let home = homes.get(user)?;
            let job_location = job.location_id?;
            if home.contains(&job_location) {
                return Some((0.0, String::new()));
            }
            let at = places.get(&job_location)?.1?;
            home.iter()
                .filter_map(|l| {
                    let (name, position) = places.get(l)?;
                    Some((Address::km_between(at, (*position)?), name.clone()))
                })
                .min_by(|a, b| a.0.total_cmp(&b.0))
        };
        let candidates: Vec<Candidate> = crew
            .into_iter()
            .map(|(u, name)| {
                let km = distance(&u);
                (u, name, km)
            })
            .filter(|(_, _, km)| {
                job.location_id.is_none() || km.as_ref().is_some_and(|(k, _)| *k <= MAX_KM)
            })
            .collect();
        let week = week_at(&mut conn, caller, job.location_id).await?;
        let planning = Planning {
            job: Some(id),
            ..Planning::default()
        };
        let candidates: Vec<_> = candidates
            .into_iter()
            .filter(|(u, _, _)| !on_it.contains(u))
            .collect();
        let needed = crate::skills::of_job(&mut conn, tenant, id).await?;
        let ids: Vec<UserId> = candidates.iter().map(|(u, _, _)| *u).collect();
        let skills = crate::skills::of_users(&mut conn, tenant, &ids).await?;
        let mut ranked = Vec::new();
        for (user, name, km) in candidates {
            let mut reasons = Vec::new();
            let theirs = skills.get(&user).map(Vec::as_slice).unwrap_or_default();
            let (held, lacking): (Vec<&String>, Vec<&String>) =
                needed.iter().partition(|s| theirs.contains(s));
            let (found, workload) = match (job.planned_start, job.planned_end) {
                (Some(from), Some(to)) => {
                    let found = conflicts(
                        &mut conn,
                        caller,
                        user,
                        planning,
                        &[(from, to)],
                        week.as_ref(),
                    )
                    .await?;
                    let around = Duration::days(WORKLOAD_DAYS);
                    let busy = switchyard_operations::crew::busy(
                        &mut conn,
                        tenant,
                        user,
                        from - around,
                        to + around,
                        Some(id),
                    )
                    .await?;
                    (found, busy.len() as i32)
                }
                _ => {
                    reasons.push("the job has no window yet: availability unknown".to_owned());
                    (Vec::new(), 0)
                }
            };
            let available = found.is_empty() && job.planned_start.is_some();
            if available {
                reasons.push("free for the whole window".to_owned());
            }
            reasons.extend(found.iter().map(|c| c.message.clone()));
            reasons.push(format!(
                "{workload} other job(s) within {WORKLOAD_DAYS} days of it"
            ));
            let km_away = match &km {
                Some((k, _)) if *k == 0.0 => {
                    reasons.push("works at the job's location".to_owned());
                    0.0
                }
                Some((k, place)) => {
                    reasons.push(format!(
                        "based at {place}, {k:.0} km from the job's location"
                    ));
                    *k
                }
                None => 0.0,
            };
            reasons.extend(held.iter().map(|s| format!("has {s}")));
            reasons.extend(
                lacking
                    .iter()
                    .map(|s| format!("lacks {s}, which the job needs")),
            );
            ranked.push(CrewSuggestion {
                user_id: user.to_global(),
                name,
                score: if available { 100 } else { 0 } - 25 * found.len() as i32 - 10 * workload
                    + 15 * held.len() as i32
                    - 40 * lacking.len() as i32
                    - (km_away / KM_PER_POINT).round() as i32,
                available,
                reasons,
                conflicts: found,
            });
        }
        ranked.sort_by(|a, b| b.score.cmp(&a.score).then_with(|| a.name.cmp(&b.name)));
        ranked.truncate(first as usize);
        Ok(ranked)
    }
}
