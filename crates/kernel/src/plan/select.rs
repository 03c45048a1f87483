//! Reading a selection for the compiler: the fields selected on a type with fragments
//! flattened, response keys, and arguments with variables substituted.

use async_graphql::parser::types::{Field, Selection, SelectionSet};
use async_graphql::{Name, Positioned, Value};

use super::compile::Compiler;
use super::{Args, MAX_DEPTH, MAX_KEYS};

pub(super) fn response_key(field: &Field) -> &str {
    field
        .alias
        .as_ref()
        .map_or(field.name.node.as_str(), |a| a.node.as_str())
}

impl<'a> Compiler<'a> {
    /// The fields selected on `type_name`, fragments flattened; `None` if a fragment names
    /// another type, a directive is used, or a response key repeats.
    pub(super) fn fields(
        &self,
        set: &'a SelectionSet,
        type_name: &str,
        depth: usize,
    ) -> Option<Vec<&'a Positioned<Field>>> {
        let mut out = Vec::new();
        self.collect(set, type_name, depth, &mut out)?;
        let mut keys: Vec<&str> = out.iter().map(|f| response_key(&f.node)).collect();
        keys.sort_unstable();
        if keys.windows(2).any(|w| w[0] == w[1]) || out.len() > MAX_KEYS {
            return None;
        }
        Some(out)
    }

    fn collect(
        &self,
        set: &'a SelectionSet,
        type_name: &str,
        depth: usize,
        out: &mut Vec<&'a Positioned<Field>>,
    ) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    if !field.node.directives.is_empty() {
                        return None;
                    }
                    out.push(field);
                }
                Selection::InlineFragment(fragment) => {
                    let f = &fragment.node;
                    if !f.directives.is_empty()
                        || f.type_condition
                            .as_ref()
                            .is_some_and(|c| c.node.on.node.as_str() != type_name)
                    {
                        return None;
                    }
                    self.collect(&f.selection_set.node, type_name, depth + 1, out)?;
                }
                Selection::FragmentSpread(spread) => {
                    if !spread.node.directives.is_empty() {
                        return None;
                    }
                    let fragment = self
                        .document
                        .fragments
                        .get(&spread.node.fragment_name.node)?;
                    if !fragment.node.directives.is_empty()
                        || fragment.node.type_condition.node.on.node.as_str() != type_name
                    {
                        return None;
                    }
                    self.collect(&fragment.node.selection_set.node, type_name, depth + 1, out)?;
                }
            }
        }
        Some(())
    }

    /// A field's arguments with variables substituted; a variable that was not given (and
    /// has no default) leaves its argument out, as the specification says.
    pub(super) fn args(&self, field: &Field) -> Option<Args> {
        let mut args = Vec::new();
        for (name, value) in &field.arguments {
            let value = match &value.node {
                async_graphql_value::Value::Variable(var) => match self.variable(var) {
                    Some(v) => v,
                    None => continue,
                },
                other => other
                    .clone()
                    .into_const_with(|var| self.variable(&var).ok_or(()))
                    .ok()?,
            };
            args.push((name.node.clone(), value));
        }
        Some(Args(args))
    }

    fn variable(&self, name: &Name) -> Option<Value> {
        if let Some(v) = self.variables.get(name) {
            return Some(v.clone());
        }
        self.op
            .variable_definitions
            .iter()
            .find(|d| d.node.name.node == *name)
            .and_then(|d| d.node.default_value.as_ref())
            .map(|d| d.node.clone())
    }
}
