//! What the app knows of a function or local entrypoint: its name, how its body is written,
//! its parameters, its options and the component it lives in; and how arguments given by a
//! person (on a command line, in an HTTP body) become the list the function takes.

use crate::Error;
use crate::options::FunctionConfig;
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
    /// Its options.
    pub config: FunctionConfig,
    /// The component it lives in.
    pub component: PathBuf,
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

    fn args(names: &[&str], given: Option<Value>) -> Result<String, String> {
        let info = FunctionInfo {
            name: "f".into(),
            kind: BodyKind::Blocking,
            params: names.iter().map(|name| (*name).to_owned()).collect(),
            config: FunctionConfig::resolve(&FunctionOptions::default()).unwrap(),
            component: PathBuf::new(),
        };
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
}
