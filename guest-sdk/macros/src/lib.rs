//! The attribute macros of `fnhost-guest`: `#[function]` and `#[local_entrypoint]`.
//!
//! Both turn `fn name(..)` (or `async fn`) into a unit struct `name` with:
//! - `name.local(..)`: the original body, run in the caller's own instance;
//! - an `Entry` (name, parameters, the options the attribute wrote — the others are `None`, for
//!   the host to fill with its defaults —, and a runner that decodes the JSON arguments, runs
//!   the body and encodes its output) that `fnhost_guest::app!` exports;
//! - for functions, a `Deref` to `fnhost_guest::Function<Args, Output>`, which gives `remote`,
//!   `remote_aio`, `spawn` and `map`.
//!
//! A body returning `Result<T, E>` (any type whose last path segment is `Result`) is fallible:
//! callers get `T`, and an `Err` reaches them as a user error carrying `E`'s `Display` message.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{ToTokens, format_ident, quote};
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{
    FnArg, GenericArgument, ItemFn, Lit, Pat, PathArguments, ReturnType, Token, Type,
    parse_macro_input,
};

/// Makes a `fn` or `async fn` a function of the app, callable by name from anywhere in it.
///
/// Options (Modal's, with the same meaning), in these units:
/// - `max_inputs = N`: inputs one container runs at once;
/// - `target_inputs = N`: inputs the autoscaler aims to give one container before it starts
///   another (at most `max_inputs`);
/// - `max_containers = N`: containers the function may have at once;
/// - `min_containers = N`: containers kept running even when idle;
/// - `buffer_containers = N`: idle containers kept ready beyond the busy ones while inputs run;
/// - `scaledown_window = SECONDS`: how long a container beyond those may stay idle;
/// - `timeout = SECONDS`: how long one attempt may run;
/// - `memory = MIB`: the most linear memory one container may grow to;
/// - `cpu = CORES`: the CPU one container may use, a number (`0.25`, `2`; to a thousandth of a
///   core);
/// - `retries = N`, or `retries(max_retries = N, backoff_coefficient = F, initial_delay = MS,
///   max_delay = MS)`: how many times a failed input runs again, the first delay, what each
///   next delay is multiplied by, and the longest delay.
///
/// The component declares only the options written here; the host fills the others with its
/// defaults and checks every value when the app loads, naming the function and the option.
/// The defaults and ranges are the host's: see the option table in the README, and
/// `fnhost list APP` for a component's effective options. This macro checks only that each
/// option is one it knows and that its value is a number of the right kind (a whole number
/// where one is expected, never negative).
#[proc_macro_attribute]
pub fn function(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut options = Options::default();
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("max_inputs") {
            set(&meta, &mut options.max_inputs, whole(&meta)?)?;
        } else if meta.path.is_ident("target_inputs") {
            set(&meta, &mut options.target_inputs, whole(&meta)?)?;
        } else if meta.path.is_ident("max_containers") {
            set(&meta, &mut options.max_containers, whole(&meta)?)?;
        } else if meta.path.is_ident("min_containers") {
            set(&meta, &mut options.min_containers, whole(&meta)?)?;
        } else if meta.path.is_ident("buffer_containers") {
            set(&meta, &mut options.buffer_containers, whole(&meta)?)?;
        } else if meta.path.is_ident("scaledown_window") {
            set(&meta, &mut options.scaledown_window_secs, whole(&meta)?)?;
        } else if meta.path.is_ident("timeout") {
            set(&meta, &mut options.timeout_secs, whole(&meta)?)?;
        } else if meta.path.is_ident("memory") {
            set(&meta, &mut options.memory_mib, whole(&meta)?)?;
        } else if meta.path.is_ident("cpu") {
            set(&meta, &mut options.cpu_millicores, millicores(&meta)?)?;
        } else if meta.path.is_ident("retries") {
            if meta.input.peek(syn::token::Paren) {
                meta.parse_nested_meta(|policy| {
                    if policy.path.is_ident("max_retries") {
                        set(&policy, &mut options.retries, whole(&policy)?)?;
                    } else if policy.path.is_ident("backoff_coefficient") {
                        set(
                            &policy,
                            &mut options.backoff_coefficient,
                            coefficient(&policy)?,
                        )?;
                    } else if policy.path.is_ident("initial_delay") {
                        set(&policy, &mut options.retry_delay_ms, whole(&policy)?)?;
                    } else if policy.path.is_ident("max_delay") {
                        set(&policy, &mut options.max_retry_delay_ms, whole(&policy)?)?;
                    } else {
                        return Err(policy.error(
                            "unknown retry option; expected `max_retries`, \
                             `backoff_coefficient`, `initial_delay` or `max_delay`",
                        ));
                    }
                    Ok(())
                })?;
            } else {
                set(&meta, &mut options.retries, whole(&meta)?)?;
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
    expand(item, Role::Function, options)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Records an option's value, unless the attribute gave it already.
fn set<T>(meta: &ParseNestedMeta, slot: &mut Option<T>, value: T) -> syn::Result<()> {
    if slot.is_some() {
        let name = meta
            .path
            .get_ident()
            .map_or_else(String::new, ToString::to_string);
        return Err(syn::Error::new(
            meta.path.span(),
            format!("`{name}` is given more than once"),
        ));
    }
    *slot = Some(value);
    Ok(())
}

/// An option's value that must be a whole number (`3`), as the contract carries it.
fn whole(meta: &ParseNestedMeta) -> syn::Result<u32> {
    let input = meta.value()?;
    if input.peek(Token![-]) {
        return Err(input.error("expected a whole number, not a negative one"));
    }
    match input.parse::<Lit>()? {
        Lit::Int(value) => value.base10_parse::<u32>().map_err(|_| {
            syn::Error::new(
                value.span(),
                format!("{value} does not fit in a 32-bit whole number"),
            )
        }),
        other => Err(syn::Error::new(other.span(), "expected a whole number")),
    }
}

/// An option's value that may be any number (`2`, `0.5`), but not a negative one.
fn number(meta: &ParseNestedMeta) -> syn::Result<(f64, Span)> {
    let input = meta.value()?;
    if input.peek(Token![-]) {
        return Err(input.error("expected a number, not a negative one"));
    }
    let (parsed, span) = match input.parse::<Lit>()? {
        Lit::Float(value) => (value.base10_parse::<f64>()?, value.span()),
        Lit::Int(value) => (value.base10_parse::<f64>()?, value.span()),
        other => return Err(syn::Error::new(other.span(), "expected a number")),
    };
    if parsed.is_finite() {
        Ok((parsed, span))
    } else {
        Err(syn::Error::new(span, "expected a finite number"))
    }
}

/// `cpu = CORES` in the contract's unit, thousandths of a core.
fn millicores(meta: &ParseNestedMeta) -> syn::Result<u32> {
    let (cores, span) = number(meta)?;
    let millicores = (cores * 1000.0).round();
    if cores > 0.0 && millicores == 0.0 {
        // 0 on the wire means "no limit": a small limit must not turn into none.
        return Err(syn::Error::new(
            span,
            "less than a thousandth of a core, the finest `cpu` the contract carries",
        ));
    }
    if millicores > f64::from(u32::MAX) {
        return Err(syn::Error::new(span, "too many cores"));
    }
    // Whole, non-negative and at most `u32::MAX`: the conversion is exact.
    Ok(millicores as u32)
}

/// `backoff_coefficient = F`, as the contract's `f32`.
fn coefficient(meta: &ParseNestedMeta) -> syn::Result<f32> {
    let (coefficient, span) = number(meta)?;
    if coefficient > f64::from(f32::MAX) {
        return Err(syn::Error::new(span, "too large a number"));
    }
    Ok(coefficient as f32)
}

/// Makes a `fn main()` or `async fn main()` (any name) a local entrypoint, run by
/// `fnhost run APP::name`. It takes no arguments and returns `()` or `Result<(), E>`; it
/// declares no options (the host gives it its defaults).
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

/// The options the attribute wrote, in the contract's units; `None` for those it did not.
#[derive(Default)]
struct Options {
    max_inputs: Option<u32>,
    target_inputs: Option<u32>,
    max_containers: Option<u32>,
    min_containers: Option<u32>,
    buffer_containers: Option<u32>,
    scaledown_window_secs: Option<u32>,
    timeout_secs: Option<u32>,
    memory_mib: Option<u32>,
    cpu_millicores: Option<u32>,
    retries: Option<u32>,
    retry_delay_ms: Option<u32>,
    backoff_coefficient: Option<f32>,
    max_retry_delay_ms: Option<u32>,
}

/// An option as the `function-config` record carries it: `Some(value)` or `None`.
fn option_tokens<T: ToTokens>(value: Option<T>) -> TokenStream2 {
    match value {
        Some(value) => quote!(::core::option::Option::Some(#value)),
        None => quote!(::core::option::Option::None),
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
    let arg_idents: Vec<_> = (0..param_types.len())
        .map(|index| format_ident!("__fnhost_arg{index}"))
        .collect();
    // The handle encodes a tuple of the parameters that it builds itself, whatever their types:
    // `encode_args` takes a tuple for the list of arguments, so a single parameter whose type
    // is a tuple still travels as one argument.
    let encode_body = match param_types.len() {
        0 => quote!(#private::encode_args(&())),
        1 => quote!(#private::encode_args(&(args,))),
        _ => quote! {
            let (#(#arg_idents,)*) = args;
            #private::encode_args(&(#(#arg_idents,)*))
        },
    };
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
    let max_inputs = option_tokens(max_inputs);
    let target_inputs = option_tokens(target_inputs);
    let max_containers = option_tokens(max_containers);
    let min_containers = option_tokens(min_containers);
    let buffer_containers = option_tokens(buffer_containers);
    let scaledown_window_secs = option_tokens(scaledown_window_secs);
    let timeout_secs = option_tokens(timeout_secs);
    let memory_mib = option_tokens(memory_mib);
    let cpu_millicores = option_tokens(cpu_millicores);
    let retries = option_tokens(retries);
    let retry_delay_ms = option_tokens(retry_delay_ms);
    let backoff_coefficient = option_tokens(backoff_coefficient);
    let max_retry_delay_ms = option_tokens(max_retry_delay_ms);

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
