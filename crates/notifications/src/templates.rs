//! A tenant's wording of each kind of message, per language, with `{{variables}}`. A template
//! is checked when saved: a variable the kind does not have is a user error naming it. Without
//! a template in the person's language, the tenant's English one holds, then the notification's
//! own title and body.

use async_graphql::{Context, Object, SimpleObject};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::policy::Require;
use switchyard_kernel::validate::Check;
use switchyard_kernel::{
    Conn, ContextExt, Error, Rejection, TenantId, UserErrorCode, db_run, payload, time,
};

use crate::kinds::NotificationKind;
use crate::permissions::NOTIFICATION_SETTINGS_MANAGE;
use crate::preferences::check_language;
use crate::schema::message_templates;

/// How messages of one kind read in one language.
#[derive(SimpleObject, Clone)]
#[graphql(directive = switchyard_kernel::policy::Inherit::apply())]
pub struct MessageTemplate {
    pub kind: NotificationKind,
    pub language: String,
    /// With `{{name}}`, `{{title}}`, `{{body}}`, `{{link}}`.
    pub subject: String,
    pub body: String,
}

payload!(
    /// The result of `setMessageTemplate`.
    MessageTemplatePayload { template: MessageTemplate }
);

/// The `{{variables}}` of `text`, or the position of an unclosed `{{`.
fn variables(text: &str) -> Result<Vec<&str>, usize> {
    let mut found = Vec::new();
    let mut rest = text;
    let mut offset = 0;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return Err(offset + open);
        };
        found.push(after[..close].trim());
        offset += open + 2 + close + 2;
        rest = &after[close + 2..];
    }
    Ok(found)
}

/// `text` with its variables filled in (unknown ones: empty).
fn fill(text: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            out.push_str(&rest[open..]);
            return out;
        };
        let name = after[..close].trim();
        if let Some((_, value)) = vars.iter().find(|(n, _)| *n == name) {
            out.push_str(value);
        }
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    out
}

fn check_text(check: &mut Check, field: &str, kind: NotificationKind, text: &str, max: usize) {
    check.max_len(field, text, max);
    match variables(text) {
        Err(at) => {
            check.add(
                field,
                UserErrorCode::InvalidFormat,
                format!("the {{{{ at character {at} is not closed with }}}}"),
            );
        }
        Ok(found) => {
            let known = kind.variables();
            for name in found {
                if !known.contains(&name) {
                    check.add(
                        field,
                        UserErrorCode::InvalidFormat,
                        format!(
                            "unknown variable {{{{{name}}}}}; {} messages know {}",
                            kind.as_str(),
                            known
                                .iter()
                                .map(|v| format!("{{{{{v}}}}}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    );
                }
            }
        }
    }
}

/// The subject and body of a message of `kind` in `language` (else English, else the built-in
/// wording); with no language (a customer's, who chooses none), in English or else the
/// tenant's first language that has the kind.
pub(crate) async fn render(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    kind: NotificationKind,
    language: Option<&str>,
    vars: &[(&str, &str)],
) -> Result<(String, String), Error> {
    let rows: Vec<(String, String, String)> = db_run!(conn, |c| message_templates::table
        .filter(message_templates::tenant_id.eq(tenant))
        .filter(message_templates::kind.eq(kind.as_str()))
        .order(message_templates::language.asc())
        .select((
            message_templates::language,
            message_templates::subject,
            message_templates::body
        ))
        .load(c)
        .await)?;
    let find = |wanted: &str| rows.iter().find(|(l, _, _)| l == wanted);
    let chosen = match language {
        Some(language) => find(language).or_else(|| find("en")),
        None => find("en").or_else(|| <[_]>::first(&rows)),
    };
    Ok(match chosen {
        Some((_, subject, body)) => (fill(subject, vars), fill(body, vars)),
        None => (
            fill("{{title}}", vars),
            fill("Hello {{name}},\n\n{{body}}\n\n{{link}}\n", vars),
        ),
    })
}

async fn all(conn: &mut Conn<'_>, tenant: TenantId) -> Result<Vec<MessageTemplate>, Error> {
    let rows: Vec<(String, String, String, String)> = db_run!(conn, |c| message_templates::table
        .filter(message_templates::tenant_id.eq(tenant))
        .order((
            message_templates::kind.asc(),
            message_templates::language.asc()
        ))
        .select((
            message_templates::kind,
            message_templates::language,
            message_templates::subject,
            message_templates::body
        ))
        .load(c)
        .await)?;
    Ok(rows
        .into_iter()
        .filter_map(|(kind, language, subject, body)| {
            Some(MessageTemplate {
                kind: NotificationKind::parse(&kind)?,
                language,
                subject,
                body,
            })
        })
        .collect())
}

#[derive(Default)]
pub struct TemplateQuery;

#[Object]
impl TemplateQuery {
    /// The tenant's message templates.
    #[graphql(directive = Require::apply(NOTIFICATION_SETTINGS_MANAGE))]
    async fn message_templates(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<MessageTemplate>> {
        let caller = ctx.caller()?;
        let mut pooled = ctx.services()?.db.read().await?;
        Ok(all(&mut pooled.conn(), caller.tenant_id).await?)
    }
}

#[derive(Default)]
pub struct TemplateMutation;

#[Object]
impl TemplateMutation {
    /// Sets how messages of `kind` read in `language`.
    #[graphql(directive = Require::apply(NOTIFICATION_SETTINGS_MANAGE))]
    async fn set_message_template(
        &self,
        ctx: &Context<'_>,
        kind: NotificationKind,
        language: String,
        subject: String,
        body: String,
    ) -> async_graphql::Result<MessageTemplatePayload> {
        let caller = ctx.caller()?;
        let tenant = caller.tenant_id;
        let (language, subject, body) = (
            language.trim().to_owned(),
            subject.trim().to_owned(),
            body.trim().to_owned(),
        );
        let outcome = ctx
            .mutate(async |tx| {
                let mut check = Check::new();
                check_language(&mut check, "language", &language);
                check.required("subject", &subject).required("body", &body);
                check_text(&mut check, "subject", kind, &subject, 200);
                check_text(&mut check, "body", kind, &body, 5000);
                check.finish()?;
                db_run!(tx, |c| diesel::delete(
                    message_templates::table
                        .filter(message_templates::tenant_id.eq(tenant))
                        .filter(message_templates::kind.eq(kind.as_str()))
                        .filter(message_templates::language.eq(&language))
                )
                .execute(c)
                .await)?;
                let row = (
                    message_templates::tenant_id.eq(tenant),
                    message_templates::kind.eq(kind.as_str()),
                    message_templates::language.eq(&language),
                    message_templates::subject.eq(&subject),
                    message_templates::body.eq(&body),
                    message_templates::updated_at.eq(time::now()),
                );
                db_run!(tx, |c| diesel::insert_into(message_templates::table)
                    .values(row)
                    .execute(c)
                    .await)?;
                Ok::<_, Rejection>(MessageTemplate {
                    kind,
                    language: language.clone(),
                    subject: subject.clone(),
                    body: body.clone(),
                })
            })
            .await;
        MessageTemplatePayload::from_outcome(outcome, |t| MessageTemplatePayload {
            template: Some(t),
            user_errors: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_found_filled_and_unclosed_ones_reported() {
        assert_eq!(
            variables("Hi {{ name }}, {{title}}"),
            Ok(vec!["name", "title"])
        );
        assert_eq!(variables("Hi {{name"), Err(3));
        assert_eq!(
            fill(
                "Hi {{name}}: {{title}} {{nope}}!",
                &[("name", "Ana"), ("title", "Job")]
            ),
            "Hi Ana: Job !"
        );
    }
}
