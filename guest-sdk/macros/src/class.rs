//! `#[class]` on an `impl` block and `#[derive(Parameters)]` on its type: a class whose
//! instances live in containers (Modal's `@app.cls`).
//!
//! The type's fields are the class's parameters (those marked `#[serde(skip)]` are the
//! instance's state instead, filled with `Default` when an instance is built); the impl's
//! `#[enter]`, `#[exit]` and `#[method]` functions are its hooks and methods. The expansion
//! keeps the impl as written (without those attributes) and adds:
//! - a runner per method, which finds the container's instance and calls the method on it;
//! - the hooks' runner: build the instance from the parameter values (or take the one a
//!   snapshot holds), run the `enter` hooks of the phase in order, keep it; and the `exit`
//!   hooks' runner;
//! - `TypeHandle`, whose fields are the methods' [`Function`] handles bound to one set of
//!   parameter values, and `Type::handle(&self)`, which makes one from a value of the type;
//! - a `ClassEntry` that `app!` exports (`classes: Type`).

use crate::entry::{batching_tokens, config_tokens, volume_tokens};
use crate::options::{self, Batched, Options, function_options, set};
use crate::runner::{RunnerKind, Shape, call_shape, runner_tokens};
use crate::signature::{
    Params, batch_element_types, generator_of, output_shape, type_name, typed_params,
};
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote};
use syn::spanned::Spanned;
use syn::{Attribute, ImplItem, ImplItemFn, ItemImpl, Type};

/// A hook of the class.
struct Hook {
    ident: syn::Ident,
    is_async: bool,
    /// For an `enter` hook: whether it runs before the snapshot.
    snap: bool,
}

/// A method of the class.
struct Method {
    item: ImplItemFn,
    batched: Option<Batched>,
}

/// What the impl block's attributes mark.
enum Marked {
    Enter { snap: bool },
    Exit,
    Method(Option<Batched>),
}

pub(crate) fn expand(attr: TokenStream2, mut item: ItemImpl) -> syn::Result<TokenStream2> {
    let options = class_options(attr)?;
    if item.trait_.is_some() || !item.generics.params.is_empty() {
        return Err(syn::Error::new(
            item.span(),
            "#[class] goes on the inherent `impl` block of a type that is not generic",
        ));
    }
    let Type::Path(self_path) = &*item.self_ty else {
        return Err(syn::Error::new(
            item.self_ty.span(),
            "#[class] needs a named type",
        ));
    };
    let class = self_path
        .path
        .segments
        .last()
        .map(|segment| segment.ident.clone())
        .ok_or_else(|| syn::Error::new(item.self_ty.span(), "#[class] needs a named type"))?;
    let class_name = class.to_string();

    let mut enters = Vec::new();
    let mut exits = Vec::new();
    let mut methods = Vec::new();
    for impl_item in &mut item.items {
        let ImplItem::Fn(function) = impl_item else {
            continue;
        };
        let Some(marked) = take_marks(&mut function.attrs)? else {
            continue;
        };
        let is_async = function.sig.asyncness.is_some();
        let hook = |snap| Hook {
            ident: function.sig.ident.clone(),
            is_async,
            snap,
        };
        match marked {
            Marked::Enter { snap } => {
                check_hook(function)?;
                enters.push(hook(snap));
            }
            Marked::Exit => {
                check_hook(function)?;
                exits.push(hook(false));
            }
            Marked::Method(batched) => {
                check_method(function)?;
                methods.push(Method {
                    item: function.clone(),
                    batched,
                });
            }
        }
    }
    let Some(first) = methods.first() else {
        return Err(syn::Error::new(
            item.self_ty.span(),
            "a class needs at least one `#[method]`",
        ));
    };
    let is_async = runs_async(&first.item);
    if let Some(other) = methods
        .iter()
        .find(|method| runs_async(&method.item) != is_async)
    {
        return Err(syn::Error::new(
            other.item.sig.span(),
            "every method of a class is `fn`, or every one `async fn`: its containers run \
             its methods' inputs one way",
        ));
    }

    let private = quote!(::fnhost_guest::__private);
    let sdk = quote!(::fnhost_guest);
    let config = config_tokens(&options);
    let secrets = options.secrets.clone().unwrap_or_default();
    let volumes = volume_tokens(options.volumes.clone().unwrap_or_default());
    let handle = format_ident!("{}Handle", class);
    let mut entries = Vec::new();
    let mut runners = Vec::new();
    let mut fields = Vec::new();
    let mut bindings = Vec::new();
    for Method { item, batched } in &methods {
        let sig = &item.sig;
        let method = &sig.ident;
        let method_name = method.to_string();
        let full_name = format!("{class_name}.{method_name}");
        let Params {
            names,
            type_names,
            types,
        } = typed_params(sig.inputs.iter())?;
        let generator = generator_of(&sig.output);
        let (output_type, fallible) = match &generator {
            Some(generator) => (generator.item.clone(), generator.fallible),
            None => output_shape(&sig.output),
        };
        if generator.is_some() && (batched.is_some() || sig.asyncness.is_some()) {
            return Err(syn::Error::new(
                sig.span(),
                "a generator method is a `fn` returning `impl Iterator<Item = T>` or \
                 `impl Stream<Item = T>`, and is not batched",
            ));
        }
        let (called, output_type) = match batched {
            Some(_) => batch_element_types(sig, &types, &output_type)?,
            None => (types.clone(), output_type),
        };
        let Shape {
            args_type,
            encode_body,
            invoke,
        } = call_shape(
            &types,
            &called,
            fallible,
            sig.asyncness.is_some(),
            &full_name,
            &quote!(__fnhost_this.#method),
            generator.as_ref(),
        );
        // The instance is held for the whole run: a generator's items may borrow it.
        let invoke = quote! {
            let __fnhost_this = #private::instance::<#class>(#class_name)?;
            #invoke
        };
        // Inside the expansion's own `const _` block: unique per class already.
        let runner_fn = format_ident!("__fnhost_run_{}", method);
        let kind = RunnerKind::of(sig.asyncness.is_some(), generator.as_ref());
        let (runner, runner_kind) = runner_tokens(&runner_fn, kind, &invoke);
        runners.push(runner);
        let batch = batching_tokens(batched.as_ref().map(|batched| Batched {
            max_batch_size: batched.max_batch_size,
            wait_ms: batched.wait_ms,
        }));
        entries.push(quote! {
            #private::Entry {
                name: #method_name,
                role: #private::Role::Function,
                params: &[#(#names),*],
                param_types: &[#(#type_names),*],
                config: #config,
                web: ::core::option::Option::None,
                batch: #batch,
                secrets: &[],
                volumes: &[],
                schedule: ::core::option::Option::None,
                runner: #runner_kind,
            }
        });
        let doc = format!("`{full_name}` on this instance.");
        fields.push(quote! {
            #[doc = #doc]
            pub #method: #sdk::Function<#args_type, #output_type>
        });
        bindings.push(quote! {
            #method: {
                fn encode(args: &#args_type) -> #private::serde_json::Result<::std::vec::Vec<u8>> {
                    #encode_body
                }
                #sdk::Function::method(#full_name, encode, ::std::sync::Arc::clone(&params))
            }
        });
    }

    let run_hooks = |hooks: &[Hook], snap: Option<bool>| {
        let calls = hooks
            .iter()
            .filter(|hook| snap.is_none_or(|snap| hook.snap == snap))
            .map(|hook| {
                let ident = &hook.ident;
                let hook_name = ident.to_string();
                let awaited = hook.is_async.then(|| quote!(.await));
                quote! {
                    #private::HookResult::into_hook(this.#ident()#awaited, #class_name, #hook_name)?;
                }
            });
        quote!(#(#calls)*)
    };
    let snap_hooks = run_hooks(&enters, Some(true));
    let other_hooks = run_hooks(&enters, Some(false));
    let exit_hooks = run_hooks(&exits, None);
    let snap = enters.iter().any(|hook| hook.snap);
    let live_enter = enters.iter().any(|hook| !hook.snap);
    let enter_fn = format_ident!("__fnhost_enter");
    let exit_fn = format_ident!("__fnhost_exit");
    let handle_doc = format!(
        "The methods of `{class_name}` on one instance: what `{class_name}::handle` gives."
    );

    Ok(quote! {
        #item

        #[doc = #handle_doc]
        pub struct #handle {
            #(#fields,)*
        }

        impl #class {
            /// Handles to the methods of the instance built from these parameter values
            /// (the fields `#[serde(skip)]` leaves out are not sent): each call runs on a
            /// container of that instance's pool.
            pub fn handle(&self) -> #handle {
                let params: ::std::sync::Arc<[u8]> = #private::serde_json::to_vec(self)
                    .expect("a class's parameter values encode as JSON")
                    .into();
                #handle {
                    #(#bindings,)*
                }
            }
        }

        const _: () = {
            #(#runners)*

            #[doc(hidden)]
            fn #enter_fn(
                params: ::std::vec::Vec<u8>,
                phase: #private::EnterPhase,
            ) -> #private::AsyncDone {
                ::std::boxed::Box::pin(async move {
                    #[allow(unused_mut)]
                    let mut this: #class = match phase {
                        #private::EnterPhase::Restored => #private::take_instance(#class_name)?,
                        _ => #private::decode_params(#class_name, &params)?,
                    };
                    if #private::runs_hook(phase, true) {
                        #snap_hooks
                    }
                    if #private::runs_hook(phase, false) {
                        #other_hooks
                    }
                    #private::keep_instance(#class_name, this);
                    ::core::result::Result::Ok(())
                })
            }

            #[doc(hidden)]
            fn #exit_fn() -> #private::AsyncDone {
                ::std::boxed::Box::pin(async move {
                    #[allow(unused_mut)]
                    let mut this: #class = #private::take_instance(#class_name)?;
                    #exit_hooks
                    #private::keep_instance(#class_name, this);
                    ::core::result::Result::Ok(())
                })
            }

            impl #private::RegisteredClass for #class {
                const CLASS: #private::ClassEntry = #private::ClassEntry {
                    name: #class_name,
                    params: <#class as #sdk::Parameters>::NAMES,
                    param_types: <#class as #sdk::Parameters>::TYPES,
                    param_defaults: <#class as #sdk::Parameters>::defaults,
                    config: #config,
                    secrets: &[#(#secrets),*],
                    volumes: #volumes,
                    snap: #snap,
                    live_enter: #live_enter,
                    methods: &[#(#entries),*],
                    enter: #enter_fn,
                    exit: #exit_fn,
                };
            }
        };
    })
}

/// The class's options: a function's, without `web` and `batched` (which are methods').
fn class_options(attr: TokenStream2) -> syn::Result<Options> {
    let options = function_options(attr)?;
    if options.web.is_some() {
        return Err(syn::Error::new(
            Span::call_site(),
            "a class is not a web endpoint; write functions for the endpoints",
        ));
    }
    if options.batched.is_some() {
        return Err(syn::Error::new(
            Span::call_site(),
            "`batched` is an option of a method: `#[method(batched(...))]`",
        ));
    }
    Ok(options)
}

/// Takes `#[enter]`, `#[enter(snap = true)]`, `#[exit]`, `#[method]` or
/// `#[method(batched(...))]` off a function's attributes.
fn take_marks(attrs: &mut Vec<Attribute>) -> syn::Result<Option<Marked>> {
    let mut marked = None;
    let mut error = None;
    attrs.retain(|attr| {
        let found = if attr.path().is_ident("enter") {
            enter_mark(attr)
        } else if attr.path().is_ident("exit") {
            match &attr.meta {
                syn::Meta::Path(_) => Ok(Marked::Exit),
                _ => Err(syn::Error::new(attr.span(), "#[exit] takes no options")),
            }
        } else if attr.path().is_ident("method") {
            method_mark(attr)
        } else {
            return true;
        };
        match found {
            Ok(_) if marked.is_some() => {
                error = Some(syn::Error::new(
                    attr.span(),
                    "one function is one of a hook or a method",
                ));
            }
            Ok(found) => marked = Some(found),
            Err(found) => error = Some(found),
        }
        false
    });
    match error {
        Some(error) => Err(error),
        None => Ok(marked),
    }
}

fn enter_mark(attr: &Attribute) -> syn::Result<Marked> {
    let mut snap = None;
    if let syn::Meta::List(_) = &attr.meta {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("snap") {
                let value: syn::LitBool = meta.value()?.parse()?;
                set(&meta, &mut snap, value.value)
            } else {
                Err(meta.error("unknown option of #[enter]; expected `snap`"))
            }
        })?;
    }
    Ok(Marked::Enter {
        snap: snap.unwrap_or(false),
    })
}

fn method_mark(attr: &Attribute) -> syn::Result<Marked> {
    let mut batched = None;
    if let syn::Meta::List(_) = &attr.meta {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("batched") {
                set(&meta, &mut batched, options::batched(&meta)?)
            } else {
                Err(meta.error(
                    "unknown option of #[method]; expected `batched` (the other options are \
                     the class's)",
                ))
            }
        })?;
    }
    Ok(Marked::Method(batched))
}

/// Whether a method runs as the async entries run it: an `async fn`, or a `fn` returning
/// `impl Stream`.
fn runs_async(method: &ImplItemFn) -> bool {
    method.sig.asyncness.is_some()
        || generator_of(&method.sig.output).is_some_and(|generator| generator.stream)
}

/// A hook takes `&mut self` and nothing else, and returns `()` or a `Result<(), E>`.
fn check_hook(function: &ImplItemFn) -> syn::Result<()> {
    let sig = &function.sig;
    let takes_mut_self = sig
        .receiver()
        .is_some_and(|receiver| receiver.reference.is_some() && receiver.mutability.is_some());
    if !takes_mut_self || sig.inputs.len() != 1 {
        return Err(syn::Error::new(
            sig.span(),
            "a hook takes `&mut self` and nothing else",
        ));
    }
    Ok(())
}

/// A method takes `&self`, then its parameters.
fn check_method(function: &ImplItemFn) -> syn::Result<()> {
    let sig = &function.sig;
    let takes_self = sig
        .receiver()
        .is_some_and(|receiver| receiver.reference.is_some() && receiver.mutability.is_none());
    if !takes_self {
        return Err(syn::Error::new(
            sig.span(),
            "a method takes `&self` (its instance is shared by the inputs it runs)",
        ));
    }
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new(
            sig.generics.span(),
            "methods cannot be generic",
        ));
    }
    Ok(())
}

/// `#[derive(Parameters)]`: the names and types of a struct's fields that are parameters
/// (every named field but those marked `#[serde(skip)]`).
pub(crate) fn derive_parameters(item: syn::DeriveInput) -> syn::Result<TokenStream2> {
    let name = &item.ident;
    let mut names = Vec::new();
    let mut types = Vec::new();
    let mut defaults = Vec::new();
    match &item.data {
        syn::Data::Struct(data) => {
            for field in &data.fields {
                let serde = serde_options(&field.attrs);
                if serde.skip {
                    continue;
                }
                let ty = &field.ty;
                defaults.push(match serde.default {
                    true => quote! {
                        ::fnhost_guest::__private::serde_json::to_string(
                            &<#ty as ::core::default::Default>::default(),
                        )
                        .ok()
                    },
                    false => quote!(::core::option::Option::None),
                });
                let Some(ident) = &field.ident else {
                    return Err(syn::Error::new(
                        field.span(),
                        "a class's parameters are named fields",
                    ));
                };
                names.push(ident.to_string());
                types.push(type_name(&field.ty));
            }
        }
        _ => {
            return Err(syn::Error::new(
                item.span(),
                "#[derive(Parameters)] goes on a struct",
            ));
        }
    }
    Ok(quote! {
        impl ::fnhost_guest::Parameters for #name {
            const NAMES: &'static [&'static str] = &[#(#names),*];
            const TYPES: &'static [&'static str] = &[#(#types),*];

            fn defaults() -> ::std::vec::Vec<::core::option::Option<::std::string::String>> {
                ::std::vec![#(#defaults),*]
            }
        }
    })
}

/// What a field's `#[serde(...)]` attributes say that matters here.
#[derive(Default)]
struct SerdeOptions {
    /// `skip`: state, not a parameter.
    skip: bool,
    /// `default` (without a path): the parameter defaults to its type's `Default`.
    default: bool,
}

fn serde_options(attrs: &[Attribute]) -> SerdeOptions {
    let mut options = SerdeOptions::default();
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            let has_value = meta.input.peek(syn::Token![=]);
            if meta.path.is_ident("skip") {
                options.skip = true;
            } else if meta.path.is_ident("default") && !has_value {
                options.default = true;
            }
            // Other serde options (with values or lists) are read past.
            if has_value {
                let _: syn::Expr = meta.value()?.parse()?;
            } else if meta.input.peek(syn::token::Paren) {
                meta.parse_nested_meta(|_| Ok(()))?;
            }
            Ok(())
        });
    }
    options
}
