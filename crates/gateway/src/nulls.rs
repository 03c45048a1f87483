//! Null propagation as the GraphQL specification defines it.
//!
//! When a field fails, async-graphql leaves the field out of its parent object (and makes the
//! parent null only if no field is left). The specification says instead: the failed field is
//! `null` if its type is nullable; otherwise the `null` moves up to the nearest nullable
//! ancestor (a list item, a field, or `data` itself). This pass applies that rule to every
//! response, using the error paths, the executed document (for aliases and fragments) and the
//! schema's types.

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Field, Selection, SelectionSet,
};
use async_graphql::{Name, PathSegment, Response, Value};

use crate::types::SchemaIndex;

/// The field a response key names in a selection set, looking through fragments.
fn find_field<'a>(
    set: &'a SelectionSet,
    key: &str,
    doc: &'a ExecutableDocument,
) -> Option<&'a Field> {
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => {
                if f.node.response_key().node.as_str() == key {
                    return Some(&f.node);
                }
            }
            Selection::InlineFragment(f) => {
                if let Some(found) = find_field(&f.node.selection_set.node, key, doc) {
                    return Some(found);
                }
            }
            Selection::FragmentSpread(s) => {
                if let Some(fragment) = doc.fragments.get(&s.node.fragment_name.node)
                    && let Some(found) = find_field(&fragment.node.selection_set.node, key, doc)
                {
                    return Some(found);
                }
            }
        }
    }
    None
}

fn is_non_null(ty: &str) -> bool {
    ty.ends_with('!')
}

/// `[User!]!` -> `User!`
fn list_item(ty: &str) -> &str {
    let ty = ty.strip_suffix('!').unwrap_or(ty);
    ty.strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(ty)
}

fn named(ty: &str) -> &str {
    ty.trim_matches(|c| c == '[' || c == ']' || c == '!')
}

/// For each segment of `path`, whether the value there may be null; `None` when the path
/// cannot be followed (then nothing is changed).
fn nullability(
    path: &[PathSegment],
    doc: &ExecutableDocument,
    operation: Option<&str>,
    index: &SchemaIndex,
    root: &str,
) -> Option<Vec<bool>> {
    let op = match (&doc.operations, operation) {
        (DocumentOperations::Single(op), _) => op,
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name)?,
        (DocumentOperations::Multiple(_), None) => return None,
    };
    let mut set = &op.node.selection_set.node;
    let mut parent = root.to_owned();
    let mut ty = String::new();
    let mut out = Vec::with_capacity(path.len());
    for segment in path {
        match segment {
            PathSegment::Field(key) => {
                let field = find_field(set, key, doc)?;
                let name = field.name.node.as_str();
                ty = if name == "__typename" {
                    "String!".to_owned()
                } else {
                    index.field(named(&parent), name)?.ty.to_string()
                };
                set = &field.selection_set.node;
            }
            PathSegment::Index(_) => {
                ty = list_item(&ty).to_owned();
            }
        }
        out.push(!is_non_null(&ty));
        parent = named(&ty).to_owned();
    }
    Some(out)
}

/// Sets the value at `path` to null. A parent that async-graphql collapsed to null (all its
/// fields failed) is an object again, since an error below it proves it was being resolved.
fn set_null(data: &mut Value, path: &[PathSegment]) {
    let Some((last, parents)) = path.split_last() else {
        *data = Value::Null;
        return;
    };
    let mut current = data;
    for segment in parents {
        if matches!(current, Value::Null) && matches!(segment, PathSegment::Field(_)) {
            *current = Value::Object(Default::default());
        }
        current = match (segment, current) {
            (PathSegment::Field(key), Value::Object(map)) => match map.get_mut(key.as_str()) {
                Some(value) => value,
                None => return,
            },
            (PathSegment::Index(i), Value::List(items)) => match items.get_mut(*i) {
                Some(value) => value,
                None => return,
            },
            _ => return,
        };
    }
    if matches!(current, Value::Null) && matches!(last, PathSegment::Field(_)) {
        *current = Value::Object(Default::default());
    }
    match (last, current) {
        (PathSegment::Field(key), Value::Object(map)) => {
            map.insert(Name::new(key), Value::Null);
        }
        (PathSegment::Index(i), Value::List(items)) => {
            if let Some(item) = items.get_mut(*i) {
                *item = Value::Null;
            }
        }
        _ => {}
    }
}

/// Applies the rule to `response`.
pub fn propagate(
    response: &mut Response,
    doc: &ExecutableDocument,
    operation: Option<&str>,
    index: &SchemaIndex,
) {
    let root = match &doc.operations {
        DocumentOperations::Single(op) => op.node.ty,
        DocumentOperations::Multiple(ops) => match operation.and_then(|n| ops.get(n)) {
            Some(op) => op.node.ty,
            None => return,
        },
    };
    let root = match root {
        async_graphql::parser::types::OperationType::Query => index.query.clone(),
        async_graphql::parser::types::OperationType::Mutation => index.mutation.clone(),
        async_graphql::parser::types::OperationType::Subscription => index.subscription.clone(),
    };
    // Where each error's null lands; a null inside another null is already covered.
    let mut targets: Vec<Vec<PathSegment>> = Vec::new();
    for error in &response.errors {
        if error.path.is_empty() {
            continue;
        }
        let Some(nullable) = nullability(&error.path, doc, operation, index, &root) else {
            continue;
        };
        targets.push(match nullable.iter().rposition(|n| *n) {
            Some(at) => error.path[..=at].to_vec(),
            None => Vec::new(),
        });
    }
    targets.sort_by_key(Vec::len);
    let mut applied: Vec<Vec<PathSegment>> = Vec::new();
    for target in targets {
        if applied.iter().any(|a| target.starts_with(a)) {
            continue;
        }
        set_null(&mut response.data, &target);
        applied.push(target);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapsed_parents_are_rebuilt_and_nulls_stop_at_nullable_fields() {
        let mut data = Value::Null;
        set_null(&mut data, &[PathSegment::Field("user".into())]);
        assert_eq!(data.to_string(), "{user: null}");
        let mut data =
            Value::from_json(serde_json::json!({"a": {"list": [{"x": 1}, {"x": 2}]}})).unwrap();
        set_null(
            &mut data,
            &[
                PathSegment::Field("a".into()),
                PathSegment::Field("list".into()),
                PathSegment::Index(1),
            ],
        );
        assert_eq!(
            data.into_json().unwrap(),
            serde_json::json!({"a": {"list": [{"x": 1}, null]}})
        );
        assert_eq!(list_item("[User!]!"), "User!");
        assert_eq!(named("[User!]!"), "User");
    }
}
