//! The merged schema: each domain's `Query`, `Mutation` and `Subscription` parts, the Relay
//! `Node` interface, the limits, and the extensions every request passes through.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextResolve,
    NextValidation, ResolveInfo,
};
use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{
    Context, ID, Interface, MergedObject, MergedSubscription, Object, Response, Schema,
    ServerError, ServerResult, ValidationResult, Value, Variables,
};
use switchyard_kernel::Error;
use switchyard_kernel::access::Catalog;
use switchyard_kernel::ids::decode_global;
use switchyard_kernel::module::{Impersonal, Module, NodeType};
use switchyard_kernel::plan::{Planned, Planner, Shape};
use switchyard_kernel::policy::{AccessPolicy, Authenticated, StaticPolicy};

use crate::types::SchemaIndex;

use crate::config::Config;

/// Declares the server's domains, one line each: its crate, and the node types it adds to
/// the `Node` interface. From it come the root types (each domain's `Query`, `Mutation` and
/// `Subscription` merged), `Node` and `node(id:)`, and [`modules`] (permissions, events,
/// reactions, jobs, settings). A domain crate exports `module()`, the three root parts and
/// its node types (each a [`NodeType`]).
macro_rules! domains {
    ($($krate:ident { $($node:ident),* $(,)? }),* $(,)?) => {
        /// Every domain, as the server registers it.
        pub fn modules() -> Vec<Module> {
            vec![$($krate::module()),*]
        }

        /// The root query type.
        #[derive(MergedObject, Default)]
        pub struct Query(NodeQuery, $($krate::Query),*);

        /// The root mutation type.
        #[derive(MergedObject, Default)]
        pub struct Mutation($($krate::Mutation),*);

        /// The root subscription type.
        #[derive(MergedSubscription, Default)]
        pub struct Subscription($($krate::Subscription),*);

        /// An object with a global ID, fetchable with `node(id:)`. Its one field reads as the object's
        /// own `id`, which every caller who reached the object may see.
        #[derive(Interface)]
        #[graphql(field(name = "id", ty = "ID"), directive = switchyard_kernel::policy::Inherit::apply())]
        pub enum Node {
            $($($node($krate::$node),)*)*
        }

        /// What the query planner knows of every node type.
        pub fn shapes() -> Vec<&'static Shape> {
            vec![$($(<$krate::$node as Planned>::shape(),)*)*]
        }

        async fn load_node(ctx: &Context<'_>, id: &ID) -> Result<Node, Error> {
            let (type_name, _) = decode_global(id).ok_or(Error::NotFound)?;
            $($(
                if type_name == <$krate::$node as NodeType>::TYPE_NAME {
                    return Ok(Node::$node(<$krate::$node as NodeType>::load(ctx, id).await?));
                }
            )*)*
            Err(Error::NotFound)
        }
    };
}

domains! {
    switchyard_identity { User, Location, ApiKey },
    switchyard_sales { Customer, Lead, SalesActivity, Task, Quote, Booking, QuoteTemplateItem },
    switchyard_operations { Job, CrewMember, JobStep, FieldUpdate },
    switchyard_scheduling { TimeOff, Appointment },
    switchyard_notifications { Notification, NotificationMessage },
    switchyard_support { Ticket, TicketActivity, TicketAttachment },
}

/// The permission catalogue of every domain.
pub fn catalog() -> Catalog {
    let permissions: Vec<_> = modules().iter().map(|m| m.permissions).collect();
    Catalog::new(&permissions)
}

/// `node` and `nodes`.
#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any object by its global ID, if the caller may see it.
    #[graphql(directive = Authenticated::apply())]
    async fn node(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Node>> {
        Ok(Some(load_node(ctx, &id).await?))
    }

    /// Several objects by global ID (at most 100), each null with an error when not visible.
    #[graphql(directive = Authenticated::apply())]
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        ids: Vec<ID>,
    ) -> async_graphql::Result<Vec<Option<Node>>> {
        if ids.len() > 100 {
            return Err(Error::bad_input("ids", "at most 100 IDs at once").into());
        }
        let mut out = Vec::with_capacity(ids.len());
        for id in &ids {
            out.push(match load_node(ctx, id).await {
                Ok(node) => Some(node),
                Err(Error::NotFound) => None,
                Err(other) => return Err(other.into()),
            });
        }
        Ok(out)
    }
}

pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// Set by [`RequestPhase`] when execution starts: a response with errors and no execution is
/// a request error (unparsable, invalid, uncoercible), which the transports answer differently.
#[derive(Clone, Default)]
pub struct Executed(pub Arc<AtomicBool>);

impl Executed {
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Marks the phase a request reached, gives request errors a code, enforces the access policy
/// on every field (one extension, not two: each extension costs a boxed future per resolved
/// field), and repairs null propagation (see [`crate::nulls`]).
pub struct RequestPhase {
    policy: AccessPolicy,
    index: Arc<SchemaIndex>,
    document: std::sync::Mutex<Option<ExecutableDocument>>,
}

/// Creates one [`RequestPhase`] per request.
pub struct RequestPhaseFactory {
    policy: AccessPolicy,
    index: Arc<SchemaIndex>,
}

impl ExtensionFactory for RequestPhaseFactory {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RequestPhase {
            policy: self.policy.clone(),
            index: self.index.clone(),
            document: std::sync::Mutex::new(None),
        })
    }
}

fn with_code(mut error: ServerError, code: &str) -> ServerError {
    if error
        .extensions
        .as_ref()
        .and_then(|e| e.get("code"))
        .is_none()
    {
        let mut ext = error.extensions.take().unwrap_or_default();
        ext.set("code", code);
        error.extensions = Some(ext);
    }
    error
}

#[async_graphql::async_trait::async_trait]
impl Extension for RequestPhase {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next
            .run(ctx, query, variables)
            .await
            .map_err(|e| with_code(e, "GRAPHQL_PARSE_FAILED"))?;
        if let Ok(mut slot) = self.document.lock() {
            *slot = Some(doc.clone());
        }
        Ok(doc)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|e| with_code(e, "GRAPHQL_VALIDATION_FAILED"))
                .collect::<Vec<_>>()
        })?;
        // A valid document's subscriptions are authorised before any starts.
        if let Ok(mut document) = self.document.lock()
            && let Some(kept) = document.as_ref()
        {
            self.policy
                .authorize_subscriptions(kept, ctx.data_opt::<switchyard_kernel::Caller>())
                .map_err(|e| vec![e])?;
            // A subscription's events are repaired where they are delivered (on either
            // schema, see `crate::shared`), so a document of subscriptions only is not needed
            // again: not kept for as long as they stay open.
            if kept
                .operations
                .iter()
                .all(|(_, op)| op.node.ty == OperationType::Subscription)
            {
                *document = None;
            }
        }
        Ok(result)
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        self.policy.resolve_field(ctx, info, next).await
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        if let Some(executed) = ctx.data_opt::<Executed>() {
            executed.0.store(true, Ordering::Relaxed);
        }
        let mut response = next.run(ctx, operation_name).await;
        if !response.errors.is_empty()
            && let Ok(document) = self.document.lock()
            && let Some(document) = document.as_ref()
        {
            crate::nulls::propagate(&mut response, document, operation_name, &self.index);
        }
        response
    }
}

/// Replaces every execution error that carries no code (one that did not come from our own
/// [`Error`], such as a library's message with a database's text in it) by `INTERNAL` with an
/// error id; the original is logged under that id. Internal details never reach a client.
pub fn code_execution_errors(response: &mut Response) {
    for error in response.errors.iter_mut() {
        if error
            .extensions
            .as_ref()
            .and_then(|e| e.get("code"))
            .is_some()
        {
            continue;
        }
        let error_id = uuid::Uuid::now_v7().to_string();
        tracing::error!(error_id = %error_id, message = %error.message, path = ?error.path, "uncoded error replaced by INTERNAL");
        error.message = "internal error".to_owned();
        let mut ext = async_graphql::ErrorExtensionValues::default();
        ext.set("code", "INTERNAL");
        ext.set("errorId", error_id);
        error.extensions = Some(ext);
    }
}

/// Gives request errors that carry no code one (`BAD_REQUEST`).
pub fn code_request_errors(response: &mut Response) {
    for error in response.errors.iter_mut() {
        let taken = std::mem::replace(error, ServerError::new("", None));
        *error = with_code(taken, "BAD_REQUEST");
    }
}

/// The schema builder with the limits of `config`; with a policy table, the extension that
/// gives request errors their codes, enforces the alias limit and the access policy per field,
/// and repairs null propagation, and the table as schema data (for subscriptions).
fn builder(
    config: &Config,
    per_field_checks: Option<(Arc<StaticPolicy>, Arc<SchemaIndex>)>,
) -> async_graphql::SchemaBuilder<Query, Mutation, Subscription> {
    let mut builder = Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    );
    if let Some((table, index)) = per_field_checks {
        builder = builder
            .extension(RequestPhaseFactory {
                policy: AccessPolicy::new(table.clone()),
                index,
            })
            .data(table);
    }
    builder = builder
        .limit_depth(config.max_depth)
        .limit_complexity(config.max_complexity)
        .limit_recursive_depth(64)
        .limit_directives(20);
    if !config.introspection_enabled() {
        builder = builder.disable_introspection();
    }
    if !config.suggestions_enabled() {
        builder = builder.disable_suggestions();
    }
    builder
}

/// Builds the checked schema with the limits and extensions of `config`, enforcing `policy`
/// (the table of [`Direct`]: the same schema's rules) and repairing null propagation with
/// `index` (the same schema's types); `data` is attached as schema data (services,
/// authenticator).
pub fn build(
    config: &Config,
    policy: Arc<StaticPolicy>,
    index: Arc<SchemaIndex>,
    data: impl FnOnce(
        async_graphql::SchemaBuilder<Query, Mutation, Subscription>,
    ) -> async_graphql::SchemaBuilder<Query, Mutation, Subscription>,
) -> AppSchema {
    data(builder(config, Some((policy, index)))).finish()
}

/// The direct path: the same schema without any extension, for query operations whose every
/// field [`StaticPolicy`] proves the caller may read (async-graphql resolves every field and
/// list item on a slower path as soon as one extension exists: about a quarter of the time of
/// a deep page). What the extension adds besides the checks the policy already proved is the
/// request errors' codes and the repair of null propagation: a direct execution that meets
/// field errors is repaired by the caller with the same [`crate::nulls::propagate`] and
/// answered as it is, once; one that fails before executing (an error without a path: the
/// document or its variables are refused, nothing ran) is handed to the checked schema, which
/// gives the request error its code.
#[derive(Clone)]
pub struct Direct {
    pub schema: AppSchema,
    pub policy: Arc<StaticPolicy>,
    /// Planned reads: the root fields the planner answers in SQL, and the validation of what
    /// it plans (the same schema, validating only).
    pub planner: Arc<Planner>,
    validator: AppSchema,
    validated: Arc<std::sync::Mutex<std::collections::HashSet<u64>>>,
    /// The subscriptions the domains declare impersonal.
    impersonal: Vec<&'static Impersonal>,
}

/// Planned requests whose validation is remembered, at most (then forgotten all at once).
const VALIDATED_CAPACITY: usize = 4096;

/// Ends a request after validation: nothing executes (see [`Direct::valid`]).
struct ValidateOnly;

impl ExtensionFactory for ValidateOnly {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ValidateOnly)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for ValidateOnly {
    async fn execute(
        &self,
        _ctx: &ExtensionContext<'_>,
        _operation_name: Option<&str>,
        _next: NextExecute<'_>,
    ) -> Response {
        Response::new(Value::Null)
    }
}

impl Direct {
    /// Builds the direct schema and reads the policy table from its SDL (the checked schema
    /// enforces the same table).
    pub fn build(
        config: &Config,
        data: impl Fn(
            async_graphql::SchemaBuilder<Query, Mutation, Subscription>,
        ) -> async_graphql::SchemaBuilder<Query, Mutation, Subscription>,
    ) -> anyhow::Result<Direct> {
        let schema = data(builder(config, None)).finish();
        let validator = data(builder(config, None).extension(ValidateOnly)).finish();
        let policy = StaticPolicy::from_sdl(&schema.sdl())
            .map_err(|e| anyhow::anyhow!("the schema's SDL does not parse: {e}"))?;
        Ok(Direct {
            schema,
            policy: Arc::new(policy),
            planner: Arc::new(Planner::new(&shapes())),
            validator,
            validated: Default::default(),
            impersonal: modules().iter().flat_map(|m| m.impersonal).collect(),
        })
    }

    /// Whether the schema's validation (types, arguments, variables, fragments, depth and
    /// complexity) accepts the request, without executing it; remembered by `key` (a hash of
    /// the request's text, operation and variables), so `request` is built only the first time.
    pub async fn valid(&self, key: u64, request: impl FnOnce() -> async_graphql::Request) -> bool {
        if self.validated.lock().is_ok_and(|v| v.contains(&key)) {
            return true;
        }
        let ok = self.validator.execute(request()).await.errors.is_empty();
        if ok && let Ok(mut validated) = self.validated.lock() {
            if validated.len() >= VALIDATED_CAPACITY {
                validated.clear();
            }
            validated.insert(key);
        }
        ok
    }

    /// Whether `document` (already through [`crate::checks`]) may run directly for `caller`: a
    /// query or subscription whose every field is allowed as is (no hidden or refused field,
    /// no introspection).
    pub fn admits(
        &self,
        document: &ExecutableDocument,
        operation_name: Option<&str>,
        caller: Option<&switchyard_kernel::Caller>,
    ) -> bool {
        self.policy.allows(document, operation_name, caller)
    }

    /// Whether the subscription's answers do not depend on who `caller` is, only on its
    /// tenant, rights and locations (see [`Impersonal`]): then sockets of different people
    /// may share its execution.
    pub fn impersonal(
        &self,
        document: &ExecutableDocument,
        operation_name: Option<&str>,
        variables: &serde_json::Map<String, serde_json::Value>,
        caller: &switchyard_kernel::Caller,
    ) -> bool {
        self.policy.impersonal(
            document,
            operation_name,
            variables,
            caller,
            &self.impersonal,
        )
    }
}

/// What [`Direct::valid`] remembers a request by: a hash of its text, operation and variables.
pub fn validation_key(
    query: &str,
    operation_name: Option<&str>,
    variables: &serde_json::Map<String, serde_json::Value>,
) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    query.hash(&mut hasher);
    operation_name.hash(&mut hasher);
    serde_json::to_string(variables)
        .unwrap_or_default()
        .hash(&mut hasher);
    hasher.finish()
}

/// The SDL of the schema, as `switchyard schema` prints it and `schema.graphql` holds it.
pub fn sdl() -> String {
    let schema = builder(&Config::default(), None).finish();
    schema.sdl_with_options(
        async_graphql::SDLExportOptions::new()
            .sorted_fields()
            .sorted_enum_items(),
    )
}
