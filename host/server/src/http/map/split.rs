//! Cutting a streamed `/map` body into its inputs as the bytes come: the elements of a JSON
//! array, or the lines of NDJSON.
//!
//! Invariants: each byte is looked at once (the splitter keeps only the input it is in, never
//! rescans), and an input is at most `max_input` bytes, so a body of any size costs one
//! input's memory. An input is handed over as its raw bytes; whether it is JSON is for the
//! caller to find out, input by input. What breaks the body's own framing (an array that does
//! not start with `[`, an empty element, text after the closing `]`) is fatal: nothing after
//! it can be numbered.

/// The framing of a `/map` body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// `application/json`: one array of inputs.
    Array,
    /// `application/x-ndjson`: one input per line (blank lines skipped).
    Lines,
}

/// Where the splitter is in an array body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Before the opening `[`.
    Before,
    /// Inside the array.
    Inside,
    /// After the closing `]`.
    After,
}

/// A body's splitter.
pub(crate) struct Splitter {
    framing: Framing,
    max_input: usize,
    place: Place,
    /// The input being read.
    input: Vec<u8>,
    /// Brackets and braces open inside the input.
    depth: usize,
    in_string: bool,
    escaped: bool,
    /// Inputs handed over (to number them in errors).
    count: usize,
    /// The last separator seen was a comma (so a `]` must follow an element).
    after_comma: bool,
}

impl Splitter {
    /// A splitter for `framing`, refusing inputs over `max_input` bytes.
    pub(crate) fn new(framing: Framing, max_input: usize) -> Splitter {
        Splitter {
            framing,
            max_input,
            place: Place::Before,
            input: Vec::new(),
            depth: 0,
            in_string: false,
            escaped: false,
            count: 0,
            after_comma: false,
        }
    }

    /// Takes the next bytes of the body; pushes the inputs they complete to `inputs`. An
    /// error is fatal.
    pub(crate) fn feed(&mut self, bytes: &[u8], inputs: &mut Vec<Vec<u8>>) -> Result<(), String> {
        match self.framing {
            Framing::Lines => self.feed_lines(bytes, inputs),
            Framing::Array => bytes
                .iter()
                .try_for_each(|&byte| self.feed_array(byte, inputs)),
        }
    }

    /// The body ended: the last input, if one is left. An error is fatal.
    pub(crate) fn finish(&mut self) -> Result<Option<Vec<u8>>, String> {
        match self.framing {
            Framing::Lines => Ok(self.take_line()),
            Framing::Array => match self.place {
                Place::After => Ok(None),
                Place::Before => Err("the body must be a JSON array of inputs".into()),
                Place::Inside => Err("the array of inputs is not closed".into()),
            },
        }
    }

    fn feed_lines(&mut self, mut bytes: &[u8], inputs: &mut Vec<Vec<u8>>) -> Result<(), String> {
        while let Some(end) = bytes.iter().position(|&b| b == b'\n') {
            self.grow(&bytes[..end])?;
            inputs.extend(self.take_line());
            bytes = &bytes[end + 1..];
        }
        self.grow(bytes)
    }

    /// The line read, unless blank.
    fn take_line(&mut self) -> Option<Vec<u8>> {
        let line = std::mem::take(&mut self.input);
        if line.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        self.count += 1;
        Some(line)
    }

    fn grow(&mut self, bytes: &[u8]) -> Result<(), String> {
        if self.input.len() + bytes.len() > self.max_input {
            return Err(format!(
                "input {} is over the cap of {} bytes",
                self.count + 1,
                self.max_input
            ));
        }
        self.input.extend_from_slice(bytes);
        Ok(())
    }

    fn feed_array(&mut self, byte: u8, inputs: &mut Vec<Vec<u8>>) -> Result<(), String> {
        match self.place {
            Place::Before => match byte {
                b'[' => {
                    self.place = Place::Inside;
                    Ok(())
                }
                byte if byte.is_ascii_whitespace() => Ok(()),
                _ => Err("the body must be a JSON array of inputs".into()),
            },
            Place::After if byte.is_ascii_whitespace() => Ok(()),
            Place::After => Err("text after the array of inputs".into()),
            Place::Inside => self.inside(byte, inputs),
        }
    }

    fn inside(&mut self, byte: u8, inputs: &mut Vec<Vec<u8>>) -> Result<(), String> {
        if self.in_string {
            if self.escaped {
                self.escaped = false;
            } else if byte == b'\\' {
                self.escaped = true;
            } else if byte == b'"' {
                self.in_string = false;
            }
            return self.grow(&[byte]);
        }
        match byte {
            b'"' => self.in_string = true,
            b'[' | b'{' => self.depth += 1,
            b']' | b'}' if self.depth > 0 => self.depth -= 1,
            b',' if self.depth == 0 => {
                let input = self.take_element()?;
                inputs.push(input);
                self.after_comma = true;
                return Ok(());
            }
            b']' => {
                self.place = Place::After;
                if self.after_comma || !self.input.iter().all(u8::is_ascii_whitespace) {
                    let input = self.take_element()?;
                    inputs.push(input);
                }
                return Ok(());
            }
            _ => {}
        }
        if byte.is_ascii_whitespace() && self.input.is_empty() {
            return Ok(());
        }
        self.grow(&[byte])
    }

    /// The element read, which must not be empty.
    fn take_element(&mut self) -> Result<Vec<u8>, String> {
        let element = std::mem::take(&mut self.input);
        self.after_comma = false;
        if element.iter().all(u8::is_ascii_whitespace) {
            return Err(format!("input {} of the array is empty", self.count + 1));
        }
        self.count += 1;
        Ok(element)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The inputs of `body` fed in pieces of `piece` bytes, as text.
    fn split(framing: Framing, body: &str, piece: usize) -> Result<Vec<String>, String> {
        let mut splitter = Splitter::new(framing, 64);
        let mut inputs = Vec::new();
        for chunk in body.as_bytes().chunks(piece.max(1)) {
            splitter.feed(chunk, &mut inputs)?;
        }
        inputs.extend(splitter.finish()?);
        Ok(inputs
            .into_iter()
            .map(|input| String::from_utf8(input).unwrap().trim().to_owned())
            .collect())
    }

    #[test]
    fn arrays_split_at_their_top_level_commas() {
        for piece in [1, 2, 3, 100] {
            let body = r#" [1, "a,]\"[", [2, [3]], {"k": [4, "}"]}, null ] "#;
            assert_eq!(
                split(Framing::Array, body, piece).unwrap(),
                ["1", r#""a,]\"[""#, "[2, [3]]", r#"{"k": [4, "}"]}"#, "null"]
            );
        }
        assert!(split(Framing::Array, "[]", 1).unwrap().is_empty());
        assert!(split(Framing::Array, " [ ] ", 1).unwrap().is_empty());
    }

    #[test]
    fn broken_framing_is_fatal() {
        for body in [
            "", "{}", "1", "[1,]", "[,1]", "[1,,2]", "[1", "[1] 2", "[1]]",
        ] {
            assert!(split(Framing::Array, body, 1).is_err(), "{body:?}");
        }
    }

    #[test]
    fn lines_skip_blanks_and_keep_the_last_unterminated_one() {
        assert_eq!(
            split(Framing::Lines, "1\n\n [2]\r\n\"x\"", 2).unwrap(),
            ["1", "[2]", "\"x\""]
        );
    }

    #[test]
    fn inputs_past_the_cap_are_fatal() {
        let long = format!("[\"{}\"]", "x".repeat(100));
        assert!(split(Framing::Array, &long, 7).is_err());
        assert!(split(Framing::Lines, &"x".repeat(100), 7).is_err());
    }

    proptest! {
        /// Any array of JSON values splits into its elements, however the body is cut.
        #[test]
        fn any_array_splits_into_its_elements(
            values in proptest::collection::vec(any::<(i32, String, bool)>(), 0..8),
            piece in 1usize..20,
        ) {
            let values: Vec<serde_json::Value> = values
                .into_iter()
                .map(|(n, s, nested)| if nested { serde_json::json!([n, {"s": s}]) } else { serde_json::json!(s) })
                .filter(|value| value.to_string().len() <= 64)
                .collect();
            let body = serde_json::to_string(&values).unwrap();
            let inputs = split(Framing::Array, &body, piece).unwrap();
            let parsed: Vec<serde_json::Value> = inputs
                .iter()
                .map(|input| serde_json::from_str(input).unwrap())
                .collect();
            prop_assert_eq!(parsed, values);
        }
    }
}
