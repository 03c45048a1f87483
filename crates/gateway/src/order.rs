//! Response keys in the order of the query.
//!
//! The specification orders the keys of a result object as CollectFields orders the
//! selection: by first appearance, fragments in place. async-graphql resolves an object's
//! fields concurrently and inserts each result as it completes, so a field that waits for the
//! database lands after one that did not (`{ me tenant }` answered `tenant` first). This pass
//! puts every object of a response back in selection order, using the executed document and
//! the schema's types. An object of an abstract type follows the fragments its `__typename`
//! selects; without `__typename` every fragment counts, in document order.

use async_graphql::parser::types::{BaseType, ExecutableDocument, Selection, SelectionSet, Type};
use async_graphql::{Name, Value};

use crate::checks::operation;
use crate::types::{SchemaIndex, named};

/// Orders `data`, the result of the operation `operation_name` of `document`.
pub fn reorder(
    data: &mut Value,
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    index: &SchemaIndex,
) {
    let Some(op) = operation(document, operation_name) else {
        return;
    };
    let root = match op.ty {
        async_graphql::parser::types::OperationType::Query => index.query.as_str(),
        async_graphql::parser::types::OperationType::Mutation => index.mutation.as_str(),
        async_graphql::parser::types::OperationType::Subscription => index.subscription.as_str(),
    };
    if let Value::Object(map) = data {
        Orderer { document, index }.object(map, root, &[&op.selection_set.node]);
    }
}

/// One response key and the fields selected under it (their sub-selections merge).
struct Entry<'a> {
    key: &'a str,
    name: &'a str,
    /// The type the field was selected on (the fragment's condition, or the object's type).
    parent: &'a str,
    sets: Vec<&'a SelectionSet>,
}

struct Orderer<'a> {
    document: &'a ExecutableDocument,
    index: &'a SchemaIndex,
}

impl<'a> Orderer<'a> {
    fn value(&self, value: &mut Value, ty: &'a Type, sets: &[&'a SelectionSet]) {
        match value {
            Value::List(items) => {
                let inner = match &ty.base {
                    BaseType::List(inner) => inner.as_ref(),
                    BaseType::Named(_) => ty,
                };
                for item in items {
                    self.value(item, inner, sets);
                }
            }
            Value::Object(map) => self.object(map, named(ty), sets),
            _ => {}
        }
    }

    fn object(
        &self,
        map: &mut async_graphql::indexmap::IndexMap<Name, Value>,
        declared: &'a str,
        sets: &[&'a SelectionSet],
    ) {
        let concrete: Option<String> = if self.index.is_abstract(declared) {
            map.get("__typename").and_then(|t| match t {
                Value::String(s) => Some(s.clone()),
                _ => None,
            })
        } else {
            Some(declared.to_owned())
        };
        let mut entries: Vec<Entry<'a>> = Vec::new();
        for set in sets {
            self.collect(set, declared, concrete.as_deref(), &mut entries, 0);
        }
        let in_order = {
            let mut keys = map.keys();
            let mut expected = entries
                .iter()
                .filter(|e| map.contains_key(e.key))
                .map(|e| e.key);
            loop {
                match (keys.next(), expected.next()) {
                    (Some(k), Some(e)) if k.as_str() == e => {}
                    (None, None) => break true,
                    _ => break false,
                }
            }
        };
        if !in_order {
            let mut old = std::mem::take(map);
            for entry in &entries {
                if let Some((key, value)) = old.shift_remove_entry(entry.key) {
                    map.insert(key, value);
                }
            }
            map.extend(old);
        }
        for entry in &entries {
            if entry.sets.is_empty() {
                continue;
            }
            if let (Some(value), Some(field)) = (
                map.get_mut(entry.key),
                self.index.field(entry.parent, entry.name),
            ) {
                self.value(value, &field.ty, &entry.sets);
            }
        }
    }

    fn collect(
        &self,
        set: &'a SelectionSet,
        parent: &'a str,
        concrete: Option<&str>,
        out: &mut Vec<Entry<'a>>,
        depth: usize,
    ) {
        if depth > 64 {
            return;
        }
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let key = field.response_key().node.as_str();
                    let sub = &field.selection_set.node;
                    match out.iter_mut().find(|e| e.key == key) {
                        Some(entry) => {
                            if !sub.items.is_empty() {
                                entry.sets.push(sub);
                            }
                        }
                        None => out.push(Entry {
                            key,
                            name: field.name.node.as_str(),
                            parent,
                            sets: if sub.items.is_empty() {
                                Vec::new()
                            } else {
                                vec![sub]
                            },
                        }),
                    }
                }
                Selection::InlineFragment(fragment) => {
                    let on = fragment
                        .node
                        .type_condition
                        .as_ref()
                        .map(|c| c.node.on.node.as_str());
                    if self.applies(on, concrete) {
                        self.collect(
                            &fragment.node.selection_set.node,
                            on.unwrap_or(parent),
                            concrete,
                            out,
                            depth + 1,
                        );
                    }
                }
                Selection::FragmentSpread(spread) => {
                    if let Some(fragment) =
                        self.document.fragments.get(&spread.node.fragment_name.node)
                    {
                        let on = fragment.node.type_condition.node.on.node.as_str();
                        if self.applies(Some(on), concrete) {
                            self.collect(
                                &fragment.node.selection_set.node,
                                on,
                                concrete,
                                out,
                                depth + 1,
                            );
                        }
                    }
                }
            }
        }
    }

    fn applies(&self, condition: Option<&str>, concrete: Option<&str>) -> bool {
        match (condition, concrete) {
            (Some(condition), Some(object)) => self.index.applies(condition, object),
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_selection_through_aliases_fragments_and_lists() {
        let index = SchemaIndex::from_sdl(
            "interface Node { id: ID! }
             type User implements Node { id: ID! name: String email: String }
             type Team implements Node { id: ID! title: String }
             type Query { me: User team: Team users: [User!]! node: Node tenant: String }
             schema { query: Query }",
        )
        .unwrap();
        let document = async_graphql::parser::parse_query(
            "{ me { ...U id } tenant users { email n: name } node { __typename ... on Team { title id } ... on User { name id } } }
             fragment U on User { name }",
        )
        .unwrap();
        let mut data = Value::from_json(serde_json::json!({
            "node": {"id": "2", "name": "Bo", "__typename": "User"},
            "users": [{"n": "A", "email": "a@x"}, {"email": "b@x", "n": "B"}],
            "tenant": "t",
            "me": {"id": "1", "name": "Ann"},
        }))
        .unwrap();
        reorder(&mut data, &document, None, &index);
        assert_eq!(
            data.into_json().unwrap().to_string(),
            serde_json::json!({
                "me": {"name": "Ann", "id": "1"},
                "tenant": "t",
                "users": [{"email": "a@x", "n": "A"}, {"email": "b@x", "n": "B"}],
                "node": {"__typename": "User", "name": "Bo", "id": "2"},
            })
            .to_string()
        );
    }
}
