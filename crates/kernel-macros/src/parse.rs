//! The declaration `aggregate!` reads: the struct, its `#[aggregate(…)]` options and each
//! field's `#[field(…)]` options.

use proc_macro2::Span;
use quote::ToTokens;
use syn::meta::ParseNestedMeta;
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Attribute, Expr, Ident, ItemImpl, ItemStruct, LitStr, Path, Token, Type, Visibility};

/// The whole declaration: the aggregate's struct, an optional struct of extra filter fields,
/// an optional `impl` of computed fields.
pub(crate) struct Decl {
    pub(crate) node: ItemStruct,
    pub(crate) extras: Option<ItemStruct>,
    pub(crate) computed: Option<ItemImpl>,
}

impl Parse for Decl {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let node: ItemStruct = input.parse()?;
        let mut extras = None;
        let mut computed = None;
        while !input.is_empty() {
            let fork = input.fork();
            fork.call(Attribute::parse_outer)?;
            fork.parse::<Visibility>()?;
            if fork.peek(Token![struct]) {
                extras = Some(input.parse()?);
            } else {
                computed = Some(input.parse()?);
            }
        }
        Ok(Decl {
            node,
            extras,
            computed,
        })
    }
}

pub(crate) enum Access {
    Require,
    Authenticated,
    Inherit,
}

pub(crate) struct HasMany {
    pub(crate) name: Ident,
    pub(crate) node: Path,
    pub(crate) by: Ident,
    pub(crate) doc: Option<LitStr>,
}

/// `lines(name = .., shape = <static Shape>, by = <column>, order = <column>)`: rows of a
/// table of the parent's own (a quote's lines) as the planner reads them; the field itself is
/// a computed resolver.
pub(crate) struct LinesOpt {
    pub(crate) name: Ident,
    pub(crate) shape: Path,
    pub(crate) by: Ident,
    pub(crate) order: Ident,
}

pub(crate) struct Options {
    pub(crate) table: Path,
    pub(crate) id: Type,
    pub(crate) read: Expr,
    pub(crate) scope: Path,
    pub(crate) access: Access,
    pub(crate) owner_user: Option<Ident>,
    pub(crate) owner_location: Option<Ident>,
    pub(crate) prefix: Option<Ident>,
    pub(crate) default_order: (Ident, bool),
    pub(crate) one: Option<(Ident, LitStr)>,
    pub(crate) list: Option<(Ident, LitStr)>,
    pub(crate) search: Option<Path>,
    pub(crate) defaults: Option<Path>,
    pub(crate) check: Option<Path>,
    pub(crate) event: Option<Ident>,
    pub(crate) has_many: Vec<HasMany>,
    pub(crate) lines: Vec<LinesOpt>,
    pub(crate) changed: Option<(Ident, LitStr)>,
    pub(crate) create: Option<Mutation>,
    pub(crate) update: Option<Mutation>,
    pub(crate) write: Option<Write>,
}

/// `create(name = .., doc = "..", event = ..)`, `update(...)`: a derived mutation.
pub(crate) struct Mutation {
    pub(crate) name: Ident,
    pub(crate) doc: LitStr,
    pub(crate) event: Path,
}

/// `write(permission = .., check = .., payload = ..)`: what the derived mutations share.
pub(crate) struct Write {
    pub(crate) permission: Expr,
    pub(crate) check: Path,
    pub(crate) payload: Path,
    /// What follows a write in its transaction (`then(tx, caller, before, &row)`), if anything.
    pub(crate) then: Option<Path>,
}

#[derive(Default)]
pub(crate) struct FieldOptions {
    pub(crate) filter: bool,
    pub(crate) event: bool,
    pub(crate) order: Option<Ident>,
    pub(crate) hidden: bool,
    pub(crate) name: Option<LitStr>,
    pub(crate) to_one: Option<Path>,
    pub(crate) guard: bool,
    pub(crate) hide_unless: Option<Expr>,
    pub(crate) input: Option<InputOpts>,
    pub(crate) money: Option<Ident>,
}

/// `input`, `input(create)`, `input(default)`, `input(default = <expr>)`: the field is set by
/// the derived create input (and by the update input unless `create`), with a default on
/// create.
pub(crate) struct InputOpts {
    pub(crate) update: bool,
    pub(crate) default: Option<Option<Expr>>,
}

pub(crate) struct Field {
    pub(crate) ident: Ident,
    pub(crate) ty: Type,
    pub(crate) docs: Vec<Attribute>,
    /// `#[diesel(…)]` attributes, kept on the row's field (e.g. `skip_update` for a column
    /// that changes outside versioned writes).
    pub(crate) row_attrs: Vec<Attribute>,
    pub(crate) opts: FieldOptions,
}

impl Field {
    /// The field's name in snake case: `name = ".."` if given; a to-one reference's column
    /// without `_id`; else the column.
    pub(crate) fn snake_name(&self) -> String {
        if let Some(name) = &self.opts.name {
            return name.value();
        }
        let column = self.ident.to_string();
        match &self.opts.to_one {
            Some(_) => column
                .strip_suffix("_id")
                .map(str::to_owned)
                .unwrap_or(column),
            None => column,
        }
    }
}

pub(crate) fn err<T>(span: Span, msg: &str) -> syn::Result<T> {
    Err(syn::Error::new(span, msg))
}

pub(crate) fn parse_options(attrs: &[Attribute]) -> syn::Result<Options> {
    let mut table = None;
    let mut id = None;
    let mut read = None;
    let mut scope = None;
    let mut access = Access::Require;
    let mut owner_user = None;
    let mut owner_location = None;
    let mut prefix = None;
    let mut default_order = None;
    let mut one = None;
    let mut list = None;
    let mut search = None;
    let mut defaults = None;
    let mut check = None;
    let mut event = None;
    let mut has_many = Vec::new();
    let mut lines = Vec::new();
    let mut changed = None;
    let mut create = None;
    let mut update = None;
    let mut write = None;
    let Some(attr) = attrs.iter().find(|a| a.path().is_ident("aggregate")) else {
        return err(
            Span::call_site(),
            "expected #[aggregate(table = ..., id = ..., read = ..., scope = ...)]",
        );
    };
    attr.parse_nested_meta(|meta| {
        let key = meta
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        match key.as_str() {
            "table" => table = Some(meta.value()?.parse::<Path>()?),
            "id" => id = Some(meta.value()?.parse::<Type>()?),
            "read" => read = Some(meta.value()?.parse::<Expr>()?),
            "scope" => scope = Some(meta.value()?.parse::<Path>()?),
            "prefix" => prefix = Some(meta.value()?.parse::<Ident>()?),
            "event" => event = Some(meta.value()?.parse::<Ident>()?),
            "access" => {
                let value: Ident = meta.value()?.parse()?;
                access = match value.to_string().as_str() {
                    "require" => Access::Require,
                    "authenticated" => Access::Authenticated,
                    "inherit" => Access::Inherit,
                    _ => return err(value.span(), "access is require, authenticated or inherit"),
                };
            }
            "owner" => meta.parse_nested_meta(|inner| {
                if inner.path.is_ident("user") {
                    owner_user = Some(inner.value()?.parse()?);
                } else if inner.path.is_ident("location") {
                    owner_location = Some(inner.value()?.parse()?);
                } else {
                    return Err(inner.error("owner takes user = <column>, location = <column>"));
                }
                Ok(())
            })?,
            "order" => {
                let mut field = None;
                let mut desc = false;
                meta.parse_nested_meta(|inner| {
                    let word = inner.path.get_ident().cloned();
                    match word.as_ref().map(ToString::to_string).as_deref() {
                        Some("asc") => desc = false,
                        Some("desc") => desc = true,
                        Some(_) => field = word,
                        None => return Err(inner.error("order(<field>, asc|desc)")),
                    }
                    Ok(())
                })?;
                let Some(field) = field else {
                    return Err(meta.error("order(<field>, asc|desc)"));
                };
                default_order = Some((field, desc));
            }
            "changed" => {
                let args =
                    Args::parse(&meta, "changed(name = .., doc = \"..\")", &["name", "doc"])?;
                changed = Some((args.req("name")?, args.req("doc")?));
            }
            "one" | "list" => {
                let usage =
                    "one|list(name = .., doc = \"..\", search = .., defaults = .., check = ..)";
                let keys = ["name", "doc", "search", "defaults", "check"];
                let args = Args::parse(&meta, usage, &keys)?;
                search = search.take().or(args.opt("search")?);
                defaults = defaults.take().or(args.opt("defaults")?);
                check = check.take().or(args.opt("check")?);
                let slot = if key == "one" { &mut one } else { &mut list };
                *slot = Some((args.req("name")?, args.req("doc")?));
            }
            "has_many" => {
                let usage = "has_many(name = .., node = .., by = <column>, doc = \"..\")";
                let args = Args::parse(&meta, usage, &["name", "node", "by", "doc"])?;
                has_many.push(HasMany {
                    name: args.req("name")?,
                    node: args.req("node")?,
                    by: args.req("by")?,
                    doc: args.opt("doc")?,
                });
            }
            "lines" => {
                let usage = "lines(name = .., shape = .., by = <column>, order = <column>)";
                let args = Args::parse(&meta, usage, &["name", "shape", "by", "order"])?;
                lines.push(LinesOpt {
                    name: args.req("name")?,
                    shape: args.req("shape")?,
                    by: args.req("by")?,
                    order: args.req("order")?,
                });
            }
            "create" | "update" => {
                let usage = "create|update(name = .., doc = \"..\", event = ..)";
                let args = Args::parse(&meta, usage, &["name", "doc", "event"])?;
                let slot = if key == "create" {
                    &mut create
                } else {
                    &mut update
                };
                *slot = Some(Mutation {
                    name: args.req("name")?,
                    doc: args.req("doc")?,
                    event: args.req("event")?,
                });
            }
            "write" => {
                let usage = "write(permission = .., check = .., payload = .., [then = ..])";
                let args = Args::parse(&meta, usage, &["permission", "check", "payload", "then"])?;
                write = Some(Write {
                    permission: args.req("permission")?,
                    check: args.req("check")?,
                    payload: args.req("payload")?,
                    then: args.opt("then")?,
                });
            }
            _ => return Err(meta.error("unknown aggregate option")),
        }
        Ok(())
    })?;
    let span = attr.pretty_span();
    Ok(Options {
        table: table
            .ok_or_else(|| syn::Error::new(span, "table = <diesel table path> is required"))?,
        id: id.ok_or_else(|| syn::Error::new(span, "id = <ID type> is required"))?,
        read: read.ok_or_else(|| syn::Error::new(span, "read = <permission> is required"))?,
        scope: scope
            .ok_or_else(|| syn::Error::new(span, "scope = <fn(&Caller, &str)> is required"))?,
        access,
        owner_user,
        owner_location,
        prefix,
        default_order: default_order.unwrap_or_else(|| (Ident::new("created_at", span), true)),
        one,
        list,
        search,
        defaults,
        check,
        event,
        has_many,
        lines,
        changed,
        create,
        update,
        write,
    })
}

pub(crate) trait PrettySpan {
    fn pretty_span(&self) -> Span;
}

impl PrettySpan for Attribute {
    fn pretty_span(&self) -> Span {
        self.pound_token.span
    }
}

pub(crate) fn parse_field_options(attrs: &[Attribute]) -> syn::Result<FieldOptions> {
    let mut opts = FieldOptions::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("field")) {
        attr.parse_nested_meta(|meta| {
            let key = meta
                .path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            match key.as_str() {
                "filter" => opts.filter = true,
                "event" => opts.event = true,
                "hidden" => opts.hidden = true,
                "guard" => opts.guard = true,
                "order" => {
                    opts.order = Some(if meta.input.peek(Token![=]) {
                        meta.value()?.parse()?
                    } else {
                        Ident::new("__from_field", Span::call_site())
                    });
                }
                "name" => opts.name = Some(meta.value()?.parse()?),
                "to_one" => opts.to_one = Some(meta.value()?.parse()?),
                "hide_unless" => opts.hide_unless = Some(meta.value()?.parse()?),
                "money" => opts.money = Some(meta.value()?.parse()?),
                "input" => {
                    let mut input = InputOpts {
                        update: true,
                        default: None,
                    };
                    if meta.input.peek(syn::token::Paren) {
                        meta.parse_nested_meta(|inner| {
                            if inner.path.is_ident("create") {
                                input.update = false;
                            } else if inner.path.is_ident("default") {
                                input.default = Some(if inner.input.peek(Token![=]) {
                                    Some(inner.value()?.parse()?)
                                } else {
                                    None
                                });
                            } else {
                                return Err(inner.error("input(create, default = <expr>)"));
                            }
                            Ok(())
                        })?;
                    }
                    opts.input = Some(input);
                }
                _ => return Err(meta.error("unknown field option")),
            }
            Ok(())
        })?;
    }
    Ok(opts)
}

pub(crate) fn docs(attrs: &[Attribute]) -> Vec<Attribute> {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .cloned()
        .collect()
}

/// `Option<T>`'s `T`, if `ty` is an `Option`.
pub(crate) fn option_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        syn::GenericArgument::Type(inner) => Some(inner),
        _ => None,
    }
}

/// The `key = value` pairs of one option (`list(name = .., doc = "..")`), each value parsed
/// as what its key takes when it is taken.
struct Args {
    span: Span,
    usage: &'static str,
    values: Vec<(String, Expr)>,
}

impl Args {
    fn parse(meta: &ParseNestedMeta, usage: &'static str, keys: &[&str]) -> syn::Result<Args> {
        let mut values = Vec::new();
        meta.parse_nested_meta(|inner| {
            let key = inner.path.get_ident().map(ToString::to_string);
            match key {
                Some(key) if keys.contains(&key.as_str()) => {
                    values.push((key, inner.value()?.parse::<Expr>()?));
                    Ok(())
                }
                _ => Err(inner.error(format!("expected {usage}"))),
            }
        })?;
        Ok(Args {
            span: meta.path.span(),
            usage,
            values,
        })
    }

    fn opt<T: Parse>(&self, key: &str) -> syn::Result<Option<T>> {
        self.values
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, value)| syn::parse2(value.to_token_stream()))
            .transpose()
    }

    fn req<T: Parse>(&self, key: &str) -> syn::Result<T> {
        self.opt(key)?
            .ok_or_else(|| syn::Error::new(self.span, format!("{key} is required: {}", self.usage)))
    }
}
