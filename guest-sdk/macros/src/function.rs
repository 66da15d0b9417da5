//! `#[function]` and `#[local_entrypoint]` expanded: the unit struct named after the body, its
//! `local`, its `Deref` to `Function` (functions only), its runner and its `Entry`.
//!
//! Invariant: a function's entry and its handle come from one [`Shape`], so what a caller
//! encodes is what the runner decodes.

use crate::entry::{batching_tokens, config_tokens, option_tokens, volume_tokens};
use crate::options::{Options, Web, label_problem, schedule_tokens};
use crate::runner::{RunnerKind, Shape, call_shape, runner_tokens};
use crate::signature::{Params, batch_element_types, generator_of, output_shape, typed_params};
use proc_macro2::TokenStream as TokenStream2;
use quote::{format_ident, quote};
use syn::ItemFn;
use syn::spanned::Spanned;

/// Checks that `#[local_entrypoint]` was given no options, naming `web` if it was the one.
pub(crate) fn entrypoint_options(attr: TokenStream2) -> syn::Result<()> {
    let Some(first) = attr.into_iter().next() else {
        return Ok(());
    };
    let message = match &first {
        proc_macro2::TokenTree::Ident(ident) if ident == "web" => {
            "a local entrypoint cannot be a web endpoint: `web` is an option of `#[function]`"
        }
        _ => "#[local_entrypoint] takes no options",
    };
    Err(syn::Error::new(first.span(), message))
}

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Role {
    Function,
    Entrypoint,
}

pub(crate) fn expand(item: ItemFn, role: Role, options: Options) -> syn::Result<TokenStream2> {
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = item;
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(syn::Error::new(
            sig.generics.span(),
            "fnhost functions cannot be generic",
        ));
    }
    if let Some(receiver) = sig.receiver() {
        return Err(syn::Error::new(
            receiver.span(),
            "fnhost functions take no `self`",
        ));
    }
    let Params {
        names: param_names,
        type_names: param_type_names,
        types: param_types,
    } = typed_params(sig.inputs.iter())?;
    if role == Role::Entrypoint && !param_types.is_empty() {
        return Err(syn::Error::new(
            sig.inputs.span(),
            "local entrypoints take no arguments",
        ));
    }

    let name = &sig.ident;
    let name_string = name.to_string();
    if let Some(Web { label: None, .. }) = &options.web
        && let Some(problem) = label_problem(&name_string)
    {
        return Err(syn::Error::new(
            name.span(),
            format!(
                "the function's name is its web label, and {problem}: give it a label with \
                 `web(label = \"...\")`"
            ),
        ));
    }
    let is_async = sig.asyncness.is_some();
    let inputs = &sig.inputs;
    let output = &sig.output;
    let asyncness = &sig.asyncness;
    let sdk = quote!(::fnhost_guest);
    let private = quote!(#sdk::__private);

    let generator = generator_of(output);
    let (output_type, fallible) = match &generator {
        Some(generator) => (generator.item.clone(), generator.fallible),
        None => output_shape(output),
    };
    if generator.is_some() {
        let problem = if is_async {
            Some(
                "a generator is a `fn` (not `async fn`) returning `impl Iterator<Item = T>` or `impl Stream<Item = T>`",
            )
        } else if role == Role::Entrypoint {
            Some("a local entrypoint cannot be a generator")
        } else if options.batched.is_some() {
            Some("a generator cannot be batched")
        } else if options.web.is_some() {
            Some("a generator cannot be a web endpoint")
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(syn::Error::new(sig.span(), problem));
        }
    }

    // A batched function's callers pass and get one element of each list.
    let (param_types_called, output_type) = if options.batched.is_some() {
        batch_element_types(&sig, &param_types, &output_type)?
    } else {
        (param_types.clone(), output_type)
    };
    let Shape {
        args_type,
        encode_body,
        invoke,
    } = call_shape(
        &param_types,
        &param_types_called,
        fallible,
        is_async,
        &name_string,
        &quote!(#name.local),
        generator.as_ref(),
    );
    let runner_fn = format_ident!("__fnhost_run_{}", name);
    let (runner, runner_kind) = runner_tokens(
        &runner_fn,
        RunnerKind::of(is_async, generator.as_ref()),
        &invoke,
    );
    let role_tokens = match role {
        Role::Function => quote!(#private::Role::Function),
        Role::Entrypoint => quote!(#private::Role::Entrypoint),
    };
    let config = config_tokens(&options);
    let web = option_tokens(options.web.map(
        |Web {
             method,
             label,
             requires_auth,
         }| {
            let label = option_tokens(label);
            quote! {
                #private::Endpoint {
                    method: #method,
                    label: #label,
                    requires_auth: #requires_auth,
                }
            }
        },
    ));
    let batched = batching_tokens(options.batched);
    let secrets = options.secrets.unwrap_or_default();
    let volumes = volume_tokens(options.volumes.unwrap_or_default());
    let schedule = schedule_tokens(options.schedule);

    let remote = (role == Role::Function).then(|| {
        quote! {
            impl ::core::ops::Deref for #name {
                type Target = #sdk::Function<#args_type, #output_type>;

                fn deref(&self) -> &Self::Target {
                    fn encode(args: &#args_type) -> #private::serde_json::Result<::std::vec::Vec<u8>> {
                        #encode_body
                    }
                    static FUNCTION: #sdk::Function<#args_type, #output_type> =
                        #sdk::Function::new(#name_string, encode);
                    &FUNCTION
                }
            }
        }
    });
    let local_doc = if is_async {
        "Runs the body here, in the caller's own instance (awaits it)."
    } else {
        "Runs the body here, in the caller's own instance."
    };

    Ok(quote! {
        #(#attrs)*
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug)]
        #vis struct #name;

        impl #name {
            #[doc = #local_doc]
            #[allow(clippy::unused_async)]
            #vis #asyncness fn local(&self, #inputs) #output #block
        }

        #remote

        #runner

        impl #private::Registered for #name {
            const ENTRY: #private::Entry = #private::Entry {
                name: #name_string,
                role: #role_tokens,
                params: &[#(#param_names),*],
                param_types: &[#(#param_type_names),*],
                config: #config,
                web: #web,
                batch: #batched,
                secrets: &[#(#secrets),*],
                volumes: #volumes,
                schedule: #schedule,
                runner: #runner_kind,
            };
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::function_options;

    #[test]
    fn a_local_entrypoint_cannot_be_a_web_endpoint() {
        assert_eq!(entrypoint_options(quote!()).ok(), Some(()));
        assert_eq!(
            entrypoint_options(quote!(web)).unwrap_err().to_string(),
            "a local entrypoint cannot be a web endpoint: `web` is an option of `#[function]`"
        );
        assert_eq!(
            entrypoint_options(quote!(timeout = 5))
                .unwrap_err()
                .to_string(),
            "#[local_entrypoint] takes no options"
        );
    }

    #[test]
    fn a_function_whose_name_is_no_label_needs_one() {
        let expand_web = |attr: TokenStream2| {
            expand(
                syn::parse_quote!(
                    fn Price() {}
                ),
                Role::Function,
                function_options(attr).unwrap(),
            )
        };
        assert_eq!(
            expand_web(quote!(web)).unwrap_err().to_string(),
            "the function's name is its web label, and a web label takes only lowercase ASCII \
             letters, digits, `-` and `_`, not 'P': give it a label with `web(label = \"...\")`"
        );
        assert!(expand_web(quote!(web(label = "price"))).is_ok());
        assert!(expand_web(quote!(timeout = 5)).is_ok());
    }

    #[test]
    fn a_batched_function_takes_and_returns_lists() {
        let batched = |item: ItemFn| {
            let options = function_options(quote!(batched(max_batch_size = 4, wait_ms = 0)));
            expand(item, Role::Function, options.unwrap()).map_err(|error| error.to_string())
        };
        assert!(
            batched(syn::parse_quote!(
                fn f(xs: Vec<u32>, ys: Vec<String>) -> Vec<u8> {
                    todo!()
                }
            ))
            .is_ok()
        );
        assert!(
            batched(syn::parse_quote!(
                fn f(xs: Vec<u32>) -> Result<Vec<u8>, String> {
                    todo!()
                }
            ))
            .is_ok()
        );
        assert_eq!(
            batched(syn::parse_quote!(
                fn f(x: u32) -> Vec<u8> {
                    todo!()
                }
            ))
            .unwrap_err(),
            "a batched function's parameters must be a `Vec`, one element per input"
        );
        assert_eq!(
            batched(syn::parse_quote!(
                fn f(xs: Vec<u32>) -> u8 {
                    todo!()
                }
            ))
            .unwrap_err(),
            "a batched function's result must be a `Vec`, one element per input"
        );
        assert_eq!(
            batched(syn::parse_quote!(
                fn f() -> Vec<u8> {
                    todo!()
                }
            ))
            .unwrap_err(),
            "a batched function takes at least one parameter (a `Vec`)"
        );
    }
}
