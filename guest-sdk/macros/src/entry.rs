//! The tokens of the `Entry` record `app!` exports: the options as the `function-config`
//! record carries them, the batching, the volumes and `Some`/`None` around each.
//!
//! Invariant: every option reaches the record as written (`None` when not), one field per
//! option of the contract. Without it the host would see a default the author never wrote.

use crate::options::{Batched, Options};
use proc_macro2::TokenStream as TokenStream2;
use quote::{ToTokens, quote};

/// An option as the `function-config` record carries it: `Some(value)` or `None`.
pub(crate) fn option_tokens<T: ToTokens>(value: Option<T>) -> TokenStream2 {
    match value {
        Some(value) => quote!(::core::option::Option::Some(#value)),
        None => quote!(::core::option::Option::None),
    }
}

/// The `function-config` record of the options written.
pub(crate) fn config_tokens(options: &Options) -> TokenStream2 {
    let max_inputs = option_tokens(options.max_inputs);
    let target_inputs = option_tokens(options.target_inputs);
    let max_containers = option_tokens(options.max_containers);
    let min_containers = option_tokens(options.min_containers);
    let buffer_containers = option_tokens(options.buffer_containers);
    let scaledown_window_secs = option_tokens(options.scaledown_window_secs);
    let timeout_secs = option_tokens(options.timeout_secs);
    let memory_mib = option_tokens(options.memory_mib);
    let cpu_millicores = option_tokens(options.cpu_millicores);
    let retries = option_tokens(options.retries);
    let retry_delay_ms = option_tokens(options.retry_delay_ms);
    let backoff_coefficient = option_tokens(options.backoff_coefficient);
    let max_retry_delay_ms = option_tokens(options.max_retry_delay_ms);
    quote! {
        ::fnhost_guest::__private::FunctionConfig {
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
        }
    }
}

/// The `batching` record, when batched.
pub(crate) fn batching_tokens(batched: Option<Batched>) -> TokenStream2 {
    option_tokens(batched.map(
        |Batched {
             max_batch_size,
             wait_ms,
         }| {
            quote! {
                ::fnhost_guest::__private::Batching {
                    max_batch_size: #max_batch_size,
                    wait_ms: #wait_ms,
                }
            }
        },
    ))
}

/// The tokens of an entry's `volumes`: `&[(PATH, NAME), ...]`.
pub(crate) fn volume_tokens(volumes: Vec<(String, String)>) -> TokenStream2 {
    let pairs = volumes.iter().map(|(path, name)| quote!((#path, #name)));
    quote!(&[#(#pairs),*])
}
