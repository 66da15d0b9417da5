//! What a body's Rust signature says: its parameters, what its callers get, whether it is
//! fallible, a generator or batched, read from the types as written.
//!
//! Invariant: types are recognised by their last path segment (`Result`, `Vec`, `Iterator`,
//! `Stream`), as written; a macro sees no type resolution, so an alias of `Result` is an
//! ordinary output.

use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{ToTokens, quote};
use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, Pat, PathArguments, ReturnType, Type};

/// A body's parameters (its receiver aside): names, types as written, and types.
pub(crate) struct Params {
    pub(crate) names: Vec<String>,
    pub(crate) type_names: Vec<String>,
    pub(crate) types: Vec<Type>,
}

pub(crate) fn typed_params<'a>(inputs: impl Iterator<Item = &'a FnArg>) -> syn::Result<Params> {
    let mut params = Params {
        names: Vec::new(),
        type_names: Vec::new(),
        types: Vec::new(),
    };
    for input in inputs {
        let FnArg::Typed(param) = input else {
            continue;
        };
        let Pat::Ident(pattern) = &*param.pat else {
            return Err(syn::Error::new(
                param.pat.span(),
                "parameters of fnhost functions must be plain names",
            ));
        };
        params.names.push(pattern.ident.to_string());
        params.type_names.push(type_name(&param.ty));
        params.types.push((*param.ty).clone());
    }
    Ok(params)
}

/// What callers get from a body returning `output`, and whether it is fallible (a `Result`).
pub(crate) fn output_shape(output: &ReturnType) -> (TokenStream2, bool) {
    match output {
        ReturnType::Default => (quote!(()), false),
        ReturnType::Type(_, ty) => match result_ok_type(ty) {
            Some(ok) => (quote!(#ok), true),
            None => (quote!(#ty), false),
        },
    }
}

/// What a generator yields, from its return type `impl Iterator<Item = T>` (or `Stream`).
pub(crate) struct Generator {
    /// `T`'s success type: what callers get per item.
    pub(crate) item: TokenStream2,
    /// Whether `T` is a `Result` (an `Err` item ends the items with its error).
    pub(crate) fallible: bool,
    /// `Stream` (async) rather than `Iterator` (blocking).
    pub(crate) stream: bool,
}

/// The generator `output` declares, when it is `impl Iterator<Item = T>` or
/// `impl Stream<Item = T>`.
pub(crate) fn generator_of(output: &ReturnType) -> Option<Generator> {
    let ReturnType::Type(_, ty) = output else {
        return None;
    };
    let Type::ImplTrait(bounds) = &**ty else {
        return None;
    };
    bounds.bounds.iter().find_map(|bound| {
        let syn::TypeParamBound::Trait(bound) = bound else {
            return None;
        };
        let last = bound.path.segments.last()?;
        let stream = match last.ident.to_string().as_str() {
            "Iterator" => false,
            "Stream" => true,
            _ => return None,
        };
        let PathArguments::AngleBracketed(generics) = &last.arguments else {
            return None;
        };
        generics.args.iter().find_map(|arg| match arg {
            GenericArgument::AssocType(assoc) if assoc.ident == "Item" => {
                let (item, fallible) = match result_ok_type(&assoc.ty) {
                    Some(ok) => (quote!(#ok), true),
                    None => {
                        let ty = &assoc.ty;
                        (quote!(#ty), false)
                    }
                };
                Some(Generator {
                    item,
                    fallible,
                    stream,
                })
            }
            _ => None,
        })
    })
}

/// The types a batched function's callers pass and get: each parameter's and the output's
/// element type, all of which must be `Vec`s.
pub(crate) fn batch_element_types(
    sig: &syn::Signature,
    param_types: &[Type],
    output_type: &TokenStream2,
) -> syn::Result<(Vec<Type>, TokenStream2)> {
    let not_a_list = |span: Span, what: &str| {
        syn::Error::new(
            span,
            format!("a batched function's {what} must be a `Vec`, one element per input"),
        )
    };
    let elements = param_types
        .iter()
        .map(|ty| {
            vec_element(ty)
                .cloned()
                .ok_or_else(|| not_a_list(ty.span(), "parameters"))
        })
        .collect::<syn::Result<Vec<_>>>()?;
    if elements.is_empty() {
        return Err(syn::Error::new(
            sig.ident.span(),
            "a batched function takes at least one parameter (a `Vec`)",
        ));
    }
    let output: Type = syn::parse2(output_type.clone())?;
    let element = vec_element(&output)
        .ok_or_else(|| not_a_list(sig.output.span(), "result"))?
        .to_token_stream();
    Ok((elements, element))
}

/// A parameter's type as the author wrote it, without spaces: `Vec<u32>`, `Option<String>`.
pub(crate) fn type_name(ty: &Type) -> String {
    ty.to_token_stream().to_string().replace(' ', "")
}

/// `T` for a type written `Result<T, ..>` (any path ending in `Result`).
pub(crate) fn result_ok_type(ty: &Type) -> Option<&Type> {
    first_type_argument(ty, "Result")
}

/// `T` for a type written `Vec<T>` (any path ending in `Vec`).
pub(crate) fn vec_element(ty: &Type) -> Option<&Type> {
    first_type_argument(ty, "Vec")
}

/// `T` for a type written `Name<T, ..>`, where `Name` is the last segment of its path.
pub(crate) fn first_type_argument<'t>(ty: &'t Type, name: &str) -> Option<&'t Type> {
    let Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    let PathArguments::AngleBracketed(generics) = &last.arguments else {
        return None;
    };
    match generics.args.first()? {
        GenericArgument::Type(first) => Some(first),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_types_are_named_as_written_without_spaces() {
        let named = |ty: Type| type_name(&ty);
        assert_eq!(named(syn::parse_quote!(i64)), "i64");
        assert_eq!(named(syn::parse_quote!(Vec<u32>)), "Vec<u32>");
        assert_eq!(named(syn::parse_quote!(Option<String>)), "Option<String>");
        assert_eq!(
            named(syn::parse_quote!(std::collections::HashMap<String, (u8, bool)>)),
            "std::collections::HashMap<String,(u8,bool)>"
        );
    }
}
