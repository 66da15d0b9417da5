//! Containers reach nothing of the machine unless the operator grants it: no files, no
//! environment, no network by default; granted directories (read-write or read-only) and
//! environment variables when asked for.

use fnhost::{App, Error, LoadError};
use fnhost_tests::{calls_app, guest};

#[tokio::test(flavor = "multi_thread")]
async fn a_container_has_no_filesystem_environment_or_network() {
    // The test process has environment variables and /etc; the guest must see none of them.
    assert!(std::env::vars().count() > 0);
    let app = calls_app().await;
    let probe: Vec<String> = app
        .function("sandbox_probe")
        .unwrap()
        .remote(())
        .await
        .unwrap();
    let [file, dir, env, socket] = probe.as_slice() else {
        panic!("unexpected probe {probe:?}");
    };
    assert!(file.starts_with("file: denied"), "{file}");
    assert!(dir.starts_with("dir: denied"), "{dir}");
    assert_eq!(env, "env: 0 variables");
    assert!(socket.starts_with("socket: denied"), "{socket}");
}

#[tokio::test(flavor = "multi_thread")]
async fn granted_directories_and_variables_are_all_a_container_reaches() {
    let root = std::env::temp_dir().join(format!("fnhost-grants-{}", std::process::id()));
    let (data, docs) = (root.join("data"), root.join("docs"));
    std::fs::create_dir_all(&data).unwrap();
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(docs.join("readme.txt"), "read me").unwrap();

    let app = App::builder()
        .dir(&data, "/data", false)
        .dir(&docs, "/docs", true)
        .env("GREETING", "hello")
        .load([guest("tests/guests/calls")])
        .await
        .unwrap();
    let read = app.function("read_file").unwrap();
    let write = app.function("write_file").unwrap();
    let env = app.function("env_var").unwrap();

    // `read_file` and `write_file` return `Result<_, String>`: an `Err` reaches us as a user
    // error carrying the guest's I/O error.
    write
        .remote::<()>(("/data/out.txt", "from the guest"))
        .await
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(data.join("out.txt")).unwrap(),
        "from the guest"
    );
    let text: String = read.remote(("/docs/readme.txt",)).await.unwrap();
    assert_eq!(text, "read me");
    let refused = write.remote::<()>(("/docs/new.txt", "no")).await;
    assert!(
        matches!(refused, Err(Error::User(_))),
        "a read-only grant took a write"
    );
    assert!(!docs.join("new.txt").exists());
    let outside = read.remote::<String>(("/etc/hostname",)).await;
    assert!(
        matches!(outside, Err(Error::User(_))),
        "read outside the grants: {outside:?}"
    );
    let greeting: Option<String> = env.remote(("GREETING",)).await.unwrap();
    assert_eq!(greeting.as_deref(), Some("hello"));
    let home: Option<String> = env.remote(("HOME",)).await.unwrap();
    assert_eq!(home, None, "only granted variables");

    // Without the grants, the same app reaches none of it.
    let app = calls_app().await;
    let text = app
        .function("read_file")
        .unwrap()
        .remote::<String>(("/docs/readme.txt",))
        .await;
    assert!(matches!(text, Err(Error::User(_))), "{text:?}");

    // A grant of a directory that does not exist fails the load.
    let error = App::builder()
        .dir(root.join("missing"), "/missing", false)
        .load([guest("tests/guests/calls")])
        .await
        .err()
        .expect("a missing directory fails");
    assert!(matches!(error, LoadError::Grant { .. }), "{error}");
    std::fs::remove_dir_all(&root).unwrap();
}
