//! The component's side of the contract: describe the functions it holds, run one by name.
//!
//! `#[function]` and `#[local_entrypoint]` give each item a constant [`Entry`]; [`app!`] gathers
//! them into one table and exports it. Lookups are a linear scan of that table: apps hold a
//! handful of functions, and the scan is cheaper than building a map at every instantiation.
//!
//! A panic aborts the instance, so no `Result` can carry it out; instead a panic hook hands the
//! message to the host (`report-panic`) just before the trap, and the host attaches it to the
//! trap it reports.

use crate::bindings::exports::fnhost::runtime::guest::Guest;
use crate::bindings::fnhost::runtime::host::{self, ItemSink};
use crate::bindings::fnhost::runtime::types::{
    AppInfo, Batching, BodyKind, CallError, ClassInfo, Cron, EnterPhase, FunctionConfig,
    FunctionInfo, Period, Schedule, SecretSource, VolumeMount, WebEndpoint, WebForm,
};
use crate::current::{WithCallId, with_call_id};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::any::Any;
use std::cell::RefCell;
use std::fmt::Display;
use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Once;

/// Whether an entry is a function (callable by any caller) or a local entrypoint (run by
/// `fnhost run`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Function,
    Entrypoint,
}

/// What running an entry gives: the encoded output, or why there is none.
pub type Outcome = Result<Vec<u8>, CallError>;

/// A running async body.
pub type AsyncOutcome = Pin<Box<dyn Future<Output = Outcome>>>;

/// The body of an entry, behind the payload codec.
pub enum Runner {
    Blocking(fn(Vec<u8>) -> Outcome),
    Async(fn(Vec<u8>) -> AsyncOutcome),
    /// A generator returning an `Iterator`: it sends its items to the sink it is handed.
    Generator(fn(Vec<u8>, ItemSink) -> Result<(), CallError>),
    /// A generator returning a `Stream`.
    AsyncGenerator(fn(Vec<u8>, ItemSink) -> AsyncDone),
}

/// One function or entrypoint of the component.
pub struct Entry {
    pub name: &'static str,
    pub role: Role,
    pub params: &'static [&'static str],
    /// The parameters' types as the author wrote them, without spaces (`Vec<u32>`).
    pub param_types: &'static [&'static str],
    pub config: FunctionConfig,
    /// Set for `#[function(web)]`.
    pub web: Option<Endpoint>,
    /// Set for `#[function(batched(..))]`.
    pub batch: Option<Batching>,
    /// `#[function(secrets = [..])]`: the names of the secrets its containers get.
    pub secrets: &'static [&'static str],
    /// `#[function(volumes = [(PATH, NAME), ..])]`: the volumes its containers mount.
    pub volumes: &'static [(&'static str, &'static str)],
    /// Set for `#[function(schedule = ..)]`.
    pub schedule: Option<ScheduleSpec>,
    pub runner: Runner,
}

/// When a deployed app runs a function by itself: the `schedule` variant, in a form a
/// constant can hold.
#[derive(Debug, Clone, Copy)]
pub enum ScheduleSpec {
    /// `schedule = period(days = 1, ..)`: every period after the deploy.
    Period(Period),
    /// `schedule = cron("0 9 * * 1-5", timezone = "Europe/Paris")`.
    Cron {
        expression: &'static str,
        timezone: &'static str,
    },
}

impl ScheduleSpec {
    fn wit(self) -> Schedule {
        match self {
            ScheduleSpec::Period(period) => Schedule::Period(period),
            ScheduleSpec::Cron {
                expression,
                timezone,
            } => Schedule::Cron(Cron {
                expression: expression.to_owned(),
                timezone: timezone.to_owned(),
            }),
        }
    }
}

/// How a function is also served as a web endpoint: the `web-endpoint` record, in a form a
/// constant can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    /// Upper case: `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: &'static str,
    /// The path segment under `/web/{app}/`; the function's name when `None`.
    pub label: Option<&'static str>,
    /// Whether a request must carry the server's token.
    pub requires_auth: bool,
}

/// Implemented by what `#[function]` and `#[local_entrypoint]` make of an item.
pub trait Registered {
    const ENTRY: Entry;
}

/// Implemented by the type [`app!`](crate::app) declares: the table of the component's entries
/// and classes.
pub trait App {
    const ENTRIES: &'static [Entry];
    const CLASSES: &'static [ClassEntry];
}

/// What running a class's hooks, or an async generator, gives.
pub type AsyncDone = Pin<Box<dyn Future<Output = Result<(), CallError>>>>;

/// One class of the component: what `#[class]` makes of an `impl` block.
pub struct ClassEntry {
    pub name: &'static str,
    pub params: &'static [&'static str],
    pub param_types: &'static [&'static str],
    /// The default value of each parameter, as JSON (`None`: required).
    pub param_defaults: fn() -> Vec<Option<String>>,
    pub config: FunctionConfig,
    /// `#[class(secrets = [..])]`: the names of the secrets its containers get.
    pub secrets: &'static [&'static str],
    /// `#[class(volumes = [(PATH, NAME), ..])]`: the volumes its containers mount.
    pub volumes: &'static [(&'static str, &'static str)],
    /// Whether one of its `enter` hooks is a snap hook.
    pub snap: bool,
    /// Whether one of its `enter` hooks is not a snap hook.
    pub live_enter: bool,
    /// Its methods, named without the class; their runners find the container's instance.
    pub methods: &'static [Entry],
    /// Builds the container's instance from the parameter values and runs the `enter` hooks
    /// of the phase.
    pub enter: fn(Vec<u8>, EnterPhase) -> AsyncDone,
    /// Runs the instance's `exit` hooks.
    pub exit: fn() -> AsyncDone,
}

/// Implemented by what `#[class]` makes of a class.
pub trait RegisteredClass {
    const CLASS: ClassEntry;
}

thread_local! {
    /// The container's instance of its class, with the class's name: a container serves one
    /// instance of one class.
    static INSTANCE: RefCell<Option<(&'static str, Rc<dyn Any>)>> = const { RefCell::new(None) };
}

/// The container's instance of class `C` (named `class`), for a method to run on.
pub fn instance<C: 'static>(class: &str) -> Result<Rc<C>, CallError> {
    let held = INSTANCE.with(|slot| slot.borrow().as_ref().map(|(_, held)| Rc::clone(held)));
    held.and_then(|held| held.downcast::<C>().ok())
        .ok_or_else(|| {
            CallError::BadArguments(format!(
                "this container holds no instance of `{class}`: the host must run `enter` first"
            ))
        })
}

/// Keeps `instance` as the container's instance of `class`.
pub fn keep_instance<C: 'static>(class: &'static str, instance: C) {
    INSTANCE.with(|slot| *slot.borrow_mut() = Some((class, Rc::new(instance))));
}

/// The name of the class whose instance the container holds.
fn held_class() -> Option<&'static str> {
    INSTANCE.with(|slot| slot.borrow().as_ref().map(|(class, _)| *class))
}

/// Takes the container's instance of `C` (named `class`) back to run hooks on it; it must be
/// kept again after.
pub fn take_instance<C: 'static>(class: &str) -> Result<C, CallError> {
    let missing =
        || CallError::BadArguments(format!("this container holds no instance of `{class}`"));
    let (_, held) = INSTANCE
        .with(|slot| slot.borrow_mut().take())
        .ok_or_else(missing)?;
    let held = held.downcast::<C>().map_err(|_| missing())?;
    Rc::try_unwrap(held).map_err(|_| {
        CallError::User(format!(
            "`{class}`: its instance is still in use by a running method; its hooks cannot run"
        ))
    })
}

/// Decodes a class's parameter values (a JSON object; `null` for none) into the class.
pub fn decode_params<C: DeserializeOwned>(class: &str, params: &[u8]) -> Result<C, CallError> {
    let params: &[u8] = if params.is_empty() { b"{}" } else { params };
    serde_json::from_slice(params)
        .map_err(|error| CallError::BadArguments(format!("the parameters of `{class}`: {error}")))
}

/// What a hook returns: nothing, or a `Result` whose error fails the hook.
pub trait HookResult {
    /// `Ok` when the hook succeeded; else a user error naming `class` and `hook`.
    fn into_hook(self, class: &str, hook: &str) -> Result<(), CallError>;
}

impl HookResult for () {
    fn into_hook(self, _: &str, _: &str) -> Result<(), CallError> {
        Ok(())
    }
}

impl<E: Display> HookResult for Result<(), E> {
    fn into_hook(self, class: &str, hook: &str) -> Result<(), CallError> {
        self.map_err(|error| CallError::User(format!("hook `{hook}` of `{class}` failed: {error}")))
    }
}

/// Whether the hooks of `phase` include snap hooks (`snap`) or the others.
pub fn runs_hook(phase: EnterPhase, snap: bool) -> bool {
    match phase {
        EnterPhase::All => true,
        EnterPhase::Snapshot => snap,
        EnterPhase::Restored => !snap,
    }
}

impl<T: App> Guest for T {
    fn describe() -> AppInfo {
        install_panic_hook();
        let infos = |role| {
            T::ENTRIES
                .iter()
                .filter(|entry| entry.role == role)
                .map(Entry::info)
                .collect()
        };
        AppInfo {
            functions: infos(Role::Function),
            entrypoints: infos(Role::Entrypoint),
            classes: T::CLASSES.iter().map(ClassEntry::info).collect(),
        }
    }

    fn run(function: String, args: Vec<u8>, call_id: String) -> Outcome {
        install_panic_hook();
        match &find::<T>(&function)?.runner {
            Runner::Blocking(run) => with_call_id(&call_id, || run(args)),
            _ => Err(wrong_entry(&function, "run")),
        }
    }

    async fn run_async(function: String, args: Vec<u8>, call_id: String) -> Outcome {
        install_panic_hook();
        match &find::<T>(&function)?.runner {
            Runner::Async(run) => WithCallId::new(&call_id, run(args)).await,
            _ => Err(wrong_entry(&function, "run-async")),
        }
    }

    fn run_gen(
        function: String,
        args: Vec<u8>,
        call_id: String,
        sink: ItemSink,
    ) -> Result<(), CallError> {
        install_panic_hook();
        match &find::<T>(&function)?.runner {
            Runner::Generator(run) => with_call_id(&call_id, || run(args, sink)),
            _ => Err(wrong_entry(&function, "run-gen")),
        }
    }

    async fn run_gen_async(
        function: String,
        args: Vec<u8>,
        call_id: String,
        sink: ItemSink,
    ) -> Result<(), CallError> {
        install_panic_hook();
        match &find::<T>(&function)?.runner {
            Runner::AsyncGenerator(run) => WithCallId::new(&call_id, run(args, sink)).await,
            _ => Err(wrong_entry(&function, "run-gen-async")),
        }
    }

    async fn enter(class: String, params: Vec<u8>, phase: EnterPhase) -> Result<(), CallError> {
        install_panic_hook();
        (find_class::<T>(&class)?.enter)(params, phase).await
    }

    async fn exit() -> Result<(), CallError> {
        // A container whose `enter` failed holds no instance: nothing to do.
        match held_class() {
            Some(class) => (find_class::<T>(class)?.exit)().await,
            None => Ok(()),
        }
    }
}

impl ClassEntry {
    fn info(&self) -> ClassInfo {
        let kind = match self.methods.first().map(|method| &method.runner) {
            Some(Runner::Async(_) | Runner::AsyncGenerator(_)) => BodyKind::Async,
            _ => BodyKind::Blocking,
        };
        ClassInfo {
            name: self.name.to_owned(),
            kind,
            params: owned(self.params),
            param_types: owned(self.param_types),
            param_defaults: (self.param_defaults)(),
            config: self.config,
            methods: self.methods.iter().map(Entry::info).collect(),
            snap: self.snap,
            live_enter: self.live_enter,
            secrets: named_secrets(self.secrets),
            volumes: mounts(self.volumes),
        }
    }
}

fn find_class<T: App>(name: &str) -> Result<&'static ClassEntry, CallError> {
    T::CLASSES
        .iter()
        .find(|class| class.name == name)
        .ok_or_else(|| CallError::NotFound(format!("this component has no class `{name}`")))
}

impl Entry {
    fn info(&self) -> FunctionInfo {
        FunctionInfo {
            name: self.name.to_owned(),
            kind: match self.runner {
                Runner::Blocking(_) | Runner::Generator(_) => BodyKind::Blocking,
                Runner::Async(_) | Runner::AsyncGenerator(_) => BodyKind::Async,
            },
            generator: matches!(
                self.runner,
                Runner::Generator(_) | Runner::AsyncGenerator(_)
            ),
            params: owned(self.params),
            param_types: owned(self.param_types),
            config: self.config,
            web: self.web.map(|endpoint| WebEndpoint {
                method: endpoint.method.to_owned(),
                label: endpoint.label.map(str::to_owned),
                requires_auth: endpoint.requires_auth,
                // A Rust app serves whole requests with a wasi:http handler.
                form: WebForm::Arguments,
                // The host's rule binds a body: a Rust parameter has no pydantic model.
                body: None,
            }),
            batch: self.batch,
            secrets: named_secrets(self.secrets),
            volumes: mounts(self.volumes),
            schedule: self.schedule.map(ScheduleSpec::wit),
        }
    }
}

fn owned(strings: &[&str]) -> Vec<String> {
    strings.iter().map(|string| (*string).to_owned()).collect()
}

/// Secrets named in an attribute, as the contract says where they come from.
fn named_secrets(names: &[&str]) -> Vec<SecretSource> {
    names
        .iter()
        .map(|name| SecretSource::Named((*name).to_owned()))
        .collect()
}

/// Volumes named in an attribute, as the contract mounts them: each made when missing.
fn mounts(volumes: &[(&str, &str)]) -> Vec<VolumeMount> {
    volumes
        .iter()
        .map(|(path, volume)| VolumeMount {
            path: (*path).to_owned(),
            volume: (*volume).to_owned(),
            create_if_missing: true,
        })
        .collect()
}

/// The entry `name`: a function or entrypoint, or `CLASS.METHOD`, a method of a class.
fn find<T: App>(name: &str) -> Result<&'static Entry, CallError> {
    let found = match name.split_once('.') {
        None => T::ENTRIES.iter().find(|entry| entry.name == name),
        Some((class, method)) => find_class::<T>(class)?
            .methods
            .iter()
            .find(|entry| entry.name == method),
    };
    found.ok_or_else(|| CallError::NotFound(format!("this component has no function `{name}`")))
}

fn wrong_entry(function: &str, entry: &str) -> CallError {
    CallError::BadArguments(format!(
        "`{function}` is not run through `{entry}`: its body is of another kind"
    ))
}

/// Sends each item of `items` to `sink`, encoded, until they end, one fails (its error ends
/// the generator), or the caller is gone (then the rest are never produced).
pub fn send_items<T: Serialize, E: Display>(
    items: impl Iterator<Item = Result<T, E>>,
    sink: &ItemSink,
) -> Result<(), CallError> {
    for item in items {
        if !sink.send(&encode_item(item)?) {
            break;
        }
    }
    Ok(())
}

/// [`send_items`] for a `Stream`: only this task waits while the caller's buffer is full.
pub async fn send_stream<T: Serialize, E: Display>(
    items: impl futures::Stream<Item = Result<T, E>>,
    sink: ItemSink,
) -> Result<(), CallError> {
    use futures::StreamExt;
    let mut items = std::pin::pin!(items);
    while let Some(item) = items.next().await {
        if !sink.send_async(encode_item(item)?).await {
            break;
        }
    }
    Ok(())
}

fn encode_item<T: Serialize, E: Display>(item: Result<T, E>) -> Result<Vec<u8>, CallError> {
    let item = item.map_err(|error| CallError::User(error.to_string()))?;
    serde_json::to_vec(&item)
        .map_err(|error| CallError::Payload(format!("cannot encode an item: {error}")))
}

/// Decodes the JSON array of arguments into the tuple of a function's `arity` parameters. An
/// array shorter than that is read with `null` for the parameters left out at its end (a
/// caller that names its arguments, or a web request, may leave out trailing `Option`s).
pub fn decode_args<T: DeserializeOwned>(
    function: &str,
    arity: usize,
    args: &[u8],
) -> Result<T, CallError> {
    let bad = |error: serde_json::Error| CallError::BadArguments(format!("`{function}`: {error}"));
    serde_json::from_slice(args).or_else(|error| {
        match serde_json::from_slice::<Vec<serde_json::Value>>(args) {
            Ok(mut values) if values.len() < arity => {
                values.resize(arity, serde_json::Value::Null);
                serde_json::from_value(serde_json::Value::Array(values)).map_err(bad)
            }
            _ => Err(bad(error)),
        }
    })
}

/// Encodes what a body returned: its value, or for a `Result` body that fails, a user error
/// carrying the error's message.
pub fn encode_output<T: Serialize, E: Display>(output: Result<T, E>) -> Outcome {
    let value = output.map_err(|error| CallError::User(error.to_string()))?;
    serde_json::to_vec(&value)
        .map_err(|error| CallError::Payload(format!("cannot encode the result: {error}")))
}

/// Replaces std's panic hook: the message goes to the host (`report-panic`) and to stderr.
///
/// The hook prints the panic itself, as `panicked at {location}:` and the message on the next
/// lines, rather than chaining to std's default hook, which starts with an empty line (each
/// stderr line is forwarded with the container's prefix, so that line would show as a bare
/// prefix) and names a thread and `RUST_BACKTRACE`, which mean nothing in a component.
fn install_panic_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let message = info.to_string();
            host::report_panic(&message);
            // One write of whole lines; if stderr is gone, the host has the message already.
            let _ = std::io::stderr().write_all(format!("{message}\n").as_bytes());
        }));
    });
}

/// Exports the component's functions, entrypoints and classes: name every `#[function]` and
/// `#[local_entrypoint]` of the crate once, in its root, and after a `;` every `#[class]`
/// under `classes`.
///
/// ```ignore
/// fnhost_guest::app!(blocking_function, async_function, blocking_main);
/// fnhost_guest::app!(embed, main; classes: Model);
/// ```
#[macro_export]
macro_rules! app {
    ($($item:path),* $(,)? $(; classes: $($class:path),+ $(,)?)?) => {
        #[doc(hidden)]
        struct __FnhostApp;

        impl $crate::__private::App for __FnhostApp {
            const ENTRIES: &'static [$crate::__private::Entry] =
                &[$(<$item as $crate::__private::Registered>::ENTRY),*];
            const CLASSES: &'static [$crate::__private::ClassEntry] =
                &[$($(<$class as $crate::__private::RegisteredClass>::CLASS),+)?];
        }

        $crate::bindings::__export_fnhost_app!(__FnhostApp);
    };
}
