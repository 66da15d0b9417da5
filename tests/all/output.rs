//! Guest output reaches the app's output sink as whole lines, each tagged with the container it
//! came from (`function#N`, the label `StdioSink` prefixes with), a partial last line included
//! once its container ends;
//! a panic's report starts with its first real line.

use fnhost::{App, OutputSink, Stream, prefixed};
use fnhost_tests::{eventually, guest};
use std::sync::{Arc, Mutex};

/// Every line the app's containers wrote, with their container and stream.
#[derive(Default)]
struct Lines(Mutex<Vec<(String, Stream, String)>>);

impl Lines {
    fn of(&self, stream: Stream) -> Vec<(String, String)> {
        let lines = self.0.lock().unwrap();
        lines
            .iter()
            .filter(|(_, on, _)| *on == stream)
            .map(|(container, _, line)| (container.clone(), line.clone()))
            .collect()
    }
}

impl OutputSink for Lines {
    fn line(&self, container: &str, stream: Stream, line: &[u8]) {
        let line = String::from_utf8_lossy(line).into_owned();
        self.0
            .lock()
            .unwrap()
            .push((container.to_owned(), stream, line));
    }

    fn program(&self, stream: Stream, bytes: &[u8]) {
        self.line("", stream, bytes);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn container_output_arrives_as_lines_labelled_by_container() {
    let lines = Arc::new(Lines::default());
    let app = App::builder()
        .output(lines.clone())
        .load([guest("tests/guests/calls")])
        .await
        .unwrap();
    let say = app.function("say").unwrap();
    let said: usize = say
        .remote((vec!["one", "", "three"], "no newline"))
        .await
        .unwrap();
    assert_eq!(said, 3);
    let stdout = lines.of(Stream::Stdout);
    let label = &stdout[0].0;
    assert!(label.starts_with("say#"), "{label}");
    let texts: Vec<&str> = stdout.iter().map(|(_, line)| line.as_str()).collect();
    assert_eq!(texts, ["one", "", "three"]);
    assert!(stdout.iter().all(|(container, _)| container == label));
    assert_eq!(
        prefixed(label, b"one"),
        format!("[{label}] one\n").into_bytes(),
        "how the default sink writes it"
    );

    // A panic's report: its first line is the report's, not an empty one.
    let boom = app.function("boom").unwrap();
    assert!(boom.remote::<u32>("kaboom").await.is_err());
    // The partial line reaches the sink when its stream closes: when the container ends, here
    // because the app goes away.
    drop((say, boom, app));
    eventually("the partial line and the panic report arrive", || {
        let stderr = lines.of(Stream::Stderr);
        stderr.iter().any(|(_, line)| line == "no newline")
            && stderr.iter().any(|(_, line)| line == "kaboom")
    })
    .await;
    let stderr = lines.of(Stream::Stderr);
    let report: Vec<&str> = stderr
        .iter()
        .filter(|(container, _)| container.starts_with("boom#"))
        .map(|(_, line)| line.as_str())
        .collect();
    assert!(report[0].starts_with("panicked at"), "{report:?}");
    assert!(report.contains(&"kaboom"), "{report:?}");
    assert!(
        stderr
            .iter()
            .any(|(container, line)| container == label && line == "no newline"),
        "{stderr:?}"
    );
}
