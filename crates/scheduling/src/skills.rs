//! Skills: what people can do (`PIANO`, `HEAVY_GOODS_LICENCE`, `PACKING`...) and what a job
//! needs. Set by planners (`setUserSkills`, `setJobSkills`); `suggestCrew` ranks by them.

use std::collections::HashMap;

use async_graphql::{Context, ID, Object};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::policy::Require;
use switchyard_kernel::read::aggregate;
use switchyard_kernel::validate::Check;
use switchyard_kernel::write::Settable;
use switchyard_kernel::{
    Conn, ContextExt, Error, Rejection, RowScope, TenantId, UserErrorCode, UserId, db_run,
};
use switchyard_operations::Job;
use switchyard_operations::jobs::JobId;
use switchyard_operations::permissions::{CREW_ASSIGN, JOB_MANAGE};

use crate::permissions::HOURS_MANAGE;
use crate::schema::{job_skills, user_skills};

/// The most skills of one person or job.
const MAX_SKILLS: usize = 20;

/// Skills as given: trimmed, upper case, each once; user errors under `path` name the bad ones.
fn parse(path: &str, skills: &[String]) -> Result<Vec<String>, Rejection> {
    let mut check = Check::new();
    let mut out: Vec<String> = Vec::new();
    for (i, skill) in skills.iter().enumerate() {
        let skill = skill.trim().to_uppercase();
        let ok = (2..=40).contains(&skill.len())
            && skill
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !ok {
            check.add(
                &format!("{path}.{i}"),
                UserErrorCode::InvalidFormat,
                "2 to 40 letters, digits or underscores, such as PIANO or HEAVY_GOODS_LICENCE",
            );
        } else if !out.contains(&skill) {
            out.push(skill);
        }
    }
    if out.len() > MAX_SKILLS {
        check.add(
            path,
            UserErrorCode::OutOfRange,
            format!("at most {MAX_SKILLS} skills"),
        );
    }
    check.finish()?;
    out.sort();
    Ok(out)
}

/// The skills of each of `users`: one statement.
pub async fn of_users(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    users: &[UserId],
) -> Result<HashMap<UserId, Vec<String>>, Error> {
    let rows: Vec<(UserId, String)> = db_run!(conn, |c| user_skills::table
        .filter(user_skills::tenant_id.eq(tenant))
        .filter(user_skills::user_id.eq_any(users))
        .order((user_skills::user_id.asc(), user_skills::skill.asc()))
        .select((user_skills::user_id, user_skills::skill))
        .load(c)
        .await)?;
    let mut by_user: HashMap<UserId, Vec<String>> = HashMap::new();
    for (user, skill) in rows {
        by_user.entry(user).or_default().push(skill);
    }
    Ok(by_user)
}

/// The skills a job needs: one statement.
pub async fn of_job(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    job: JobId,
) -> Result<Vec<String>, Error> {
    Ok(db_run!(conn, |c| job_skills::table
        .filter(job_skills::tenant_id.eq(tenant))
        .filter(job_skills::job_id.eq(job))
        .order(job_skills::skill.asc())
        .select(job_skills::skill)
        .load(c)
        .await)?)
}

switchyard_kernel::payload!(
    /// The skills as stored.
    SkillsPayload { skills: Vec<String> }
);

#[derive(Default)]
pub struct SkillsQuery;

#[Object]
impl SkillsQuery {
    /// A person's skills.
    #[graphql(directive = Require::apply(CREW_ASSIGN))]
    async fn user_skills(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
    ) -> async_graphql::Result<Vec<String>> {
        let caller = ctx.caller()?;
        let user = UserId::from_input(&user_id)?;
        let mut pooled = ctx.services()?.db.read().await?;
        let mut found = of_users(&mut pooled.conn(), caller.tenant_id, &[user]).await?;
        Ok(found.remove(&user).unwrap_or_default())
    }

    /// The skills a job needs.
    #[graphql(directive = Require::apply(CREW_ASSIGN))]
    async fn job_skills(
        &self,
        ctx: &Context<'_>,
        job_id: ID,
    ) -> async_graphql::Result<Vec<String>> {
        let caller = ctx.caller()?;
        let job = JobId::from_input(&job_id)?;
        let mut pooled = ctx.services()?.db.read().await?;
        let mut conn = pooled.conn();
        aggregate::find_in::<Job>(&mut conn, caller, CREW_ASSIGN, job).await?;
        Ok(of_job(&mut conn, caller.tenant_id, job).await?)
    }
}

#[derive(Default)]
pub struct SkillsMutation;

#[Object]
impl SkillsMutation {
    /// Sets what a person can do (the list replaces the one before), for a person of your
    /// locations.
    #[graphql(directive = Require::apply(HOURS_MANAGE))]
    async fn set_user_skills(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        skills: Vec<String>,
    ) -> async_graphql::Result<SkillsPayload> {
        let caller = ctx.caller()?;
        let user = UserId::from_input(&user_id)?;
        let tenant = caller.tenant_id;
        let outcome = ctx
            .mutate(async |tx| {
                if !switchyard_identity::users::is_active_staff(tx, tenant, user).await? {
                    return Err(Error::NotFound.into());
                }
                let allowed = match caller.row_scope(HOURS_MANAGE)? {
                    RowScope::Tenant => true,
                    RowScope::Location { locations, .. } => {
                        switchyard_identity::locations::works_at(tx, tenant, user, &locations)
                            .await?
                    }
                    RowScope::Own(_) => false,
                };
                if !allowed {
                    return Err(Rejection::invalid(
                        "userId",
                        UserErrorCode::NotAllowed,
                        "you set the skills of the people of your own locations only",
                    ));
                }
                let skills = parse("skills", &skills)?;
                db_run!(tx, |c| diesel::delete(
                    user_skills::table
                        .filter(user_skills::tenant_id.eq(tenant))
                        .filter(user_skills::user_id.eq(user))
                )
                .execute(c)
                .await)?;
                for skill in &skills {
                    let row = (
                        user_skills::tenant_id.eq(tenant),
                        user_skills::user_id.eq(user),
                        user_skills::skill.eq(skill),
                    );
                    db_run!(tx, |c| diesel::insert_into(user_skills::table)
                        .values(row)
                        .execute(c)
                        .await)?;
                }
                Ok::<_, Rejection>(skills)
            })
            .await;
        SkillsPayload::from_outcome(outcome, |skills| SkillsPayload {
            skills: Some(skills),
            user_errors: Vec::new(),
        })
    }

    /// Sets what a job needs (the list replaces the one before).
    #[graphql(directive = Require::apply(JOB_MANAGE))]
    async fn set_job_skills(
        &self,
        ctx: &Context<'_>,
        job_id: ID,
        skills: Vec<String>,
    ) -> async_graphql::Result<SkillsPayload> {
        let caller = ctx.caller()?;
        let job = JobId::from_input(&job_id)?;
        let tenant = caller.tenant_id;
        let outcome = ctx
            .mutate(async |tx| {
                aggregate::find_in::<Job>(tx, caller, JOB_MANAGE, job).await?;
                let skills = parse("skills", &skills)?;
                db_run!(tx, |c| diesel::delete(
                    job_skills::table
                        .filter(job_skills::tenant_id.eq(tenant))
                        .filter(job_skills::job_id.eq(job))
                )
                .execute(c)
                .await)?;
                for skill in &skills {
                    let row = (
                        job_skills::tenant_id.eq(tenant),
                        job_skills::job_id.eq(job),
                        job_skills::skill.eq(skill),
                    );
                    db_run!(tx, |c| diesel::insert_into(job_skills::table)
                        .values(row)
                        .execute(c)
                        .await)?;
                }
                Ok::<_, Rejection>(skills)
            })
            .await;
        SkillsPayload::from_outcome(outcome, |skills| SkillsPayload {
            skills: Some(skills),
            user_errors: Vec::new(),
        })
    }
}
