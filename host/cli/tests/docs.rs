//! The docs say what is true. In README.md and every page of docs/:
//! - every relative link leads to a file, and its `#anchor` to a heading of that page;
//! - a code block marked `<!-- quote: PATH -->` is in the file at PATH (each of its
//!   paragraphs, in order);
//! - a block marked `<!-- runs -->` is a console session whose commands, run by `sh` from the
//!   repository's root with this build's `fnhost` first on the PATH, print what it shows
//!   (stdout and stderr, in order, without the status lines of a build).
//!
//! Without it the README's examples drift from the code they show (the README's Rust example
//! had, before this test).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository's root.
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
}

/// README.md and every page of docs/, with their text.
fn pages() -> Vec<(PathBuf, String)> {
    let mut paths = vec![root().join("README.md")];
    for entry in std::fs::read_dir(root().join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|extension| extension == "md") {
            paths.push(path);
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            (path, text)
        })
        .collect()
}

/// A fenced code block of a page.
struct Block {
    /// Its line in the page (the opening fence), from 1.
    line: usize,
    /// The HTML comment on the line before the fence, if any (`quote: PATH`, `runs`).
    marker: Option<String>,
    lines: Vec<String>,
}

/// The code blocks of `text`, and its other lines (with their numbers).
fn split(text: &str) -> (Vec<Block>, Vec<(usize, &str)>) {
    let mut blocks = Vec::new();
    let mut prose = Vec::new();
    let mut open: Option<Block> = None;
    let mut previous = "";
    for (index, line) in text.lines().enumerate() {
        match open.take() {
            Some(block) if line.starts_with("```") => blocks.push(block),
            Some(mut block) => {
                block.lines.push(line.to_owned());
                open = Some(block);
            }
            None if line.starts_with("```") => {
                let marker = previous
                    .strip_prefix("<!-- ")
                    .and_then(|rest| rest.strip_suffix(" -->"))
                    .map(str::to_owned);
                open = Some(Block {
                    line: index + 1,
                    marker,
                    lines: Vec::new(),
                });
            }
            None => prose.push((index + 1, line)),
        }
        previous = line;
    }
    assert!(open.is_none(), "a code block is not closed");
    (blocks, prose)
}

/// A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces as `-`.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of the page at `path`.
fn anchors(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let (_, prose) = split(&text);
    prose
        .iter()
        .filter(|(_, line)| line.starts_with('#'))
        .map(|(_, line)| anchor(line.trim_start_matches('#')))
        .collect()
}

/// The targets of the Markdown links of `line`: `[text](target)`.
fn link_targets(line: &str) -> Vec<&str> {
    line.match_indices("](")
        .filter_map(|(at, _)| {
            let rest = &line[at + 2..];
            rest.find(')').map(|end| &rest[..end])
        })
        .collect()
}

#[test]
fn every_link_of_the_docs_resolves() {
    let mut broken = Vec::new();
    for (page, text) in pages() {
        let (_, prose) = split(&text);
        for (number, line) in prose {
            for target in link_targets(line) {
                if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                let (file, fragment) = target.split_once('#').unwrap_or((target, ""));
                let file = match file {
                    "" => page.clone(),
                    file => page.parent().unwrap().join(file),
                };
                let place = format!("{}:{number}: {target}", page.display());
                if !file.exists() {
                    broken.push(format!("{place} (no such file)"));
                } else if !fragment.is_empty()
                    && file.extension().is_some_and(|extension| extension == "md")
                    && !anchors(&file).iter().any(|anchor| anchor == fragment)
                {
                    broken.push(format!("{place} (no such heading)"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn quoted_code_is_in_the_file_it_quotes() {
    let mut quotes = 0;
    for (page, text) in pages() {
        let (blocks, _) = split(&text);
        for block in blocks {
            let Some(quoted) = block
                .marker
                .as_deref()
                .and_then(|m| m.strip_prefix("quote: "))
            else {
                continue;
            };
            let source = std::fs::read_to_string(page.parent().unwrap().join(quoted))
                .unwrap_or_else(|error| panic!("{}: {quoted}: {error}", page.display()));
            let mut rest = source.as_str();
            for paragraph in block.lines.join("\n").split("\n\n") {
                let paragraph = paragraph.trim_matches('\n');
                let at = rest.find(paragraph).unwrap_or_else(|| {
                    panic!(
                        "{}:{}: not in {quoted} (in this order):\n{paragraph}",
                        page.display(),
                        block.line
                    )
                });
                rest = &rest[at + paragraph.len()..];
            }
            quotes += 1;
        }
    }
    assert!(
        quotes >= 4,
        "only {quotes} quotes found: the markers were lost"
    );
}

/// One command of a console session and what it prints.
struct Step {
    command: String,
    expected: Vec<String>,
}

/// The steps of a console session: `$ ` starts a command, `> ` continues it, other lines are
/// what it prints.
fn steps(lines: &[String]) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    for line in lines {
        if let Some(command) = line.strip_prefix("$ ") {
            steps.push(Step {
                command: command.to_owned(),
                expected: Vec::new(),
            });
        } else {
            let step = steps.last_mut().expect("a session starts with `$ `");
            match line.strip_prefix("> ") {
                Some(more) => {
                    step.command.push('\n');
                    step.command.push_str(more);
                }
                None => step.expected.push(line.trim_end().to_owned()),
            }
        }
    }
    steps
}

/// Whether `line` is a build's status, which a session leaves out: one of cargo's (`
/// Compiling x`, `    Finished ...`) while `fnhost` builds a crate, or fnhost's own `building
/// app.py with componentize-py (...)` the first time it builds a Python app.
fn is_build_status(line: &str) -> bool {
    if line.starts_with("building ") && line.contains(" with componentize-py (") {
        return true;
    }
    const STATUSES: [&str; 8] = [
        "Compiling",
        "Finished",
        "Blocking",
        "Updating",
        "Locking",
        "Adding",
        "Downloading",
        "Downloaded",
    ];
    line.starts_with(' ')
        && STATUSES
            .iter()
            .any(|status| line.trim_start().starts_with(&format!("{status} ")))
}

#[test]
fn the_sessions_the_docs_show_print_what_they_show() {
    let binaries = Path::new(env!("CARGO_BIN_EXE_fnhost")).parent().unwrap();
    let path = std::env::join_paths(
        std::iter::once(binaries.to_path_buf())
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let mut sessions = 0;
    for (page, text) in pages() {
        let (blocks, _) = split(&text);
        for block in blocks
            .iter()
            .filter(|b| b.marker.as_deref() == Some("runs"))
        {
            for step in steps(&block.lines) {
                let output = Command::new("sh")
                    .arg("-c")
                    .arg(format!("exec 2>&1\n{}", step.command))
                    .current_dir(root())
                    .env("PATH", &path)
                    .env_remove("FNHOST_URL")
                    .env_remove("FNHOST_TOKEN")
                    .output()
                    .expect("sh runs");
                let printed: Vec<String> = String::from_utf8_lossy(&output.stdout)
                    .lines()
                    .filter(|line| !is_build_status(line))
                    .map(|line| line.trim_end().to_owned())
                    .collect();
                assert_eq!(
                    printed,
                    step.expected,
                    "{}:{}: `{}` printed otherwise",
                    page.display(),
                    block.line,
                    step.command
                );
            }
            sessions += 1;
        }
    }
    assert!(
        sessions >= 4,
        "only {sessions} sessions found: the markers were lost"
    );
}
