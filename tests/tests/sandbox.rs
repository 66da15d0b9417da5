//! Containers reach nothing of the machine: no files, no environment, no network.

use fnhost_tests::calls_app;

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
