//! The options of `#[function(...)]` (and of `#[class(...)]`, `#[method(batched(..))]`): read
//! from the attribute into [`Options`], in the contract's units, checked as far as a macro can
//! check them (a known name, given once, a value of the right kind).
//!
//! Invariant: an option the author did not write stays `None`, for the host to fill with its
//! default. Without it a default written here would shadow the host's one table of defaults.

mod schedule;
mod web;

pub(crate) use schedule::schedule_tokens;
pub(crate) use web::label_problem;

use proc_macro2::{Span, TokenStream as TokenStream2};
use schedule::schedule;
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{Lit, LitBool, LitStr, Token};
use web::web;

/// The options of `#[function(...)]`, checked as far as the macro checks them.
pub(crate) fn function_options(attr: TokenStream2) -> syn::Result<Options> {
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
        } else if meta.path.is_ident("web") {
            set(&meta, &mut options.web, web(&meta)?)?;
        } else if meta.path.is_ident("batched") {
            set(&meta, &mut options.batched, batched(&meta)?)?;
        } else if meta.path.is_ident("secrets") {
            set(&meta, &mut options.secrets, secret_names(&meta)?)?;
        } else if meta.path.is_ident("volumes") {
            set(&meta, &mut options.volumes, volume_mounts(&meta)?)?;
        } else if meta.path.is_ident("schedule") {
            set(&meta, &mut options.schedule, schedule(&meta)?)?;
        } else {
            return Err(meta.error(
                "unknown option; expected `max_inputs`, `target_inputs`, `max_containers`, \
                 `min_containers`, `buffer_containers`, `scaledown_window`, `timeout`, \
                 `memory`, `cpu`, `retries`, `web`, `batched`, `secrets`, `volumes` or \
                 `schedule`",
            ));
        }
        Ok(())
    });
    parser.parse2(attr)?;
    Ok(options)
}

/// Records an option's value, unless the attribute gave it already.
pub(crate) fn set<T>(meta: &ParseNestedMeta, slot: &mut Option<T>, value: T) -> syn::Result<()> {
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
pub(crate) fn whole(meta: &ParseNestedMeta) -> syn::Result<u32> {
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
pub(crate) fn number(meta: &ParseNestedMeta) -> syn::Result<(f64, Span)> {
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
pub(crate) fn millicores(meta: &ParseNestedMeta) -> syn::Result<u32> {
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
pub(crate) fn coefficient(meta: &ParseNestedMeta) -> syn::Result<f32> {
    let (coefficient, span) = number(meta)?;
    if coefficient > f64::from(f32::MAX) {
        return Err(syn::Error::new(span, "too large a number"));
    }
    Ok(coefficient as f32)
}

/// `secrets = ["name", ...]`: the names of secrets kept by the host (Modal's
/// `secrets=[modal.Secret.from_name(...)]`).
pub(crate) fn secret_names(meta: &ParseNestedMeta) -> syn::Result<Vec<String>> {
    let list: syn::ExprArray = meta.value()?.parse()?;
    list.elems
        .iter()
        .map(|element| match element {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(name),
                ..
            }) if !name.value().is_empty() => Ok(name.value()),
            other => Err(syn::Error::new(
                other.span(),
                "write `secrets = [\"name\", ...]`: each a secret's name",
            )),
        })
        .collect()
}

/// `volumes = [("/path", "name"), ...]`: where each volume is mounted (Modal's
/// `volumes={"/path": modal.Volume.from_name("name")}`).
pub(crate) fn volume_mounts(meta: &ParseNestedMeta) -> syn::Result<Vec<(String, String)>> {
    let list: syn::ExprArray = meta.value()?.parse()?;
    let string = |expr: &syn::Expr| match expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(text),
            ..
        }) if !text.value().is_empty() => Some(text.value()),
        _ => None,
    };
    list.elems
        .iter()
        .map(|element| match element {
            syn::Expr::Tuple(pair) if pair.elems.len() == 2 => {
                match (string(&pair.elems[0]), string(&pair.elems[1])) {
                    (Some(path), Some(name)) => Ok((path, name)),
                    _ => Err(syn::Error::new(pair.span(), VOLUMES_FORM)),
                }
            }
            other => Err(syn::Error::new(other.span(), VOLUMES_FORM)),
        })
        .collect()
}

pub(crate) const VOLUMES_FORM: &str =
    "write `volumes = [(\"/path\", \"name\"), ...]`: each a mount point and a volume's name";

/// `batched(max_batch_size = N, wait_ms = MS)`: both given, within Modal's bounds.
pub(crate) fn batched(meta: &ParseNestedMeta) -> syn::Result<Batched> {
    let mut max_batch_size = None;
    let mut wait_ms = None;
    if !meta.input.peek(syn::token::Paren) {
        return Err(meta.error("write `batched(max_batch_size = N, wait_ms = MS)`"));
    }
    meta.parse_nested_meta(|batch| {
        if batch.path.is_ident("max_batch_size") {
            let size = whole(&batch)?;
            if !(1..=1000).contains(&size) {
                return Err(batch.error("`max_batch_size` must be 1 to 1000"));
            }
            set(&batch, &mut max_batch_size, size)
        } else if batch.path.is_ident("wait_ms") {
            let wait = whole(&batch)?;
            if wait > 600_000 {
                return Err(batch.error("`wait_ms` must be at most 600 000 (10 minutes)"));
            }
            set(&batch, &mut wait_ms, wait)
        } else {
            Err(batch.error("unknown batch option; expected `max_batch_size` or `wait_ms`"))
        }
    })?;
    match (max_batch_size, wait_ms) {
        (Some(max_batch_size), Some(wait_ms)) => Ok(Batched {
            max_batch_size,
            wait_ms,
        }),
        _ => Err(meta.error("`batched` takes both `max_batch_size` and `wait_ms`")),
    }
}

/// An option's value that must be a string literal; `what` says what the string is.
pub(crate) fn string(meta: &ParseNestedMeta, what: &str) -> syn::Result<LitStr> {
    let input = meta.value()?;
    if input.peek(LitStr) {
        input.parse()
    } else {
        Err(input.error(format!("expected a string: {what}")))
    }
}

/// An option's value that must be `true` or `false`.
pub(crate) fn boolean(meta: &ParseNestedMeta) -> syn::Result<bool> {
    let input = meta.value()?;
    if input.peek(LitBool) {
        Ok(input.parse::<LitBool>()?.value)
    } else {
        Err(input.error("expected `true` or `false`"))
    }
}

/// The options the attribute wrote, in the contract's units; `None` for those it did not.
#[derive(Debug, Default)]
pub(crate) struct Options {
    pub(crate) max_inputs: Option<u32>,
    pub(crate) target_inputs: Option<u32>,
    pub(crate) max_containers: Option<u32>,
    pub(crate) min_containers: Option<u32>,
    pub(crate) buffer_containers: Option<u32>,
    pub(crate) scaledown_window_secs: Option<u32>,
    pub(crate) timeout_secs: Option<u32>,
    pub(crate) memory_mib: Option<u32>,
    pub(crate) cpu_millicores: Option<u32>,
    pub(crate) retries: Option<u32>,
    pub(crate) retry_delay_ms: Option<u32>,
    pub(crate) backoff_coefficient: Option<f32>,
    pub(crate) max_retry_delay_ms: Option<u32>,
    pub(crate) web: Option<Web>,
    pub(crate) batched: Option<Batched>,
    /// The names of the secrets its containers get.
    pub(crate) secrets: Option<Vec<String>>,
    /// The volumes its containers mount: (path, name).
    pub(crate) volumes: Option<Vec<(String, String)>>,
    pub(crate) schedule: Option<Schedule>,
}

/// When a deployed app runs the function by itself, as the `schedule` variant carries it.
#[derive(Debug, PartialEq)]
pub(crate) enum Schedule {
    /// Years, months, weeks, days, hours, minutes, and seconds in milliseconds.
    Period([u32; 6], u64),
    /// The expression and its time zone.
    Cron(String, String),
}

/// How a batched function's inputs are gathered, as the `batching` record carries it.
#[derive(Debug, PartialEq)]
pub(crate) struct Batched {
    pub(crate) max_batch_size: u32,
    pub(crate) wait_ms: u32,
}

/// How the function is also served as a web endpoint, as the `web-endpoint` record carries it.
#[derive(Debug, PartialEq)]
pub(crate) struct Web {
    /// Upper case, one of `web::WEB_METHODS`.
    pub(crate) method: String,
    pub(crate) label: Option<String>,
    pub(crate) requires_auth: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn web_of(attr: TokenStream2) -> Option<Web> {
        match function_options(attr) {
            Ok(options) => options.web,
            Err(error) => panic!("the options are refused: {error}"),
        }
    }

    fn error_of(attr: TokenStream2) -> String {
        function_options(attr)
            .expect_err("the options are refused")
            .to_string()
    }

    fn endpoint(method: &str, label: Option<&str>, requires_auth: bool) -> Option<Web> {
        Some(Web {
            method: method.to_owned(),
            label: label.map(str::to_owned),
            requires_auth,
        })
    }

    #[test]
    fn bare_web_is_a_public_get_named_after_the_function() {
        assert_eq!(web_of(quote!(web)), endpoint("GET", None, false));
        assert_eq!(web_of(quote!(timeout = 5)), None);
    }

    #[test]
    fn web_takes_any_subset_of_its_options_beside_the_others() {
        assert_eq!(
            web_of(quote!(web(
                method = "post",
                label = "price",
                requires_auth = true
            ))),
            endpoint("POST", Some("price"), true)
        );
        assert_eq!(
            web_of(quote!(web(requires_auth = true))),
            endpoint("GET", None, true)
        );
        assert_eq!(
            web_of(quote!(web(label = "v2_price-list"))),
            endpoint("GET", Some("v2_price-list"), false)
        );
        let options = function_options(quote!(web(method = "Delete"), timeout = 5)).unwrap();
        assert_eq!(options.web, endpoint("DELETE", None, false));
        assert_eq!(options.timeout_secs, Some(5));
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            assert_eq!(
                web_of(quote!(web(method = #method))),
                endpoint(method, None, false)
            );
        }
    }

    #[test]
    fn bad_web_options_are_refused_with_what_is_expected() {
        assert_eq!(
            error_of(quote!(web(method = "FETCH"))),
            "`FETCH` is not a method a web endpoint answers; expected GET, POST, PUT, PATCH or \
             DELETE"
        );
        assert_eq!(
            error_of(quote!(web(method = POST))),
            "expected a string: a method, such as \"POST\""
        );
        assert_eq!(
            error_of(quote!(web(label = ""))),
            "a web label cannot be empty"
        );
        assert_eq!(
            error_of(quote!(web(label = "Price"))),
            "a web label takes only lowercase ASCII letters, digits, `-` and `_`, not 'P'"
        );
        assert_eq!(
            error_of(quote!(web(label = "a/b"))),
            "a web label takes only lowercase ASCII letters, digits, `-` and `_`, not '/'"
        );
        assert_eq!(
            error_of(quote!(web(requires_auth = "yes"))),
            "expected `true` or `false`"
        );
        assert_eq!(
            error_of(quote!(web(path = "/x"))),
            "unknown web option; expected `method`, `label` or `requires_auth`"
        );
        assert_eq!(
            error_of(quote!(web(method = "GET", method = "POST"))),
            "`method` is given more than once"
        );
        assert_eq!(
            error_of(quote!(web, web(method = "POST"))),
            "`web` is given more than once"
        );
        assert!(error_of(quote!(web = true)).starts_with("`web` takes no value"));
    }

    #[test]
    fn batched_takes_both_bounds_within_modals_limits() {
        let batched = function_options(quote!(batched(max_batch_size = 8, wait_ms = 50)))
            .unwrap()
            .batched;
        assert_eq!(
            batched,
            Some(Batched {
                max_batch_size: 8,
                wait_ms: 50
            })
        );
        assert_eq!(
            error_of(quote!(batched(max_batch_size = 8))),
            "`batched` takes both `max_batch_size` and `wait_ms`"
        );
        assert_eq!(
            error_of(quote!(batched(max_batch_size = 1001, wait_ms = 0))),
            "`max_batch_size` must be 1 to 1000"
        );
        assert_eq!(
            error_of(quote!(batched(max_batch_size = 1, wait_ms = 600001))),
            "`wait_ms` must be at most 600 000 (10 minutes)"
        );
        assert_eq!(
            error_of(quote!(batched)),
            "write `batched(max_batch_size = N, wait_ms = MS)`"
        );
    }
}
