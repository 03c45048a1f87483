//! (Over 600 lines: one proc macro, its attribute parser and its generator (row, object, filter, order, queries, writes, event payload) side by side so a declaration's meaning reads in one place.)
//!
//! `aggregate!`: one declaration of an aggregate's reads, from which the row, the GraphQL
//! type with its plain fields and relations, the filter and order inputs, the root queries
//! and the kernel's [`Aggregate`] implementation are written. The generated code calls the
//! kernel's generic reads (`switchyard_kernel::read::aggregate`); this crate only wires.
//! See `switchyard_kernel::aggregate` for the syntax.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as Tokens};
use quote::{format_ident, quote};
use syn::parse::{Parse, ParseStream};
use syn::{
    Attribute, Expr, Fields, Ident, ItemImpl, ItemStruct, LitStr, Path, Token, Type, Visibility,
};

/// See `switchyard_kernel::aggregate`.
#[proc_macro]
pub fn aggregate(input: TokenStream) -> TokenStream {
    let decl = syn::parse_macro_input!(input as Decl);
    match expand(decl) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// The whole declaration: the aggregate's struct, an optional struct of extra filter fields,
/// an optional `impl` of computed fields.
struct Decl {
    node: ItemStruct,
    extras: Option<ItemStruct>,
    computed: Option<ItemImpl>,
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

enum Access {
    Require,
    Authenticated,
    Inherit,
}

struct HasMany {
    name: Ident,
    node: Path,
    by: Ident,
    doc: Option<LitStr>,
}

struct Options {
    table: Path,
    id: Type,
    read: Expr,
    scope: Path,
    access: Access,
    owner_user: Option<Ident>,
    owner_location: Option<Ident>,
    prefix: Option<Ident>,
    default_order: (Ident, bool),
    one: Option<(Ident, LitStr)>,
    list: Option<(Ident, LitStr)>,
    search: Option<Path>,
    defaults: Option<Path>,
    check: Option<Path>,
    event: Option<Ident>,
    has_many: Vec<HasMany>,
}

#[derive(Default)]
struct FieldOptions {
    filter: bool,
    event: bool,
    order: Option<Ident>,
    hidden: bool,
    name: Option<LitStr>,
    to_one: Option<Path>,
    guard: bool,
    hide_unless: Option<Expr>,
}

struct Field {
    ident: Ident,
    ty: Type,
    docs: Vec<Attribute>,
    /// `#[diesel(…)]` attributes, kept on the row's field (e.g. `skip_update` for a column
    /// that changes outside versioned writes).
    row_attrs: Vec<Attribute>,
    opts: FieldOptions,
}

fn err<T>(span: Span, msg: &str) -> syn::Result<T> {
    Err(syn::Error::new(span, msg))
}

fn parse_options(attrs: &[Attribute]) -> syn::Result<Options> {
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
            "one" | "list" => {
                let mut name = None;
                let mut doc = None;
                meta.parse_nested_meta(|inner| {
                    if inner.path.is_ident("name") {
                        name = Some(inner.value()?.parse::<Ident>()?);
                    } else if inner.path.is_ident("doc") {
                        doc = Some(inner.value()?.parse::<LitStr>()?);
                    } else if inner.path.is_ident("search") {
                        search = Some(inner.value()?.parse::<Path>()?);
                    } else if inner.path.is_ident("defaults") {
                        defaults = Some(inner.value()?.parse::<Path>()?);
                    } else if inner.path.is_ident("check") {
                        check = Some(inner.value()?.parse::<Path>()?);
                    } else {
                        return Err(inner.error("expected name, doc, search, defaults or check"));
                    }
                    Ok(())
                })?;
                let (Some(name), Some(doc)) = (name, doc) else {
                    return Err(meta.error("give name = ... and doc = \"...\""));
                };
                if key == "one" {
                    one = Some((name, doc));
                } else {
                    list = Some((name, doc));
                }
            }
            "has_many" => {
                let mut name = None;
                let mut node = None;
                let mut by = None;
                let mut doc = None;
                meta.parse_nested_meta(|inner| {
                    if inner.path.is_ident("name") {
                        name = Some(inner.value()?.parse::<Ident>()?);
                    } else if inner.path.is_ident("node") {
                        node = Some(inner.value()?.parse::<Path>()?);
                    } else if inner.path.is_ident("by") {
                        by = Some(inner.value()?.parse::<Ident>()?);
                    } else if inner.path.is_ident("doc") {
                        doc = Some(inner.value()?.parse::<LitStr>()?);
                    } else {
                        return Err(inner.error("expected name, node, by or doc"));
                    }
                    Ok(())
                })?;
                let (Some(name), Some(node), Some(by)) = (name, node, by) else {
                    return Err(meta.error("has_many(name = ..., node = ..., by = <column>)"));
                };
                has_many.push(HasMany {
                    name,
                    node,
                    by,
                    doc,
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
    })
}

trait PrettySpan {
    fn pretty_span(&self) -> Span;
}

impl PrettySpan for Attribute {
    fn pretty_span(&self) -> Span {
        self.pound_token.span
    }
}

fn parse_field_options(attrs: &[Attribute]) -> syn::Result<FieldOptions> {
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
                _ => return Err(meta.error("unknown field option")),
            }
            Ok(())
        })?;
    }
    Ok(opts)
}

fn docs(attrs: &[Attribute]) -> Vec<Attribute> {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .cloned()
        .collect()
}

/// `Option<T>`'s `T`, if `ty` is an `Option`.
fn option_inner(ty: &Type) -> Option<&Type> {
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

fn camel(snake: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn pascal(snake: &str) -> String {
    let c = camel(snake);
    let mut chars = c.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => c,
    }
}

fn expand(decl: Decl) -> syn::Result<Tokens> {
    let opts = parse_options(&decl.node.attrs)?;
    let node = &decl.node.ident;
    let vis = &decl.node.vis;
    let node_docs = docs(&decl.node.attrs);
    let prefix = opts.prefix.clone().unwrap_or_else(|| node.clone());
    let row = format_ident!("{}Row", prefix);
    let filter = format_ident!("{}Filter", prefix);
    let order_field = format_ident!("{}OrderField", prefix);
    let order_input = format_ident!("{}Order", prefix);
    let query = format_ident!("{}Query", prefix);
    let table = &opts.table;
    let table_name = table
        .segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default();
    let id_ty = &opts.id;
    let read = &opts.read;
    let scope = &opts.scope;
    let k = quote!(::switchyard_kernel);

    let Fields::Named(named) = &decl.node.fields else {
        return err(node.span(), "an aggregate is a struct with named fields");
    };
    let mut fields = Vec::new();
    for f in &named.named {
        let ident = f.ident.clone().expect("named field");
        if ident == "id" || ident == "tenant_id" {
            return err(ident.span(), "`id` and `tenant_id` are implicit");
        }
        let opts = parse_field_options(&f.attrs)?;
        if opts.hide_unless.is_some() && (opts.filter || opts.order.is_some()) {
            // A condition or a sort key (cursors carry it) would reveal what the rule hides.
            return err(
                ident.span(),
                "a field shown row by row (hide_unless) is neither filtered nor ordered by",
            );
        }
        fields.push(Field {
            ident,
            ty: f.ty.clone(),
            docs: docs(&f.attrs),
            row_attrs: f
                .attrs
                .iter()
                .filter(|a| a.path().is_ident("diesel"))
                .cloned()
                .collect(),
            opts,
        });
    }

    // The row.
    let row_fields = fields.iter().map(|f| {
        let (ident, ty, attrs) = (&f.ident, &f.ty, &f.row_attrs);
        quote!(#(#attrs)* pub #ident: #ty,)
    });
    let row_doc = format!("A row of `{table_name}`.");

    // Writes, for rows that carry a version and a time of change.
    let has = |name: &str| fields.iter().any(|f| f.ident == name);
    let stored = (has("version") && has("updated_at")).then(|| {
        quote! {
            impl #k::write::Stored for #node {
                async fn insert(
                    conn: &mut #k::Conn<'_>,
                    row: &#row,
                ) -> ::std::result::Result<#row, #k::Error> {
                    use ::diesel::prelude::*;
                    use ::diesel_async::RunQueryDsl;
                    ::std::result::Result::Ok(#k::db_run!(conn, |c| ::diesel::insert_into(#table::table)
                        .values(row)
                        .returning(#row::as_returning())
                        .get_result(c)
                        .await)?)
                }

                async fn replace(
                    conn: &mut #k::Conn<'_>,
                    row: &#row,
                    version: i32,
                ) -> ::std::result::Result<::std::option::Option<#row>, #k::Error> {
                    use ::diesel::prelude::*;
                    use ::diesel_async::RunQueryDsl;
                    ::std::result::Result::Ok(#k::db_run!(conn, |c| ::diesel::update(
                        #table::table
                            .filter(#table::id.eq(row.id))
                            .filter(#table::tenant_id.eq(row.tenant_id))
                            .filter(#table::version.eq(version)),
                    )
                    .set(row)
                    .returning(#row::as_returning())
                    .get_result(c)
                    .await
                    .optional())?)
                }

                fn version(row: &#row) -> i32 {
                    row.version
                }

                fn stamp(row: &mut #row, version: i32, now: ::chrono::NaiveDateTime) {
                    row.version = version;
                    row.updated_at = now;
                }
            }
        }
    });

    // The event payload: the fields marked `event`, timestamps as UTC.
    let event_data = opts.event.as_ref().map(|data| {
        let module = format_ident!("__{}_event_data", row.to_string().to_lowercase());
        let doc = format!("A {node} as events carry it.");
        let mut decl = Vec::new();
        let mut conv = Vec::new();
        let naive = |t: &Type| matches!(t, Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "NaiveDateTime"));
        for f in fields.iter().filter(|f| f.opts.event) {
            let (ident, ty, field_docs) = (&f.ident, &f.ty, &f.docs);
            let (out, value) = match option_inner(ty) {
                Some(inner) if naive(inner) => (
                    quote!(Option<DateTime<Utc>>),
                    quote!(row.#ident.map(|t| t.and_utc())),
                ),
                _ if naive(ty) => (quote!(DateTime<Utc>), quote!(row.#ident.and_utc())),
                _ => (quote!(#ty), quote!(::std::clone::Clone::clone(&row.#ident))),
            };
            decl.push(quote!(#(#field_docs)* pub #ident: #out,));
            conv.push(quote!(#ident: #value,));
        }
        quote! {
            #[doc(hidden)]
            mod #module {
                #![allow(unused_imports)]
                use super::*;
                use ::chrono::{DateTime, Utc};
                #k::event_payload! {
                    #[doc = #doc]
                    pub struct #data {
                        pub id: #id_ty,
                        #(#decl)*
                    }
                }
            }
            #vis use #module::#data;

            impl ::std::convert::From<&#row> for #data {
                fn from(row: &#row) -> Self {
                    #data { id: row.id, #(#conv)* }
                }
            }
        }
    });

    // Plain fields and to-one relations.
    let mut resolvers = Vec::new();
    for f in fields.iter().filter(|f| !f.opts.hidden) {
        let ident = &f.ident;
        let ty = &f.ty;
        let field_docs = &f.docs;
        if let Some(target) = &f.opts.to_one {
            let rel = f
                .ident
                .to_string()
                .strip_suffix("_id")
                .map(str::to_owned)
                .unwrap_or_else(|| f.ident.to_string());
            let rel = match &f.opts.name {
                Some(name) => Ident::new(&name.value(), name.span()),
                None => Ident::new(&rel, f.ident.span()),
            };
            let key = f.ident.to_string();
            let fk = if option_inner(ty).is_some() {
                quote!(|r| r.#ident)
            } else {
                quote!(|r| ::std::option::Option::Some(r.#ident))
            };
            let guard = f.opts.guard.then(|| {
                quote!(#[graphql(directive = #k::policy::Require::apply(<#target as #k::read::Aggregate>::READ))])
            });
            resolvers.push(quote! {
                #(#field_docs)*
                #guard
                async fn #rel(
                    &self,
                    ctx: &::async_graphql::Context<'_>,
                ) -> ::async_graphql::Result<::std::option::Option<#target>> {
                    ::std::result::Result::Ok(
                        #k::read::aggregate::to_one::<#target, Self>(ctx, self, #key, #fk).await?,
                    )
                }
            });
            continue;
        }
        let name = f
            .opts
            .name
            .as_ref()
            .map(|n| Ident::new(&n.value(), n.span()))
            .unwrap_or_else(|| ident.clone());
        if let Some(permission) = &f.opts.hide_unless {
            let (ret, body) = match option_inner(ty) {
                Some(inner) => (
                    quote!(::std::option::Option<<#inner as #k::read::Expose>::Out<'_>>),
                    quote!(self.row().#ident.as_ref().map(#k::read::Expose::expose)),
                ),
                None => (
                    quote!(::std::option::Option<<#ty as #k::read::Expose>::Out<'_>>),
                    quote!(::std::option::Option::Some(#k::read::Expose::expose(&self.row().#ident))),
                ),
            };
            resolvers.push(quote! {
                #(#field_docs)*
                #[graphql(directive = #k::policy::HideUnless::apply(#permission))]
                async fn #name(&self, ctx: &::async_graphql::Context<'_>) -> #ret {
                    if #k::read::aggregate::reaches::<Self>(ctx, self.row(), #permission) {
                        #body
                    } else {
                        ::std::option::Option::None
                    }
                }
            });
            continue;
        }
        resolvers.push(quote! {
            #(#field_docs)*
            async fn #name(&self) -> <#ty as #k::read::Expose>::Out<'_> {
                #k::read::Expose::expose(&self.row().#ident)
            }
        });
    }

    // Nested pages.
    for many in &opts.has_many {
        let (name, child, by) = (&many.name, &many.node, &many.by);
        let doc = many.doc.iter();
        let column = by.to_string();
        resolvers.push(quote! {
            #(#[doc = #doc])*
            #[graphql(
                complexity = "switchyard_kernel::connection::cost(first, last, child_complexity)",
                directive = #k::policy::Require::apply(<#child as #k::read::Aggregate>::READ)
            )]
            async fn #name(
                &self,
                ctx: &::async_graphql::Context<'_>,
                first: ::std::option::Option<i32>,
                after: ::std::option::Option<::std::string::String>,
                last: ::std::option::Option<i32>,
                before: ::std::option::Option<::std::string::String>,
            ) -> ::async_graphql::Result<#k::Connection<#child>> {
                ::std::result::Result::Ok(
                    #k::read::aggregate::children::<#child, Self>(
                        ctx,
                        self,
                        #column,
                        |r| #k::read::AsKey::as_key(&r.#by),
                        #k::PageArgs::new(first, after, last, before),
                    )
                    .await?,
                )
            }
        });
    }

    let computed_items = decl
        .computed
        .as_ref()
        .map(|i| {
            if i.self_ty.as_ref() != &syn::parse_quote!(#node) {
                return err(
                    node.span(),
                    "the computed fields' impl must be for the aggregate",
                );
            }
            Ok(i.items.clone())
        })
        .transpose()?
        .unwrap_or_default();
    let object_access = match opts.access {
        Access::Require => quote!(#k::policy::Require::apply(#read)),
        Access::Authenticated => quote!(#k::policy::Authenticated::apply()),
        Access::Inherit => quote!(#k::policy::Inherit::apply()),
    };

    // Owner (for row-by-row field rules).
    let owner_user = match &opts.owner_user {
        Some(c) => quote!(::std::convert::Into::into(row.#c)),
        None => quote!(::std::option::Option::None),
    };
    let owner_location = match &opts.owner_location {
        Some(c) => quote!(::std::convert::Into::into(row.#c)),
        None => quote!(::std::option::Option::None),
    };

    // The filter.
    let mut filter_fields = Vec::new();
    let mut filter_parts = Vec::new();
    for f in fields.iter().filter(|f| f.opts.filter) {
        let ty = &f.ty;
        let name = if f.opts.to_one.is_some() && !f.ident.to_string().ends_with("_id") {
            format_ident!("{}_id", f.ident)
        } else {
            f.ident.clone()
        };
        let column = f.ident.to_string();
        let path = format!("filter.{}", camel(&name.to_string()));
        let field_docs = &f.docs;
        filter_fields.push(quote! {
            #(#field_docs)*
            pub #name: ::std::option::Option<<#ty as #k::read::Filterable>::Filter>,
        });
        filter_parts.push(quote! {
            if let ::std::option::Option::Some(cond) = &f.#name {
                parts.push(<#ty as #k::read::Filterable>::condition(cond, #column, #path)?);
            }
        });
    }
    let mut extra_fields = Vec::new();
    if let Some(extras) = &decl.extras {
        if extras.ident != filter {
            return err(
                extras.ident.span(),
                &format!("extra filter fields go in `struct {filter}`"),
            );
        }
        let Fields::Named(named) = &extras.fields else {
            return err(extras.ident.span(), "named fields");
        };
        for f in &named.named {
            let (ident, ty) = (&f.ident, &f.ty);
            let field_docs = docs(&f.attrs);
            extra_fields.push(quote!(#(#field_docs)* pub #ident: #ty,));
        }
        filter_parts.push(quote! {
            parts.extend(#k::read::FilterExtra::extra(f, caller)?);
        });
    }
    let filter_doc = format!("Conditions on {node} objects, combined with `and`, `or` and `not`.");

    // The orderings.
    let mut order_variants = vec![quote! {
        /// By creation (the ID is time-ordered).
        CreatedAt
    }];
    let mut order_columns = vec![quote!(#order_field::CreatedAt => ::std::option::Option::None)];
    let mut order_cursors = vec![quote! {
        #order_field::CreatedAt => #k::Cursor(vec![row.id.to_string().into()])
    }];
    let mut default_variant = None;
    if opts.default_order.0 == "created_at" {
        default_variant = Some(format_ident!("CreatedAt"));
    }
    for f in fields.iter() {
        let Some(variant) = &f.opts.order else {
            continue;
        };
        if option_inner(&f.ty).is_some() {
            return err(f.ident.span(), "order only by a column that is never null");
        }
        let variant = if variant == "__from_field" {
            Ident::new(&pascal(&f.ident.to_string()), f.ident.span())
        } else {
            variant.clone()
        };
        let ident = &f.ident;
        let column = f.ident.to_string();
        let doc = format!("By {}, then creation.", camel(&column));
        order_variants.push(quote!(#[doc = #doc] #variant));
        order_columns.push(quote!(#order_field::#variant => ::std::option::Option::Some(#column)));
        order_cursors.push(quote! {
            #order_field::#variant => #k::Cursor(vec![
                ::std::string::ToString::to_string(&row.#ident).into(),
                row.id.to_string().into(),
            ])
        });
        if opts.default_order.0 == *ident {
            default_variant = Some(variant);
        }
    }
    let Some(default_variant) = default_variant else {
        return err(
            opts.default_order.0.span(),
            "the default order names a field with #[field(order)], or created_at",
        );
    };
    let default_direction = if opts.default_order.1 {
        quote!(#k::SortDirection::Desc)
    } else {
        quote!(#k::SortDirection::Asc)
    };
    let order_doc = format!("How {node} objects are sorted.");

    // Root queries.
    let one_query = opts.one.as_ref().map(|(name, doc)| {
        quote! {
            #[doc = #doc]
            #[graphql(directive = #k::policy::Require::apply(#read))]
            async fn #name(
                &self,
                ctx: &::async_graphql::Context<'_>,
                id: ::async_graphql::ID,
            ) -> ::async_graphql::Result<::std::option::Option<#node>> {
                ::std::result::Result::Ok(::std::option::Option::Some(
                    #node::find(ctx, <#id_ty>::parse(&id)?).await?,
                ))
            }
        }
    });
    let list_query = opts.list.as_ref().map(|(name, doc)| {
        let search_arg = opts
            .search
            .as_ref()
            .map(|_| quote!(#[graphql(name = "search")] search_term: ::std::option::Option<::std::string::String>,));
        let search_part = opts.search.as_ref().map(|search| {
            quote! {
                if let ::std::option::Option::Some(term) = #k::validate::search_term("search", search_term)? {
                    parts.push(#search(caller, &term)?);
                }
            }
        });
        let defaults_part = opts.defaults.as_ref().map(|defaults| {
            quote!(parts.extend(#defaults(&filter, caller)?);)
        });
        let check_part = opts.check.as_ref().map(|check| {
            quote!(#check(&filter, &order, caller)?;)
        });
        quote! {
            #[doc = #doc]
            #[graphql(
                complexity = "switchyard_kernel::connection::cost(first, last, child_complexity)",
                directive = #k::policy::Require::apply(#read)
            )]
            #[allow(clippy::too_many_arguments)]
            async fn #name(
                &self,
                ctx: &::async_graphql::Context<'_>,
                first: ::std::option::Option<i32>,
                after: ::std::option::Option<::std::string::String>,
                last: ::std::option::Option<i32>,
                before: ::std::option::Option<::std::string::String>,
                #search_arg
                filter: ::std::option::Option<#filter>,
                order_by: ::std::option::Option<#order_input>,
            ) -> ::async_graphql::Result<#k::Connection<#node>> {
                use #k::ContextExt as _;
                let caller = ctx.caller()?;
                let filter = filter.unwrap_or_default();
                let order = order_by.unwrap_or_default();
                #check_part
                let mut parts = vec![filter.expr(caller)?];
                #defaults_part
                #search_part
                ::std::result::Result::Ok(
                    #k::read::aggregate::list::<#node, _>(
                        ctx,
                        #k::PageArgs::new(first, after, last, before),
                        #k::read::Expr::all(parts),
                        &order,
                    )
                    .await?,
                )
            }
        }
    });
    let queries = (one_query.is_some() || list_query.is_some()).then(|| {
        let doc = format!("Queries of {node}.");
        quote! {
            #[doc = #doc]
            #[derive(Default)]
            #vis struct #query;

            #[::async_graphql::Object]
            impl #query {
                #one_query
                #list_query
            }
        }
    });

    Ok(quote! {
        #[doc = #row_doc]
        #[derive(
            Debug, Clone,
            ::diesel::Queryable, ::diesel::Selectable, ::diesel::QueryableByName, ::diesel::Insertable,
            ::diesel::AsChangeset,
        )]
        #[diesel(table_name = #table, treat_none_as_null = true)]
        #vis struct #row {
            pub id: #id_ty,
            pub tenant_id: #k::TenantId,
            #(#row_fields)*
        }

        #(#node_docs)*
        #[derive(Clone)]
        #vis struct #node(pub(crate) #k::batch::Member<#row>);

        impl #node {
            /// The stored row.
            pub fn row(&self) -> &#row {
                self.0.row()
            }

            /// An object on its own.
            pub fn one(row: #row) -> Self {
                #node(#k::batch::Member::one(row))
            }

            /// Objects loaded together (their relations load together).
            pub fn all(rows: ::std::vec::Vec<#row>) -> ::std::vec::Vec<Self> {
                #k::batch::Member::all(rows).into_iter().map(#node).collect()
            }

            /// The object with this ID as the caller reads it, or NOT_FOUND.
            pub async fn find(
                ctx: &::async_graphql::Context<'_>,
                id: #id_ty,
            ) -> ::std::result::Result<Self, #k::Error> {
                #k::read::aggregate::find::<Self>(ctx, id).await
            }
        }

        impl #k::read::Aggregate for #node {
            type Id = #id_ty;
            type Row = #row;
            const TABLE: &'static str = #table_name;
            const TYPE_NAME: &'static str = <#id_ty>::TYPE_NAME;
            const READ: &'static str = #read;

            fn scope(
                caller: &#k::Caller,
                permission: &str,
            ) -> ::std::result::Result<#k::read::Expr, #k::Error> {
                #scope(caller, permission)
            }

            fn id(row: &#row) -> #id_ty {
                row.id
            }

            fn owner(row: &#row) -> (
                ::std::option::Option<#k::UserId>,
                ::std::option::Option<#k::LocationId>,
            ) {
                let _ = row;
                (#owner_user, #owner_location)
            }

            fn node(member: #k::batch::Member<#row>) -> Self {
                #node(member)
            }

            fn member(&self) -> &#k::batch::Member<#row> {
                &self.0
            }
        }

        #stored

        #event_data

        impl #k::module::NodeType for #node {
            const TYPE_NAME: &'static str = <#id_ty>::TYPE_NAME;

            async fn load(
                ctx: &::async_graphql::Context<'_>,
                id: &::async_graphql::ID,
            ) -> ::std::result::Result<Self, #k::Error> {
                #node::find(ctx, <#id_ty>::parse(id)?).await
            }
        }

        #[::async_graphql::Object(directive = #object_access)]
        impl #node {
            pub async fn id(&self) -> ::async_graphql::ID {
                self.row().id.to_global()
            }
            #(#resolvers)*
            #(#computed_items)*
        }

        #[doc = #filter_doc]
        #[derive(::async_graphql::InputObject, Debug, Clone, Default)]
        #vis struct #filter {
            #(#filter_fields)*
            #(#extra_fields)*
            /// Every one of these holds.
            pub and: ::std::option::Option<::std::vec::Vec<#filter>>,
            /// At least one of these holds.
            pub or: ::std::option::Option<::std::vec::Vec<#filter>>,
            /// This does not hold.
            pub not: ::std::option::Option<::std::boxed::Box<#filter>>,
        }

        impl #filter {
            /// The condition, at every level of `and`, `or` and `not`.
            pub fn expr(
                &self,
                caller: &#k::Caller,
            ) -> ::std::result::Result<#k::read::Expr, #k::Error> {
                let _ = caller;
                #k::read::filter::combine(
                    self,
                    |f: &#filter| {
                        let mut parts = ::std::vec::Vec::new();
                        #(#filter_parts)*
                        ::std::result::Result::Ok(parts)
                    },
                    |f: &#filter| (f.and.as_ref(), f.or.as_ref(), f.not.as_deref()),
                    0,
                )
            }
        }

        #[doc = #order_doc]
        #[derive(::async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
        #vis enum #order_field {
            #(#order_variants),*
        }

        #[doc = #order_doc]
        #[derive(::async_graphql::InputObject, Debug, Clone, Copy)]
        #vis struct #order_input {
            pub field: #order_field,
            #[graphql(default)]
            pub direction: #k::SortDirection,
        }

        impl ::std::default::Default for #order_input {
            fn default() -> Self {
                #order_input {
                    field: #order_field::#default_variant,
                    direction: #default_direction,
                }
            }
        }

        impl #k::read::Ordering<#row> for #order_input {
            fn order(&self) -> #k::read::Order {
                #k::read::Order {
                    column: match self.field {
                        #(#order_columns,)*
                    },
                    desc: self.direction.is_desc(),
                }
            }

            fn arity(&self) -> usize {
                if self.order().column.is_some() { 2 } else { 1 }
            }

            fn cursor(&self, row: &#row) -> #k::Cursor {
                match self.field {
                    #(#order_cursors,)*
                }
            }
        }

        #queries
    })
}
