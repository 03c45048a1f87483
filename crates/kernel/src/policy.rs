//! (Over 600 lines: the policy table, its enforcement, its completeness walk and its judgement of whole documents (admitted, impersonal) are one data structure read four ways; a third of the file is its unit tests.)
//!
//! Field-level access policies: declared once per field as the `@access` directive, enforced
//! for every field by [`AccessPolicy`], and checked for completeness by [`missing_policies`].
//!
//! Every object field carries a rule, on the field or on its type:
//! - `public`: anyone, signed in or not (`login`);
//! - `authenticated`: any signed-in caller;
//! - `inherit`: structural types (connections, edges, payloads) whose value was already
//!   authorised by the field that returned it;
//! - a permission name (`identity.user:read`): the caller must hold it at some scope; which rows
//!   the scope reaches is the resolver's business (row scope).
//!
//! With `hide: true` a refused field answers `null` without an error (contact details for an
//! observer), so the field must be nullable. A field with no rule is refused: deny by default.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::extensions::{ExtensionContext, NextResolve, ResolveInfo};
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, OperationType, Selection,
    SelectionSet, TypeDefinition, TypeKind, TypeSystemDefinition,
};
use async_graphql::registry::{
    __DirectiveLocation, MetaDirective, MetaDirectiveInvocation, MetaInputValue, Registry,
    location_traits,
};
use async_graphql::{ErrorExtensions, InputType, PathSegment, ServerError, ServerResult, Value};

use crate::access::{Caller, Catalog, Principal, UserKind};
use crate::error::Error;
use crate::module::Impersonal;

/// The directive's name in the schema.
pub const DIRECTIVE: &str = "access";

fn invocation(rule: &str, hide: bool) -> MetaDirectiveInvocation {
    let mut args = async_graphql::indexmap::IndexMap::new();
    args.insert("rule".to_owned(), Value::String(rule.to_owned()));
    if hide {
        args.insert("hide".to_owned(), Value::Boolean(true));
    }
    MetaDirectiveInvocation {
        name: DIRECTIVE.to_owned(),
        args,
    }
}

/// Declares a marker type usable as `#[graphql(directive = Marker::apply(..))]` on fields and
/// object types; each registers the one `@access` definition.
macro_rules! rule_marker {
    ($(#[$meta:meta])* $name:ident, |$($arg:ident: $ty:ty),*| $rule:expr, $hide:expr) => {
        $(#[$meta])*
        pub struct $name;

        impl $name {
            pub fn apply($($arg: $ty),*) -> MetaDirectiveInvocation {
                invocation($rule, $hide)
            }
        }

        impl async_graphql::TypeDirective for $name {
            fn name(&self) -> std::borrow::Cow<'static, str> {
                DIRECTIVE.into()
            }
            fn register(&self, registry: &mut Registry) {
                register_definition(registry);
            }
        }

        impl location_traits::Directive_At_FIELD_DEFINITION for $name {}
        impl location_traits::Directive_At_OBJECT for $name {}
        impl location_traits::Directive_At_INTERFACE for $name {}
    };
}

rule_marker!(
    /// Anyone may read the field, signed in or not: `#[graphql(directive = Public::apply())]`.
    Public, | | "public", false
);
rule_marker!(
    /// Any signed-in caller may read the field.
    Authenticated, | | "authenticated", false
);
rule_marker!(
    /// The value was authorised by the field that returned it (connections, payloads).
    Inherit, | | "inherit", false
);
rule_marker!(
    /// The caller needs the permission at some scope: `Require::apply("identity.user:read")`.
    Require, |permission: &str| permission, false
);
rule_marker!(
    /// Like [`Require`], but a caller without the permission reads `null` instead of an error.
    HideUnless, |permission: &str| permission, true
);

/// A parsed rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    Public,
    Authenticated,
    Inherit,
    Permission { name: String, hide: bool },
}

impl Rule {
    fn parse(rule: &str, hide: bool) -> Option<Rule> {
        Some(match rule {
            "public" => Rule::Public,
            "authenticated" => Rule::Authenticated,
            "inherit" => Rule::Inherit,
            name if is_permission_name(name) => Rule::Permission {
                name: name.to_owned(),
                hide,
            },
            _ => return None,
        })
    }
}

/// `domain.resource:action`, lower-case with underscores.
pub fn is_permission_name(name: &str) -> bool {
    let Some((path, action)) = name.split_once(':') else {
        return false;
    };
    let ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    let parts: Vec<&str> = path.split('.').collect();
    parts.len() == 2 && parts.iter().all(|p| ok(p)) && ok(action)
}

/// Adds the `@access` definition to the registry (once), so it appears in the SDL.
fn register_definition(registry: &mut Registry) {
    if registry.directives.contains_key(DIRECTIVE) {
        return;
    }
    let mut args = async_graphql::indexmap::IndexMap::new();
    args.insert(
        "rule".to_owned(),
        MetaInputValue {
            name: "rule".to_owned(),
            description: Some(
                "`public`, `authenticated`, `inherit`, or a permission `domain.resource:action`"
                    .to_owned(),
            ),
            ty: <String as InputType>::create_type_info(registry),
            deprecation: Default::default(),
            default_value: None,
            visible: None,
            inaccessible: false,
            tags: vec![],
            is_secret: false,
            directive_invocations: vec![],
        },
    );
    args.insert(
        "hide".to_owned(),
        MetaInputValue {
            name: "hide".to_owned(),
            description: Some(
                "When the rule refuses, answer null instead of a FORBIDDEN error".to_owned(),
            ),
            ty: <Option<bool> as InputType>::create_type_info(registry),
            deprecation: Default::default(),
            default_value: Some("false".to_owned()),
            visible: None,
            inaccessible: false,
            tags: vec![],
            is_secret: false,
            directive_invocations: vec![],
        },
    );
    registry.add_directive(MetaDirective {
        name: DIRECTIVE.to_owned(),
        description: Some("Who may read this field (or every field of this type).".to_owned()),
        locations: vec![
            __DirectiveLocation::FIELD_DEFINITION,
            __DirectiveLocation::OBJECT,
            __DirectiveLocation::INTERFACE,
        ],
        args,
        is_repeatable: false,
        visible: None,
        composable: None,
    });
}

/// What the rule says about one caller.
enum Verdict {
    Allow,
    Hide,
    Deny(Error),
}

/// Whether the rule lets the caller read the field as is.
fn allows(rule: &Rule, caller: Option<&Caller>) -> bool {
    match rule {
        Rule::Public | Rule::Inherit => true,
        Rule::Authenticated => caller.is_some(),
        Rule::Permission { name, .. } => caller.is_some_and(|c| c.has(name)),
    }
}

fn judge(rule: Option<&Rule>, caller: Option<&Caller>, type_name: &str, field: &str) -> Verdict {
    match rule {
        Some(rule) if allows(rule, caller) => Verdict::Allow,
        Some(Rule::Permission { hide: true, .. }) => Verdict::Hide,
        Some(Rule::Permission { name, .. }) if caller.is_some() => {
            Verdict::Deny(Error::forbidden(format!("missing permission {name}")))
        }
        Some(_) => Verdict::Deny(Error::unauthenticated("sign in to use this field")),
        None => {
            tracing::error!(type_name, field, "field has no access policy; refused");
            Verdict::Deny(Error::forbidden(format!(
                "{type_name}.{field} has no access policy"
            )))
        }
    }
}

/// Enforces `@access` on every field the executor resolves, from the `resolve` of the
/// extension that calls [`AccessPolicy::resolve_field`] (one extension, not two: each costs a
/// boxed future per resolved field).
#[derive(Clone)]
pub struct AccessPolicy {
    table: Arc<StaticPolicy>,
}

fn server_error(error: Error, info: &ResolveInfo<'_>) -> ServerError {
    let mut server_error = error.extend().into_server_error(info.field.name.pos);
    server_error.path = info
        .path_node
        .to_string_vec()
        .into_iter()
        .map(|segment| match segment.parse::<usize>() {
            Ok(index) => PathSegment::Index(index),
            Err(_) => PathSegment::Field(segment),
        })
        .collect();
    server_error
}

impl AccessPolicy {
    pub fn new(table: Arc<StaticPolicy>) -> AccessPolicy {
        AccessPolicy { table }
    }

    /// Judges the root fields of every subscription in `document` for `caller`, before any
    /// starts (the executor consults extensions per event only, never for a subscription's
    /// root): every subscription root is authorised from the policy table, none by hand.
    pub fn authorize_subscriptions(
        &self,
        document: &ExecutableDocument,
        caller: Option<&Caller>,
    ) -> ServerResult<()> {
        let root = self.table.subscription_root.as_str();
        for (_, operation) in document.operations.iter() {
            if operation.node.ty == OperationType::Subscription {
                self.roots_allowed(
                    root,
                    &operation.node.selection_set.node,
                    document,
                    caller,
                    0,
                )?;
            }
        }
        Ok(())
    }

    fn roots_allowed(
        &self,
        root: &str,
        set: &SelectionSet,
        document: &ExecutableDocument,
        caller: Option<&Caller>,
        depth: usize,
    ) -> ServerResult<()> {
        if depth > StaticPolicy::MAX_DEPTH {
            return Err(Error::forbidden("fragments nest too deeply")
                .extend()
                .into_server_error(Default::default()));
        }
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    let name = field.node.name.node.as_str();
                    if name.starts_with("__") {
                        continue;
                    }
                    let verdict = judge(self.table.rule(root, name), caller, root, name);
                    let error = match verdict {
                        Verdict::Allow => continue,
                        Verdict::Hide => Error::forbidden("not allowed"),
                        Verdict::Deny(error) => error,
                    };
                    let mut error = error.extend().into_server_error(field.pos);
                    error.path = vec![PathSegment::Field(
                        field.node.response_key().node.to_string(),
                    )];
                    return Err(error);
                }
                Selection::InlineFragment(fragment) => {
                    self.roots_allowed(
                        root,
                        &fragment.node.selection_set.node,
                        document,
                        caller,
                        depth + 1,
                    )?;
                }
                Selection::FragmentSpread(spread) => {
                    if let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node)
                    {
                        self.roots_allowed(
                            root,
                            &fragment.node.selection_set.node,
                            document,
                            caller,
                            depth + 1,
                        )?;
                    }
                }
            }
        }
        Ok(())
    }

    /// The policy check around one field's resolver.
    pub async fn resolve_field(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        // Introspection has its own switch; list items (parent type `[T]`) were authorised
        // as the list field that holds them.
        if info.is_for_introspection
            || info.name.starts_with("__")
            || info.parent_type.starts_with('[')
        {
            return next.run(ctx, info).await;
        }
        let caller = ctx.data_opt::<Caller>();
        match judge(
            self.table.rule(info.parent_type, info.name),
            caller,
            info.parent_type,
            info.name,
        ) {
            Verdict::Allow => next.run(ctx, info).await,
            Verdict::Hide => Ok(None),
            Verdict::Deny(error) => Err(server_error(error, &info)),
        }
    }
}

/// Walks a schema's SDL and lists every object and interface field without a usable `@access`
/// rule (interface fields are resolved with the interface as their parent type), every
/// rule naming a permission the catalogue does not know, and every hidden field that is not
/// nullable. An empty list means every field has a policy.
pub fn missing_policies(sdl: &str, catalog: &Catalog) -> Vec<String> {
    let document = match async_graphql::parser::parse_schema(sdl) {
        Ok(document) => document,
        Err(error) => return vec![format!("the SDL does not parse: {error}")],
    };
    let mut problems = Vec::new();
    let rule_of = directive_rule;
    for definition in &document.definitions {
        let TypeSystemDefinition::Type(ty) = definition else {
            continue;
        };
        let TypeDefinition {
            name,
            directives,
            kind,
            ..
        } = &ty.node;
        let fields = match kind {
            TypeKind::Object(object) => &object.fields,
            TypeKind::Interface(interface) => &interface.fields,
            _ => continue,
        };
        let type_name = name.node.as_str();
        let type_rule = rule_of(directives);
        if let Some(None) = type_rule {
            problems.push(format!("{type_name}: unreadable @access rule"));
        }
        for field in fields {
            let field_name = field.node.name.node.as_str();
            let rule = match rule_of(&field.node.directives) {
                Some(Some(rule)) => rule,
                Some(None) => {
                    problems.push(format!("{type_name}.{field_name}: unreadable @access rule"));
                    continue;
                }
                None => match &type_rule {
                    Some(Some(rule)) => rule.clone(),
                    _ => {
                        problems.push(format!("{type_name}.{field_name}: no @access policy"));
                        continue;
                    }
                },
            };
            if let Rule::Permission { name, hide } = &rule {
                if catalog.get(name).is_none() {
                    problems.push(format!(
                        "{type_name}.{field_name}: unknown permission {name}"
                    ));
                }
                if *hide && !field.node.ty.node.nullable {
                    problems.push(format!(
                        "{type_name}.{field_name}: hidden field must be nullable"
                    ));
                }
            }
        }
    }
    problems
}

/// The policy as a table read from the SDL, once per schema: looked up per field by
/// [`AccessPolicy`] (fields and subscription roots), and used to judge a whole operation before
/// it runs: when every field it can select is allowed for the caller, the per-field check can
/// be skipped (async-graphql resolves every field on a slower path as soon as any extension
/// exists).
/// The judgement is conservative: an unknown type or field, an abstract type whose possible
/// types disagree, a hidden or refused field, introspection, or a fragment nested deeper than
/// [`StaticPolicy::MAX_DEPTH`] all answer `false`, and the caller must use the per-field check.
pub struct StaticPolicy {
    types: HashMap<String, StaticType>,
    query_root: String,
    /// Subscription events name the merged part (`UserSubscription`), not the root.
    subscription_root: String,
}

#[derive(Default)]
struct StaticType {
    default: Option<Rule>,
    /// Field name -> (its own rule, the named type it returns).
    fields: HashMap<String, (Option<Rule>, String)>,
    /// Objects implementing an interface, members of a union; empty for objects.
    possible: Vec<String>,
    /// Unions have no fields of their own besides `__typename`.
    abstract_type: bool,
}

impl StaticType {
    /// The field's own rule, else the type's.
    fn rule(&self, field: &str) -> Option<&Rule> {
        match self.fields.get(field) {
            Some((Some(rule), _)) => Some(rule),
            _ => self.default.as_ref(),
        }
    }
}

fn named_type(ty: &async_graphql::parser::types::Type) -> &str {
    match &ty.base {
        async_graphql::parser::types::BaseType::Named(name) => name.as_str(),
        async_graphql::parser::types::BaseType::List(inner) => named_type(inner),
    }
}

impl StaticPolicy {
    /// Fragments nested deeper than this are not followed (the answer is `false`).
    pub const MAX_DEPTH: usize = 64;

    /// Reads every object, interface and union of `sdl` and its `@access` rules.
    pub fn from_sdl(sdl: &str) -> Result<StaticPolicy, String> {
        let document = async_graphql::parser::parse_schema(sdl).map_err(|e| e.to_string())?;
        let mut types: HashMap<String, StaticType> = HashMap::new();
        let mut query_root = "Query".to_owned();
        let mut subscription_root = "Subscription".to_owned();
        for definition in &document.definitions {
            let ty = match definition {
                TypeSystemDefinition::Schema(schema) => {
                    if let Some(query) = &schema.node.query {
                        query_root = query.node.to_string();
                    }
                    if let Some(subscription) = &schema.node.subscription {
                        subscription_root = subscription.node.to_string();
                    }
                    continue;
                }
                TypeSystemDefinition::Type(ty) => &ty.node,
                TypeSystemDefinition::Directive(_) => continue,
            };
            let name = ty.name.node.to_string();
            let (fields, implements, members, abstract_type) = match &ty.kind {
                TypeKind::Object(object) => {
                    (&object.fields[..], &object.implements[..], &[][..], false)
                }
                TypeKind::Interface(interface) => (
                    &interface.fields[..],
                    &interface.implements[..],
                    &[][..],
                    true,
                ),
                TypeKind::Union(union) => (&[][..], &[][..], &union.members[..], true),
                _ => continue,
            };
            for interface in implements {
                types
                    .entry(interface.node.to_string())
                    .or_default()
                    .possible
                    .push(name.clone());
            }
            let entry = types.entry(name).or_default();
            entry.abstract_type = abstract_type;
            entry.default = directive_rule(&ty.directives).flatten();
            entry
                .possible
                .extend(members.iter().map(|m| m.node.to_string()));
            for field in fields {
                entry.fields.insert(
                    field.node.name.node.to_string(),
                    (
                        directive_rule(&field.node.directives).flatten(),
                        named_type(&field.node.ty.node).to_owned(),
                    ),
                );
            }
        }
        Ok(StaticPolicy {
            types,
            query_root,
            subscription_root,
        })
    }

    /// The rule of `field` on `type_name` (the part of a merged subscription root reads as
    /// the root).
    pub fn rule(&self, type_name: &str, field: &str) -> Option<&Rule> {
        self.types
            .get(type_name)
            .or_else(|| {
                type_name
                    .ends_with("Subscription")
                    .then(|| self.types.get(&self.subscription_root))
                    .flatten()
            })?
            .rule(field)
    }

    /// Whether every field the query or subscription operation of `document` (named
    /// `operation_name`) can select is allowed for `caller` without hiding. Mutations answer
    /// `false`.
    pub fn allows(
        &self,
        document: &ExecutableDocument,
        operation_name: Option<&str>,
        caller: Option<&Caller>,
    ) -> bool {
        let Some(operation) = operation(document, operation_name) else {
            return false;
        };
        let root = match operation.ty {
            OperationType::Query => &self.query_root,
            OperationType::Subscription => &self.subscription_root,
            OperationType::Mutation => return false,
        };
        self.selects_only(
            root,
            &operation.selection_set.node,
            document,
            &|type_name, field| self.field_allowed(type_name, field, caller),
            0,
        )
    }

    /// Whether the subscription operation of `document` is one of `declared` for `caller`:
    /// its one root field is a declared root, whose `admits` accepts the caller and the
    /// arguments (`variables` written in), and every field below it is listed. Only staff
    /// users; anything unsure answers `false` (the subscription stays personal).
    pub fn impersonal(
        &self,
        document: &ExecutableDocument,
        operation_name: Option<&str>,
        variables: &serde_json::Map<String, serde_json::Value>,
        caller: &Caller,
        declared: &[&Impersonal],
    ) -> bool {
        if !matches!(
            caller.principal,
            Principal::User {
                kind: UserKind::Staff,
                ..
            }
        ) {
            return false;
        }
        let Some(operation) = operation(document, operation_name) else {
            return false;
        };
        let [item] = &operation.selection_set.node.items[..] else {
            return false;
        };
        let (OperationType::Subscription, Selection::Field(field)) = (operation.ty, &item.node)
        else {
            return false;
        };
        let field = &field.node;
        let Some(impersonal) = declared.iter().find(|d| d.root == field.name.node.as_str()) else {
            return false;
        };
        let Some(returns) = self
            .types
            .get(&self.subscription_root)
            .and_then(|root| root.fields.get(impersonal.root))
            .map(|(_, returns)| returns.as_str())
        else {
            return false;
        };
        // The arguments as the resolver sees them: a variable left out takes its default.
        let mut arguments = serde_json::Map::new();
        for (name, value) in &field.arguments {
            let value = value.node.clone().into_const_with(|variable| {
                match variables.get(variable.as_str()) {
                    Some(value) => Value::from_json(value.clone()).map_err(|_| ()),
                    None => operation
                        .variable_definitions
                        .iter()
                        .find(|d| d.node.name.node == variable)
                        .and_then(|d| d.node.default_value.as_ref())
                        .map(|default| default.node.clone())
                        .ok_or(()),
                }
            });
            // A repeated argument (refused by validation) is never judged by one of its values.
            match value.map(Value::into_json) {
                Ok(Ok(value)) if !arguments.contains_key(name.node.as_str()) => {
                    arguments.insert(name.node.to_string(), value)
                }
                _ => return false,
            };
        }
        (impersonal.admits)(caller, &arguments)
            && self.selects_only(
                returns,
                &field.selection_set.node,
                document,
                &|type_name, name| {
                    let ty = self.types.get(type_name)?;
                    let (_, returns) = ty.fields.get(name)?;
                    (!ty.abstract_type && impersonal.lists(type_name, name))
                        .then_some(returns.as_str())
                },
                1,
            )
    }

    /// Whether every field `set` (of `type_name`) selects, through fragments and below, passes
    /// `field`, which answers the named type a passing field returns.
    fn selects_only<'s>(
        &'s self,
        type_name: &str,
        set: &SelectionSet,
        document: &ExecutableDocument,
        field: &dyn Fn(&str, &str) -> Option<&'s str>,
        depth: usize,
    ) -> bool {
        if depth > Self::MAX_DEPTH {
            return false;
        }
        set.items.iter().all(|item| match &item.node {
            Selection::Field(selected) => {
                let selected = &selected.node;
                match selected.name.node.as_str() {
                    "__typename" => selected.selection_set.node.items.is_empty(),
                    name if name.starts_with("__") => false,
                    name => match field(type_name, name) {
                        Some(returns) => self.selects_only(
                            returns,
                            &selected.selection_set.node,
                            document,
                            field,
                            depth + 1,
                        ),
                        None => false,
                    },
                }
            }
            Selection::InlineFragment(fragment) => {
                let fragment = &fragment.node;
                let on = fragment
                    .type_condition
                    .as_ref()
                    .map_or(type_name, |c| c.node.on.node.as_str());
                self.selects_only(on, &fragment.selection_set.node, document, field, depth + 1)
            }
            Selection::FragmentSpread(spread) => {
                match document.fragments.get(&spread.node.fragment_name.node) {
                    Some(fragment) => self.selects_only(
                        fragment.node.type_condition.node.on.node.as_str(),
                        &fragment.node.selection_set.node,
                        document,
                        field,
                        depth + 1,
                    ),
                    None => false,
                }
            }
        })
    }

    /// The named type `field` of `type_name` returns, when the caller may read it on that
    /// type and, for an abstract type, on every possible type that has it.
    fn field_allowed(&self, type_name: &str, field: &str, caller: Option<&Caller>) -> Option<&str> {
        let ty = self.types.get(type_name)?;
        let (_, returns) = ty.fields.get(field)?;
        let allowed = |ty: &StaticType| ty.rule(field).is_some_and(|rule| allows(rule, caller));
        if !allowed(ty) {
            return None;
        }
        if ty.abstract_type {
            for possible in &ty.possible {
                let object = self.types.get(possible)?;
                match object.fields.get(field) {
                    Some((_, object_returns)) if object_returns == returns && allowed(object) => {}
                    _ => return None,
                }
            }
        }
        Some(returns.as_str())
    }
}

/// The operation of `document` that `name` names, or its only one.
pub fn operation<'d>(
    document: &'d ExecutableDocument,
    name: Option<&str>,
) -> Option<&'d OperationDefinition> {
    match (&document.operations, name) {
        (DocumentOperations::Single(op), _) => Some(&op.node),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| &op.node),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|op| &op.node)
        }
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// The `@access` rule among `directives`: `None` without the directive, `Some(None)` when its
/// arguments do not make a rule.
fn directive_rule(
    directives: &[async_graphql::Positioned<async_graphql::parser::types::ConstDirective>],
) -> Option<Option<Rule>> {
    let directive = directives.iter().find(|d| d.node.name.node == DIRECTIVE)?;
    let hide = matches!(
        directive.node.get_argument("hide").map(|v| &v.node),
        Some(Value::Boolean(true))
    );
    Some(match directive.node.get_argument("rule").map(|v| &v.node) {
        Some(Value::String(rule)) => Rule::parse(rule, hide),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_names_have_domain_resource_and_action() {
        assert!(is_permission_name("sales.quote:approve"));
        assert!(is_permission_name("identity.api_key:manage"));
        assert!(!is_permission_name("sales:approve"));
        assert!(!is_permission_name("Sales.quote:approve"));
        assert!(!is_permission_name("sales.quote"));
        assert!(!is_permission_name("a.b.c:d"));
    }
}

#[cfg(test)]
mod static_tests {
    use super::*;
    use crate::TenantId;
    use crate::access::{Principal, Scope};

    const SDL: &str = r#"
        directive @access(rule: String!, hide: Boolean = false) on FIELD_DEFINITION | OBJECT | INTERFACE
        interface Node @access(rule: "inherit") { id: ID! }
        type Customer implements Node @access(rule: "sales.customer:read") {
            id: ID!
            name: String!
            email: String @access(rule: "sales.customer:contact", hide: true)
            rep: User
        }
        type User implements Node @access(rule: "identity.user:read") { id: ID! name: String! }
        type Query {
            customers: [Customer!]! @access(rule: "sales.customer:read")
            node(id: ID!): Node @access(rule: "authenticated")
            version: String! @access(rule: "public")
            secret: String
        }
        type Mutation { touch: Boolean! @access(rule: "public") }
        type Subscription {
            customerChanged: Customer! @access(rule: "sales.customer:read")
            customerNear(place: String!): Customer! @access(rule: "sales.customer:read")
            ticks: Int
        }
        schema { query: Query mutation: Mutation subscription: Subscription }
    "#;

    fn caller(permissions: &[&str]) -> Caller {
        Caller::new(
            TenantId::new(),
            Principal::System,
            Vec::new(),
            permissions.iter().map(|p| (p.to_string(), Scope::Tenant)),
        )
    }

    /// May read customers with their contact details, and users.
    fn rep() -> Caller {
        caller(&[
            "sales.customer:read",
            "sales.customer:contact",
            "identity.user:read",
        ])
    }

    /// May read customers without their contact details, and users.
    fn observer() -> Caller {
        caller(&["sales.customer:read", "identity.user:read"])
    }

    fn allows(query: &str, caller: Option<&Caller>) -> bool {
        let policy = StaticPolicy::from_sdl(SDL).expect("sdl");
        let document = async_graphql::parser::parse_query(query).expect("query");
        policy.allows(&document, None, caller)
    }

    #[test]
    fn a_query_of_allowed_fields_passes_and_anything_else_needs_the_field_check() {
        let (rep, observer) = (rep(), observer());
        let deep = "{ customers { id name email rep { name } } }";
        assert!(allows(deep, Some(&rep)));
        // The hidden field must answer null for the observer: the per-field check does that.
        assert!(!allows(deep, Some(&observer)));
        assert!(allows(
            "{ customers { name rep { name } } }",
            Some(&observer)
        ));
        // Refused, unauthenticated, unknown or policy-less fields are never judged statically.
        assert!(!allows("{ customers { name } }", Some(&caller(&[]))));
        assert!(!allows("{ node(id: \"x\") { id } }", None));
        assert!(allows("{ version __typename }", None));
        assert!(!allows("{ secret }", Some(&rep)));
        assert!(!allows("{ customers { nickname } }", Some(&rep)));
        assert!(!allows("{ __schema { types { name } } }", Some(&rep)));
        assert!(!allows("mutation { touch }", Some(&rep)));
    }

    #[test]
    fn a_subscription_is_judged_from_its_root_as_a_query_is() {
        let (rep, observer) = (rep(), observer());
        let changes = "subscription { customerChanged { id name email rep { name } } }";
        assert!(allows(changes, Some(&rep)));
        // A hidden field answers null only through the per-field check.
        assert!(!allows(changes, Some(&observer)));
        assert!(allows(
            "subscription { customerChanged { name } }",
            Some(&observer)
        ));
        assert!(!allows(
            "subscription { customerChanged { name } }",
            Some(&caller(&[]))
        ));
        assert!(!allows("subscription { customerChanged { name } }", None));
        // A root field without a policy is refused by the per-field path, never admitted.
        assert!(!allows("subscription { ticks }", Some(&rep)));
    }

    const NEAR: Impersonal = Impersonal {
        root: "customerNear",
        fields: &[("Customer", &["id", "name"])],
        admits: |_, arguments| arguments.get("place").and_then(|p| p.as_str()) == Some("here"),
    };

    fn impersonal(query: &str, variables: serde_json::Value, caller: &Caller) -> bool {
        let policy = StaticPolicy::from_sdl(SDL).expect("sdl");
        let document = async_graphql::parser::parse_query(query).expect("query");
        let serde_json::Value::Object(variables) = variables else {
            panic!("variables are an object")
        };
        policy.impersonal(&document, None, &variables, caller, &[&NEAR])
    }

    #[test]
    fn a_subscription_is_impersonal_only_for_staff_with_listed_fields_and_admitted_arguments() {
        let staff = |kind| {
            Caller::new(
                TenantId::new(),
                Principal::User {
                    id: crate::UserId::new(),
                    kind,
                    session: None,
                },
                Vec::new(),
                [("sales.customer:read".to_owned(), Scope::Tenant)],
            )
        };
        let (rep, client) = (staff(UserKind::Staff), staff(UserKind::Client));
        let near =
            "subscription($p: String!) { customerNear(place: $p) { id n: name __typename } }";
        let here = serde_json::json!({"p": "here"});
        assert!(impersonal(near, here.clone(), &rep));
        // The arguments decide (here: the place), variables written in or left to their default.
        assert!(!impersonal(near, serde_json::json!({"p": "there"}), &rep));
        assert!(!impersonal(near, serde_json::json!({}), &rep));
        let default = "subscription($p: String = \"here\") { customerNear(place: $p) { id } }";
        assert!(impersonal(default, serde_json::json!({}), &rep));
        assert!(impersonal(
            "subscription { customerNear(place: \"here\") { id } }",
            serde_json::json!({}),
            &rep
        ));
        // A repeated argument is never judged by one of its values.
        assert!(!impersonal(
            "subscription { customerNear(place: \"here\", place: \"there\") { id } }",
            serde_json::json!({}),
            &rep
        ));
        // Only staff users: not a customer's portal account, not the system.
        assert!(!impersonal(near, here.clone(), &client));
        assert!(!impersonal(
            near,
            here.clone(),
            &caller(&["sales.customer:read"])
        ));
        // A field not listed, through a fragment or not, or a fragment on an interface.
        let place = "customerNear(place: \"here\")";
        for (query, expected) in [
            (
                format!("subscription {{ {place} {{ id rep {{ id }} }} }}"),
                false,
            ),
            (
                format!(
                    "subscription {{ {place} {{ ...C }} }} fragment C on Customer {{ id name }}"
                ),
                true,
            ),
            (
                format!("subscription {{ {place} {{ ...C }} }} fragment C on Customer {{ email }}"),
                false,
            ),
            (
                format!("subscription {{ {place} {{ ... on Node {{ id }} }} }}"),
                false,
            ),
            (
                format!("subscription {{ {place} {{ ... on Customer {{ name }} }} }}"),
                true,
            ),
            (
                format!("subscription {{ {place} {{ __schema {{ types {{ name }} }} }} }}"),
                false,
            ),
            // Only the declared root, alone; never a query.
            (
                format!("subscription {{ {place} {{ id }} customerChanged {{ id }} }}"),
                false,
            ),
            ("subscription { customerChanged { id } }".to_owned(), false),
            ("query { customers { id } }".to_owned(), false),
        ] {
            assert_eq!(
                impersonal(&query, serde_json::json!({}), &rep),
                expected,
                "{query}"
            );
        }
    }

    #[test]
    fn fragments_are_judged_on_their_type_and_interfaces_on_every_possible_type() {
        let reader = caller(&["sales.customer:read", "identity.user:read"]);
        let customers_only = caller(&["sales.customer:read"]);
        let on_customer = "{ node(id: \"x\") { ... on Customer { id name } } }";
        assert!(allows(on_customer, Some(&customers_only)));
        // `Node.id` is judged on every implementation: User's needs identity.user:read.
        assert!(!allows("{ node(id: \"x\") { id } }", Some(&customers_only)));
        let on_user = "{ node(id: \"x\") { ...U } } fragment U on User { name }";
        assert!(allows(on_user, Some(&reader)));
        assert!(!allows(on_user, Some(&customers_only)));
        assert!(!allows("{ node(id: \"x\") { ...Missing } }", Some(&reader)));
        // `id` on Node is `inherit`, and every implementation allows it to a reader.
        assert!(allows("{ node(id: \"x\") { id } }", Some(&reader)));
        // A recursive fragment (invalid anyway) ends at the depth limit.
        assert!(!allows(
            "{ customers { ...A } } fragment A on Customer { rep { ...B } } fragment B on User { id ... on Node { ...C } } fragment C on Customer { ...A }",
            Some(&reader),
        ));
    }
}
