//! The wire form of a call's arguments, one rule for every caller (the host library, the Rust
//! guest SDK's handles, `fnhost call`): arguments are a JSON array, one element per parameter,
//! and callers write them as one value — `()` for none, a tuple for several, the value itself
//! for one. A Rust tuple (or `()`) is therefore the argument list, and any other value the one
//! argument, wrapped in a one-element array.
//!
//! Which one a value is, is told by how serde serializes it (a probe serializer that stops at
//! the first method the value calls), never by looking at the JSON: a `Vec` and a tuple both
//! become arrays there. serde writes fixed-size arrays as tuples, so they count as argument
//! lists too. The one ambiguity, a single parameter whose type is itself a tuple, is written
//! `((a, b),)`; `#[function]` handles always pass a tuple of their parameters, so they never
//! meet it.

pub mod payload;

use serde::Serialize;
use serde::ser::{Impossible, Serializer};
use std::fmt;

/// Encodes `args` as the JSON array of a call's arguments.
pub fn encode_args<A: Serialize + ?Sized>(args: &A) -> serde_json::Result<Vec<u8>> {
    match args.serialize(Probe) {
        Err(Shape::Unit) => Ok(b"[]".to_vec()),
        Err(Shape::Tuple) => serde_json::to_vec(args),
        // A value that failed to serialize fails again here, with serde_json's message.
        Err(Shape::Other) | Ok(()) => serde_json::to_vec(&[args]),
    }
}

/// What a value serializes as at its top level.
#[derive(Debug)]
enum Shape {
    /// `()`: no arguments.
    Unit,
    /// A tuple: the list of arguments.
    Tuple,
    /// Anything else: one argument.
    Other,
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for Shape {}

impl serde::ser::Error for Shape {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Shape::Other
    }
}

/// Stops at the first thing a value serializes, reporting its [`Shape`] as an "error".
struct Probe;

macro_rules! single {
    ($($method:ident($($ty:ty),*);)*) => {
        $(fn $method(self, $(_: $ty),*) -> Result<(), Shape> {
            Err(Shape::Other)
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
        Err(Shape::Other)
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<(), Shape> {
        Err(Shape::Other)
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Shape> {
        Err(Shape::Other)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Shape> {
        Err(Shape::Other)
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Shape> {
        Err(Shape::Tuple)
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Shape> {
        Err(Shape::Other)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Shape> {
        Err(Shape::Other)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Shape> {
        Err(Shape::Other)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Shape> {
        Err(Shape::Other)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Shape> {
        Err(Shape::Other)
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
