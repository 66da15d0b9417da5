//! Typed handles to the app's functions: call, spawn, map.
//!
//! A [`Function`] names a function of the app; where it lives (this component or another one
//! loaded beside it) is the host's business. Arguments are encoded as a JSON array and the
//! result as a JSON value, the encoding every fnhost guest, whatever its language, agrees on.
//!
//! Every handle turns its argument value into that array by one rule, [`encode_args`]: a tuple
//! (or `()`) is the list of arguments, any other value the single argument (the crate's
//! documentation, "Arguments", says it for users).

use crate::Error;
use crate::bindings::fnhost::runtime::host;
use crate::time::nanos;
use futures::{StreamExt, TryStreamExt, stream};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::VecDeque;
use std::marker::PhantomData;
use std::time::Duration;

/// How many calls one `map` keeps in flight at once; later inputs start as earlier ones finish.
const MAP_WINDOW: usize = 1000;

/// A function of the app, called by name through the host.
///
/// `A` is the argument value (`()`, one value, or a tuple of several; see
/// [Arguments](crate#arguments)) and `R` the result. You get one by dereferencing the
/// value that [`#[function]`](crate::function) makes of a `fn`, or from
/// [`Function::from_name`].
pub struct Function<A, R> {
    name: &'static str,
    encode: fn(&A) -> serde_json::Result<Vec<u8>>,
    options: CallOptions,
    types: PhantomData<fn(A) -> R>,
}

/// Options of one call site that override the callee's own, like Modal's `with_options`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallOptions {
    /// How long each attempt may run (1 s to 24 h).
    pub timeout: Option<Duration>,
    /// How many times a failed call runs again (0 to 10).
    pub retries: Option<u32>,
}

impl CallOptions {
    fn to_wit(self) -> host::CallOptions {
        host::CallOptions {
            timeout_nanos: self.timeout.map(nanos),
            retries: self.retries,
        }
    }
}

impl<A, R: DeserializeOwned> Function<A, R> {
    #[doc(hidden)]
    pub const fn new(name: &'static str, encode: fn(&A) -> serde_json::Result<Vec<u8>>) -> Self {
        Function {
            name,
            encode,
            options: CallOptions {
                timeout: None,
                retries: None,
            },
            types: PhantomData,
        }
    }

    /// This function with `options` overriding its own for the calls made through the handle
    /// returned; the host checks them (out of range, a call fails with `bad-arguments`).
    ///
    /// ```ignore
    /// let quick = slow_function.with_options(CallOptions { timeout: Some(Duration::from_secs(2)), ..Default::default() });
    /// quick.remote(())?;
    /// ```
    pub fn with_options(&self, options: CallOptions) -> Function<A, R> {
        Function {
            name: self.name,
            encode: self.encode,
            options,
            types: PhantomData,
        }
    }

    /// The app's function `name`, which may live in another component (written in any
    /// language): `A` is its argument value, as for every handle — `()` for none, the value
    /// itself for one parameter, a tuple for several — and `R` its result.
    ///
    /// ```ignore
    /// const ASYNC_FUNCTION: Function<(), u32> = Function::from_name("async_function");
    /// let x = ASYNC_FUNCTION.remote(())?;
    /// let price = Function::<String, u64>::from_name("price").remote("pear".to_string())?;
    /// let sum = Function::<(u32, u32), u32>::from_name("add").remote((2, 3))?;
    /// ```
    ///
    /// The handle cannot know the callee's parameters, so a tuple is always the list of
    /// arguments: for a function whose one parameter is a tuple, pass a one-element tuple of
    /// it, `Function::<((u32, u32),), u32>::from_name("pair_sum").remote(((1, 2),))` (see
    /// [Arguments](crate#arguments)).
    pub const fn from_name(name: &'static str) -> Self
    where
        A: Serialize,
    {
        Function::new(name, encode_args::<A>)
    }

    /// The function's name in the app.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Calls the function and blocks the calling instance until its result is back.
    pub fn remote(&self, args: A) -> Result<R, Error> {
        let payload = self.payload(&args)?;
        decode_result(host::call(self.name, &payload, self.options.to_wit()))
    }

    /// Calls the function; only the awaiting task waits, the instance's other inputs go on.
    pub async fn remote_aio(&self, args: A) -> Result<R, Error> {
        let payload = self.payload(&args)?;
        decode_result(host::call_async(self.name.to_owned(), payload, self.options.to_wit()).await)
    }

    /// Starts the function in the background and returns a handle to its result at once.
    pub fn spawn(&self, args: A) -> Result<FunctionCall<R>, Error> {
        let payload = self.payload(&args)?;
        Ok(FunctionCall {
            call: host::spawn(self.name, &payload, self.options.to_wit()),
            result: PhantomData,
        })
    }

    /// Calls the function once per input, in parallel, blocking the calling instance until all
    /// are back. Results come in input order; the first error (in that order) is returned instead
    /// and the calls still running are cancelled.
    pub fn map(&self, inputs: impl IntoIterator<Item = A>) -> Result<Vec<R>, Error> {
        self.map_iter(inputs).collect()
    }

    /// Like [`Function::map`], but gives every input its own result, errors included (Modal's
    /// `return_exceptions=True`).
    pub fn map_results(&self, inputs: impl IntoIterator<Item = A>) -> Vec<Result<R, Error>> {
        self.map_iter(inputs).collect()
    }

    /// The async twin of [`Function::map`].
    pub async fn map_aio(&self, inputs: impl IntoIterator<Item = A>) -> Result<Vec<R>, Error> {
        stream::iter(inputs)
            .map(|args| self.remote_aio(args))
            .buffered(MAP_WINDOW)
            .try_collect()
            .await
    }

    /// The async twin of [`Function::map_results`].
    pub async fn map_results_aio(
        &self,
        inputs: impl IntoIterator<Item = A>,
    ) -> Vec<Result<R, Error>> {
        stream::iter(inputs)
            .map(|args| self.remote_aio(args))
            .buffered(MAP_WINDOW)
            .collect()
            .await
    }

    /// Results of a blocking map, in input order, with at most [`MAP_WINDOW`] calls in flight.
    fn map_iter<I: IntoIterator<Item = A>>(&self, inputs: I) -> MapIter<'_, A, R, I::IntoIter> {
        MapIter {
            function: self,
            inputs: inputs.into_iter(),
            in_flight: VecDeque::new(),
        }
    }

    fn payload(&self, args: &A) -> Result<Vec<u8>, Error> {
        (self.encode)(args).map_err(|error| {
            Error::Payload(format!(
                "cannot encode arguments of `{}`: {error}",
                self.name
            ))
        })
    }
}

struct MapIter<'a, A, R, I> {
    function: &'a Function<A, R>,
    inputs: I,
    in_flight: VecDeque<Result<FunctionCall<R>, Error>>,
}

impl<A, R: DeserializeOwned, I: Iterator<Item = A>> Iterator for MapIter<'_, A, R, I> {
    type Item = Result<R, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.in_flight.len() < MAP_WINDOW {
            let Some(args) = self.inputs.next() else {
                break;
            };
            self.in_flight.push_back(self.function.spawn(args));
        }
        let call = self.in_flight.pop_front()?;
        Some(call.and_then(FunctionCall::get))
    }
}

/// A call running in the background, started with [`Function::spawn`].
///
/// Dropping the handle without asking for the result cancels the call.
pub struct FunctionCall<R> {
    call: host::FunctionCall,
    result: PhantomData<fn() -> R>,
}

impl<R: DeserializeOwned> FunctionCall<R> {
    /// Blocks the calling instance until the call's result is back.
    pub fn get(self) -> Result<R, Error> {
        decode_result(self.call.get(None))
    }

    /// Waits for the call's result; the instance's other inputs go on.
    pub async fn get_aio(self) -> Result<R, Error> {
        decode_result(self.call.get_async(None).await)
    }

    /// Like [`FunctionCall::get`], for at most `timeout`: when it runs out, fails with
    /// [`Error::Timeout`] and the call goes on (ask again).
    pub fn get_timeout(&mut self, timeout: Duration) -> Result<R, Error> {
        decode_result(self.call.get(Some(nanos(timeout))))
    }

    /// Like [`FunctionCall::get_aio`], for at most `timeout`: when it runs out, fails with
    /// [`Error::Timeout`] and the call goes on (ask again).
    pub async fn get_timeout_aio(&mut self, timeout: Duration) -> Result<R, Error> {
        decode_result(self.call.get_async(Some(nanos(timeout))).await)
    }

    /// Cancels the call: it will not deliver a result, and `get` fails with
    /// [`Error::Cancelled`].
    pub fn cancel(&self) {
        self.call.cancel();
    }
}

fn decode_result<R: DeserializeOwned>(
    result: Result<Vec<u8>, crate::bindings::fnhost::runtime::types::CallError>,
) -> Result<R, Error> {
    let payload = result?;
    serde_json::from_slice(&payload)
        .map_err(|error| Error::Payload(format!("cannot decode the result: {error}")))
}

/// Encodes an argument value as the JSON array of arguments the host and the callee expect:
/// a tuple (or `()`) is the list of arguments, any other value is the one argument.
///
/// `#[function]` handles pass a tuple of the parameters that they build themselves, so every
/// parameter count, a single tuple-typed parameter included, takes the first branch.
#[doc(hidden)]
pub fn encode_args<A: Serialize + ?Sized>(args: &A) -> serde_json::Result<Vec<u8>> {
    match args.serialize(ShapeProbe) {
        Ok(Shape::Unit) => Ok(b"[]".to_vec()),
        Ok(Shape::Tuple) => serde_json::to_vec(args),
        // A value that failed to serialize fails again below, with serde_json's message.
        Ok(Shape::Other) | Err(_) => serde_json::to_vec(&[args]),
    }
}

/// What the top level of a value is, as far as the wire form of arguments cares.
enum Shape {
    /// `()`: no arguments.
    Unit,
    /// A tuple: the list of arguments.
    Tuple,
    /// Anything else: one argument.
    Other,
}

/// A serde [`Serializer`](serde::Serializer) that looks at which method the top-level value
/// calls and nothing else: `serialize_unit` is [`Shape::Unit`], `serialize_tuple`
/// [`Shape::Tuple`] (Rust tuples, and fixed-size arrays, which serde writes as tuples), every
/// other method [`Shape::Other`]. The elements of compound values are skipped, not visited.
struct ShapeProbe;

/// The error of a value that failed to serialize while probed (a custom `Serialize` may fail).
#[derive(Debug)]
struct ProbeError;

impl std::fmt::Display for ProbeError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("the value could not be serialized")
    }
}

impl std::error::Error for ProbeError {}

impl serde::ser::Error for ProbeError {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        ProbeError
    }
}

/// The elements of a compound value the probe has classified already: skipped.
struct Skip(Shape);

impl Skip {
    fn end(self) -> Result<Shape, ProbeError> {
        Ok(self.0)
    }
}

macro_rules! skip_elements {
    ($($trait:ident :: $method:ident),* $(,)?) => {$(
        impl serde::ser::$trait for Skip {
            type Ok = Shape;
            type Error = ProbeError;

            fn $method<T: Serialize + ?Sized>(&mut self, _: &T) -> Result<(), ProbeError> {
                Ok(())
            }

            fn end(self) -> Result<Shape, ProbeError> {
                Skip::end(self)
            }
        }
    )*};
}

skip_elements!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field,
);

impl serde::ser::SerializeMap for Skip {
    type Ok = Shape;
    type Error = ProbeError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, _: &T) -> Result<(), ProbeError> {
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, _: &T) -> Result<(), ProbeError> {
        Ok(())
    }

    fn end(self) -> Result<Shape, ProbeError> {
        Skip::end(self)
    }
}

impl serde::ser::SerializeStruct for Skip {
    type Ok = Shape;
    type Error = ProbeError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        _: &'static str,
        _: &T,
    ) -> Result<(), ProbeError> {
        Ok(())
    }

    fn end(self) -> Result<Shape, ProbeError> {
        Skip::end(self)
    }
}

impl serde::ser::SerializeStructVariant for Skip {
    type Ok = Shape;
    type Error = ProbeError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        _: &'static str,
        _: &T,
    ) -> Result<(), ProbeError> {
        Ok(())
    }

    fn end(self) -> Result<Shape, ProbeError> {
        Skip::end(self)
    }
}

/// Scalar methods of the probe: all of them are one argument.
macro_rules! other_scalars {
    ($($method:ident($($ty:ty)?)),* $(,)?) => {$(
        fn $method(self $(, _: $ty)?) -> Result<Shape, ProbeError> {
            Ok(Shape::Other)
        }
    )*};
}

impl serde::Serializer for ShapeProbe {
    type Ok = Shape;
    type Error = ProbeError;
    type SerializeSeq = Skip;
    type SerializeTuple = Skip;
    type SerializeTupleStruct = Skip;
    type SerializeTupleVariant = Skip;
    type SerializeMap = Skip;
    type SerializeStruct = Skip;
    type SerializeStructVariant = Skip;

    other_scalars!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_i128(i128),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_u128(u128),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit_struct(&'static str),
    );

    fn serialize_unit(self) -> Result<Shape, ProbeError> {
        Ok(Shape::Unit)
    }

    fn serialize_tuple(self, _: usize) -> Result<Skip, ProbeError> {
        Ok(Skip(Shape::Tuple))
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<Shape, ProbeError> {
        Ok(Shape::Other)
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<Shape, ProbeError> {
        Ok(Shape::Other)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<Shape, ProbeError> {
        Ok(Shape::Other)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Shape, ProbeError> {
        Ok(Shape::Other)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Skip, ProbeError> {
        Ok(Skip(Shape::Other))
    }

    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Skip, ProbeError> {
        Ok(Skip(Shape::Other))
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Skip, ProbeError> {
        Ok(Skip(Shape::Other))
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Skip, ProbeError> {
        Ok(Skip(Shape::Other))
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Skip, ProbeError> {
        Ok(Skip(Shape::Other))
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Skip, ProbeError> {
        Ok(Skip(Shape::Other))
    }
}

#[cfg(test)]
mod tests {
    use super::encode_args;
    use serde::Serialize;
    use std::collections::BTreeMap;

    fn wire<A: Serialize>(args: A) -> String {
        String::from_utf8(encode_args(&args).unwrap()).unwrap()
    }

    #[derive(Serialize)]
    struct Point {
        x: i32,
        y: i32,
    }

    #[derive(Serialize)]
    struct Meters(f64);

    #[derive(Serialize)]
    struct Pair(u8, u8);

    #[derive(Serialize)]
    struct Marker;

    #[derive(Serialize)]
    enum Shape {
        Dot,
        Circle(f64),
        Line(u8, u8),
    }

    #[test]
    fn a_tuple_is_the_argument_list() {
        assert_eq!(wire(()), "[]");
        assert_eq!(wire((7u32,)), "[7]");
        assert_eq!(wire((2u32, 3u32, "total")), r#"[2,3,"total"]"#);
        assert_eq!(wire(((1u32, 2u32),)), "[[1,2]]");
        assert_eq!(wire::<&(u32, u32)>(&(2, 3)), "[2,3]");
        // serde writes fixed-size arrays as tuples: the documented exception.
        assert_eq!(wire([1u8, 2u8]), "[1,2]");
    }

    #[test]
    fn any_other_value_is_the_one_argument() {
        assert_eq!(wire("pear".to_string()), r#"["pear"]"#);
        assert_eq!(wire("pear"), r#"["pear"]"#);
        assert_eq!(wire(42u64), "[42]");
        assert_eq!(wire(-1.5f64), "[-1.5]");
        assert_eq!(wire(true), "[true]");
        assert_eq!(wire('x'), r#"["x"]"#);
        assert_eq!(wire(None::<u32>), "[null]");
        assert_eq!(wire(Some(3u32)), "[3]");
        assert_eq!(wire(Some((1u8, 2u8))), "[[1,2]]");
        assert_eq!(wire(vec![1u8, 2u8]), "[[1,2]]");
        assert_eq!(wire(Vec::<u8>::new()), "[[]]");
        assert_eq!(wire(&[1u8, 2u8][..]), "[[1,2]]");
        assert_eq!(wire(BTreeMap::from([("a", 1u8)])), r#"[{"a":1}]"#);
        assert_eq!(wire(Point { x: 1, y: -2 }), r#"[{"x":1,"y":-2}]"#);
        assert_eq!(wire(Meters(2.5)), "[2.5]");
        assert_eq!(wire(Pair(1, 2)), "[[1,2]]");
        assert_eq!(wire(Marker), "[null]");
        assert_eq!(wire(Shape::Dot), r#"["Dot"]"#);
        assert_eq!(wire(Shape::Circle(1.0)), r#"[{"Circle":1.0}]"#);
        assert_eq!(wire(Shape::Line(1, 2)), r#"[{"Line":[1,2]}]"#);
        assert_eq!(wire(Box::new(5u8)), "[5]");
    }

    #[test]
    fn a_value_that_cannot_be_encoded_fails() {
        // JSON map keys must be strings: serde_json refuses, and so does the encoding.
        assert!(encode_args(&BTreeMap::from([((1u8, 2u8), 3u8)])).is_err());
    }
}
