//! A `wasi:cli` command for the sandbox tests, a few tools in one: `tool echo ARGS...`,
//! `tool cat` (stdin to stdout, as it comes), `tool read PATH`, `tool write PATH TEXT`, `tool env NAME`,
//! `tool exit CODE`, `tool spin` (computes forever).

use std::io::{Read, Write};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rest = args.get(2..).unwrap_or_default();
    match args.get(1).map(String::as_str) {
        Some("echo") => println!("{}", rest.join(" ")),
        Some("cat") => {
            // Piece by piece, as it comes: a reader sees each line before stdin ends.
            let (mut input, mut output) = (std::io::stdin().lock(), std::io::stdout().lock());
            let mut piece = [0u8; 4096];
            loop {
                let read = input.read(&mut piece).expect("stdin reads");
                if read == 0 {
                    break;
                }
                output.write_all(&piece[..read]).expect("stdout writes");
                output.flush().expect("stdout flushes");
            }
        }
        Some("read") => match std::fs::read_to_string(&rest[0]) {
            Ok(text) => print!("{text}"),
            Err(error) => {
                eprintln!("cannot read {}: {error}", rest[0]);
                std::process::exit(1);
            }
        },
        Some("write") => std::fs::write(&rest[0], &rest[1]).expect("the file writes"),
        Some("env") => println!("{}", std::env::var(&rest[0]).unwrap_or_default()),
        Some("exit") => std::process::exit(rest[0].parse().expect("a code")),
        Some("spin") => {
            let mut n: u64 = 0;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        _ => {
            eprintln!("usage: tool echo|cat|read|write|env|exit|spin ...");
            std::process::exit(2);
        }
    }
}
