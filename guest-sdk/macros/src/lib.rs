//! The attribute macros of `fnhost-guest`: `#[function]` and `#[local_entrypoint]`.
//!
//! Both turn `fn name(..)` (or `async fn`) into a unit struct `name` with:
//! - `name.local(..)`: the original body, run in the caller's own instance;
//! - an `Entry` (name, parameters, options, and a runner that decodes the JSON arguments, runs
//!   the body and encodes its output) that `fnhost_guest::app!` exports;
//! - for functions, a `Deref` to `fnhost_guest::Function<Args, Output>`, which gives `remote`,
//!   `remote_aio`, `spawn` and `map`.
//!
//! A body returning `Result<T, E>` (any type whose last path segment is `Result`) is fallible:
//! callers get `T`, and an `Err` reaches them as a user error carrying `E`'s `Display` message.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote};
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{
    FnArg, GenericArgument, ItemFn, Lit, LitInt, Pat, PathArguments, ReturnType, Type,
    parse_macro_input,
};

/// Makes a `fn` or `async fn` a function of the app, callable by name from anywhere in it.
///
/// Options (Modal's, with the same meaning and ranges):
/// - `max_inputs = N`: inputs one container runs at once (default 1);
/// - `target_inputs = N`: inputs the autoscaler aims to give one container before it starts
///   another, 1 to `max_inputs` (default `max_inputs`);
/// - `max_containers = N`: containers the function may have at once (default 100);
/// - `min_containers = N`: containers kept running even when idle (default 0);
/// - `buffer_containers = N`: idle containers kept ready beyond the busy ones while inputs run,
///   0 to `max_containers` (default 0);
/// - `scaledown_window = SECONDS`: how long a container beyond those may stay idle, 2 to 1200
///   (default 60);
/// - `timeout = SECONDS`: how long one attempt may run, 1 to 86 400 (default 300);
/// - `memory = MIB`: the most linear memory one container may grow to, 1 to 4096 (default 512);
/// - `cpu = CORES`: the CPU one container may use, 0.05 to 64 (default: no limit);
/// - `retries = N`, or `retries(max_retries = N, backoff_coefficient = F, initial_delay = MS,
///   max_delay = MS)`: how many times a failed input runs again (0 to 10; default 0), the first
///   delay (0 to 60 000 ms; default 1000), what each next delay is multiplied by (1.0 to 10.0;
///   default 2.0) and the longest delay (1000 to 60 000 ms; default 60 000).
#[proc_macro_attribute]
pub fn function(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut options = Options::default();
    let mut target_inputs = None;
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("max_inputs") {
            options.max_inputs = int(&meta, 1, u32::MAX)?;
        } else if meta.path.is_ident("target_inputs") {
            target_inputs = Some(int(&meta, 1, u32::MAX)?);
        } else if meta.path.is_ident("max_containers") {
            options.max_containers = int(&meta, 1, u32::MAX)?;
        } else if meta.path.is_ident("min_containers") {
            options.min_containers = int(&meta, 0, u32::MAX)?;
        } else if meta.path.is_ident("buffer_containers") {
            options.buffer_containers = int(&meta, 0, u32::MAX)?;
        } else if meta.path.is_ident("scaledown_window") {
            options.scaledown_window_secs = int(&meta, 2, MAX_SCALEDOWN_WINDOW_SECS)?;
        } else if meta.path.is_ident("timeout") {
            options.timeout_secs = int(&meta, 1, MAX_TIMEOUT_SECS)?;
        } else if meta.path.is_ident("memory") {
            options.memory_mib = int(&meta, 1, MAX_MEMORY_MIB)?;
        } else if meta.path.is_ident("cpu") {
            let cores = float(&meta, 0.05, 64.0)?;
            // In range, so the product fits: 50 to 64 000.
            options.cpu_millicores = (cores * 1000.0).round() as u32;
        } else if meta.path.is_ident("retries") {
            if meta.input.peek(syn::token::Paren) {
                meta.parse_nested_meta(|policy| {
                    if policy.path.is_ident("max_retries") {
                        options.retries = int(&policy, 0, MAX_RETRIES)?;
                    } else if policy.path.is_ident("backoff_coefficient") {
                        options.backoff_coefficient = float(&policy, 1.0, 10.0)? as f32;
                    } else if policy.path.is_ident("initial_delay") {
                        options.retry_delay_ms = int(&policy, 0, MAX_RETRY_DELAY_MS)?;
                    } else if policy.path.is_ident("max_delay") {
                        options.max_retry_delay_ms = int(&policy, 1000, MAX_RETRY_DELAY_MS)?;
                    } else {
                        return Err(policy.error(
                            "unknown retry option; expected `max_retries`, \
                             `backoff_coefficient`, `initial_delay` or `max_delay`",
                        ));
                    }
                    Ok(())
                })?;
            } else {
                options.retries = int(&meta, 0, MAX_RETRIES)?;
            }
        } else {
            return Err(meta.error(
                "unknown option; expected `max_inputs`, `target_inputs`, `max_containers`, \
                 `min_containers`, `buffer_containers`, `scaledown_window`, `timeout`, \
                 `memory`, `cpu` or `retries`",
            ));
        }
        Ok(())
    });
    parse_macro_input!(attr with parser);
    let item = parse_macro_input!(item as ItemFn);
    options.target_inputs = target_inputs.unwrap_or(options.max_inputs);
    if let Some(error) = options.inconsistency() {
        return syn::Error::new(Span::call_site(), error)
            .into_compile_error()
            .into();
    }
    expand(item, Role::Function, options)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// An integer option's value, from `min` to `max`.
fn int(meta: &ParseNestedMeta, min: u32, max: u32) -> syn::Result<u32> {
    let value: LitInt = meta.value()?.parse()?;
    match value.base10_parse::<u32>()? {
        parsed if (min..=max).contains(&parsed) => Ok(parsed),
        _ => Err(syn::Error::new(
            value.span(),
            format!("must be from {min} to {max}"),
        )),
    }
}

/// A number option's value (`2`, `0.5`), from `min` to `max`.
fn float(meta: &ParseNestedMeta, min: f64, max: f64) -> syn::Result<f64> {
    let (parsed, span) = match meta.value()?.parse()? {
        Lit::Float(value) => (value.base10_parse::<f64>()?, value.span()),
        Lit::Int(value) => (value.base10_parse::<f64>()?, value.span()),
        other => return Err(syn::Error::new(other.span(), "expected a number")),
    };
    if (min..=max).contains(&parsed) {
        Ok(parsed)
    } else {
        Err(syn::Error::new(
            span,
            format!("must be from {min} to {max}"),
        ))
    }
}

/// Makes a `fn main()` or `async fn main()` (any name) a local entrypoint, run by
/// `fnhost run APP::name`. It takes no arguments and returns `()` or `Result<(), E>`.
#[proc_macro_attribute]
pub fn local_entrypoint(attr: TokenStream, item: TokenStream) -> TokenStream {
    if !attr.is_empty() {
        return syn::Error::new(Span::call_site(), "#[local_entrypoint] takes no options")
            .into_compile_error()
            .into();
    }
    let item = parse_macro_input!(item as ItemFn);
    expand(item, Role::Entrypoint, Options::default())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

#[derive(Clone, Copy, PartialEq)]
enum Role {
    Function,
    Entrypoint,
}

/// The longest `timeout`: a day, as Modal allows.
const MAX_TIMEOUT_SECS: u32 = 86_400;

/// The longest `scaledown_window`: 20 minutes, as Modal allows.
const MAX_SCALEDOWN_WINDOW_SECS: u32 = 1200;

/// The largest `memory`: all a 32-bit linear memory can address.
const MAX_MEMORY_MIB: u32 = 4096;

/// The most `retries`, as Modal allows.
const MAX_RETRIES: u32 = 10;

/// The longest delay between retries: a minute, as Modal allows.
const MAX_RETRY_DELAY_MS: u32 = 60_000;

struct Options {
    max_inputs: u32,
    target_inputs: u32,
    max_containers: u32,
    min_containers: u32,
    buffer_containers: u32,
    scaledown_window_secs: u32,
    timeout_secs: u32,
    memory_mib: u32,
    cpu_millicores: u32,
    retries: u32,
    retry_delay_ms: u32,
    backoff_coefficient: f32,
    max_retry_delay_ms: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_inputs: 1,
            target_inputs: 1,
            max_containers: 100,
            min_containers: 0,
            buffer_containers: 0,
            scaledown_window_secs: 60,
            timeout_secs: 300,
            memory_mib: 512,
            cpu_millicores: 0,
            retries: 0,
            retry_delay_ms: 1000,
            backoff_coefficient: 2.0,
            max_retry_delay_ms: MAX_RETRY_DELAY_MS,
        }
    }
}

impl Options {
    /// Why options that are each in range do not fit together, if they do not.
    fn inconsistency(&self) -> Option<String> {
        if self.target_inputs > self.max_inputs {
            Some(format!(
                "target_inputs ({}) must be at most max_inputs ({})",
                self.target_inputs, self.max_inputs
            ))
        } else if self.min_containers > self.max_containers {
            Some(format!(
                "min_containers ({}) must be at most max_containers ({})",
                self.min_containers, self.max_containers
            ))
        } else if self.buffer_containers > self.max_containers {
            Some(format!(
                "buffer_containers ({}) must be at most max_containers ({})",
                self.buffer_containers, self.max_containers
            ))
        } else {
            None
        }
    }
}

fn expand(item: ItemFn, role: Role, options: Options) -> syn::Result<TokenStream2> {
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
    let mut param_names = Vec::new();
    let mut param_types = Vec::new();
    for input in &sig.inputs {
        let FnArg::Typed(param) = input else {
            return Err(syn::Error::new(
                input.span(),
                "fnhost functions take no `self`",
            ));
        };
        let Pat::Ident(pattern) = &*param.pat else {
            return Err(syn::Error::new(
                param.pat.span(),
                "parameters of fnhost functions must be plain names",
            ));
        };
        param_names.push(pattern.ident.to_string());
        param_types.push((*param.ty).clone());
    }
    if role == Role::Entrypoint && !param_types.is_empty() {
        return Err(syn::Error::new(
            sig.inputs.span(),
            "local entrypoints take no arguments",
        ));
    }

    let name = &sig.ident;
    let name_string = name.to_string();
    let is_async = sig.asyncness.is_some();
    let inputs = &sig.inputs;
    let output = &sig.output;
    let asyncness = &sig.asyncness;
    let sdk = quote!(::fnhost_guest);
    let private = quote!(#sdk::__private);

    let (output_type, fallible) = match output {
        ReturnType::Default => (quote!(()), false),
        ReturnType::Type(_, ty) => match result_ok_type(ty) {
            Some(ok) => (quote!(#ok), true),
            None => (quote!(#ty), false),
        },
    };

    // The argument value callers pass: `()`, the one parameter, or a tuple of them.
    let args_type = match param_types.as_slice() {
        [] => quote!(()),
        [single] => quote!(#single),
        several => quote!((#(#several),*)),
    };
    let encode_body = match param_types.len() {
        0 => quote!(#private::encode_args::<[(); 0]>(&[])),
        1 => quote!(#private::encode_args(&(args,))),
        _ => quote!(#private::encode_args(args)),
    };
    let arg_idents: Vec<_> = (0..param_types.len())
        .map(|index| format_ident!("__fnhost_arg{index}"))
        .collect();
    let decode_pattern = match param_types.len() {
        0 => quote!([]),
        _ => quote!((#(#arg_idents,)*)),
    };
    let decode_type = match param_types.len() {
        0 => quote!([(); 0]),
        _ => quote!((#(#param_types,)*)),
    };
    let await_body = is_async.then(|| quote!(.await));
    let encode = if fallible {
        quote!(#private::encode_output(output))
    } else {
        quote!(#private::encode_output(::core::result::Result::<_, ::core::convert::Infallible>::Ok(output)))
    };
    let invoke = quote! {
        let #decode_pattern: #decode_type = #private::decode_args(#name_string, &args)?;
        let output = #name.local(#(#arg_idents),*)#await_body;
        #encode
    };
    let runner_fn = format_ident!("__fnhost_run_{}", name);
    let runner = if is_async {
        quote! {
            #[doc(hidden)]
            fn #runner_fn(args: ::std::vec::Vec<u8>) -> #private::AsyncOutcome {
                ::std::boxed::Box::pin(async move { #invoke })
            }
        }
    } else {
        quote! {
            #[doc(hidden)]
            fn #runner_fn(args: ::std::vec::Vec<u8>) -> #private::Outcome {
                #invoke
            }
        }
    };
    let runner_kind = if is_async {
        quote!(#private::Runner::Async(#runner_fn))
    } else {
        quote!(#private::Runner::Blocking(#runner_fn))
    };
    let role_tokens = match role {
        Role::Function => quote!(#private::Role::Function),
        Role::Entrypoint => quote!(#private::Role::Entrypoint),
    };
    let Options {
        max_inputs,
        target_inputs,
        max_containers,
        min_containers,
        buffer_containers,
        scaledown_window_secs,
        timeout_secs,
        memory_mib,
        cpu_millicores,
        retries,
        retry_delay_ms,
        backoff_coefficient,
        max_retry_delay_ms,
    } = options;

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
                config: #private::FunctionConfig {
                    max_inputs: #max_inputs,
                    target_inputs: #target_inputs,
                    max_containers: #max_containers,
                    min_containers: #min_containers,
                    buffer_containers: #buffer_containers,
                    scaledown_window_secs: #scaledown_window_secs,
                    timeout_secs: #timeout_secs,
                    memory_mib: #memory_mib,
                    cpu_millicores: #cpu_millicores,
                    retries: #retries,
                    retry_delay_ms: #retry_delay_ms,
                    backoff_coefficient: #backoff_coefficient,
                    max_retry_delay_ms: #max_retry_delay_ms,
                },
                runner: #runner_kind,
            };
        }
    })
}

/// `T` for a return type written `Result<T, ..>` (any path ending in `Result`).
fn result_ok_type(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(generics) = &last.arguments else {
        return None;
    };
    match generics.args.first()? {
        GenericArgument::Type(ok) => Some(ok),
        _ => None,
    }
}
