//! The generated code that runs a body: how its callers' argument value is encoded, how a
//! runner decodes it, runs the body (blocking, async or a generator) and encodes its output.
//!
//! Invariant: a handle and a runner agree on the arguments' form, a tuple of the parameters
//! however many there are, so a single parameter whose type is a tuple travels as one
//! argument. Without it `f.remote((a, b))` would mean two things.

use crate::signature::Generator;
use proc_macro2::TokenStream as TokenStream2;
use quote::{format_ident, quote};
use syn::Type;

/// How a body is run: the `Runner` variant its runner is.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum RunnerKind {
    Blocking,
    Async,
    /// A `fn` returning `impl Iterator`.
    Generator,
    /// A `fn` returning `impl Stream`.
    AsyncGenerator,
}

impl RunnerKind {
    pub(crate) fn of(is_async: bool, generator: Option<&Generator>) -> Self {
        match (is_async, generator) {
            (_, Some(Generator { stream: false, .. })) => RunnerKind::Generator,
            (_, Some(Generator { stream: true, .. })) => RunnerKind::AsyncGenerator,
            (false, None) => RunnerKind::Blocking,
            (true, None) => RunnerKind::Async,
        }
    }
}

/// What a generator's runner does with the iterator (or stream) its body returned, `output`:
/// send each item to `sink`.
pub(crate) fn send_tokens(generator: &Generator) -> TokenStream2 {
    let private = quote!(::fnhost_guest::__private);
    let items = match (generator.fallible, generator.stream) {
        (true, _) => quote!(output),
        (false, false) => quote!(::core::iter::Iterator::map(
            output,
            ::core::result::Result::<_, ::core::convert::Infallible>::Ok
        )),
        (false, true) => quote!(#private::futures::StreamExt::map(
            output,
            ::core::result::Result::<_, ::core::convert::Infallible>::Ok
        )),
    };
    match generator.stream {
        false => quote!(#private::send_items(#items, &sink)),
        true => quote!(#private::send_stream(#items, sink).await),
    }
}

/// The runner function `name` that runs `invoke` on the `args` it is given (and, for a
/// generator, the `sink` its items go to), and the `Runner` that names it.
pub(crate) fn runner_tokens(
    name: &syn::Ident,
    kind: RunnerKind,
    invoke: &TokenStream2,
) -> (TokenStream2, TokenStream2) {
    let private = quote!(::fnhost_guest::__private);
    match kind {
        RunnerKind::Generator => {
            return (
                quote! {
                    #[doc(hidden)]
                    fn #name(
                        args: ::std::vec::Vec<u8>,
                        sink: #private::ItemSink,
                    ) -> ::core::result::Result<(), #private::CallError> {
                        #invoke
                    }
                },
                quote!(#private::Runner::Generator(#name)),
            );
        }
        RunnerKind::AsyncGenerator => {
            return (
                quote! {
                    #[doc(hidden)]
                    fn #name(args: ::std::vec::Vec<u8>, sink: #private::ItemSink) -> #private::AsyncDone {
                        ::std::boxed::Box::pin(async move { #invoke })
                    }
                },
                quote!(#private::Runner::AsyncGenerator(#name)),
            );
        }
        _ => {}
    }
    if kind == RunnerKind::Async {
        (
            quote! {
                #[doc(hidden)]
                fn #name(args: ::std::vec::Vec<u8>) -> #private::AsyncOutcome {
                    ::std::boxed::Box::pin(async move { #invoke })
                }
            },
            quote!(#private::Runner::Async(#name)),
        )
    } else {
        (
            quote! {
                #[doc(hidden)]
                fn #name(args: ::std::vec::Vec<u8>) -> #private::Outcome {
                    #invoke
                }
            },
            quote!(#private::Runner::Blocking(#name)),
        )
    }
}

/// How a function (or method) is called, as generated code: the argument value its callers
/// pass, how a handle encodes it, and how a runner decodes `args`, runs the body and encodes
/// its output.
pub(crate) struct Shape {
    pub(crate) args_type: TokenStream2,
    pub(crate) encode_body: TokenStream2,
    pub(crate) invoke: TokenStream2,
}

/// The [`Shape`] of a body with parameters `param_types` (callers pass `param_types_called`:
/// the elements, when batched), run by calling `body` with the decoded arguments.
pub(crate) fn call_shape(
    param_types: &[Type],
    param_types_called: &[Type],
    fallible: bool,
    is_async: bool,
    name: &str,
    body: &TokenStream2,
    generator: Option<&Generator>,
) -> Shape {
    let private = quote!(::fnhost_guest::__private);
    // The argument value callers pass: `()`, the one parameter, or a tuple of them.
    let args_type = match param_types_called {
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
    let encode = if let Some(generator) = generator {
        send_tokens(generator)
    } else if fallible {
        quote!(#private::encode_output(output))
    } else {
        quote!(#private::encode_output(::core::result::Result::<_, ::core::convert::Infallible>::Ok(output)))
    };
    let arity = param_types.len();
    let invoke = quote! {
        let #decode_pattern: #decode_type = #private::decode_args(#name, #arity, &args)?;
        let output = #body(#(#arg_idents),*)#await_body;
        #encode
    };
    Shape {
        args_type,
        encode_body,
        invoke,
    }
}
