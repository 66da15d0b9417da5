//! `web` and `web(method = .., label = .., requires_auth = ..)`: how a function is also a web
//! endpoint.
//!
//! Invariant: the method and the label are checked in full here, so a component never carries
//! an endpoint `fnhost serve` could not route.

use super::{Web, boolean, set, string};
use syn::Token;
use syn::meta::ParseNestedMeta;

/// The methods a web endpoint may answer, as the contract spells them.
pub(crate) const WEB_METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// `web` or `web(method = "POST", label = "price", requires_auth = true)`, any subset of the
/// three, in any order.
pub(crate) fn web(meta: &ParseNestedMeta) -> syn::Result<Web> {
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
pub(crate) fn web_method(meta: &ParseNestedMeta) -> syn::Result<String> {
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
pub(crate) fn web_label(meta: &ParseNestedMeta) -> syn::Result<String> {
    let literal = string(meta, "a label, such as \"price\"")?;
    let label = literal.value();
    match label_problem(&label) {
        Some(problem) => Err(syn::Error::new(literal.span(), problem)),
        None => Ok(label),
    }
}

/// What makes `label` no web label, if anything: a label is one or more of `a`-`z`, `0`-`9`,
/// `-` and `_`.
pub(crate) fn label_problem(label: &str) -> Option<String> {
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
