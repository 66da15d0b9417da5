//! The attribute macros of `fnhost-guest`: `#[function]` and `#[local_entrypoint]`.
//!
//! Both turn `fn name(..)` (or `async fn`) into a unit struct `name` with:
//! - `name.local(..)`: the original body, run in the caller's own instance;
//! - an `Entry` (name, parameter names and types, the options the attribute wrote — the others
//!   are `None`, for the host to fill with its defaults —, the web endpoint if `web` was
//!   written, and a runner that decodes the JSON arguments, runs the body and encodes its
//!   output) that `fnhost_guest::app!` exports;
//! - for functions, a `Deref` to `fnhost_guest::Function<Args, Output>`, which gives `remote`,
//!   `remote_aio`, `spawn` and `map`.
//!
//! A body returning `Result<T, E>` (any type whose last path segment is `Result`) is fallible:
//! callers get `T`, and an `Err` reaches them as a user error carrying `E`'s `Display` message.

mod class;

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{ToTokens, format_ident, quote};
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{
    FnArg, GenericArgument, ItemFn, Lit, LitBool, LitStr, Pat, PathArguments, ReturnType, Token,
    Type, parse_macro_input,
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
///   next delay is multiplied by, and the longest delay;
/// - `web`, or `web(method = "POST", label = "price", requires_auth = true)` with any of the
///   three: the function is also a web endpoint, which `fnhost serve` answers at
///   `/web/{app}/{label}`. `method` is one of GET, POST, PUT, PATCH, DELETE, in any case
///   (default GET); `label` is the path segment, lowercase ASCII letters, digits, `-` and `_`
///   (default: the function's name); `requires_auth` says whether a request must carry the
///   server's token (default `false`: public, as Modal's web endpoints are). The body may
///   return `fnhost_guest::web::Response` (or a `Result` of it) to set the status, headers and
///   body itself;
/// - `batched(max_batch_size = N, wait_ms = MS)` (Modal's `@batched`): every parameter is a
///   `Vec` and the body returns a `Vec` (or a `Result` of one) with one element per input;
///   callers call with one element per parameter and get one element back
///   (`embed.remote("text".to_string())`), and the host runs up to N queued inputs as one,
///   waiting at most MS milliseconds for more (N 1 to 1000, MS at most 600 000). `local` runs
///   the body as written, on lists.
/// - `schedule = period(days = 1, hours = 2)` (Modal's `Period`: `years`, `months`, `weeks`,
///   `days`, `hours`, `minutes`, `seconds`, the last a number) or `schedule = cron("0 9 * * 1-5",
///   timezone = "Europe/Paris")` (Modal's `Cron`; UTC without `timezone`): `fnhost serve` runs
///   the function by itself at those times. The function takes no parameters.
///
/// The component declares only the options written here; the host fills the others with its
/// defaults and checks every value when the app loads, naming the function and the option.
/// The defaults and ranges are the host's: see the option table in the README, and
/// `fnhost list APP` for a component's effective options. This macro checks only that each
/// option is one it knows and that its value is a number of the right kind (a whole number
/// where one is expected, never negative); `web`'s method and label it checks in full.
#[proc_macro_attribute]
pub fn function(attr: TokenStream, item: TokenStream) -> TokenStream {
    let options = match function_options(attr.into()) {
        Ok(options) => options,
        Err(error) => return error.into_compile_error().into(),
    };
    let item = parse_macro_input!(item as ItemFn);
    expand(item, Role::Function, options)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// The options of `#[function(...)]`, checked as far as the macro checks them.
fn function_options(attr: TokenStream2) -> syn::Result<Options> {
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

/// `secrets = ["name", ...]`: the names of secrets kept by the host (Modal's
/// `secrets=[modal.Secret.from_name(...)]`).
fn secret_names(meta: &ParseNestedMeta) -> syn::Result<Vec<String>> {
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
fn volume_mounts(meta: &ParseNestedMeta) -> syn::Result<Vec<(String, String)>> {
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

const SCHEDULE_FORM: &str = "write `schedule = period(days = 1, ..)` (years, months, weeks, \
     days, hours, minutes, seconds) or `schedule = cron(\"0 9 * * 1-5\", timezone = \"UTC\")`";

/// `schedule = period(..)` or `schedule = cron(..)`.
fn schedule(meta: &ParseNestedMeta) -> syn::Result<Schedule> {
    let call: syn::ExprCall = meta.value()?.parse()?;
    let form = || syn::Error::new(call.span(), SCHEDULE_FORM);
    let syn::Expr::Path(function) = &*call.func else {
        return Err(form());
    };
    if function.path.is_ident("period") {
        period(&call)
    } else if function.path.is_ident("cron") {
        cron(&call)
    } else {
        Err(form())
    }
}

/// `period(days = 1, seconds = 0.5, ..)`: at least one part, none twice.
fn period(call: &syn::ExprCall) -> syn::Result<Schedule> {
    const UNITS: [&str; 6] = ["years", "months", "weeks", "days", "hours", "minutes"];
    let mut parts = [None; 6];
    let mut millis = None;
    for arg in &call.args {
        let (name, value) =
            assignment(arg).ok_or_else(|| syn::Error::new(arg.span(), SCHEDULE_FORM))?;
        let lit = |value: &syn::Expr| match value {
            syn::Expr::Lit(syn::ExprLit { lit, .. }) => Some(lit.clone()),
            _ => None,
        };
        let error = |message: &str| syn::Error::new(value.span(), message);
        if name == "seconds" {
            let seconds = match lit(value) {
                Some(Lit::Int(int)) => int.base10_parse::<f64>()?,
                Some(Lit::Float(float)) => float.base10_parse::<f64>()?,
                _ => return Err(error("`seconds` takes a number")),
            };
            if millis.replace((seconds * 1000.0).round() as u64).is_some() {
                return Err(error("`seconds` is given twice"));
            }
        } else if let Some(index) = UNITS.iter().position(|unit| *unit == name) {
            let Some(Lit::Int(int)) = lit(value) else {
                return Err(error("a period's part takes a whole number"));
            };
            if parts[index].replace(int.base10_parse::<u32>()?).is_some() {
                return Err(error("a part of the period is given twice"));
            }
        } else {
            return Err(syn::Error::new(arg.span(), SCHEDULE_FORM));
        }
    }
    let parts = parts.map(Option::unwrap_or_default);
    let millis = millis.unwrap_or_default();
    if parts.iter().all(|part| *part == 0) && millis < 1000 {
        return Err(syn::Error::new(
            call.span(),
            "a period is at least one second",
        ));
    }
    Ok(Schedule::Period(parts, millis))
}

/// `cron("EXPRESSION")` or `cron("EXPRESSION", timezone = "ZONE")` (checked when the host
/// loads the app).
fn cron(call: &syn::ExprCall) -> syn::Result<Schedule> {
    let form = || syn::Error::new(call.span(), SCHEDULE_FORM);
    let string = |expr: &syn::Expr| match expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: Lit::Str(text),
            ..
        }) => Some(text.value()),
        _ => None,
    };
    let mut args = call.args.iter();
    let expression = args.next().and_then(string).ok_or_else(form)?;
    let timezone = match args.next() {
        None => "UTC".to_owned(),
        Some(arg) => match assignment(arg) {
            Some(("timezone", value)) => string(value).ok_or_else(form)?,
            _ => return Err(form()),
        },
    };
    if args.next().is_some() {
        return Err(form());
    }
    Ok(Schedule::Cron(expression, timezone))
}

/// `name = value` in a call's arguments.
fn assignment(arg: &syn::Expr) -> Option<(&'static str, &syn::Expr)> {
    const NAMES: [&str; 8] = [
        "years", "months", "weeks", "days", "hours", "minutes", "seconds", "timezone",
    ];
    let syn::Expr::Assign(assign) = arg else {
        return None;
    };
    let syn::Expr::Path(left) = &*assign.left else {
        return None;
    };
    let name = NAMES.iter().find(|name| left.path.is_ident(name))?;
    Some((name, &assign.right))
}

/// The tokens of an entry's `schedule`.
fn schedule_tokens(schedule: Option<Schedule>) -> TokenStream2 {
    let private = quote!(::fnhost_guest::__private);
    match schedule {
        None => quote!(::core::option::Option::None),
        Some(Schedule::Period([years, months, weeks, days, hours, minutes], millis)) => quote! {
            ::core::option::Option::Some(#private::ScheduleSpec::Period(#private::Period {
                years: #years, months: #months, weeks: #weeks, days: #days,
                hours: #hours, minutes: #minutes, millis: #millis,
            }))
        },
        Some(Schedule::Cron(expression, timezone)) => quote! {
            ::core::option::Option::Some(#private::ScheduleSpec::Cron {
                expression: #expression, timezone: #timezone,
            })
        },
    }
}

const VOLUMES_FORM: &str =
    "write `volumes = [(\"/path\", \"name\"), ...]`: each a mount point and a volume's name";

/// `batched(max_batch_size = N, wait_ms = MS)`: both given, within Modal's bounds.
fn batched(meta: &ParseNestedMeta) -> syn::Result<Batched> {
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

/// The methods a web endpoint may answer, as the contract spells them.
const WEB_METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// `web` or `web(method = "POST", label = "price", requires_auth = true)`, any subset of the
/// three, in any order.
fn web(meta: &ParseNestedMeta) -> syn::Result<Web> {
    let mut method = None;
    let mut label = None;
    let mut requires_auth = None;
    if meta.input.peek(Token![=]) {
        return Err(meta.error(
            "`web` takes no value: write `web`, or `web(method = \"POST\", label = \"name\", \
             requires_auth = true)` with any of the three",
        ));
    }
    if meta.input.peek(syn::token::Paren) {
        meta.parse_nested_meta(|endpoint| {
            if endpoint.path.is_ident("method") {
                set(&endpoint, &mut method, web_method(&endpoint)?)
            } else if endpoint.path.is_ident("label") {
                set(&endpoint, &mut label, web_label(&endpoint)?)
            } else if endpoint.path.is_ident("requires_auth") {
                set(&endpoint, &mut requires_auth, boolean(&endpoint)?)
            } else {
                Err(endpoint
                    .error("unknown web option; expected `method`, `label` or `requires_auth`"))
            }
        })?;
    }
    Ok(Web {
        method: method.unwrap_or_else(|| "GET".to_owned()),
        label,
        requires_auth: requires_auth.unwrap_or(false),
    })
}

/// `method = "POST"`: one of [`WEB_METHODS`], in any case, upper-cased.
fn web_method(meta: &ParseNestedMeta) -> syn::Result<String> {
    let literal = string(meta, "a method, such as \"POST\"")?;
    let method = literal.value().to_ascii_uppercase();
    if WEB_METHODS.contains(&method.as_str()) {
        Ok(method)
    } else {
        Err(syn::Error::new(
            literal.span(),
            format!(
                "`{}` is not a method a web endpoint answers; expected GET, POST, PUT, PATCH \
                 or DELETE",
                literal.value()
            ),
        ))
    }
}

/// `label = "price"`: the endpoint's path segment.
fn web_label(meta: &ParseNestedMeta) -> syn::Result<String> {
    let literal = string(meta, "a label, such as \"price\"")?;
    let label = literal.value();
    match label_problem(&label) {
        Some(problem) => Err(syn::Error::new(literal.span(), problem)),
        None => Ok(label),
    }
}

/// What makes `label` no web label, if anything: a label is one or more of `a`-`z`, `0`-`9`,
/// `-` and `_`.
fn label_problem(label: &str) -> Option<String> {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
    if label.is_empty() {
        Some("a web label cannot be empty".to_owned())
    } else {
        label.chars().find(|&c| !allowed(c)).map(|bad| {
            format!(
                "a web label takes only lowercase ASCII letters, digits, `-` and `_`, not {bad:?}"
            )
        })
    }
}

/// An option's value that must be a string literal; `what` says what the string is.
fn string(meta: &ParseNestedMeta, what: &str) -> syn::Result<LitStr> {
    let input = meta.value()?;
    if input.peek(LitStr) {
        input.parse()
    } else {
        Err(input.error(format!("expected a string: {what}")))
    }
}

/// An option's value that must be `true` or `false`.
fn boolean(meta: &ParseNestedMeta) -> syn::Result<bool> {
    let input = meta.value()?;
    if input.peek(LitBool) {
        Ok(input.parse::<LitBool>()?.value)
    } else {
        Err(input.error("expected `true` or `false`"))
    }
}

/// Makes a `fn main()` or `async fn main()` (any name) a local entrypoint, run by
/// `fnhost run APP::name`. It takes no arguments and returns `()` or `Result<(), E>`; it
/// declares no options (the host gives it its defaults).
/// Makes an inherent `impl` block a class of the app (Modal's `@app.cls`), whose instances
/// live in containers. The type derives `serde::Serialize`, `serde::Deserialize` and
/// [`Parameters`](derive@Parameters): its fields are the class's parameters, except those
/// marked `#[serde(skip)]`, the instance's state (built by `enter`, `Default` until then).
///
/// The attribute takes a function's options (`max_inputs`, `timeout`, ...: see
/// [`function`](macro@function)), which every method shares; each distinct set of parameter
/// values gets a pool of its own. In the block:
/// - `#[enter]` marks a hook (`fn name(&mut self)`, or `async`, returning `()` or a
///   `Result<(), E>`) run once per container before its first input; `#[enter(snap = true)]`
///   one that runs before a snapshot of the container's memory is taken;
/// - `#[exit]` marks a hook run when a container retires;
/// - `#[method]` marks a method (`&self`, then its parameters), `#[method(batched(...))]` a
///   batched one. Every method is `fn`, or every one `async fn`.
///
/// Callers write `Model { size: 3, ..Default::default() }.handle().predict.remote(2)`; name
/// the class in `app!(...; classes: Model)`.
#[proc_macro_attribute]
pub fn class(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = parse_macro_input!(item as syn::ItemImpl);
    class::expand(attr.into(), item)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// The parameters of a class: a struct's named fields, except those marked `#[serde(skip)]`.
#[proc_macro_derive(Parameters)]
pub fn parameters(item: TokenStream) -> TokenStream {
    let item = parse_macro_input!(item as syn::DeriveInput);
    class::derive_parameters(item)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

#[proc_macro_attribute]
pub fn local_entrypoint(attr: TokenStream, item: TokenStream) -> TokenStream {
    if let Err(error) = entrypoint_options(attr.into()) {
        return error.into_compile_error().into();
    }
    let item = parse_macro_input!(item as ItemFn);
    expand(item, Role::Entrypoint, Options::default())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Checks that `#[local_entrypoint]` was given no options, naming `web` if it was the one.
fn entrypoint_options(attr: TokenStream2) -> syn::Result<()> {
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
enum Role {
    Function,
    Entrypoint,
}

/// The options the attribute wrote, in the contract's units; `None` for those it did not.
#[derive(Debug, Default)]
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
    web: Option<Web>,
    batched: Option<Batched>,
    /// The names of the secrets its containers get.
    secrets: Option<Vec<String>>,
    /// The volumes its containers mount: (path, name).
    volumes: Option<Vec<(String, String)>>,
    schedule: Option<Schedule>,
}

/// When a deployed app runs the function by itself, as the `schedule` variant carries it.
#[derive(Debug, PartialEq)]
enum Schedule {
    /// Years, months, weeks, days, hours, minutes, and seconds in milliseconds.
    Period([u32; 6], u64),
    /// The expression and its time zone.
    Cron(String, String),
}

/// How a batched function's inputs are gathered, as the `batching` record carries it.
#[derive(Debug, PartialEq)]
struct Batched {
    max_batch_size: u32,
    wait_ms: u32,
}

/// How the function is also served as a web endpoint, as the `web-endpoint` record carries it.
#[derive(Debug, PartialEq)]
struct Web {
    /// Upper case, one of [`WEB_METHODS`].
    method: String,
    label: Option<String>,
    requires_auth: bool,
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

/// A body's parameters (its receiver aside): names, types as written, and types.
struct Params {
    names: Vec<String>,
    type_names: Vec<String>,
    types: Vec<Type>,
}

fn typed_params<'a>(inputs: impl Iterator<Item = &'a FnArg>) -> syn::Result<Params> {
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
fn output_shape(output: &ReturnType) -> (TokenStream2, bool) {
    match output {
        ReturnType::Default => (quote!(()), false),
        ReturnType::Type(_, ty) => match result_ok_type(ty) {
            Some(ok) => (quote!(#ok), true),
            None => (quote!(#ty), false),
        },
    }
}

/// How a body is run: the `Runner` variant its runner is.
#[derive(Clone, Copy, PartialEq)]
enum RunnerKind {
    Blocking,
    Async,
    /// A `fn` returning `impl Iterator`.
    Generator,
    /// A `fn` returning `impl Stream`.
    AsyncGenerator,
}

impl RunnerKind {
    fn of(is_async: bool, generator: Option<&Generator>) -> Self {
        match (is_async, generator) {
            (_, Some(Generator { stream: false, .. })) => RunnerKind::Generator,
            (_, Some(Generator { stream: true, .. })) => RunnerKind::AsyncGenerator,
            (false, None) => RunnerKind::Blocking,
            (true, None) => RunnerKind::Async,
        }
    }
}

/// What a generator yields, from its return type `impl Iterator<Item = T>` (or `Stream`).
struct Generator {
    /// `T`'s success type: what callers get per item.
    item: TokenStream2,
    /// Whether `T` is a `Result` (an `Err` item ends the items with its error).
    fallible: bool,
    /// `Stream` (async) rather than `Iterator` (blocking).
    stream: bool,
}

/// The generator `output` declares, when it is `impl Iterator<Item = T>` or
/// `impl Stream<Item = T>`.
fn generator_of(output: &ReturnType) -> Option<Generator> {
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

/// What a generator's runner does with the iterator (or stream) its body returned, `output`:
/// send each item to `sink`.
fn send_tokens(generator: &Generator) -> TokenStream2 {
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
fn runner_tokens(
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
struct Shape {
    args_type: TokenStream2,
    encode_body: TokenStream2,
    invoke: TokenStream2,
}

/// The [`Shape`] of a body with parameters `param_types` (callers pass `param_types_called`:
/// the elements, when batched), run by calling `body` with the decoded arguments.
fn call_shape(
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

/// The `function-config` record of the options written.
fn config_tokens(options: &Options) -> TokenStream2 {
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
fn batching_tokens(batched: Option<Batched>) -> TokenStream2 {
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

/// The types a batched function's callers pass and get: each parameter's and the output's
/// element type, all of which must be `Vec`s.
fn batch_element_types(
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
fn type_name(ty: &Type) -> String {
    ty.to_token_stream().to_string().replace(' ', "")
}

/// `T` for a type written `Result<T, ..>` (any path ending in `Result`).
fn result_ok_type(ty: &Type) -> Option<&Type> {
    first_type_argument(ty, "Result")
}

/// `T` for a type written `Vec<T>` (any path ending in `Vec`).
fn vec_element(ty: &Type) -> Option<&Type> {
    first_type_argument(ty, "Vec")
}

/// `T` for a type written `Name<T, ..>`, where `Name` is the last segment of its path.
fn first_type_argument<'t>(ty: &'t Type, name: &str) -> Option<&'t Type> {
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

/// The tokens of an entry's `volumes`: `&[(PATH, NAME), ...]`.
fn volume_tokens(volumes: Vec<(String, String)>) -> TokenStream2 {
    let pairs = volumes.iter().map(|(path, name)| quote!((#path, #name)));
    quote!(&[#(#pairs),*])
}

#[cfg(test)]
mod tests {
    use super::*;

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
