//! The schema's types as a lookup table, read once from its SDL: what the request checks need
//! (argument and input types, enums, scalars) and what putting a response in the order of its
//! query needs (field types, abstract types and their members).

use std::collections::{HashMap, HashSet};

use async_graphql::parser::types::{BaseType, Type, TypeKind, TypeSystemDefinition};

/// One field of an object or interface.
pub struct FieldDef {
    pub ty: Type,
    /// Argument name -> (type, has a default).
    pub args: HashMap<String, (Type, bool)>,
}

/// A named type.
pub enum TypeDef {
    Object {
        fields: HashMap<String, FieldDef>,
        interfaces: Vec<String>,
    },
    Interface {
        fields: HashMap<String, FieldDef>,
    },
    Union {
        members: Vec<String>,
    },
    /// Input object: (field name, type, has a default), in declaration order.
    Input {
        fields: Vec<(String, Type, bool)>,
    },
    Enum {
        values: HashSet<String>,
    },
    Scalar,
}

/// Every named type of the schema, plus the root types.
pub struct SchemaIndex {
    types: HashMap<String, TypeDef>,
    pub query: String,
    pub mutation: String,
    pub subscription: String,
}

/// The named type at the bottom of `ty` (`[User!]!` -> `User`).
pub fn named(ty: &Type) -> &str {
    match &ty.base {
        BaseType::Named(name) => name.as_str(),
        BaseType::List(inner) => named(inner),
    }
}

impl SchemaIndex {
    /// Reads `sdl`; the root types default to `Query`, `Mutation` and `Subscription`.
    pub fn from_sdl(sdl: &str) -> Result<SchemaIndex, String> {
        let document = async_graphql::parser::parse_schema(sdl).map_err(|e| e.to_string())?;
        let mut index = SchemaIndex {
            types: HashMap::new(),
            query: "Query".into(),
            mutation: "Mutation".into(),
            subscription: "Subscription".into(),
        };
        for scalar in ["String", "Int", "Float", "Boolean", "ID"] {
            index.types.insert(scalar.into(), TypeDef::Scalar);
        }
        for definition in document.definitions {
            let ty = match definition {
                TypeSystemDefinition::Schema(schema) => {
                    let schema = schema.node;
                    if let Some(q) = schema.query {
                        index.query = q.node.to_string();
                    }
                    if let Some(m) = schema.mutation {
                        index.mutation = m.node.to_string();
                    }
                    if let Some(s) = schema.subscription {
                        index.subscription = s.node.to_string();
                    }
                    continue;
                }
                TypeSystemDefinition::Type(ty) => ty.node,
                TypeSystemDefinition::Directive(_) => continue,
            };
            let fields = |fields: Vec<async_graphql::Positioned<_>>| {
                fields
                    .into_iter()
                    .map(
                        |f: async_graphql::Positioned<
                            async_graphql::parser::types::FieldDefinition,
                        >| {
                            let f = f.node;
                            let args = f
                                .arguments
                                .into_iter()
                                .map(|a| {
                                    let a = a.node;
                                    (
                                        a.name.node.to_string(),
                                        (a.ty.node, a.default_value.is_some()),
                                    )
                                })
                                .collect();
                            (
                                f.name.node.to_string(),
                                FieldDef {
                                    ty: f.ty.node,
                                    args,
                                },
                            )
                        },
                    )
                    .collect()
            };
            let def = match ty.kind {
                TypeKind::Scalar => TypeDef::Scalar,
                TypeKind::Object(object) => TypeDef::Object {
                    interfaces: object
                        .implements
                        .iter()
                        .map(|i| i.node.to_string())
                        .collect(),
                    fields: fields(object.fields),
                },
                TypeKind::Interface(interface) => TypeDef::Interface {
                    fields: fields(interface.fields),
                },
                TypeKind::Union(union) => TypeDef::Union {
                    members: union.members.iter().map(|m| m.node.to_string()).collect(),
                },
                TypeKind::Enum(e) => TypeDef::Enum {
                    values: e
                        .values
                        .iter()
                        .map(|v| v.node.value.node.to_string())
                        .collect(),
                },
                TypeKind::InputObject(input) => TypeDef::Input {
                    fields: input
                        .fields
                        .into_iter()
                        .map(|f| {
                            let f = f.node;
                            (
                                f.name.node.to_string(),
                                f.ty.node,
                                f.default_value.is_some(),
                            )
                        })
                        .collect(),
                },
            };
            index.types.insert(ty.name.node.to_string(), def);
        }
        Ok(index)
    }

    pub fn get(&self, name: &str) -> Option<&TypeDef> {
        self.types.get(name)
    }

    /// A field of an object or interface.
    pub fn field(&self, type_name: &str, field: &str) -> Option<&FieldDef> {
        match self.types.get(type_name)? {
            TypeDef::Object { fields, .. } | TypeDef::Interface { fields } => fields.get(field),
            _ => None,
        }
    }

    /// Whether values of the type may be of several object types.
    pub fn is_abstract(&self, type_name: &str) -> bool {
        matches!(
            self.types.get(type_name),
            Some(TypeDef::Interface { .. } | TypeDef::Union { .. })
        )
    }

    /// Whether a fragment on `condition` applies to an object of type `object`.
    pub fn applies(&self, condition: &str, object: &str) -> bool {
        if condition == object {
            return true;
        }
        match (self.types.get(condition), self.types.get(object)) {
            (Some(TypeDef::Union { members }), _) => members.iter().any(|m| m == object),
            (Some(TypeDef::Interface { .. }), Some(TypeDef::Object { interfaces, .. })) => {
                interfaces.iter().any(|i| i == condition)
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_fields_and_fragment_conditions() {
        let index = SchemaIndex::from_sdl(
            "interface Node { id: ID! }
             type User implements Node { id: ID! name(upper: Boolean = false): String }
             union Any = User
             input Filter { name: String! limit: Int = 3 }
             enum Dir { ASC DESC }
             type Query { users(filter: Filter, dir: Dir): [User!]! }
             schema { query: Query }",
        )
        .unwrap();
        assert_eq!(named(&index.field("Query", "users").unwrap().ty), "User");
        assert!(index.field("User", "name").unwrap().args["upper"].1);
        assert!(index.is_abstract("Node") && index.is_abstract("Any"));
        assert!(!index.is_abstract("User"));
        assert!(index.applies("Node", "User") && index.applies("Any", "User"));
        assert!(!index.applies("Query", "User"));
        assert!(
            matches!(index.get("Dir"), Some(TypeDef::Enum { values }) if values.contains("ASC"))
        );
        assert!(matches!(index.get("Int"), Some(TypeDef::Scalar)));
    }
}
