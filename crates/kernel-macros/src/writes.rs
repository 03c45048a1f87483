//! The writes `aggregate!` derives: `write::Stored`, the event payload, create and update
//! inputs from the fields marked `input`, the create and update mutations of `create(…)`,
//! `update(…)` and `write(…)`, and the `changed(…)` subscription.

use proc_macro2::TokenStream as Tokens;
use quote::{format_ident, quote};
use syn::{Ident, LitStr, Path, Type, Visibility};

use crate::camel;
use crate::parse::{Field, Mutation, Options, Write, err, option_inner};

/// A money field's GraphQL name: its amount column without `_minor`.
pub(crate) fn money_name(f: &Field) -> Ident {
    let name = f.ident.to_string();
    Ident::new(name.strip_suffix("_minor").unwrap_or(&name), f.ident.span())
}

/// `Lead` -> "lead", `SalesActivity` -> "sales activity".
pub(crate) fn words(pascal: &str) -> String {
    let mut out = String::new();
    for (i, c) in pascal.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push(' ');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// The create and update inputs of the fields marked `input`, and the rows they make: a new
/// row (new ID, the caller's tenant, `created_by` the caller, version 1, times now, other
/// columns their default) and a changed one (after the version check). Each column's type
/// says how its input is read ([`Settable`]); a money column (`money = <currency column>`)
/// takes a `MoneyInput` and sets both.
pub(crate) fn inputs(
    node: &Ident,
    prefix: &Ident,
    row: &Ident,
    id_ty: &Type,
    fields: &[Field],
    vis: &Visibility,
) -> syn::Result<Option<Tokens>> {
    let k = quote!(::switchyard_kernel);
    if !fields.iter().any(|f| f.opts.input.is_some()) {
        return Ok(None);
    }
    let has = |name: &str| fields.iter().any(|f| f.ident == name);
    let create = format_ident!("Create{}Input", prefix);
    let update = format_ident!("Update{}Input", prefix);
    let (create_doc, update_doc) = (
        format!("A new {}.", words(&node.to_string())),
        format!("Changes to a {}.", words(&node.to_string())),
    );
    let settable = quote!(#k::write::Settable);
    let currencies: Vec<&Ident> = fields
        .iter()
        .filter_map(|f| f.opts.money.as_ref())
        .collect();
    let mut create_fields = Vec::new();
    let mut update_fields = Vec::new();
    let mut init = Vec::new();
    let mut apply = Vec::new();
    for f in fields {
        let ident = &f.ident;
        let ty = &f.ty;
        let Some(input) = &f.opts.input else {
            if currencies.contains(&ident) {
                continue;
            }
            init.push(match ident.to_string().as_str() {
                "created_by" => quote!(#ident: ::std::convert::Into::into(caller.user_id()),),
                "created_at" | "updated_at" => quote!(#ident: now,),
                "version" => quote!(#ident: 1,),
                _ => quote!(#ident: ::std::default::Default::default(),),
            });
            continue;
        };
        let default = match &input.default {
            None => None,
            Some(None) => Some(quote!(#[graphql(default)])),
            Some(Some(expr)) => {
                let text = quote!(#expr).to_string();
                Some(quote!(#[graphql(default_with = #text)]))
            }
        };
        if let Some(currency) = &f.opts.money {
            if option_inner(ty).is_none() {
                return err(ident.span(), "a money column is optional (Option<i64>)");
            }
            let name = money_name(f);
            create_fields.push(quote!(pub #name: ::std::option::Option<#k::money::MoneyInput>,));
            init.push(quote! {
                #ident: self.#name.as_ref().map(|m| #k::write::money(m).0),
                #currency: self.#name.as_ref().map(|m| #k::write::money(m).1),
            });
            if input.update {
                update_fields.push(
                    quote!(pub #name: ::async_graphql::MaybeUndefined<#k::money::MoneyInput>,),
                );
                apply.push(quote! {
                    if !self.#name.is_undefined() {
                        let money = self.#name.value().map(#k::write::money);
                        row.#ident = money.as_ref().map(|m| m.0);
                        row.#currency = money.map(|m| m.1);
                    }
                });
            }
            continue;
        }
        match option_inner(ty) {
            Some(inner) => {
                create_fields.push(quote! {
                    #default
                    pub #ident: ::std::option::Option<<#inner as #settable>::Input>,
                });
                init.push(
                    quote!(#ident: <#inner as #settable>::from_optional(self.#ident.as_ref())?,),
                );
                if input.update {
                    update_fields.push(quote! {
                        pub #ident: ::async_graphql::MaybeUndefined<<#inner as #settable>::Input>,
                    });
                    apply.push(quote! {
                        if !self.#ident.is_undefined() {
                            row.#ident = <#inner as #settable>::from_optional(self.#ident.value())?;
                        }
                    });
                }
            }
            None => {
                create_fields.push(quote! {
                    #default
                    pub #ident: <#ty as #settable>::Input,
                });
                init.push(quote!(#ident: <#ty as #settable>::from_input(&self.#ident)?,));
                if input.update {
                    update_fields.push(quote! {
                        pub #ident: ::std::option::Option<<#ty as #settable>::Input>,
                    });
                    apply.push(quote! {
                        if let ::std::option::Option::Some(value) = &self.#ident {
                            row.#ident = <#ty as #settable>::from_input(value)?;
                        }
                    });
                }
            }
        }
    }
    let version = has("version").then(|| quote!(pub expected_version: ::std::option::Option<i32>,));
    let version_check = has("version")
        .then(|| quote!(#k::validate::check_version(self.expected_version, before.version)?;));
    Ok(Some(quote! {
        #[doc = #create_doc]
        #[derive(::async_graphql::InputObject)]
        #vis struct #create {
            #(#create_fields)*
            /// A retried request with the same key returns the first result instead of creating twice.
            pub idempotency_key: ::std::option::Option<::std::string::String>,
        }

        impl #create {
            /// The row this input makes: a new ID, in the caller's tenant.
            pub fn row(&self, caller: &#k::Caller) -> ::std::result::Result<#row, #k::Error> {
                let now = #k::time::now();
                let _ = now;
                ::std::result::Result::Ok(#row {
                    id: <#id_ty>::new(),
                    tenant_id: caller.tenant_id,
                    #(#init)*
                })
            }
        }

        #[doc = #update_doc]
        #[derive(::async_graphql::InputObject)]
        #vis struct #update {
            pub id: ::async_graphql::ID,
            #version
            #(#update_fields)*
        }

        impl #update {
            /// The object this input changes.
            pub fn target(&self) -> ::std::result::Result<#id_ty, #k::Error> {
                <#id_ty>::parse(&self.id)
            }

            /// `before` with these changes, if it is still the version the caller saw.
            pub fn apply(&self, before: &#row) -> ::std::result::Result<#row, #k::Rejection> {
                #version_check
                let mut row = ::std::clone::Clone::clone(before);
                #(#apply)*
                ::std::result::Result::Ok(row)
            }
        }
    }))
}

/// The derived `create` and `update` mutations: the input's row, the idempotent replay (on
/// create), the aggregate's `check` (with the stored row on update), the write with its event,
/// and what follows it (`then`, with the stored row on update and the row written), all in one
/// transaction.
pub(crate) fn mutations(
    node: &Ident,
    prefix: &Ident,
    opts: &Options,
    vis: &Visibility,
) -> syn::Result<Option<Tokens>> {
    let k = quote!(::switchyard_kernel);
    if opts.create.is_none() && opts.update.is_none() {
        return Ok(None);
    }
    let Some(Write {
        permission,
        check,
        payload,
        then,
    }) = &opts.write
    else {
        return err(
            node.span(),
            "create and update need write(permission, check, payload)",
        );
    };
    let then: Vec<&Path> = then.iter().collect();
    let mutation = format_ident!("{}Mutation", prefix);
    // One resolver: the field's rule, the caller, then `prepare` outside the transaction
    // (decoding the input) and `body` inside it; the payload from the outcome.
    let resolver = |m: &Mutation, input: Ident, prepare: Tokens, body: Tokens| {
        let Mutation { name, doc, .. } = m;
        quote! {
            #[doc = #doc]
            #[graphql(directive = #k::policy::Require::apply(#permission))]
            async fn #name(
                &self,
                ctx: &::async_graphql::Context<'_>,
                input: #input,
            ) -> ::async_graphql::Result<#payload> {
                use #k::ContextExt as _;
                let caller = ctx.caller()?;
                #prepare
                let outcome = ctx.mutate(async |tx| { #body }).await;
                #payload::of(outcome)
            }
        }
    };
    let create = opts.create.as_ref().map(|m| {
        let (operation, event) = (camel(&m.name.to_string()), &m.event);
        resolver(
            m,
            format_ident!("Create{}Input", prefix),
            quote! {
                let row = input.row(caller)?;
                let key = input.idempotency_key.as_deref();
            },
            quote! {
                if let ::std::option::Option::Some(first) = #k::write::replay::<#node>(
                    tx, caller, #operation, key, #permission, row.id,
                )
                .await?
                {
                    return ::std::result::Result::Ok(first);
                }
                #check(tx, caller, &row, ::std::option::Option::None).await?;
                let row = #k::write::create::<#node, _>(tx, caller, row, #event::of).await?;
                #(#then(tx, caller, ::std::option::Option::None, &row).await?;)*
                ::std::result::Result::Ok(row)
            },
        )
    });
    let update = opts.update.as_ref().map(|m| {
        let event = &m.event;
        resolver(
            m,
            format_ident!("Update{}Input", prefix),
            quote!(let id = input.target()?;),
            quote! {
                let before =
                    #k::read::aggregate::find_in::<#node>(tx, caller, #permission, id).await?;
                let row = input.apply(&before)?;
                #check(tx, caller, &row, ::std::option::Option::Some(&before)).await?;
                let row =
                    #k::write::update::<#node, _>(tx, caller, &before, row, #event::of).await?;
                #(#then(tx, caller, ::std::option::Option::Some(&before), &row).await?;)*
                ::std::result::Result::Ok(row)
            },
        )
    });
    let doc = format!("Mutations of {node}.");
    Ok(Some(quote! {
        #[doc = #doc]
        #[derive(Default)]
        #vis struct #mutation;

        #[::async_graphql::Object]
        impl #mutation {
            #create
            #update
        }
    }))
}

/// `write::Stored`, for rows that carry a version and a time of change.
pub(crate) fn stored(node: &Ident, row: &Ident, table: &Path, fields: &[Field]) -> Option<Tokens> {
    let k = quote!(::switchyard_kernel);
    let has = |name: &str| fields.iter().any(|f| f.ident == name);
    (has("version") && has("updated_at")).then(|| {
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
    })
}

/// The event payload: the ID and the fields marked `event`, timestamps as UTC.
pub(crate) fn event_data(
    node: &Ident,
    row: &Ident,
    id_ty: &Type,
    fields: &[Field],
    event: Option<&Ident>,
    vis: &Visibility,
) -> Option<Tokens> {
    let k = quote!(::switchyard_kernel);
    event.map(|data| {
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
    })
}

/// The `changed(name, doc)` subscription, in a module of its own: async-graphql's expansion
/// calls methods that a domain's imports (Diesel's query traits) would otherwise capture.
pub(crate) fn subscription(
    node: &Ident,
    prefix: &Ident,
    row: &Ident,
    changed: Option<&(Ident, LitStr)>,
    vis: &Visibility,
) -> Option<Tokens> {
    let k = quote!(::switchyard_kernel);
    changed.map(|(name, doc)| {
        let subscription = format_ident!("{}Subscription", prefix);
        let module = format_ident!("__{}_subscription", row.to_string().to_lowercase());
        let type_doc = format!("Live changes of {node}.");
        quote! {
            #[doc(hidden)]
            mod #module {
                use super::#node;
                type Id = <#node as #k::read::Aggregate>::Id;

                #[doc = #type_doc]
                #[derive(Default)]
                pub struct #subscription;

                #[::async_graphql::Subscription]
                impl #subscription {
                    #[doc = #doc]
                    #[graphql(directive = #k::policy::Require::apply(<#node as #k::read::Aggregate>::READ))]
                    async fn #name(
                        &self,
                        ctx: &::async_graphql::Context<'_>,
                        id: ::std::option::Option<::async_graphql::ID>,
                    ) -> ::async_graphql::Result<impl #k::__private::Stream<Item = ::std::result::Result<#node, #k::Error>> + use<>> {
                        let only = id
                            .as_ref()
                            .map(<Id as #k::write::Settable>::from_input)
                            .transpose()?;
                        ::std::result::Result::Ok(#k::read::aggregate::changes::<#node>(ctx, only)?)
                    }
                }
            }
            #vis use #module::#subscription;
        }
    })
}
