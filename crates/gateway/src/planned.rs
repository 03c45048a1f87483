//! Planned reads over HTTP: an admitted query the planner covers (`switchyard_kernel::plan`)
//! is validated by the schema without executing, then answered by its statements, whose JSON
//! is copied into the response.

use serde_json::{Map, Value};
use switchyard_kernel::Caller;

use crate::http::{Outcome, Params, graphql_request, serialized};
use crate::origin::Origin;
use crate::schema::Executed;
use crate::state::AppState;

/// What the planned path made of an operation.
pub(crate) enum Planned {
    Answered(Outcome),
    /// The planner does not cover it, or the schema's validation refuses it: nothing ran, the
    /// resolvers answer.
    Uncovered,
    /// The caller's rights were kept from an earlier request and no longer hold as they were:
    /// nothing was answered; they are read again and the resolvers answer.
    Stale,
}

/// Answers an admitted query with planned SQL (see `switchyard_kernel::plan`) when the planner
/// covers every root field and the schema's validation accepts the request.
pub(crate) async fn answer(
    state: &AppState,
    params: &Params,
    document: &async_graphql::parser::types::ExecutableDocument,
    origin: &Origin,
    caller: &Caller,
) -> Planned {
    let Some(op) = crate::checks::operation(document, params.operation_name.as_deref()) else {
        return Planned::Uncovered;
    };
    let variables = async_graphql::Variables::from_json(Value::Object(params.variables.clone()));
    let Some(steps) = state.direct.planner.plan(
        state.services.db.backend(),
        document,
        op,
        &variables,
        caller,
    ) else {
        return Planned::Uncovered;
    };
    let key = crate::schema::validation_key(
        &params.query,
        params.operation_name.as_deref(),
        &params.variables,
    );
    let request = || {
        let mut request = graphql_request(
            params.operation_name.clone(),
            params.variables.clone(),
            Map::new(),
            origin,
            Executed::default(),
        );
        request.set_parsed_query(document.clone());
        request
    };
    if !state.direct.valid(key, request).await {
        return Planned::Uncovered;
    }
    state.metrics.planned_operation();
    let mut errors: Vec<async_graphql::ServerError> = Vec::new();
    let mut body = Vec::with_capacity(4096);
    let Some(answers) = switchyard_kernel::plan::run(&state.services.db, &steps)
        .await
        .transpose()
    else {
        return Planned::Stale;
    };
    let answers = answers.and_then(|answers| {
        // Each answer's JSON, written as its plan reads it.
        let mut written = Vec::with_capacity(answers.len());
        for (step, answer) in steps.iter().zip(answers) {
            written.push(match answer {
                Some(text) => {
                    let mut json = Vec::with_capacity(text.as_ref().map_or(4, String::len));
                    step.out.write(text.as_deref(), &mut json)?;
                    Some(json)
                }
                None => None,
            });
        }
        Ok(written)
    });
    match answers {
        Ok(answers) => {
            body.extend_from_slice(b"{\"data\":{");
            for (i, (step, answer)) in steps.iter().zip(answers).enumerate() {
                if i > 0 {
                    body.push(b',');
                }
                body.extend_from_slice(&serialized(&step.key));
                body.push(b':');
                match answer {
                    Some(json) => body.extend_from_slice(&json),
                    None => {
                        body.extend_from_slice(b"null");
                        errors.push(field_error(switchyard_kernel::Error::NotFound, step));
                    }
                }
            }
            body.push(b'}');
        }
        Err(error) => {
            // A root list is non-null: its error nulls `data` (a `one` field alone would be
            // null, but the statements ran together and failed together).
            body.extend_from_slice(b"{\"data\":null");
            if let Some(step) = steps.first() {
                errors.push(field_error(error, step));
            }
        }
    }
    if !errors.is_empty() {
        body.extend_from_slice(b",\"errors\":");
        body.extend_from_slice(&serialized(&errors));
    }
    body.push(b'}');
    Planned::Answered(Outcome {
        body,
        request_error: false,
        errors: errors.len(),
    })
}

/// `error` as the field error of a root field.
fn field_error(
    error: switchyard_kernel::Error,
    step: &switchyard_kernel::plan::Step,
) -> async_graphql::ServerError {
    let mut e = async_graphql::Error::from(error).into_server_error(step.pos);
    e.path = vec![async_graphql::PathSegment::Field(step.key.clone())];
    e
}
