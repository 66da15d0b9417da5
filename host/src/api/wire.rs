//! Arguments and results on the wire: arguments are a JSON array, one element per parameter;
//! a result is the JSON value of what the body returned.
//!
//! Callers write arguments the way the README states for every caller, host or guest: `()` for
//! none, a tuple for several, the value itself for one. A Rust tuple (or `()`) is therefore the
//! argument list, and any other value the one argument, wrapped in a one-element array. Which
//! one a value is, is told by how serde serializes it (a small probe serializer), never by
//! looking at the JSON: a `Vec` and a tuple both become arrays there. The one ambiguity, a
//! single parameter whose type is itself a tuple, is written `((a, b),)`.

use crate::Error;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde::ser::{Impossible, Serializer};
use std::fmt;

/// Encodes `args` as the JSON array of a call's arguments.
pub(crate) fn encode_args(args: &impl Serialize) -> Result<Vec<u8>, Error> {
    let encoded = match args.serialize(Probe) {
        Err(Shape::Unit) => return Ok(b"[]".to_vec()),
        Err(Shape::Tuple) => serde_json::to_vec(args),
        Err(Shape::Single) | Ok(()) => serde_json::to_vec(&(args,)),
    };
    encoded.map_err(|error| Error::Payload(format!("cannot encode the arguments: {error}")))
}

/// Decodes a result.
pub(crate) fn decode<R: DeserializeOwned>(payload: &[u8]) -> Result<R, Error> {
    serde_json::from_slice(payload)
        .map_err(|error| Error::Payload(format!("cannot decode the result: {error}")))
}

/// What a value serializes as at its top level.
#[derive(Debug)]
enum Shape {
    Unit,
    Tuple,
    Single,
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for Shape {}

impl serde::ser::Error for Shape {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Shape::Single
    }
}

/// Stops at the first thing a value serializes, reporting its [`Shape`] as an "error".
struct Probe;

macro_rules! single {
    ($($method:ident($($ty:ty),*);)*) => {
        $(fn $method(self, $(_: $ty),*) -> Result<(), Shape> {
            Err(Shape::Single)
        })*
    };
}

impl Serializer for Probe {
    type Ok = ();
    type Error = Shape;
    type SerializeSeq = Impossible<(), Shape>;
    type SerializeTuple = Impossible<(), Shape>;
    type SerializeTupleStruct = Impossible<(), Shape>;
    type SerializeTupleVariant = Impossible<(), Shape>;
    type SerializeMap = Impossible<(), Shape>;
    type SerializeStruct = Impossible<(), Shape>;
    type SerializeStructVariant = Impossible<(), Shape>;

    single! {
        serialize_bool(bool); serialize_i8(i8); serialize_i16(i16); serialize_i32(i32);
        serialize_i64(i64); serialize_u8(u8); serialize_u16(u16); serialize_u32(u32);
        serialize_u64(u64); serialize_f32(f32); serialize_f64(f64); serialize_char(char);
        serialize_str(&str); serialize_bytes(&[u8]); serialize_none();
        serialize_unit_struct(&'static str);
        serialize_unit_variant(&'static str, u32, &'static str);
    }

    fn serialize_unit(self) -> Result<(), Shape> {
        Err(Shape::Unit)
    }

    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<(), Shape> {
        Err(Shape::Single)
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<(), Shape> {
        Err(Shape::Single)
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Shape> {
        Err(Shape::Single)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Shape> {
        Err(Shape::Single)
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Shape> {
        Err(Shape::Tuple)
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Shape> {
        Err(Shape::Single)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Shape> {
        Err(Shape::Single)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Shape> {
        Err(Shape::Single)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Shape> {
        Err(Shape::Single)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Shape> {
        Err(Shape::Single)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(args: impl Serialize) -> String {
        String::from_utf8(encode_args(&args).unwrap()).unwrap()
    }

    #[test]
    fn tuples_are_the_argument_list_and_anything_else_is_the_one_argument() {
        assert_eq!(wire(()), "[]");
        assert_eq!(wire((1,)), "[1]");
        assert_eq!(wire((2, "three")), r#"[2,"three"]"#);
        assert_eq!(wire("pear"), r#"["pear"]"#);
        assert_eq!(wire(7u64), "[7]");
        assert_eq!(wire(vec![1, 2]), "[[1,2]]");
        assert_eq!(wire(None::<u32>), "[null]");
        assert_eq!(wire(((1, 2),)), "[[1,2]]");
    }
}
