//! The inputs of an aggregate's lists: the filter (typed per field, combined with `and`,
//! `or`, `not`) and the orderings (`CREATED_AT` plus each `#[field(order)]`, keyset cursors).

use proc_macro2::TokenStream as Tokens;
use quote::{format_ident, quote};
use syn::{Fields, Ident, ItemStruct, Visibility};

use crate::parse::{Field, docs, err, option_inner};
use crate::{camel, pascal};

/// `<Prefix>Filter` and its condition.
pub(crate) fn filter(
    node: &Ident,
    filter: &Ident,
    fields: &[Field],
    extras: Option<&ItemStruct>,
    vis: &Visibility,
) -> syn::Result<Tokens> {
    let k = quote!(::switchyard_kernel);
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
    if let Some(extras) = extras {
        if extras.ident != *filter {
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

    Ok(quote! {
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

    })
}

/// `<Prefix>OrderField`, `<Prefix>Order` (default: `default_order`) and their keyset order.
pub(crate) fn order(
    node: &Ident,
    row: &Ident,
    order_field: &Ident,
    order_input: &Ident,
    fields: &[Field],
    default_order: &(Ident, bool),
    vis: &Visibility,
) -> syn::Result<Tokens> {
    let k = quote!(::switchyard_kernel);
    let mut order_variants = vec![quote! {
        /// By creation (the ID is time-ordered).
        CreatedAt
    }];
    let mut order_columns = vec![quote!(#order_field::CreatedAt => ::std::option::Option::None)];
    let mut numeric_variants = Vec::new();
    let mut order_cursors = vec![quote! {
        #order_field::CreatedAt => #k::Cursor(vec![row.id.to_string().into()])
    }];
    let mut default_variant = None;
    if default_order.0 == "created_at" {
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
        if matches!(&f.ty, syn::Type::Path(p) if p.path.is_ident("i32") || p.path.is_ident("i64")) {
            numeric_variants.push(quote!(#order_field::#variant));
        }
        order_cursors.push(quote! {
            #order_field::#variant => #k::Cursor(vec![
                ::std::string::ToString::to_string(&row.#ident).into(),
                row.id.to_string().into(),
            ])
        });
        if default_order.0 == *ident {
            default_variant = Some(variant);
        }
    }
    let Some(default_variant) = default_variant else {
        return err(
            default_order.0.span(),
            "the default order names a field with #[field(order)], or created_at",
        );
    };
    let default_direction = if default_order.1 {
        quote!(#k::SortDirection::Desc)
    } else {
        quote!(#k::SortDirection::Asc)
    };
    let order_doc = format!("How {node} objects are sorted.");
    let numeric = if numeric_variants.is_empty() {
        quote!(false)
    } else {
        quote!(matches!(self.field, #(#numeric_variants)|*))
    };

    Ok(quote! {
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
                    numeric: #numeric,
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

    })
}
