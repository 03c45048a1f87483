//! The aggregate's [`Shape`] for the query planner (`switchyard_kernel::plan`): the same
//! declaration's columns, references, nested pages, lines and root fields, as data, and the
//! root list's arguments made into a condition by the same calls as the list resolver's.

use proc_macro2::TokenStream as Tokens;
use quote::quote;
use syn::{Ident, Type};

use crate::camel;
use crate::parse::{Field, Options};

pub(crate) fn shape(
    node: &Ident,
    id_ty: &Type,
    table_name: &str,
    opts: &Options,
    fields: &[Field],
    filter: &Ident,
    order_input: &Ident,
) -> Tokens {
    let k = quote!(::switchyard_kernel);
    let read = &opts.read;
    let scope = &opts.scope;
    let mut columns = Vec::new();
    let mut to_one = Vec::new();
    for f in fields.iter().filter(|f| !f.opts.hidden) {
        let ident = &f.ident;
        let column = ident.to_string();
        let ty = &f.ty;
        let name = camel(&f.snake_name());
        if let Some(target) = &f.opts.to_one {
            to_one.push(quote! {
                #k::plan::ToOne {
                    name: #name,
                    column: #column,
                    target: <#target as #k::plan::Planned>::shape,
                }
            });
            continue;
        }
        let hide = match &f.opts.hide_unless {
            Some(permission) => quote!(::std::option::Option::Some(#permission)),
            None => quote!(::std::option::Option::None),
        };
        columns.push(quote! {
            #k::plan::Column {
                name: #name,
                column: #column,
                kind: <#ty as #k::plan::Plannable>::KIND,
                hide_unless: #hide,
            }
        });
    }
    let nested = opts.has_many.iter().map(|many| {
        let (child, by) = (&many.node, many.by.to_string());
        let name = camel(&many.name.to_string());
        quote! {
            #k::plan::Nested {
                name: #name,
                target: <#child as #k::plan::Planned>::shape,
                by: #by,
            }
        }
    });
    let lines = opts.lines.iter().map(|l| {
        let (shape, by, order) = (&l.shape, l.by.to_string(), l.order.to_string());
        let name = camel(&l.name.to_string());
        quote! {
            #k::plan::Lines { name: #name, shape: &#shape, by: #by, order: #order }
        }
    });
    let column_opt = |c: &Option<Ident>| match c {
        Some(c) => {
            let c = c.to_string();
            quote!(::std::option::Option::Some(#c))
        }
        None => quote!(::std::option::Option::None),
    };
    let (owner_user, owner_location) = (
        column_opt(&opts.owner_user),
        column_opt(&opts.owner_location),
    );
    let one = match &opts.one {
        Some((name, _)) => {
            let name = camel(&name.to_string());
            quote!(::std::option::Option::Some(#name))
        }
        None => quote!(::std::option::Option::None),
    };
    let (list, list_fn) = match &opts.list {
        Some((name, _)) => {
            let name = camel(&name.to_string());
            let search = opts.search.as_ref().map(|search| {
                quote! {
                    if let ::std::option::Option::Some(term) = #k::validate::search_term("search", search_term)? {
                        parts.push(#search(caller, &term)?);
                    }
                }
            });
            let search_arg = opts
                .search
                .as_ref()
                .map(|_| quote!(args.get("search")?))
                .unwrap_or(quote!(::std::option::Option::None));
            let defaults = opts
                .defaults
                .as_ref()
                .map(|defaults| quote!(parts.extend(#defaults(filter, caller)?);));
            let check = opts
                .check
                .as_ref()
                .map(|check| quote!(#check(filter, order, caller)?;));
            (
                quote!(::std::option::Option::Some((#name, <#node>::__plan_list as #k::plan::ListArgs))),
                quote! {
                    impl #node {
                        /// The condition of the root list (filter, defaults, search) after its
                        /// checks: the list resolver's and the planner's.
                        #[doc(hidden)]
                        pub fn __list_condition(
                            caller: &#k::Caller,
                            filter: &#filter,
                            order: &#order_input,
                            search_term: ::std::option::Option<::std::string::String>,
                        ) -> ::std::result::Result<#k::read::Expr, #k::Error> {
                            let _ = (order, &search_term);
                            #check
                            let mut parts = vec![filter.expr(caller)?];
                            #defaults
                            #search
                            ::std::result::Result::Ok(#k::read::Expr::all(parts))
                        }

                        /// The root list's arguments as the list resolver reads them.
                        #[doc(hidden)]
                        pub fn __plan_list(
                            caller: &#k::Caller,
                            args: &#k::plan::Args,
                        ) -> ::std::result::Result<(#k::read::Expr, #k::read::Order, usize), #k::Error> {
                            let filter: #filter = args.get("filter")?.unwrap_or_default();
                            let order: #order_input = args.get("orderBy")?.unwrap_or_default();
                            let condition = Self::__list_condition(caller, &filter, &order, #search_arg)?;
                            ::std::result::Result::Ok((
                                condition,
                                #k::read::Ordering::order(&order),
                                #k::read::Ordering::arity(&order),
                            ))
                        }
                    }
                },
            )
        }
        None => (quote!(::std::option::Option::None), quote!()),
    };
    quote! {
        #list_fn

        impl #k::plan::Planned for #node {
            fn shape() -> &'static #k::plan::Shape {
                static SHAPE: #k::plan::Shape = #k::plan::Shape {
                    type_name: <#id_ty>::TYPE_NAME,
                    table: #table_name,
                    read: #read,
                    scope: ::std::option::Option::Some(#scope as #k::plan::ScopeFn),
                    owner: (#owner_user, #owner_location),
                    columns: &[#(#columns),*],
                    to_one: &[#(#to_one),*],
                    nested: &[#(#nested),*],
                    lines: &[#(#lines),*],
                    list: #list,
                    one: #one,
                };
                &SHAPE
            }
        }
    }
}
