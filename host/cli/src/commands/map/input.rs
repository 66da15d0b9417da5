//! `fnhost map`'s inputs: the lines of stdin or a file, read as they come.
//!
//! Invariant: every non-blank line is one input, yielded in order as soon as it is read, and
//! none is held past [`LINE_LIMIT`] bytes: a longer line becomes [`Input::TooLong`] (its
//! bytes are skipped, not kept), so an endless line costs bounded memory. A read error is
//! yielded once and ends the inputs.

use anyhow::Context;
use fnhost::MAX_PAYLOAD;
use futures::Stream;
use std::path::Path;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, BufReader};

/// The longest input line: the payload limit, and room for whitespace around the value.
pub(super) const LINE_LIMIT: usize = MAX_PAYLOAD + (64 << 10);

/// Where inputs are read from.
pub(super) type Reader = Box<dyn AsyncRead + Send + Unpin>;

/// One input.
pub(super) enum Input {
    /// The input's JSON text (not yet parsed).
    Json(Vec<u8>),
    /// An input line longer than [`LINE_LIMIT`]; `line` is its line number, from 1.
    TooLong {
        /// The line's number, from 1.
        line: u64,
    },
}

/// The reader of `path` (`-` or none: stdin).
pub(super) async fn open(path: Option<&Path>) -> anyhow::Result<Reader> {
    match path {
        Some(path) if path != Path::new("-") => {
            let file = tokio::fs::File::open(path)
                .await
                .with_context(|| format!("--input {}", path.display()))?;
            Ok(Box::new(file))
        }
        _ => Ok(Box::new(tokio::io::stdin())),
    }
}

/// How many inputs the file at `path` holds, when it is a regular file (not stdin, a pipe or
/// a device, which cannot be read twice); read once through before the inputs are.
pub(super) async fn count(path: Option<&Path>) -> anyhow::Result<Option<u64>> {
    let Some(path) = path.filter(|path| *path != Path::new("-")) else {
        return Ok(None);
    };
    let regular = tokio::fs::metadata(path)
        .await
        .is_ok_and(|metadata| metadata.is_file());
    if !regular {
        return Ok(None);
    }
    let mut reader = BufReader::new(open(Some(path)).await?);
    let mut count = 0;
    while let Some(line) = next_line(&mut reader).await? {
        if !matches!(line, Line::Blank) {
            count += 1;
        }
    }
    Ok(Some(count))
}

/// The inputs `reader` gives; see the module's invariant.
pub(super) fn inputs(reader: Reader) -> impl Stream<Item = std::io::Result<Input>> + Send {
    let state = Some((BufReader::new(reader), 0u64));
    futures::stream::unfold(state, |state| async move {
        let (mut reader, mut number) = state?;
        loop {
            number += 1;
            match next_line(&mut reader).await {
                Ok(None) => return None,
                Ok(Some(Line::Blank)) => continue,
                Ok(Some(Line::Text(text))) => {
                    return Some((Ok(Input::Json(text)), Some((reader, number))));
                }
                Ok(Some(Line::TooLong)) => {
                    let input = Input::TooLong { line: number };
                    return Some((Ok(input), Some((reader, number))));
                }
                Err(error) => return Some((Err(error), None)),
            }
        }
    })
}

/// One line read.
enum Line {
    /// A line with something but whitespace in it, without its `\n`.
    Text(Vec<u8>),
    /// A line of whitespace only.
    Blank,
    /// A line longer than [`LINE_LIMIT`].
    TooLong,
}

/// The next line of `reader`, or `None` at its end.
async fn next_line<R: AsyncBufRead + Unpin>(reader: &mut R) -> std::io::Result<Option<Line>> {
    let mut text = Vec::new();
    let mut too_long = false;
    let mut started = false;
    loop {
        let buffer = reader.fill_buf().await?;
        if buffer.is_empty() {
            return Ok(started.then(|| line(text, too_long)));
        }
        started = true;
        let newline = buffer.iter().position(|&byte| byte == b'\n');
        let part = &buffer[..newline.unwrap_or(buffer.len())];
        if !too_long {
            if text.len() + part.len() > LINE_LIMIT {
                too_long = true;
                text = Vec::new();
            } else {
                text.extend_from_slice(part);
            }
        }
        let used = newline.map_or(buffer.len(), |at| at + 1);
        reader.consume(used);
        if newline.is_some() {
            return Ok(Some(line(text, too_long)));
        }
    }
}

/// What a line read whole (`text`, unless it was `too_long`) is.
fn line(text: Vec<u8>, too_long: bool) -> Line {
    if too_long {
        Line::TooLong
    } else if text.iter().all(u8::is_ascii_whitespace) {
        Line::Blank
    } else {
        Line::Text(text)
    }
}

#[cfg(test)]
mod tests {
    use super::{Input, LINE_LIMIT, Reader, inputs};
    use futures::StreamExt;

    async fn read(bytes: Vec<u8>) -> Vec<String> {
        let reader: Reader = Box::new(std::io::Cursor::new(bytes));
        inputs(reader)
            .map(|input| match input.unwrap() {
                Input::Json(text) => String::from_utf8(text).unwrap(),
                Input::TooLong { line } => format!("too long: {line}"),
            })
            .collect()
            .await
    }

    #[tokio::test]
    async fn every_non_blank_line_is_an_input() {
        assert_eq!(
            read(b"1\n\n  \n[2, 3]\r\n\"x\"".to_vec()).await,
            ["1", "[2, 3]\r", "\"x\""]
        );
        assert!(read(Vec::new()).await.is_empty());
        assert!(read(b"\n\n".to_vec()).await.is_empty());
    }

    #[tokio::test]
    async fn a_line_past_the_limit_is_skipped_whole() {
        let mut bytes = b"1\n".to_vec();
        bytes.extend(std::iter::repeat_n(b'7', LINE_LIMIT + 10));
        bytes.extend_from_slice(b"\n2\n");
        assert_eq!(read(bytes).await, ["1", "too long: 2", "2"]);
    }
}
