//! `aggregate!`: one declaration of an aggregate, from which the row, the GraphQL type with
//! its plain fields and relations, the filter and order inputs, the root queries, the
//! kernel's [`Aggregate`] implementation and, where declared, the create and update inputs
//! and mutations are written. The generated code calls the
//! kernel's generic reads (`switchyard_kernel::read::aggregate`); this crate only wires.
//! See `switchyard_kernel::aggregate` for the syntax. Here: the row, the object and the root
//! queries; `lists.rs` the filter and order inputs; `parse.rs` the declaration's syntax;
//! `writes.rs` the writes, the event payload, the inputs, mutations and subscription.

mod lists;
mod parse;
mod plan;
mod writes;

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::{format_ident, quote};
use syn::{Fields, Ident, Type};

use parse::{Access, Decl, Field, docs, err, option_inner, parse_field_options, parse_options};
use writes::{event_data, inputs, money_name, mutations, stored, subscription};

/// See `switchyard_kernel::aggregate`.
#[proc_macro]
pub fn aggregate(input: TokenStream) -> TokenStream {
    let decl = syn::parse_macro_input!(input as Decl);
    match expand(decl) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

pub(crate) fn camel(snake: &str) -> String {
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

pub(crate) fn pascal(snake: &str) -> String {
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

    let stored = stored(node, &row, table, &fields);
    let event_data = event_data(node, &row, id_ty, &fields, opts.event.as_ref(), vis);

    // Plain fields and to-one relations.
    let mut resolvers = Vec::new();
    for f in fields
        .iter()
        .filter(|f| !f.opts.hidden || f.opts.money.is_some())
    {
        let ident = &f.ident;
        let ty = &f.ty;
        let field_docs = &f.docs;
        if let Some(currency) = &f.opts.money {
            let name = money_name(f);
            resolvers.push(quote! {
                #(#field_docs)*
                async fn #name(&self) -> ::std::option::Option<#k::money::Money> {
                    let row = self.row();
                    row.#ident
                        .zip(row.#currency.clone())
                        .map(|(amount, currency)| #k::money::Money::new(amount, currency))
                }
            });
            continue;
        }
        if let Some(target) = &f.opts.to_one {
            let rel = Ident::new(&f.snake_name(), f.ident.span());
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
        let name = Ident::new(&f.snake_name(), ident.span());
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

    let inputs = inputs(node, &prefix, &row, id_ty, &fields, vis)?;
    let mutations = mutations(node, &prefix, &opts, vis)?;

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
            if !matches!(&*i.self_ty, Type::Path(p) if p.path.is_ident(node)) {
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

    let filter_input = lists::filter(node, &filter, &fields, decl.extras.as_ref(), vis)?;
    let order_inputs = lists::order(
        node,
        &row,
        &order_field,
        &order_input,
        &fields,
        &opts.default_order,
        vis,
    )?;

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
        let search_term = if opts.search.is_some() {
            quote!(search_term)
        } else {
            quote!(::std::option::Option::None)
        };
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
                let order = order_by.unwrap_or_default();
                let condition = #node::__list_condition(
                    caller,
                    &filter.unwrap_or_default(),
                    &order,
                    #search_term,
                )?;
                ::std::result::Result::Ok(
                    #k::read::aggregate::list::<#node, _>(
                        ctx,
                        #k::PageArgs::new(first, after, last, before),
                        condition,
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

    let subscription = subscription(node, &prefix, &row, opts.changed.as_ref(), vis);
    let shape = plan::shape(
        node,
        id_ty,
        &table_name,
        &opts,
        &fields,
        &filter,
        &order_input,
    );

    Ok(quote! {
        #subscription

        #shape

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

        #inputs

        #mutations

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

        #filter_input

        #order_inputs

        #queries
    })
}
