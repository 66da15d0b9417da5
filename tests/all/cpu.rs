//! CPU budgets: a container that computes past its `cpu` budget is paused; one without a
//! budget never is.

use fnhost::FunctionOptions;
use fnhost_tests::{calls_app, calls_app_with};

#[tokio::test(flavor = "multi_thread")]
async fn a_container_over_its_cpu_budget_is_paused() {
    // `burn` declares a quarter of a core; computing for 600 ms spends its 100 ms burst and
    // then has to wait for its budget.
    let app = calls_app().await;
    let burn = app.function("burn").unwrap();
    assert_eq!(burn.info().config.cpu_millicores(), Some(250));
    let rounds: u64 = burn.remote((600,)).await.unwrap();
    assert!(rounds > 0);
    let throttles = burn.stats().cpu_throttles;
    assert!(throttles > 0, "never paused");

    // Overridden to no limit for this run, the same work is never paused.
    let unlimited = FunctionOptions {
        cpu: Some(0.0),
        ..FunctionOptions::default()
    };
    let app = calls_app_with("burn", unlimited).await;
    let burn = app.function("burn").unwrap();
    assert_eq!(burn.info().config.cpu_millicores(), None);
    let _: u64 = burn.remote((600,)).await.unwrap();
    assert_eq!(burn.stats().cpu_throttles, 0);
}
