//! `schedule = period(..)` and `schedule = cron(..)`: Modal's `Period` and `Cron`, read into
//! [`Schedule`] and written into the entry.
//!
//! Invariant: a period is at least one second and names each part once; a cron expression and
//! its time zone are carried as written, for the host to check when it loads the app (it has
//! the cron parser and the time zone database; the macro does not).

use super::Schedule;
use proc_macro2::TokenStream as TokenStream2;
use quote::quote;
use syn::Lit;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;

pub(crate) const SCHEDULE_FORM: &str = "write `schedule = period(days = 1, ..)` (years, months, weeks, \
     days, hours, minutes, seconds) or `schedule = cron(\"0 9 * * 1-5\", timezone = \"UTC\")`";

/// `schedule = period(..)` or `schedule = cron(..)`.
pub(crate) fn schedule(meta: &ParseNestedMeta) -> syn::Result<Schedule> {
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
pub(crate) fn period(call: &syn::ExprCall) -> syn::Result<Schedule> {
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
pub(crate) fn cron(call: &syn::ExprCall) -> syn::Result<Schedule> {
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
pub(crate) fn assignment(arg: &syn::Expr) -> Option<(&'static str, &syn::Expr)> {
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
pub(crate) fn schedule_tokens(schedule: Option<Schedule>) -> TokenStream2 {
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
