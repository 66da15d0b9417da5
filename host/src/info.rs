//! What the app knows of a function or local entrypoint: its name, how its body is written,
//! its parameters, its options and the component it lives in; and how arguments given by a
//! person (on a command line, in an HTTP body) become the list the function takes.

use crate::Error;
use crate::options::FunctionConfig;
use crate::schedule::Schedule;
use crate::storage::SecretValues;
use serde::Serialize;
use serde_json::Value;
use std::path::PathBuf;

/// How a function's body is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BodyKind {
    /// `fn`: one input per instance at a time.
    Blocking,
    /// `async fn`: up to `max_inputs` inputs interleave on one instance.
    Async,
}

/// A function or entrypoint of the app, as its component describes it, with its options
/// resolved (defaults filled, overrides applied, ranges checked).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunctionInfo {
    /// Its name, unique in the app.
    pub name: String,
    /// Blocking or async body.
    pub kind: BodyKind,
    /// Its parameters' names, in order.
    pub params: Vec<String>,
    /// Its parameters' types as its author wrote them (`i64`, `String`), in order; empty when
    /// its SDK does not say.
    pub param_types: Vec<String>,
    /// Set when the function is also served as a web endpoint.
    pub web: Option<WebEndpoint>,
    /// Set when the function is batched.
    pub batch: Option<Batching>,
    /// Whether it is a generator: it yields items, which callers read with `remote_gen`.
    pub generator: bool,
    /// Its options.
    pub config: FunctionConfig,
    /// Where the environment variables of its containers come from (Modal's `secrets=`).
    pub secrets: Vec<SecretSource>,
    /// The volumes its containers mount (Modal's `volumes=`).
    pub volumes: Vec<VolumeMount>,
    /// When a deployed app runs it by itself (Modal's `schedule=`).
    pub schedule: Option<Schedule>,
    /// The component it lives in.
    pub component: PathBuf,
}

/// A volume mounted in a function's containers (Modal's `volumes={"/data": vol}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VolumeMount {
    /// Where the guest sees it: an absolute path, not `/`.
    pub path: String,
    /// The volume's name.
    pub volume: String,
    /// Whether the volume is made when missing (else a container fails to start, naming it).
    pub create_if_missing: bool,
}

/// Where some of a function's environment variables come from: Modal's `Secret`. Shown (in
/// `Debug` and JSON) by its name or its keys, never its values.
#[derive(Debug, Clone, PartialEq)]
pub enum SecretSource {
    /// The secret of that name in the host's store (`fnhost secret create`), read when each
    /// container starts.
    Named(String),
    /// Variables written in the app (`Secret.from_dict`).
    Inline(SecretValues),
}

impl Serialize for SecretSource {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(1))?;
        match self {
            SecretSource::Named(name) => map.serialize_entry("name", name)?,
            SecretSource::Inline(values) => {
                map.serialize_entry("inline", &values.keys().collect::<Vec<_>>())?
            }
        }
        map.end()
    }
}

impl std::fmt::Display for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretSource::Named(name) => f.write_str(name),
            SecretSource::Inline(values) => {
                write!(
                    f,
                    "inline({})",
                    values.keys().collect::<Vec<_>>().join(", ")
                )
            }
        }
    }
}

/// A class of the app (Modal's `@app.cls`): its methods share its containers and its options;
/// each distinct set of parameter values gets a pool of its own, whose containers each build
/// one instance from the values (and run its `enter` hooks) before their first input.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassInfo {
    /// Its name, unique among the app's functions and classes.
    pub name: String,
    /// How its methods are written (all of them alike).
    pub kind: BodyKind,
    /// Its parameters' names, in order.
    pub params: Vec<String>,
    /// Its parameters' types as its author wrote them, in order.
    pub param_types: Vec<String>,
    /// Its parameters' default values, in order; `None` for one every caller must give.
    pub param_defaults: Vec<Option<Value>>,
    /// Its methods, each named `CLASS.METHOD`, with the class's kind and options.
    pub methods: Vec<FunctionInfo>,
    /// Whether an `enter` hook runs once before a snapshot rather than in every container.
    pub snap: bool,
    /// Whether it has `enter` hooks that are not snap hooks (every container runs them).
    pub live_enter: bool,
    /// The options of its containers.
    pub config: FunctionConfig,
    /// Where the environment variables of its containers come from.
    pub secrets: Vec<SecretSource>,
    /// The volumes its containers mount.
    pub volumes: Vec<VolumeMount>,
    /// The component it lives in.
    pub component: PathBuf,
}

impl ClassInfo {
    /// The largest encoded set of parameter values (Modal's bound).
    pub const MAX_PARAMS_BYTES: usize = 16 << 10;

    /// Its method `name` (`CLASS.METHOD`).
    pub(crate) fn method(&self, name: &str) -> Result<&FunctionInfo, Error> {
        self.methods
            .iter()
            .find(|method| method.name == name)
            .ok_or_else(|| {
                let known: Vec<&str> = self.methods.iter().map(|m| m.name.as_str()).collect();
                Error::NotFound(format!(
                    "class `{}` has no method `{name}` (it has: {})",
                    self.name,
                    known.join(", ")
                ))
            })
    }

    /// The canonical encoding of a set of parameter values given as a JSON object (`null`
    /// or nothing: none given): every parameter of the class, those left out at their
    /// defaults (one without a default must be given), keys sorted, at most
    /// [`ClassInfo::MAX_PARAMS_BYTES`]. The values' types are checked in the guest, when a
    /// container builds its instance.
    pub fn parameters(&self, given: Option<Value>) -> Result<Vec<u8>, Error> {
        let fields = match given {
            None | Some(Value::Null) => serde_json::Map::new(),
            Some(Value::Object(fields)) => fields,
            Some(_) => {
                return Err(Error::BadArguments(format!(
                    "the parameters of `{}` are a JSON object of values by name",
                    self.name
                )));
            }
        };
        if let Some(name) = fields.keys().find(|name| !self.params.contains(name)) {
            return Err(Error::BadArguments(format!(
                "class `{}` has no parameter `{name}` (it has: {})",
                self.name,
                match self.params.is_empty() {
                    true => "none".to_owned(),
                    false => self.params.join(", "),
                }
            )));
        }
        // Every parameter, given or defaulted: the same values are one instance however
        // they were written.
        let mut sorted = std::collections::BTreeMap::new();
        for (index, name) in self.params.iter().enumerate() {
            let value = match fields.get(name) {
                Some(value) => value.clone(),
                None => match self.param_defaults.get(index) {
                    Some(Some(default)) => default.clone(),
                    _ => {
                        return Err(Error::BadArguments(format!(
                            "parameter `{name}` of `{}` has no default: give it a value",
                            self.name
                        )));
                    }
                },
            };
            sorted.insert(name, value);
        }
        let encoded = serde_json::to_vec(&sorted)
            .map_err(|error| Error::Payload(format!("cannot encode the parameters: {error}")))?;
        if encoded.len() > Self::MAX_PARAMS_BYTES {
            return Err(Error::BadArguments(format!(
                "the parameters of `{}` take {} bytes; at most {} are allowed",
                self.name,
                encoded.len(),
                Self::MAX_PARAMS_BYTES
            )));
        }
        Ok(encoded)
    }

    /// A method call's payload split into the canonical parameters of the instance it is
    /// called on and the method's arguments. A call on an instance is
    /// `{"params": {...}, "args": [...], "kwargs": {...}}` (each part optional; `kwargs` as in
    /// any call with names); a JSON array is a call with no parameter values given.
    pub(crate) fn split_call(&self, payload: &[u8]) -> Result<(Vec<u8>, Vec<u8>), Error> {
        if payload.first() != Some(&b'{') {
            return Ok((self.parameters(None)?, payload.to_vec()));
        }
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct OnInstance {
            params: Option<Value>,
            #[serde(default)]
            args: Vec<Value>,
            #[serde(default)]
            kwargs: serde_json::Map<String, Value>,
        }
        let call: OnInstance = serde_json::from_slice(payload).map_err(|error| {
            Error::BadArguments(format!(
                "a call of a method of `{}` is {{\"params\": {{...}}, \"args\": [...], \
                 \"kwargs\": {{...}}}}: {error}",
                self.name
            ))
        })?;
        let params = self.parameters(call.params)?;
        let args = match call.kwargs.is_empty() {
            true => Value::Array(call.args),
            false => serde_json::json!({"args": call.args, "kwargs": call.kwargs}),
        };
        Ok((
            params,
            serde_json::to_vec(&args).expect("JSON values serialize"),
        ))
    }
}

/// How a function is served as a web endpoint, at `/web/{app}/{label}` (`#[function(web)]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct WebEndpoint {
    /// The HTTP method it answers, upper case.
    pub method: String,
    /// The path segment under `/web/{app}/`: the function's name unless its author chose one.
    pub label: String,
    /// Whether a request must carry the server's token.
    pub requires_auth: bool,
    /// How a request reaches the function.
    pub form: WebForm,
    /// The parameter a JSON body goes to whole, when the SDK named one (FastAPI's binding of
    /// a pydantic model); `None`: the host's rule ([`FunctionInfo::web_arguments`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

impl WebEndpoint {
    /// The method a `request` endpoint declares: it answers every method.
    pub const ANY_METHOD: &str = "*";

    /// Whether it answers a request for `rest`, the path under `/web/{app}/` without its
    /// leading `/`: its label alone, or, for a `request` endpoint, any path under the label.
    pub fn serves(&self, rest: &str) -> bool {
        let label = self.label.as_str();
        match self.form {
            WebForm::Arguments => rest.trim_end_matches('/') == label,
            WebForm::Request => rest
                .strip_prefix(label)
                .is_some_and(|under| under.is_empty() || under.starts_with('/')),
        }
    }
}

/// How a web endpoint's requests reach its function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebForm {
    /// The query's values and the JSON body are its arguments ([`FunctionInfo::web_arguments`]).
    Arguments,
    /// The request itself is its one argument ([`WebRequest`]), for every method and every
    /// path under its label (Modal's `asgi_app` and `wsgi_app`, which an SDK adapts).
    Request,
}

/// A whole request, as a `request` endpoint's function takes it (its one argument).
#[derive(Debug, Clone, Serialize)]
pub struct WebRequest {
    /// The method, upper case.
    pub method: String,
    /// Where the endpoint is mounted: `/web/{app}/{label}`.
    pub root: String,
    /// The path under `root`, `/` at least, as the client sent it (still percent-encoded).
    pub path: String,
    /// The raw query string, empty when there is none.
    pub query: String,
    /// The headers, `[name, value]` in the order received (names lower case).
    pub headers: Vec<(String, String)>,
    /// The body, in standard base64.
    pub body: String,
}

impl WebRequest {
    /// The encoded JSON array of arguments of a `request` endpoint's call.
    pub fn arguments(&self) -> Vec<u8> {
        serde_json::to_vec(&[self]).expect("a request serializes")
    }
}

/// How a batched function's inputs are gathered (`#[function(batched(...))]`, Modal's
/// `@batched`): each caller gives one input; the host runs up to `max_batch_size` of them as one
/// input of lists, waiting at most `wait` after a batch's first input for more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Batching {
    /// The most inputs one batch holds, 1 to [`Batching::MAX_SIZE`].
    pub max_batch_size: u32,
    /// How long the host waits for more inputs after a batch's first, at most
    /// [`Batching::MAX_WAIT`].
    #[serde(rename = "wait_ms", serialize_with = "millis")]
    pub wait: std::time::Duration,
}

impl Batching {
    /// The largest batch (Modal's bound).
    pub const MAX_SIZE: u32 = 1000;
    /// The longest wait for a batch to fill (Modal's bound).
    pub const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(600);
}

fn millis<S: serde::Serializer>(
    wait: &std::time::Duration,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_u128(wait.as_millis())
}

impl FunctionInfo {
    pub(crate) fn is_async(&self) -> bool {
        self.kind == BodyKind::Async
    }

    /// The encoded JSON array of arguments from what a person gave (`fnhost call`'s and the
    /// HTTP API's convention): the value itself for a one-parameter function; for any other
    /// number, an array of that many (nothing, `[]` or `null` for none). A wrong count fails
    /// with [`Error::BadArguments`] naming both counts and the parameters.
    pub fn arguments(&self, given: Option<Value>) -> Result<Vec<u8>, Error> {
        let (function, params) = (&self.name, &self.params);
        let args = match (params.len(), given) {
            (1, Some(value)) => vec![value],
            (_, None) | (0, Some(Value::Null)) => Vec::new(),
            (_, Some(Value::Array(values))) => values,
            // One value, not an array: one argument, for a function that takes none.
            (0, Some(value)) => vec![value],
            (count, Some(_)) => {
                return Err(Error::BadArguments(format!(
                    "`{function}` takes {} ({}): pass them as a JSON array",
                    count_of(count),
                    params.join(", ")
                )));
            }
        };
        if args.len() != params.len() {
            let takes = match params.len() {
                0 => count_of(0),
                count => format!("{} ({})", count_of(count), params.join(", ")),
            };
            return Err(Error::BadArguments(format!(
                "`{function}` takes {takes}, {} given",
                args.len()
            )));
        }
        serde_json::to_vec(&Value::Array(args))
            .map_err(|error| Error::Payload(format!("cannot encode the arguments: {error}")))
    }

    /// The encoded JSON array of arguments of a web request: its query parameters and its
    /// body (`None` when empty). As FastAPI binds them, a body goes whole to the parameter
    /// the SDK named (a pydantic model's), else to the one parameter annotated `dict` (or to
    /// the only, unannotated, parameter of a POST, PUT or PATCH endpoint), the query to the
    /// others. Otherwise a JSON object body and the query fill the parameters by name
    /// (a name given twice, or one the function lacks, is refused); a JSON array body fills
    /// them by position, with no query. A query value is taken as a string for a parameter of
    /// a string type, as JSON otherwise (a plain string when it is not JSON: `?name=bob`). A
    /// parameter given nothing gets `null` (an `Option` parameter's `None`, a Python
    /// parameter's default at the end; any other type fails in the function's decoding,
    /// naming it).
    pub fn web_arguments(
        &self,
        query: Vec<(String, String)>,
        body: Option<Value>,
    ) -> Result<Vec<u8>, Error> {
        let mut binding = Binding::new(self, Vec::new())?;
        match (self.body_parameter(), body) {
            // FastAPI's binding: the whole body is that parameter's value.
            (Some(index), Some(body)) => binding.fill(&self.params[index], body)?,
            (Some(index), None) => {
                return Err(Error::BadArguments(format!(
                    "`{}` takes the request's JSON body as `{}`: send one",
                    self.name, self.params[index]
                )));
            }
            (None, Some(Value::Array(values))) => {
                if !query.is_empty() {
                    return Err(Error::BadArguments(
                        "a JSON array body gives every argument by position: put no query \
                         parameters beside it"
                            .into(),
                    ));
                }
                return self.arguments(Some(Value::Array(values)));
            }
            (None, Some(Value::Object(fields))) => {
                for (name, value) in fields {
                    binding.fill(&name, value)?;
                }
            }
            (None, Some(_)) => {
                return Err(Error::BadArguments(
                    "the body must be a JSON object (arguments by name) or array (by position)"
                        .into(),
                ));
            }
            (None, None) => {}
        }
        for (name, raw) in query {
            let value = match self.params.iter().position(|param| *param == name) {
                Some(index) if self.param_types.get(index).is_some_and(|ty| is_string(ty)) => {
                    Value::String(raw)
                }
                _ => serde_json::from_str(&raw).unwrap_or(Value::String(raw)),
            };
            binding.fill(&name, value)?;
        }
        binding.encode()
    }

    /// The encoded JSON array of arguments of a call made with names, `{"args": [...],
    /// "kwargs": {...}}` (the Python SDK's form for keyword arguments to a callee whose
    /// signature it does not know): positions first, then names.
    pub(crate) fn bind_named(&self, payload: &[u8]) -> Result<Vec<u8>, Error> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Named {
            #[serde(default)]
            args: Vec<Value>,
            #[serde(default)]
            kwargs: serde_json::Map<String, Value>,
        }
        let named: Named = serde_json::from_slice(payload).map_err(|error| {
            Error::BadArguments(format!(
                "`{}`: arguments with names are {{\"args\": [...], \"kwargs\": {{...}}}}: {error}",
                self.name
            ))
        })?;
        let mut binding = Binding::new(self, named.args)?;
        for (name, value) in named.kwargs {
            binding.fill(&name, value)?;
        }
        binding.encode()
    }
}

/// Arguments given by position and by name, bound to a function's parameters.
struct Binding<'a> {
    info: &'a FunctionInfo,
    values: Vec<Option<Value>>,
}

impl<'a> Binding<'a> {
    /// The first parameters bound to `positional`.
    fn new(info: &'a FunctionInfo, positional: Vec<Value>) -> Result<Self, Error> {
        if positional.len() > info.params.len() {
            return Err(Error::BadArguments(format!(
                "`{}` takes {}, {} given",
                info.name,
                count_of(info.params.len()),
                positional.len()
            )));
        }
        let mut values: Vec<Option<Value>> = positional.into_iter().map(Some).collect();
        values.resize(info.params.len(), None);
        Ok(Binding { info, values })
    }

    /// Binds the parameter `name`; a name the function lacks, or one bound already, is
    /// refused.
    fn fill(&mut self, name: &str, value: Value) -> Result<(), Error> {
        let (function, params) = (&self.info.name, &self.info.params);
        let index = params
            .iter()
            .position(|param| param == name)
            .ok_or_else(|| {
                Error::BadArguments(format!(
                    "`{function}` has no parameter `{name}` (it takes: {})",
                    params.join(", ")
                ))
            })?;
        match self.values[index].replace(value) {
            Some(_) => Err(Error::BadArguments(format!(
                "parameter `{name}` of `{function}` is given twice"
            ))),
            None => Ok(()),
        }
    }

    /// The JSON array up to the last parameter given, `null` for those left out before it:
    /// the function's SDK reads the parameters left out at the end as `null` (Rust) or takes
    /// their defaults (Python).
    fn encode(self) -> Result<Vec<u8>, Error> {
        let given = self
            .values
            .iter()
            .rposition(Option::is_some)
            .map_or(0, |last| last + 1);
        let args: Vec<Value> = self
            .values
            .into_iter()
            .take(given)
            .map(|value| value.unwrap_or(Value::Null))
            .collect();
        serde_json::to_vec(&Value::Array(args))
            .map_err(|error| Error::Payload(format!("cannot encode the arguments: {error}")))
    }
}

/// Whether a parameter type, as written, is a string: its query values are not JSON.
impl FunctionInfo {
    /// The parameter a web request's JSON body is bound to whole, as FastAPI binds it: the
    /// one the SDK named (a pydantic model's), else the one parameter annotated `dict`, or,
    /// for an endpoint whose method carries a body, a function's only parameter when it has
    /// no annotation. `None`: the body gives arguments by name (an object) or position (an
    /// array).
    fn body_parameter(&self) -> Option<usize> {
        let named = self.web.as_ref().and_then(|web| web.body.as_ref());
        if let Some(body) = named {
            return self.params.iter().position(|param| param == body);
        }
        let mut dicts = self
            .param_types
            .iter()
            .enumerate()
            .filter(|(_, ty)| is_dict(ty));
        if let (Some((index, _)), None) = (dicts.next(), dicts.next()) {
            return Some(index);
        }
        let carries_body = self
            .web
            .as_ref()
            .is_some_and(|web| matches!(web.method.as_str(), "POST" | "PUT" | "PATCH"));
        let unannotated = self.param_types.first().is_none_or(String::is_empty);
        (carries_body && self.params.len() == 1 && unannotated).then_some(0)
    }
}

/// Whether `ty` is Python's `dict` as an annotation spells it.
fn is_dict(ty: &str) -> bool {
    ty == "dict" || ty.starts_with("dict[") || ty == "Dict" || ty.starts_with("typing.Dict")
}

fn is_string(ty: &str) -> bool {
    let ty = ty
        .strip_prefix("Option<")
        .and_then(|inner| inner.strip_suffix('>'))
        .or_else(|| {
            ty.strip_prefix("typing.Optional[")
                .and_then(|inner| inner.strip_suffix(']'))
        })
        .or_else(|| ty.strip_suffix(" | None"))
        .unwrap_or(ty);
    matches!(
        ty,
        "String"
            | "&str"
            | "&'staticstr"
            | "str"
            | "Cow<str>"
            | "Cow<'_,str>"
            | "std::string::String"
    )
}

/// `1 argument`, `3 arguments`.
fn count_of(count: usize) -> String {
    match count {
        1 => "1 argument".to_owned(),
        count => format!("{count} arguments"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::FunctionOptions;
    use serde_json::json;

    /// A function `f` with parameters `names` of `types` (none: unannotated), a web endpoint
    /// answering `method` when one is given.
    fn function(names: &[&str], types: &[&str], method: Option<&str>) -> FunctionInfo {
        FunctionInfo {
            name: "f".into(),
            kind: BodyKind::Blocking,
            params: names.iter().map(|name| (*name).to_owned()).collect(),
            param_types: types.iter().map(|ty| (*ty).to_owned()).collect(),
            web: method.map(|method| WebEndpoint {
                method: method.into(),
                label: "f".into(),
                requires_auth: false,
                form: WebForm::Arguments,
                body: None,
            }),
            batch: None,
            generator: false,
            config: FunctionConfig::resolve(&FunctionOptions::default()).unwrap(),
            secrets: Vec::new(),
            volumes: Vec::new(),
            schedule: None,
            component: PathBuf::new(),
        }
    }

    fn args(names: &[&str], given: Option<Value>) -> Result<String, String> {
        let info = function(names, &[], None);
        info.arguments(given)
            .map(|bytes| String::from_utf8(bytes).unwrap())
            .map_err(|error| error.message().to_owned())
    }

    #[test]
    fn arguments_follow_the_parameters() {
        assert_eq!(args(&[], None).unwrap(), "[]");
        assert_eq!(args(&[], Some(json!(null))).unwrap(), "[]");
        assert_eq!(args(&[], Some(json!([]))).unwrap(), "[]");
        assert_eq!(args(&["x"], Some(json!([1, 2]))).unwrap(), "[[1,2]]");
        assert_eq!(args(&["x"], Some(json!(null))).unwrap(), "[null]");
        assert_eq!(
            args(&["a", "b"], Some(json!([1, "b"]))).unwrap(),
            "[1,\"b\"]"
        );
    }

    fn web(query: &[(&str, &str)], body: Option<Value>) -> Result<String, String> {
        let info = function(
            &["n", "name", "tags"],
            &["i64", "Option<String>", "Vec<String>"],
            None,
        );
        let query = query
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        info.web_arguments(query, body)
            .map(|bytes| String::from_utf8(bytes).unwrap())
            .map_err(|error| error.message().to_owned())
    }

    #[test]
    fn endpoints_serve_their_label_and_request_endpoints_the_paths_under_it() {
        let endpoint = |form| WebEndpoint {
            method: "GET".into(),
            label: "shop".into(),
            requires_auth: false,
            form,
            body: None,
        };
        let arguments = endpoint(WebForm::Arguments);
        assert!(arguments.serves("shop") && arguments.serves("shop/"));
        assert!(!arguments.serves("shop/items") && !arguments.serves("shopping"));
        let request = endpoint(WebForm::Request);
        for served in ["shop", "shop/", "shop/items/3"] {
            assert!(request.serves(served), "{served}");
        }
        assert!(!request.serves("shopping") && !request.serves("sho"));
    }

    #[test]
    fn web_arguments_fill_parameters_by_name() {
        assert_eq!(web(&[("n", "2")], None).unwrap(), r#"[2]"#);
        assert_eq!(
            web(&[("name", "42"), ("tags", r#"["a"]"#)], None).unwrap(),
            r#"[null,"42",["a"]]"#
        );
        assert_eq!(web(&[("n", "two")], None).unwrap(), r#"["two"]"#);
        assert_eq!(
            web(&[("n", "1")], Some(json!({"name": "x"}))).unwrap(),
            r#"[1,"x"]"#
        );
        assert_eq!(
            web(&[], Some(json!([1, "x", []]))).unwrap(),
            r#"[1,"x",[]]"#
        );
        assert!(
            web(&[("z", "1")], None)
                .unwrap_err()
                .contains("no parameter `z`")
        );
        assert!(
            web(&[("n", "1")], Some(json!({"n": 2})))
                .unwrap_err()
                .contains("given twice")
        );
        assert!(web(&[("n", "1")], Some(json!([1, 2, 3]))).is_err());
        assert!(web(&[], Some(json!(5))).is_err());
    }

    #[test]
    fn a_body_goes_whole_to_a_dict_parameter_as_fastapi_binds_it() {
        let info = |types: &[&str], method: &str| {
            let names: Vec<String> = (0..types.len()).map(|i| format!("p{i}")).collect();
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            function(&names, types, Some(method))
        };
        let bind = |info: FunctionInfo, query: &[(&str, &str)], body: Option<Value>| {
            let query = query
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect();
            info.web_arguments(query, body)
                .map(|bytes| String::from_utf8(bytes).unwrap())
        };
        let body = json!({"name": "ada"});
        assert_eq!(
            bind(
                info(&["str", "dict"], "POST"),
                &[("p0", "x")],
                Some(body.clone())
            )
            .unwrap(),
            r#"["x",{"name":"ada"}]"#
        );
        assert_eq!(
            bind(info(&[""], "POST"), &[], Some(body.clone())).unwrap(),
            r#"[{"name":"ada"}]"#
        );
        // The parameter the SDK names (a pydantic model's) takes it, on any method.
        let mut model = info(&["int", "Item"], "GET");
        model.web.as_mut().unwrap().body = Some("p1".into());
        assert_eq!(
            bind(model, &[("p0", "7")], Some(body.clone())).unwrap(),
            r#"[7,{"name":"ada"}]"#
        );
        // On a GET, or beside an annotated parameter, an object still gives names.
        assert!(bind(info(&[""], "GET"), &[], Some(body.clone())).is_err());
        assert!(
            bind(info(&["dict"], "POST"), &[], None)
                .unwrap_err()
                .to_string()
                .contains("takes the request's JSON body as `p0`")
        );
    }

    #[test]
    fn named_arguments_bind_positions_then_names() {
        let info = function(&["a", "b", "c"], &[], None);
        let bind = |payload: Value| {
            info.bind_named(payload.to_string().as_bytes())
                .map(|bytes| String::from_utf8(bytes).unwrap())
                .map_err(|error| error.message().to_owned())
        };
        assert_eq!(
            bind(json!({"args": [1], "kwargs": {"c": 3}})).unwrap(),
            "[1,null,3]"
        );
        assert_eq!(bind(json!({"kwargs": {"a": 1}})).unwrap(), "[1]");
        assert_eq!(bind(json!({"args": [1, 2]})).unwrap(), "[1,2]");
        assert!(
            bind(json!({"args": [1], "kwargs": {"a": 2}}))
                .unwrap_err()
                .contains("twice")
        );
        assert!(
            bind(json!({"kwargs": {"z": 2}}))
                .unwrap_err()
                .contains("no parameter `z`")
        );
        assert!(
            bind(json!({"args": [1, 2, 3, 4]}))
                .unwrap_err()
                .contains("4 given")
        );
        assert!(bind(json!({"argz": []})).unwrap_err().contains("args"));
    }

    #[test]
    fn a_wrong_count_names_both_counts() {
        assert_eq!(
            args(&[], Some(json!([1, 2, 3]))).unwrap_err(),
            "`f` takes 0 arguments, 3 given"
        );
        assert_eq!(
            args(&[], Some(json!(5))).unwrap_err(),
            "`f` takes 0 arguments, 1 given"
        );
        assert_eq!(
            args(&["x"], None).unwrap_err(),
            "`f` takes 1 argument (x), 0 given"
        );
        assert_eq!(
            args(&["a", "b", "c"], Some(json!([1, 2]))).unwrap_err(),
            "`f` takes 3 arguments (a, b, c), 2 given"
        );
        assert_eq!(
            args(&["a", "b"], Some(json!(1))).unwrap_err(),
            "`f` takes 2 arguments (a, b): pass them as a JSON array"
        );
    }

    use proptest::prelude::*;

    /// JSON values of every shape, a few levels deep.
    fn any_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "[ -~]{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 12, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                proptest::collection::btree_map("[a-z]{1,4}", inner, 0..4)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Whatever a caller passes (a payload from a guest, a JSON body, a query), binding
        /// it to a function's parameters gives the arguments or a `BadArguments` error.
        #[test]
        fn any_arguments_bind_or_are_refused(
            bytes in proptest::collection::vec(any::<u8>(), 0..200),
            given in proptest::option::of(any_value()),
            query in proptest::collection::vec(("[a-z]{1,4}", "[ -~]{0,12}"), 0..4),
        ) {
            let info = function(&["n", "name", "tags"], &["i64", "Option<String>", "Vec<String>"], None);
            let refused = |error: Error| error.kind() == crate::ErrorKind::BadArguments;
            prop_assert!(info.bind_named(&bytes).map_or_else(refused, |_| true));
            if let Ok(text) = std::str::from_utf8(&bytes) {
                let named = format!(r#"{{"args": [], "kwargs": {{"n": {text}}}}}"#);
                prop_assert!(info.bind_named(named.as_bytes()).map_or_else(refused, |_| true));
            }
            prop_assert!(info.arguments(given.clone()).map_or_else(refused, |_| true));
            prop_assert!(info.web_arguments(query, given).map_or_else(refused, |_| true));
        }
    }
}
