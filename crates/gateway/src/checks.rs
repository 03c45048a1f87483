//! (Over 600 lines: one pass per check (size, tokens, nesting, selections, literals, variables), each bounding the next; splitting would spread one ordered pipeline over files. Step 2 keeps its parsed documents by text, see `Documents`.)
//!
//! What every operation must pass before anything expensive runs, whichever transport brought
//! it (HTTP or WebSocket). The checks go from cheap to dear, and each bounds the next:
//!
//! 1. The document's size in bytes, then one pass over its text counting tokens and the
//!    nesting of `{`, `[` and `(`, before the parser (which recurses once per level) sees it.
//! 2. Parsing.
//! 3. One walk over the parsed document: introspection when it is off, aliases, the number
//!    of field selections with fragments expanded (memoised, so a fragment bomb costs no more
//!    than its text), and how deep fragments spread into each other.
//! 4. Literal arguments against their declared types: an enum position takes an enum value,
//!    never a string (`orderBy: {field: "NAME"}` is a validation error), and every string is
//!    bounded in length and free of control characters other than tab and line breaks.
//! 5. Variables coerced against the operation's declarations, as the specification's
//!    CoerceVariableValues does (a missing required variable, an `Int` beyond 32 bits inside an
//!    input object, an unknown enum name, an unknown input field), with the same string rules.
//!
//! Anything refused here is a request error: the transports answer it without `data` (HTTP
//! 400 under `application/graphql-response+json`), each error with a code.

use std::collections::HashMap;

use async_graphql::parser::types::{
    BaseType, ExecutableDocument, OperationDefinition, OperationType, Selection, SelectionSet, Type,
};
use async_graphql::{Pos, ServerError};
use async_graphql_value::Value;
use serde_json::{Map, Value as Json};

use crate::types::{SchemaIndex, TypeDef, named};

/// The bounds every request is held to (see the README's configuration table).
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_document_bytes: usize,
    pub max_tokens: usize,
    /// Nesting of brackets in the document, of fragment spreads, and of variable values.
    pub max_nesting: usize,
    pub max_selections: usize,
    pub max_aliases: usize,
    pub max_string_length: usize,
    pub introspection: bool,
}

/// Errors are capped so that a refusal stays small.
const MAX_ERRORS: usize = 20;

fn error(code: &str, message: String, pos: Option<Pos>) -> ServerError {
    let mut error = ServerError::new(message, pos);
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", code);
    error.extensions = Some(extensions);
    error
}

fn invalid(message: String, pos: Option<Pos>) -> ServerError {
    error("GRAPHQL_VALIDATION_FAILED", message, pos)
}

fn bad_input(message: String, pos: Option<Pos>) -> ServerError {
    error("BAD_USER_INPUT", message, pos)
}

pub use switchyard_kernel::policy::operation;

/// Whether the operation of `document` named `name` is a subscription.
pub fn is_subscription(document: &ExecutableDocument, name: Option<&str>) -> bool {
    operation(document, name).is_some_and(|op| op.ty == OperationType::Subscription)
}

/// The request checks of one schema.
pub struct Checks {
    index: std::sync::Arc<SchemaIndex>,
    limits: Limits,
    /// Parsed documents by text, so that a text is parsed once while it is in use (a parse is
    /// about a tenth of the server's work on a small planned read).
    documents: std::sync::Mutex<Documents>,
}

/// Documents of the most recent requests kept parsed, at most.
const RECENT_DOCUMENTS: usize = 512;
/// The longest text whose document is kept for later requests (the recent ones above then hold at
/// most 2 MiB of text parsed); longer ones are parsed for each request.
const RECENT_DOCUMENT_BYTES: usize = 4096;

/// Parsed documents by text, held weakly: a document lives as long as an open subscription or
/// a place among the recent requests' holds it; dead entries are dropped as the map grows
/// (when it reaches `sweep_at`, twice the living after the last sweep, so that sweeping stays
/// linear in the number of inserts).
#[derive(Default)]
struct Documents {
    by_text: HashMap<Box<str>, std::sync::Weak<ExecutableDocument>>,
    sweep_at: usize,
    /// The recent requests' documents, oldest first.
    recent: std::collections::VecDeque<std::sync::Arc<ExecutableDocument>>,
}

impl Checks {
    pub fn new(index: std::sync::Arc<SchemaIndex>, limits: Limits) -> Self {
        Checks {
            index,
            limits,
            documents: Default::default(),
        }
    }

    pub fn index(&self) -> &std::sync::Arc<SchemaIndex> {
        &self.index
    }

    /// Checks an operation and returns its parsed document, or the request errors. A short
    /// text's document is kept among the recent ones, so the next request of the same text is
    /// not parsed again.
    pub fn prepare(
        &self,
        query: &str,
        operation_name: Option<&str>,
        variables: &Map<String, Json>,
    ) -> Result<std::sync::Arc<ExecutableDocument>, Vec<ServerError>> {
        self.prepared(
            query,
            operation_name,
            variables,
            query.len() <= RECENT_DOCUMENT_BYTES,
        )
    }

    /// [`Checks::prepare`] for an operation that stays open (a subscription): its document is
    /// shared with every other open operation of the same text, and held by them alone.
    pub fn prepare_shared(
        &self,
        query: &str,
        operation_name: Option<&str>,
        variables: &Map<String, Json>,
    ) -> Result<std::sync::Arc<ExecutableDocument>, Vec<ServerError>> {
        self.prepared(query, operation_name, variables, false)
    }

    /// The document of `query`, parsed now or still held from before (kept among the recent
    /// ones when `keep`), checked for this operation.
    fn prepared(
        &self,
        query: &str,
        operation_name: Option<&str>,
        variables: &Map<String, Json>,
        keep: bool,
    ) -> Result<std::sync::Arc<ExecutableDocument>, Vec<ServerError>> {
        let documents = || self.documents.lock().unwrap_or_else(|p| p.into_inner());
        let held = documents()
            .by_text
            .get(query)
            .and_then(std::sync::Weak::upgrade);
        let document = match held {
            Some(document) => document,
            None => {
                // Parsed outside the lock; of two parses of one text at once, the later stays.
                let document = std::sync::Arc::new(self.parse(query)?);
                let mut documents = documents();
                if documents.by_text.len() >= documents.sweep_at {
                    documents.by_text.retain(|_, held| held.strong_count() > 0);
                    documents.sweep_at = (documents.by_text.len() * 2).max(64);
                }
                documents
                    .by_text
                    .insert(query.into(), std::sync::Arc::downgrade(&document));
                if keep {
                    if documents.recent.len() == RECENT_DOCUMENTS {
                        documents.recent.pop_front();
                    }
                    documents.recent.push_back(document.clone());
                }
                document
            }
        };
        self.check(&document, operation_name, variables)?;
        Ok(document)
    }

    /// The checks after parsing: selections, literals, variables.
    fn check(
        &self,
        document: &ExecutableDocument,
        operation_name: Option<&str>,
        variables: &Map<String, Json>,
    ) -> Result<(), Vec<ServerError>> {
        self.shape(document).map_err(|e| vec![e])?;
        let mut errors = Vec::new();
        self.literals(document, operation_name, &mut errors);
        if let Some(op) = operation(document, operation_name) {
            self.variables(op, variables, &mut errors);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            errors.truncate(MAX_ERRORS);
            Err(errors)
        }
    }

    /// Checks the text's size, tokens and nesting, then parses it.
    pub fn parse(&self, query: &str) -> Result<ExecutableDocument, Vec<ServerError>> {
        self.scan(query).map_err(|e| vec![e])?;
        async_graphql::parser::parse_query(query).map_err(|e| {
            let pos = e.positions().next();
            vec![error("GRAPHQL_PARSE_FAILED", e.to_string(), pos)]
        })
    }

    /// Size, tokens and bracket nesting, from the text alone.
    fn scan(&self, query: &str) -> Result<(), ServerError> {
        let limits = &self.limits;
        if query.len() > limits.max_document_bytes {
            return Err(invalid(
                format!(
                    "the document is {} bytes; at most {} are allowed",
                    query.len(),
                    limits.max_document_bytes
                ),
                None,
            ));
        }
        let bytes = query.as_bytes();
        let (mut i, mut tokens, mut depth) = (0usize, 0usize, 0usize);
        while i < bytes.len() {
            let b = bytes[i];
            match b {
                b' ' | b'\t' | b'\n' | b'\r' | b',' => {
                    i += 1;
                    continue;
                }
                b'#' => {
                    while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                        i += 1;
                    }
                    continue;
                }
                b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                    i += 3;
                    while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                        i += if bytes[i..].starts_with(b"\\\"\"\"") {
                            4
                        } else {
                            1
                        };
                    }
                    i += 3;
                }
                b'"' => {
                    i += 1;
                    while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                        i += if bytes[i] == b'\\' { 2 } else { 1 };
                    }
                    i += 1;
                }
                b'{' | b'[' | b'(' => {
                    depth += 1;
                    if depth > limits.max_nesting {
                        return Err(invalid(
                            format!(
                                "the document nests brackets more than {} levels deep",
                                limits.max_nesting
                            ),
                            None,
                        ));
                    }
                    i += 1;
                }
                b'}' | b']' | b')' => {
                    depth = depth.saturating_sub(1);
                    i += 1;
                }
                b'_' | b'-' | b'.' | b'+' | b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => {
                    while i < bytes.len()
                        && matches!(bytes[i], b'_' | b'-' | b'.' | b'+' | b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9')
                    {
                        i += 1;
                    }
                }
                _ => i += 1,
            }
            tokens += 1;
            if tokens > limits.max_tokens {
                return Err(invalid(
                    format!("the document has more than {} tokens", limits.max_tokens),
                    None,
                ));
            }
        }
        Ok(())
    }

    /// Introspection, aliases, selections with fragments expanded, fragment nesting.
    fn shape(&self, document: &ExecutableDocument) -> Result<(), ServerError> {
        let limits = &self.limits;
        let sets = document
            .operations
            .iter()
            .map(|(_, op)| &op.node.selection_set.node)
            .chain(
                document
                    .fragments
                    .values()
                    .map(|f| &f.node.selection_set.node),
            );
        let mut aliases = 0;
        for set in sets.clone() {
            if !limits.introspection && introspects(set) {
                return Err(invalid(
                    "introspection is disabled on this server".into(),
                    None,
                ));
            }
            aliases += count_aliases(set);
        }
        if aliases > limits.max_aliases {
            return Err(invalid(
                format!(
                    "the document has {aliases} aliases; at most {} are allowed",
                    limits.max_aliases
                ),
                None,
            ));
        }
        let mut counter = Counter {
            document,
            memo: HashMap::new(),
            max_depth: limits.max_nesting,
        };
        let mut total: u64 = 0;
        for set in sets {
            total = total.saturating_add(counter.set(set, 0)?);
            if total > limits.max_selections as u64 {
                return Err(invalid(
                    format!(
                        "the document selects more than {} fields (fragments expanded)",
                        limits.max_selections
                    ),
                    None,
                ));
            }
        }
        Ok(())
    }

    /// Literal arguments of every operation and fragment, against their declared types.
    fn literals(
        &self,
        document: &ExecutableDocument,
        operation_name: Option<&str>,
        errors: &mut Vec<ServerError>,
    ) {
        // Fragments are checked against the variables of the operation that runs.
        let running = operation(document, operation_name).map(variables_of);
        for (_, op) in document.operations.iter() {
            let vars = variables_of(&op.node);
            let root = match op.node.ty {
                OperationType::Query => &self.index.query,
                OperationType::Mutation => &self.index.mutation,
                OperationType::Subscription => &self.index.subscription,
            };
            self.literal_set(&op.node.selection_set.node, root, &vars, errors, 0);
            for definition in &op.node.variable_definitions {
                if let Some(default) = &definition.node.default_value {
                    self.literal(
                        &default.node.clone().into_value(),
                        Some(&definition.node.var_type.node),
                        &format!("the default of ${}", definition.node.name.node),
                        default.pos,
                        &vars,
                        errors,
                        0,
                    );
                }
            }
        }
        let running = running.unwrap_or_default();
        for fragment in document.fragments.values() {
            self.literal_set(
                &fragment.node.selection_set.node,
                fragment.node.type_condition.node.on.node.as_str(),
                &running,
                errors,
                0,
            );
        }
    }

    fn literal_set(
        &self,
        set: &SelectionSet,
        parent: &str,
        vars: &Vars,
        errors: &mut Vec<ServerError>,
        depth: usize,
    ) {
        if depth > self.limits.max_nesting || errors.len() >= MAX_ERRORS {
            return;
        }
        for item in &set.items {
            for directive in item.node.directives() {
                for (name, value) in &directive.node.arguments {
                    let at = format!("argument `{}` of @{}", name.node, directive.node.name.node);
                    self.literal(&value.node, None, &at, value.pos, vars, errors, 0);
                }
            }
            match &item.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let definition = self.index.field(parent, field.name.node.as_str());
                    for (name, value) in &field.arguments {
                        let ty = definition
                            .and_then(|d| d.args.get(name.node.as_str()))
                            .map(|(ty, _)| ty);
                        let at = format!("argument `{}` of `{}`", name.node, field.name.node);
                        self.literal(&value.node, ty, &at, value.pos, vars, errors, 0);
                    }
                    if let Some(definition) = definition {
                        self.literal_set(
                            &field.selection_set.node,
                            named(&definition.ty),
                            vars,
                            errors,
                            depth + 1,
                        );
                    }
                }
                Selection::InlineFragment(fragment) => {
                    let on = fragment
                        .node
                        .type_condition
                        .as_ref()
                        .map_or(parent, |c| c.node.on.node.as_str());
                    self.literal_set(
                        &fragment.node.selection_set.node,
                        on,
                        vars,
                        errors,
                        depth + 1,
                    );
                }
                Selection::FragmentSpread(_) => {}
            }
        }
    }

    /// One literal value, typed when its declaration is known.
    #[allow(clippy::too_many_arguments)]
    fn literal(
        &self,
        value: &Value,
        ty: Option<&Type>,
        at: &str,
        pos: Pos,
        vars: &Vars,
        errors: &mut Vec<ServerError>,
        depth: usize,
    ) {
        if depth > self.limits.max_nesting || errors.len() >= MAX_ERRORS {
            return;
        }
        match value {
            Value::Variable(name) => {
                if let (Some(expected), Some((declared, has_default))) =
                    (ty, vars.get(name.as_str()))
                    && !fits(declared, expected, *has_default)
                {
                    errors.push(invalid(
                        format!("{at}: variable ${name} of type {declared} cannot be used where {expected} is expected"),
                        Some(pos),
                    ));
                }
            }
            Value::String(s) => {
                if let Some(ty) = ty
                    && let Some(TypeDef::Enum { .. }) = self.index.get(named(ty))
                {
                    errors.push(invalid(
                        format!(
                            "{at}: enum {} takes an enum value, not the string \"{}\" (write it without quotes)",
                            named(ty),
                            truncate(s)
                        ),
                        Some(pos),
                    ));
                    return;
                }
                if let Some(e) = self.string(s, at, Some(pos)) {
                    errors.push(e);
                }
            }
            Value::List(items) => {
                let inner = ty.map(|t| match &t.base {
                    BaseType::List(inner) => inner.as_ref(),
                    BaseType::Named(_) => t,
                });
                for item in items {
                    self.literal(item, inner, at, pos, vars, errors, depth + 1);
                }
            }
            Value::Object(fields) => {
                let declared = match ty.and_then(|t| self.index.get(named(t))) {
                    Some(TypeDef::Input { fields }) => Some(fields),
                    _ => None,
                };
                for (name, value) in fields {
                    let field_ty = declared.and_then(|d| {
                        d.iter()
                            .find(|(n, _, _)| n == name.as_str())
                            .map(|(_, t, _)| t)
                    });
                    let at = format!("{at}, field `{name}`");
                    self.literal(value, field_ty, &at, pos, vars, errors, depth + 1);
                }
            }
            _ => {}
        }
    }

    /// A string's length and characters.
    fn string(&self, s: &str, at: &str, pos: Option<Pos>) -> Option<ServerError> {
        let max = self.limits.max_string_length;
        if s.len() > max && s.chars().count() > max {
            return Some(bad_input(
                format!(
                    "{at}: the text is {} characters long; at most {max} are allowed",
                    s.chars().count()
                ),
                pos,
            ));
        }
        if let Some(c) = s
            .chars()
            .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        {
            return Some(bad_input(
                format!(
                    "{at}: the text contains the control character U+{:04X}; only tab and line breaks are allowed",
                    c as u32
                ),
                pos,
            ));
        }
        None
    }

    /// Variables of `op`, coerced against their declarations.
    fn variables(
        &self,
        op: &OperationDefinition,
        variables: &Map<String, Json>,
        errors: &mut Vec<ServerError>,
    ) {
        for definition in &op.variable_definitions {
            let definition = &definition.node;
            let name = definition.name.node.as_str();
            let ty = &definition.var_type.node;
            let pos = Some(definition.name.pos);
            match variables.get(name) {
                None if definition.default_value.is_none() && !ty.nullable => {
                    errors.push(bad_input(
                        format!("variable ${name} of required type {ty} was not provided"),
                        pos,
                    ));
                }
                None => {}
                Some(value) => self.coerce(value, ty, &format!("${name}"), pos, errors, 0),
            }
        }
    }

    /// One variable value against its type.
    fn coerce(
        &self,
        value: &Json,
        ty: &Type,
        at: &str,
        pos: Option<Pos>,
        errors: &mut Vec<ServerError>,
        depth: usize,
    ) {
        if errors.len() >= MAX_ERRORS {
            return;
        }
        if depth > self.limits.max_nesting {
            errors.push(bad_input(
                format!(
                    "{at}: the value nests more than {} levels deep",
                    self.limits.max_nesting
                ),
                pos,
            ));
            return;
        }
        if value.is_null() {
            if !ty.nullable {
                errors.push(bad_input(
                    format!("{at}: must not be null (type {ty})"),
                    pos,
                ));
            }
            return;
        }
        let name = match &ty.base {
            BaseType::List(inner) => {
                match value {
                    Json::Array(items) => {
                        for (i, item) in items.iter().enumerate() {
                            self.coerce(item, inner, &format!("{at}.{i}"), pos, errors, depth + 1);
                        }
                    }
                    single => self.coerce(single, inner, at, pos, errors, depth + 1),
                }
                return;
            }
            BaseType::Named(name) => name.as_str(),
        };
        let wrong = |expected: &str| {
            bad_input(
                format!(
                    "{at}: expected {expected} (type {ty}), got {}",
                    describe(value)
                ),
                pos,
            )
        };
        match (name, self.index.get(name)) {
            ("Int", _) => match value.as_i64() {
                Some(n) if i32::try_from(n).is_ok() => {}
                Some(_) => errors.push(bad_input(
                    format!("{at}: Int cannot represent {value}: it must fit in 32 bits"),
                    pos,
                )),
                None => errors.push(wrong("an integer")),
            },
            ("Long", _) if value.as_i64().is_none() => errors.push(wrong("a 64-bit integer")),
            ("Float", _) if !value.is_number() => errors.push(wrong("a number")),
            ("Boolean", _) if !value.is_boolean() => errors.push(wrong("true or false")),
            ("Long" | "Float" | "Boolean", _) => {}
            ("ID", _) => match value {
                Json::String(s) => errors.extend(self.string(s, at, pos)),
                Json::Number(n) if n.is_i64() || n.is_u64() => {}
                _ => errors.push(wrong("a string or an integer")),
            },
            ("DateTime", _) => match value.as_str() {
                Some(s) if s.parse::<chrono::DateTime<chrono::Utc>>().is_ok() => {}
                _ => errors.push(wrong(
                    "an RFC 3339 date and time such as 2026-05-01T09:00:00Z",
                )),
            },
            ("NaiveDate", _) => match value.as_str() {
                Some(s) if s.parse::<chrono::NaiveDate>().is_ok() => {}
                _ => errors.push(wrong("a date such as 2026-05-01")),
            },
            (_, Some(TypeDef::Enum { values })) => match value.as_str() {
                Some(s) if values.contains(s) => {}
                _ => errors.push(bad_input(
                    format!(
                        "{at}: {} is not a value of enum {name}",
                        truncate(&value.to_string())
                    ),
                    pos,
                )),
            },
            (_, Some(TypeDef::Input { fields })) => {
                let Json::Object(given) = value else {
                    errors.push(wrong("an object"));
                    return;
                };
                for key in given.keys() {
                    if !fields.iter().any(|(n, _, _)| n == key) {
                        errors.push(bad_input(
                            format!("{at}: {name} has no field `{}`", truncate(key)),
                            pos,
                        ));
                    }
                }
                for (field, field_ty, has_default) in fields {
                    match given.get(field) {
                        Some(v) => self.coerce(
                            v,
                            field_ty,
                            &format!("{at}.{field}"),
                            pos,
                            errors,
                            depth + 1,
                        ),
                        None if !field_ty.nullable && !has_default => errors.push(bad_input(
                            format!("{at}.{field}: required ({field_ty}) but not provided"),
                            pos,
                        )),
                        None => {}
                    }
                }
            }
            (_, Some(TypeDef::Scalar)) => match value {
                Json::String(s) => errors.extend(self.string(s, at, pos)),
                Json::Array(_) | Json::Object(_) if name == "String" => {
                    errors.push(wrong("a string"))
                }
                Json::Bool(_) | Json::Number(_) if name == "String" => {
                    errors.push(wrong("a string"))
                }
                _ => {}
            },
            // Output types and unknown names: the validation that follows refuses them.
            _ => {}
        }
    }
}

/// An operation's variables: name -> (declared type, has a default).
type Vars = HashMap<String, (Type, bool)>;

fn variables_of(op: &OperationDefinition) -> Vars {
    op.variable_definitions
        .iter()
        .map(|d| {
            (
                d.node.name.node.to_string(),
                (d.node.var_type.node.clone(), d.node.default_value.is_some()),
            )
        })
        .collect()
}

/// Whether a variable of type `declared` may stand where `expected` is (the specification's
/// "All Variable Usages Are Allowed": the same type, lists alike, a nullable variable in a
/// non-null position only with a default).
fn fits(declared: &Type, expected: &Type, has_default: bool) -> bool {
    if !expected.nullable && declared.nullable && !has_default {
        return false;
    }
    match (&declared.base, &expected.base) {
        (BaseType::Named(a), BaseType::Named(b)) => a == b,
        (BaseType::List(a), BaseType::List(b)) => fits(a, b, false),
        _ => false,
    }
}

fn describe(value: &Json) -> String {
    match value {
        Json::Null => "null".into(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => n.to_string(),
        Json::String(s) => format!("the string \"{}\"", truncate(s)),
        Json::Array(_) => "a list".into(),
        Json::Object(_) => "an object".into(),
    }
}

/// At most 40 characters of a client's text in an error message.
fn truncate(s: &str) -> String {
    let mut out: String = s.chars().take(40).filter(|c| !c.is_control()).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

/// Field selections with fragments expanded, each fragment counted once and memoised.
struct Counter<'d> {
    document: &'d ExecutableDocument,
    /// Fragment name -> its expanded count; `None` while it is being counted (a cycle, which
    /// validation refuses: it counts as nothing here).
    memo: HashMap<&'d str, Option<u64>>,
    max_depth: usize,
}

impl<'d> Counter<'d> {
    fn set(&mut self, set: &'d SelectionSet, depth: usize) -> Result<u64, ServerError> {
        if depth > self.max_depth {
            return Err(invalid(
                format!(
                    "selections and fragments nest more than {} levels deep",
                    self.max_depth
                ),
                None,
            ));
        }
        let mut total: u64 = 0;
        for item in &set.items {
            let n = match &item.node {
                Selection::Field(field) => {
                    1u64.saturating_add(self.set(&field.node.selection_set.node, depth + 1)?)
                }
                Selection::InlineFragment(fragment) => {
                    self.set(&fragment.node.selection_set.node, depth + 1)?
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    match self.memo.get(name) {
                        Some(Some(n)) => *n,
                        Some(None) => 0,
                        None => match self.document.fragments.get(name) {
                            Some(fragment) => {
                                self.memo.insert(name, None);
                                let n = self.set(&fragment.node.selection_set.node, depth + 1)?;
                                self.memo.insert(name, Some(n));
                                n
                            }
                            None => 0,
                        },
                    }
                }
            };
            total = total.saturating_add(n);
        }
        Ok(total)
    }
}

/// Whether a selection set asks for `__schema` or `__type` (fragments are checked on their
/// own).
fn introspects(set: &SelectionSet) -> bool {
    set.items.iter().any(|item| match &item.node {
        Selection::Field(f) => {
            matches!(f.node.name.node.as_str(), "__schema" | "__type")
                || introspects(&f.node.selection_set.node)
        }
        Selection::InlineFragment(f) => introspects(&f.node.selection_set.node),
        Selection::FragmentSpread(_) => false,
    })
}

fn count_aliases(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(f) => {
                usize::from(f.node.alias.is_some()) + count_aliases(&f.node.selection_set.node)
            }
            Selection::InlineFragment(f) => count_aliases(&f.node.selection_set.node),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SDL: &str = r#"
        enum Field { NAME CREATED }
        input Order { field: Field! desc: Boolean = false }
        input Page { first: Int! note: String tags: [String!] }
        type Query { items(order: Order, page: Page, search: String, at: DateTime): [String!]! }
        scalar DateTime
        schema { query: Query }
    "#;

    fn checks() -> Checks {
        Checks::new(
            std::sync::Arc::new(SchemaIndex::from_sdl(SDL).unwrap()),
            Limits {
                max_document_bytes: 4096,
                max_tokens: 300,
                max_nesting: 16,
                max_selections: 50,
                max_aliases: 5,
                max_string_length: 20,
                introspection: false,
            },
        )
    }

    fn codes(query: &str, variables: Json) -> Vec<String> {
        let Json::Object(variables) = variables else {
            panic!("variables must be an object")
        };
        match checks().prepare(query, None, &variables) {
            Ok(_) => vec![],
            Err(errors) => errors
                .iter()
                .map(|e| {
                    let code = e
                        .extensions
                        .as_ref()
                        .and_then(|x| x.get("code"))
                        .map(|c| c.to_string().trim_matches('"').to_owned())
                        .unwrap_or_default();
                    format!("{code}: {}", e.message)
                })
                .collect(),
        }
    }

    #[test]
    fn deep_values_are_refused_before_parsing() {
        let deep = format!(
            "{{ items(search: {}1{}) }}",
            "[".repeat(1500),
            "]".repeat(1500)
        );
        let refused = codes(&deep, json!({}));
        assert!(refused[0].contains("nests brackets"), "{refused:?}");
        // Unbalanced and unterminated input is left to the parser, which answers a parse error.
        assert!(codes("{ items(search: \"abc", json!({}))[0].contains("GRAPHQL_PARSE_FAILED"));
        assert!(codes(&"{".repeat(3000), json!({}))[0].contains("nests brackets"));
        // Brackets inside strings and comments do not count.
        let quoted = format!(
            "{{ items(search: \"{}\") }} # {}",
            "[".repeat(19),
            "{".repeat(500)
        );
        assert_eq!(codes(&quoted, json!({})), Vec::<String>::new());
    }

    #[test]
    fn size_tokens_selections_and_fragment_bombs_are_bounded() {
        assert!(codes(&"x".repeat(5000), json!({}))[0].contains("bytes"));
        assert!(codes(&format!("{{ {} }}", "items ".repeat(400)), json!({}))[0].contains("tokens"));
        assert!(
            codes(&format!("{{ {} }}", "__typename ".repeat(60)), json!({}))[0]
                .contains("more than 50 fields")
        );
        // Each fragment spreads the next one twice: 2^10 selections from a few lines.
        let mut bomb = String::from("{ ...F0 }");
        for i in 0..10 {
            bomb.push_str(&format!(
                " fragment F{i} on Query {{ ...F{} ...F{} }}",
                i + 1,
                i + 1
            ));
        }
        bomb.push_str(" fragment F10 on Query { __typename }");
        assert!(
            codes(&bomb, json!({}))[0].contains("more than 50 fields"),
            "{bomb}"
        );
        assert!(codes("{ __schema { types { name } } }", json!({}))[0].contains("introspection"));
        assert!(
            codes(
                "{ a: items b: items c: items d: items e: items f: items }",
                json!({})
            )[0]
            .contains("aliases")
        );
    }

    #[test]
    fn literals_take_enum_values_and_bounded_clean_strings() {
        assert_eq!(
            codes("{ items(order: {field: NAME}) }", json!({})),
            Vec::<String>::new()
        );
        let refused = codes("{ items(order: {field: \"NAME\"}) }", json!({}));
        assert!(
            refused[0].starts_with("GRAPHQL_VALIDATION_FAILED"),
            "{refused:?}"
        );
        assert!(refused[0].contains("enum Field"), "{refused:?}");
        let long = codes(
            "{ items(search: \"aaaaaaaaaaaaaaaaaaaaaaaaa\") }",
            json!({}),
        );
        assert!(
            long[0].starts_with("BAD_USER_INPUT") && long[0].contains("at most 20"),
            "{long:?}"
        );
        let nul = codes("{ items(search: \"a\\u0000b\") }", json!({}));
        assert!(nul[0].contains("U+0000"), "{nul:?}");
        assert_eq!(
            codes("{ items(search: \"two\\nlines\") }", json!({})),
            Vec::<String>::new()
        );
    }

    #[test]
    fn variables_are_coerced_as_the_specification_says() {
        let q = "query($p: Page, $o: Order!, $s: String, $at: DateTime) { items(page: $p, order: $o, search: $s, at: $at) }";
        let ok = json!({"p": {"first": 3, "tags": "one"}, "o": {"field": "NAME"}, "at": "2026-05-01T09:00:00Z"});
        assert_eq!(codes(q, ok), Vec::<String>::new());
        let missing = codes(q, json!({}));
        assert!(
            missing[0].contains("$o of required type Order!"),
            "{missing:?}"
        );
        let big = codes(
            q,
            json!({"o": {"field": "NAME"}, "p": {"first": 2147483648i64}}),
        );
        assert!(
            big[0].contains("$p.first") && big[0].contains("32 bits"),
            "{big:?}"
        );
        let wrong = codes(
            q,
            json!({"o": {"field": "NOPE", "extra": 1}, "s": "a\u{0}"}),
        );
        assert_eq!(wrong.len(), 3, "{wrong:?}");
        let date = codes(q, json!({"o": {"field": "NAME"}, "at": "tomorrow"}));
        assert!(date[0].contains("$at"), "{date:?}");
        let required = codes(q, json!({"o": {"desc": true}}));
        assert!(required[0].contains("$o.field"), "{required:?}");
        let deep = codes(
            q,
            json!({"o": {"field": "NAME"}, "p": {"first": 1, "tags": [[[[[[[[[[[[[[[[[[["x"]]]]]]]]]]]]]]]]]]]}}),
        );
        assert!(!deep.is_empty(), "{deep:?}");
    }

    #[test]
    fn open_operations_of_one_text_share_its_document_and_are_each_checked() {
        let checks = checks();
        let query = "query($p: Page) { items(page: $p) }";
        let page = |first: Json| {
            let Json::Object(map) = json!({"p": {"first": first}}) else {
                unreachable!()
            };
            map
        };
        let one = checks.prepare_shared(query, None, &page(json!(1))).unwrap();
        let two = checks.prepare_shared(query, None, &page(json!(2))).unwrap();
        assert!(std::sync::Arc::ptr_eq(&one, &two), "one parse for both");
        // Variables are checked for each operation, shared document or not.
        let errors = checks
            .prepare_shared(query, None, &page(json!("many")))
            .unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        // Once nobody holds it, the next operation of that text parses it again.
        drop((one, two));
        let three = checks.prepare_shared(query, None, &page(json!(3))).unwrap();
        assert_eq!(std::sync::Arc::strong_count(&three), 1);
        // A document that does not parse is an error, and nothing is kept for it.
        assert!(checks.prepare_shared("{ items", None, &Map::new()).is_err());
        assert!(
            !checks
                .documents
                .lock()
                .unwrap()
                .by_text
                .contains_key("{ items")
        );
    }

    #[test]
    fn a_short_requests_document_is_parsed_once_and_kept_for_the_next() {
        let checks = checks();
        let query = "{ items(page: {first: 2}) }";
        let one = checks.prepare(query, None, &Map::new()).unwrap();
        let two = checks.prepare(query, None, &Map::new()).unwrap();
        assert!(std::sync::Arc::ptr_eq(&one, &two), "one parse for both");
        drop((one, two));
        // Kept among the recent requests' documents although nobody else holds it.
        let three = checks.prepare(query, None, &Map::new()).unwrap();
        assert_eq!(std::sync::Arc::strong_count(&three), 2);
        // The recent ones are a bounded ring: after as many other texts, it is gone.
        for n in 0..RECENT_DOCUMENTS {
            checks
                .prepare(&format!("{{ items }} # {n}"), None, &Map::new())
                .unwrap();
        }
        assert_eq!(std::sync::Arc::strong_count(&three), 1);
        assert_eq!(
            checks.documents.lock().unwrap().recent.len(),
            RECENT_DOCUMENTS
        );
    }
}
