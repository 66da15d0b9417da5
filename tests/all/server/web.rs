//! `/web/{app}/...`: the apps' web endpoints (`#[function(web)]`, tests/guests/web) and
//! wasi:http handlers (tests/guests/http-handler, written without the fnhost SDK), through a
//! real server and a real client.
//!
//! Endpoints: arguments from the query and the JSON body, each failure's status and JSON
//! error, a response the function sets itself, the token (needed only where an endpoint says
//! so), and how the app's summary describes them. Handlers: the path under the app's prefix,
//! headers, bodies streamed both ways (a gigabyte uploaded in bounded memory), traps and
//! timeouts (the next request is served), a client that goes away (its instance is ended),
//! instance reuse, and outgoing HTTP (denied unless the deploy grants it).
//!
//! The evidence is statuses, headers, bodies and the handler pool's counters, never timings:
//! what happens in the background is waited for with `eventually`.

use super::{LONG_MS, TestServer, client, component, expect_error, host_settings, json};
use bytes::Bytes;
use fnhost::{HANDLER_NAME, PoolStats};
use fnhost_tests::eventually;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use reqwest::header::{self, HeaderMap};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use std::convert::Infallible;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

/// The test app whose functions are web endpoints of every kind.
const WEB: &str = "tests/guests/web";
/// The wasi:http component with a route per behaviour.
const HANDLER: &str = "tests/guests/http-handler";

/// The status, headers and body text of an answer.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    /// The value of the header `name`, if there is one.
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|value| value.to_str().unwrap())
    }

    /// The body as JSON.
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|error| panic!("{}: not JSON ({error}): {:?}", self.status, self.body))
    }
}

/// Sends `request`; its answer.
async fn answer(request: RequestBuilder) -> Answer {
    let response = request.send().await.unwrap();
    Answer {
        status: response.status(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    }
}

/// `GET path` on `server`.
async fn get(server: &TestServer, path: &str) -> Answer {
    answer(server.request(Method::GET, path)).await
}

/// Checks that `answer` is `200` with the JSON `expected`, as `application/json`.
fn assert_json(answer: &Answer, expected: Value) {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert_eq!(answer.json(), expected);
}

/// The counters of the wasi:http handler's pool of the app deployed as `app`.
fn handler_stats(server: &TestServer, app: &str) -> PoolStats {
    server
        .host
        .deployed(app)
        .expect("the app is deployed")
        .http_stats()
        .expect("the app has a wasi:http handler")
}

/// Deploys tests/guests/http-handler as `app` through the API, with the deploy `settings`
/// (`allow_http`, `options`) beside its component.
async fn deploy_handler(server: &TestServer, app: &str, settings: Value) {
    let mut body = settings;
    body["components"] = json!([server.upload(&component(HANDLER)).await]);
    let (status, summary) = json(
        server
            .request(Method::PUT, &format!("/v1/apps/{app}"))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "deploy {app}: {summary}");
}

/// Builds the Python app `file` and deploys it through the API as `app`: its summary.
async fn deploy_python(server: &TestServer, app: &str, file: &str) -> Value {
    let id = server.upload(&fnhost_tests::python_guest(file)).await;
    let (status, summary) = json(
        server
            .request(Method::PUT, &format!("/v1/apps/{app}"))
            .json(&json!({ "components": [id] }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "deploy {app}: {summary}");
    summary
}

/// Deploy settings giving the handler `timeout` (as `--option incoming-handler.timeout=...`).
fn handler_timeout(timeout: &str) -> Value {
    json!({ "options": { HANDLER_NAME: { "timeout": timeout } } })
}

#[tokio::test(flavor = "multi_thread")]
async fn web_functions_take_arguments_from_the_query_and_the_json_body() {
    let server = TestServer::start().await;
    server.deploy("web", &[WEB]).await;
    assert_json(&get(&server, "/web/web/add?x=2&y=3").await, json!(5));
    // A trailing slash names the same endpoint.
    assert_json(&get(&server, "/web/web/add/?x=-2&y=3").await, json!(1));

    let greet = || server.request(Method::POST, "/web/web/greet");
    let by_name = greet().json(&json!({"name": "Ada", "excited": true}));
    assert_json(&answer(by_name).await, json!("Hello, Ada!"));
    let by_position = greet().json(&json!(["Ada", false]));
    assert_json(&answer(by_position).await, json!("Hello, Ada"));
    // Query and body together; a string parameter's query value stays a string, even one
    // that reads as JSON.
    let mixed = server
        .request(Method::POST, "/web/web/greet?name=42")
        .json(&json!({"excited": false}));
    assert_json(&answer(mixed).await, json!("Hello, 42"));

    // An async body; a query value that is JSON is taken as JSON for a parameter that is not
    // a string, and a missing `Option` is `None`.
    let echo = |query: &[(&str, &str)]| {
        server
            .request(Method::GET, "/web/web/echo")
            .query(query)
            .send()
    };
    let both = json(echo(&[("items", "[1,2]"), ("label", "x")]).await.unwrap()).await;
    assert_eq!(
        both,
        (StatusCode::OK, json!({"items": [1, 2], "label": "x"}))
    );
    let no_label = json(echo(&[("items", "[]")]).await.unwrap()).await;
    assert_eq!(
        no_label,
        (StatusCode::OK, json!({"items": [], "label": null}))
    );
}

/// Modal's `basic_web.py` endpoints, written with `@fnhost.fastapi_endpoint` in Python, over
/// real HTTP: FastAPI's binding puts the JSON body in the parameter annotated `dict` (or the
/// only unannotated one of a PUT) and the query in the others; `requires_proxy_auth` asks for
/// the server's token.
#[tokio::test(flavor = "multi_thread")]
async fn python_fastapi_endpoints_bind_the_body_as_fastapi_does() {
    let token = "web-s3cret";
    let server = TestServer::start_with(host_settings(), |settings| {
        settings.token = Some(token.into());
    })
    .await;
    deploy_python(&server, "py-web", "tests/guests-py/web/app.py").await;
    let anonymous = client(None);
    let send = |method: Method, path: &str| anonymous.request(method, server.url(path));
    assert_json(
        &answer(send(Method::GET, "/web/py-web/hello")).await,
        json!("Hello world!"),
    );
    assert_json(
        &answer(send(Method::GET, "/web/py-web/greet?user=Ada")).await,
        json!("Hello Ada!"),
    );
    let goodbye = |body: Value| answer(send(Method::POST, "/web/py-web/goodbye").json(&body));
    assert_json(
        &goodbye(json!({"name": "Ada"})).await,
        json!("Goodbye Ada!"),
    );
    assert_json(&goodbye(json!({})).await, json!("Goodbye world!"));
    let tagged = send(Method::POST, "/web/py-web/tagged?tag=x").json(&json!({"b": 1, "a": 2}));
    assert_json(
        &answer(tagged).await,
        json!({"tag": "x", "keys": ["a", "b"]}),
    );
    let echo = send(Method::PUT, "/web/py-web/echo").json(&json!([1, {"two": 2}]));
    assert_json(&answer(echo).await, json!([1, {"two": 2}]));
    let empty = send(Method::POST, "/web/py-web/goodbye")
        .send()
        .await
        .unwrap();
    let message = expect_error(empty, StatusCode::BAD_REQUEST, "bad-arguments").await;
    assert!(
        message.contains("takes the request's JSON body as `data`"),
        "{message}"
    );
    let secret = send(Method::GET, "/web/py-web/expensive_secret");
    expect_error(
        secret.send().await.unwrap(),
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    let with_token = send(Method::GET, "/web/py-web/expensive_secret").bearer_auth(token);
    assert_eq!(answer(with_token).await.status, StatusCode::OK);
}

/// Modal's `asgi_app` and `wsgi_app` (tests/guests-py/webapps): a Starlette app and a Bottle
/// app, pip-installed by the image, answer every method and path under their label, over real
/// HTTP, each built once per container; the class methods that are endpoints (Modal's
/// `basic_web.py` `WebApp`) run on the instance their `enter` set up, and answer JSON as
/// FastAPI does (datetimes in ISO 8601).
#[tokio::test(flavor = "multi_thread")]
async fn asgi_and_wsgi_apps_and_class_method_endpoints_serve_over_http() {
    let server = TestServer::start_with(host_settings(), |_| {}).await;
    let summary = deploy_python(&server, "py-webapps", "tests/guests-py/webapps/app.py").await;
    let shop = summary["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|function| function["name"] == "starlette_app")
        .unwrap();
    assert_eq!(
        shop["web"],
        json!({"method": "*", "label": "shop", "requires_auth": false, "form": "request"})
    );

    // ASGI: the path under the label, the query, the headers and the body reach Starlette,
    // which sees its root in its URLs.
    let item = answer(
        server
            .request(Method::GET, "/web/py-webapps/shop/items/7?q=tea")
            .header("x-agent", "web-test"),
    )
    .await;
    let url = server.url("/web/py-webapps/shop/items/7?q=tea");
    assert_json(
        &item,
        json!({"id": 7, "q": "tea", "url": url, "agent": "web-test", "built": 1}),
    );
    let created = answer(
        server
            .request(Method::POST, "/web/py-webapps/shop/items")
            .json(&json!({"name": "kettle"})),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.header("x-made"), Some("yes"));
    assert_eq!(created.json(), json!({"created": {"name": "kettle"}}));
    let upload = vec![b'x'; 3 << 20];
    let uploaded = answer(
        server
            .request(Method::PUT, "/web/py-webapps/shop/upload")
            .body(upload),
    )
    .await;
    assert_eq!(uploaded.body, format!("{} bytes", 3 << 20));
    let missing = get(&server, "/web/py-webapps/shop/nothing").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.body, "Not Found");
    let again = get(&server, "/web/py-webapps/shop/items/8").await;
    assert_eq!(again.json()["built"], 1, "one app per container");

    // WSGI: Bottle's routes, statuses and headers, its script name the endpoint's root.
    let home = get(&server, "/web/py-webapps/bottle_app").await;
    assert_eq!(
        (home.status, home.body.as_str()),
        (StatusCode::OK, "Hello Bottle World!")
    );
    let echoed = answer(
        server
            .request(Method::POST, "/web/py-webapps/bottle_app/echo/ada")
            .json(&json!([1, 2])),
    )
    .await;
    assert_eq!(
        echoed.json(),
        json!({"name": "ada", "json": [1, 2], "script": "/web/py-webapps/bottle_app/", "built": 1})
    );
    let teapot = get(&server, "/web/py-webapps/bottle_app/teapot").await;
    assert_eq!(teapot.status, StatusCode::IM_A_TEAPOT);
    assert_eq!(teapot.header("x-kind"), Some("green"));

    // Class methods: `enter` ran before the request; the result's datetimes are ISO 8601.
    let web = get(&server, "/web/py-webapps/WebApp.web").await;
    let times = web.json();
    let started = times["start_time"].as_str().unwrap();
    let current = times["current_time"].as_str().unwrap();
    assert!(started.ends_with("+00:00") && started <= current, "{times}");
    let greeted = answer(
        server
            .request(Method::POST, "/web/py-webapps/greet?punctuation=?")
            .json(&json!({"name": "Ada"})),
    )
    .await;
    assert_json(&greeted, json!("Hello Ada?"));
    let wrong_method = get(&server, "/web/py-webapps/greet").await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);

    // A pydantic model parameter takes the JSON body, validated into the model, as FastAPI
    // binds it (Modal's `fastapi_app.py`); the query gives the other parameters, and the
    // model comes back as JSON.
    let order = summary["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|function| function["name"] == "order")
        .unwrap();
    assert_eq!(order["web"]["body"], "item", "{order}");
    let ordered = answer(
        server
            .request(Method::POST, "/web/py-webapps/order?copies=2")
            .json(&json!({"name": "kettle"})),
    )
    .await;
    assert_json(
        &ordered,
        json!({"item": {"name": "kettle", "size": 1}, "copies": 2, "is_item": true}),
    );
    let unfit = server
        .request(Method::POST, "/web/py-webapps/order")
        .json(&json!({"name": "kettle", "size": "big"}))
        .send()
        .await
        .unwrap();
    let message = expect_error(unfit, StatusCode::BAD_REQUEST, "bad-arguments").await;
    assert!(
        message.contains("`item`") && message.contains("size"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn web_endpoint_failures_answer_their_statuses() {
    let server = TestServer::start().await;
    server.deploy("web", &[WEB]).await;
    let send = |method: Method, path: &str| server.request(method, path).send();

    let wrong_method = send(Method::GET, "/web/web/greet?name=Ada&excited=true")
        .await
        .unwrap();
    assert_eq!(wrong_method.headers()[header::ALLOW], "POST");
    expect_error(
        wrong_method,
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
    )
    .await;
    let message = expect_error(
        send(Method::GET, "/web/web/add?x=1&y=2&z=3").await.unwrap(),
        StatusCode::BAD_REQUEST,
        "bad-arguments",
    )
    .await;
    assert!(message.contains("`z`"), "{message}");
    // A value of the wrong type fails in the guest's decoding, as a call's would.
    expect_error(
        send(Method::GET, "/web/web/add?x=one&y=2").await.unwrap(),
        StatusCode::BAD_REQUEST,
        "bad-arguments",
    )
    .await;
    let message = expect_error(
        send(Method::GET, "/web/web/fail?message=no%20tea")
            .await
            .unwrap(),
        StatusCode::INTERNAL_SERVER_ERROR,
        "user",
    )
    .await;
    assert!(message.contains("no tea"), "{message}");
    expect_error(
        send(Method::GET, "/web/web/slow").await.unwrap(),
        StatusCode::GATEWAY_TIMEOUT,
        "timeout",
    )
    .await;
    expect_error(
        send(Method::GET, "/web/nosuchapp/add?x=1&y=2")
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_app_without_a_handler_answers_404_beyond_its_endpoints() {
    let server = TestServer::start().await;
    server
        .deploy("endpoints", &["examples/web-endpoints"])
        .await;
    server.deploy("hello", &["examples/hello"]).await;
    // Neither a function that is no endpoint, nor an unknown label, nor the app's root.
    for path in [
        "/web/hello/async_function",
        "/web/endpoints/nosuchlabel",
        "/web/endpoints",
        "/web/endpoints/",
    ] {
        expect_error(
            server.request(Method::GET, path).send().await.unwrap(),
            StatusCode::NOT_FOUND,
            "not-found",
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_function_returning_a_response_sets_status_headers_and_body() {
    let server = TestServer::start().await;
    server.deploy("web", &[WEB]).await;
    let brewed = get(&server, "/web/web/teapot?kind=green").await;
    assert_eq!(brewed.status, StatusCode::IM_A_TEAPOT);
    assert_eq!(brewed.header("x-kind"), Some("green"));
    assert_eq!(brewed.body, "short and stout");
    // Served under its label only: its name is a path for the app's wasi:http handler.
    let by_name = get(&server, "/web/web/brew?kind=green").await;
    assert_eq!(
        (by_name.status, by_name.body.as_str()),
        (StatusCode::OK, "fallback GET /brew?kind=green")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_token_only_endpoints_that_require_auth_need_it() {
    let token = "web-s3cret";
    let server = TestServer::start_with(host_settings(), |settings| {
        settings.token = Some(token.into());
    })
    .await;
    server.deploy("web", &[WEB]).await;
    let anonymous = client(None);
    let anonymous_get = |path: &str| answer(anonymous.get(server.url(path)));

    assert_json(&anonymous_get("/web/web/add?x=2&y=3").await, json!(5));
    let secret = anonymous.get(server.url("/web/web/secret"));
    expect_error(
        secret.send().await.unwrap(),
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    let wrong = anonymous
        .get(server.url("/web/web/secret"))
        .bearer_auth("not-the-token");
    expect_error(
        wrong.send().await.unwrap(),
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    let with_token = anonymous
        .get(server.url("/web/web/secret"))
        .bearer_auth(token);
    assert_json(&answer(with_token).await, json!("classified"));
    // The API itself still needs the token.
    assert_eq!(
        anonymous_get("/v1/apps").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wasi_http_handler_answers_every_path_under_its_apps_prefix() {
    let server = TestServer::start().await;
    server.deploy("h", &[HANDLER]).await;
    // The app's root, with or without the slash.
    for path in ["/web/h", "/web/h/"] {
        let root = get(&server, path).await;
        assert_eq!(
            (root.status, root.body.as_str()),
            (StatusCode::OK, "hello from wasi:http"),
            "{path}"
        );
        assert_eq!(root.header("content-type"), Some("text/plain"), "{path}");
    }
    let echoed = answer(
        server
            .request(Method::GET, "/web/h/headers")
            .header("x-echo", "ping"),
    )
    .await;
    assert_eq!(echoed.status, StatusCode::OK);
    assert_eq!(echoed.header("x-echo"), Some("ping"));
    assert_eq!(echoed.header("x-powered-by"), Some("http-handler"));
    // The guest's own 404, not the API's JSON error.
    let missing = get(&server, "/web/h/no/such/route").await;
    assert_eq!(
        (missing.status, missing.body.as_str()),
        (StatusCode::NOT_FOUND, "not found")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn handler_bodies_stream_both_ways() {
    let server = TestServer::start().await;
    server.deploy("h", &[HANDLER]).await;
    let streamed = get(&server, "/web/h/stream?n=64&size=16384").await;
    assert_eq!(streamed.status, StatusCode::OK);
    assert_eq!(streamed.body.len(), 64 * 16384);
    assert!(streamed.body.bytes().all(|byte| byte == b'x'));

    let upload = vec![7u8; 5 << 20];
    let counted = answer(server.request(Method::POST, "/web/h/count").body(upload)).await;
    assert_eq!(
        (counted.status, counted.body.as_str()),
        (StatusCode::OK, "5242880")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trapped_handler_answers_500_and_the_next_request_gets_a_new_instance() {
    let server = TestServer::start().await;
    server.deploy("h", &[HANDLER]).await;
    let trapped = server.request(Method::GET, "/web/h/trap").send().await;
    expect_error(
        trapped.unwrap(),
        StatusCode::INTERNAL_SERVER_ERROR,
        "trapped",
    )
    .await;
    let next = get(&server, "/web/h/").await;
    assert_eq!(
        (next.status, next.body.as_str()),
        (StatusCode::OK, "hello from wasi:http")
    );
    eventually("the trapped instance is gone", || {
        let stats = handler_stats(&server, "h");
        (stats.containers, stats.containers_started) == (1, 2)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_handlers_error_code_answers_500_naming_the_code() {
    let server = TestServer::start().await;
    server.deploy("h", &[HANDLER]).await;
    let answered = server
        .request(Method::GET, "/web/h/error-code")
        .send()
        .await;
    let message = expect_error(answered.unwrap(), StatusCode::INTERNAL_SERVER_ERROR, "user").await;
    assert!(message.contains("HttpRequestDenied"), "{message}");
    // An answer, not a trap: the instance serves the next request.
    assert_eq!(get(&server, "/web/h/").await.status, StatusCode::OK);
    assert_eq!(handler_stats(&server, "h").containers_started, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_handler_that_traps_after_its_response_started_breaks_the_response() {
    let server = TestServer::start().await;
    server.deploy("h", &[HANDLER]).await;
    let response = server
        .request(Method::GET, "/web/h/trap-midway?n=4&size=1024")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // The chunks sent before the trap may arrive; a clean end never does.
    let body = response.bytes().await;
    assert!(body.is_err(), "the response ended cleanly: {body:?}");
    let next = get(&server, "/web/h/").await;
    assert_eq!(next.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_undeployed_handler_ends_its_idle_instances_at_once() {
    let server = TestServer::start().await;
    server.deploy("h", &[HANDLER]).await;
    let answer = get(&server, "/web/h/").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(handler_stats(&server, "h").containers, 1);
    assert!(
        server.host.memory_in_use() > 0,
        "the warm instance holds memory"
    );
    let undeployed = server.request(Method::DELETE, "/v1/apps/h").send().await;
    assert_eq!(undeployed.unwrap().status(), StatusCode::NO_CONTENT);
    // Long before the scale-down window (60 s): the instance's memory is given back.
    eventually("the idle instance ends", || {
        server.host.memory_in_use() == 0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sequential_requests_reuse_a_warm_instance() {
    let server = TestServer::start().await;
    server.deploy("h", &[HANDLER]).await;
    // `/state` answers how many requests its instance has served. An instance is free again
    // only once its guest has returned, which may be just after the client read the answer, so
    // a request may now and then find none free and start another.
    let mut counts = Vec::new();
    for _ in 0..20 {
        let state = get(&server, "/web/h/state").await;
        assert_eq!(state.status, StatusCode::OK);
        counts.push(state.body.parse::<u64>().unwrap());
    }
    // Each instance's answers count 1, 2, 3, ...: as many 1s as instances started, and never
    // more answers of a count than of the count below it.
    let answered = |count: u64| counts.iter().filter(|&&c| c == count).count();
    assert_eq!(
        handler_stats(&server, "h").containers_started,
        answered(1),
        "{counts:?}"
    );
    assert!(
        (1..20).all(|count| answered(count) >= answered(count + 1)),
        "{counts:?}"
    );
    // Reuse is the rule: most requests find a warm instance.
    assert!(answered(1) < 5, "20 sequential requests: {counts:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_handler_computing_past_its_timeout_answers_504_and_the_next_request_is_served() {
    past_the_timeout("/web/h/spin").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_handler_waiting_past_its_timeout_answers_504_and_the_next_request_is_served() {
    past_the_timeout(&format!("/web/h/sleep?ms={LONG_MS}")).await;
}

/// Checks that `path` of a handler with a timeout of one second answers `504`, and that the
/// handler serves the next request.
async fn past_the_timeout(path: &str) {
    let server = TestServer::start().await;
    deploy_handler(&server, "h", handler_timeout("1s")).await;
    let (_, summary) = server.get("/v1/apps/h").await;
    assert_eq!(summary["http_handler"]["options"]["timeout"], json!(1));
    expect_error(
        server.request(Method::GET, path).send().await.unwrap(),
        StatusCode::GATEWAY_TIMEOUT,
        "timeout",
    )
    .await;
    let next = get(&server, "/web/h/").await;
    assert_eq!(
        (next.status, next.body.as_str()),
        (StatusCode::OK, "hello from wasi:http")
    );
    let stats = handler_stats(&server, "h");
    assert_eq!((stats.containers_started, stats.cancelled), (2, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_goes_away_while_its_handler_waits_ends_the_instance() {
    client_goes_away(&format!("/web/h/sleep?ms={LONG_MS}")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_goes_away_while_its_handler_computes_ends_the_instance() {
    client_goes_away("/web/h/spin").await;
}

/// Checks that a client going away while `path` runs cancels the request and ends its
/// instance, long before the handler's timeout, and that the next request is served.
async fn client_goes_away(path: &str) {
    let server = TestServer::start().await;
    // A minute's timeout: only the cancellation can end the request within the test.
    deploy_handler(
        &server,
        "h",
        handler_timeout(&format!("{}s", LONG_MS / 1000)),
    )
    .await;
    let waiting = tokio::spawn(server.request(Method::GET, path).send());
    eventually("the request runs on an instance", || {
        let stats = handler_stats(&server, "h");
        (stats.containers, stats.in_flight) == (1, 1)
    })
    .await;
    // The client goes away: its connection closes.
    waiting.abort();
    assert!(waiting.await.unwrap_err().is_cancelled());
    eventually("the request is cancelled and its instance ended", || {
        let stats = handler_stats(&server, "h");
        (stats.cancelled, stats.containers, stats.in_flight) == (1, 0, 0)
    })
    .await;
    let next = get(&server, "/web/h/").await;
    assert_eq!(next.status, StatusCode::OK);
    assert_eq!(handler_stats(&server, "h").containers_started, 2);
}

/// The environment variable that tells a child test process it runs alone.
const ALONE: &str = "FNHOST_TESTS_WEB_ALONE";

/// A mebibyte of zeros, the upload's every chunk.
static ZEROS: [u8; 1 << 20] = [0; 1 << 20];

#[tokio::test(flavor = "multi_thread")]
async fn a_gigabyte_request_body_streams_through_in_bounded_memory() {
    // Resident memory is the process's: other tests running beside this one would count in
    // it, so the measurement runs in a process of its own (this test binary, this test alone).
    if std::env::var_os(ALONE).is_none() {
        let name = "server::web::a_gigabyte_request_body_streams_through_in_bounded_memory";
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args([name, "--exact", "--nocapture", "--test-threads=1"])
            .env(ALONE, "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("1 passed"),
            "the test alone failed: {}\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        print!("{stdout}");
        return;
    }
    let server = TestServer::start().await;
    server.deploy("h", &[HANDLER]).await;
    let chunks = 1024;
    // Resets the peak resident set (VmHWM) to the current one.
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let before = status_kib("VmRSS");

    let stream = TcpStream::connect(server.server.local_addr())
        .await
        .unwrap();
    let (mut sender, connection) = http1::handshake(TokioIo::new(stream)).await.unwrap();
    tokio::spawn(connection);
    // Each chunk is made when the connection asks for it, and borrows the same zeros.
    let frames = futures::stream::iter(
        (0..chunks).map(|_| Ok::<_, Infallible>(Frame::data(Bytes::from_static(&ZEROS)))),
    );
    let request = hyper::Request::post("/web/h/count")
        .header("host", "localhost")
        .body(StreamBody::new(frames))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let peak = status_kib("VmHWM");

    assert_eq!(
        (status, String::from_utf8_lossy(&body).as_ref()),
        (StatusCode::OK, (chunks << 20).to_string().as_str())
    );
    let grown_mib = peak.saturating_sub(before) / 1024;
    println!("{chunks} MiB uploaded: resident memory grew by {grown_mib} MiB at its peak");
    assert!(grown_mib < 256, "resident memory grew by {grown_mib} MiB");
}

/// The field `name` of /proc/self/status, in KiB.
fn status_kib(name: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /proc/self/status"))
}

/// A loopback server answering `200` at `/healthz`; its address.
async fn healthz_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = axum::Router::new().route("/healthz", axum::routing::get(|| async { "ok" }));
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr.to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn outgoing_http_is_denied_unless_the_deploy_grants_it() {
    let server = TestServer::start().await;
    let (granted, other) = (healthz_server().await, healthz_server().await);
    let fetch = |authority: &str| {
        let url = format!("http://{authority}/healthz");
        answer(
            server
                .request(Method::GET, "/web/h/fetch")
                .query(&[("url", url)]),
        )
    };
    let denied = |answer: Answer| {
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (
                StatusCode::BAD_GATEWAY,
                "error ErrorCode::HttpRequestDenied"
            )
        );
    };

    deploy_handler(&server, "h", json!({})).await;
    denied(fetch(&granted).await);
    deploy_handler(&server, "h", json!({ "allow_http": [granted] })).await;
    let allowed = fetch(&granted).await;
    assert_eq!(
        (allowed.status, allowed.body.as_str()),
        (StatusCode::OK, "status 200")
    );
    // Another port of the same host is not granted.
    denied(fetch(&other).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deploy_grants_variables_and_directories_under_the_servers_grantable_ones() {
    let grantable = tempfile::tempdir().unwrap();
    let shared = grantable.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::write(shared.join("greeting.txt"), "hello from the host").unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "not for guests").unwrap();
    let root = grantable.path().to_owned();
    let server = TestServer::start_with(host_settings(), |settings| {
        settings.token = Some(super::TEST_TOKEN.into());
        settings.grantable_dirs = vec![root];
    })
    .await;
    let variable = "/web/h/env?name=GREETING";
    let file = "/web/h/file?path=/data/greeting.txt";

    deploy_handler(&server, "h", json!({})).await;
    assert_eq!(get(&server, variable).await.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&server, file).await.status, StatusCode::NOT_FOUND);

    let granted = json!({
        "env": { "GREETING": "hi" },
        "dirs": [{ "host": shared, "guest": "/data", "read_only": true }],
    });
    deploy_handler(&server, "h", granted.clone()).await;
    let greeting = get(&server, variable).await;
    assert_eq!(
        (greeting.status, greeting.body.as_str()),
        (StatusCode::OK, "hi")
    );
    let read = get(&server, file).await;
    assert_eq!(
        (read.status, read.body.as_str()),
        (StatusCode::OK, "hello from the host")
    );

    // Outside the grantable directories, directly or through a link inside them: refused, and
    // the app deployed before serves on.
    std::os::unix::fs::symlink(outside.path(), grantable.path().join("escape")).unwrap();
    for host in [outside.path().to_owned(), grantable.path().join("escape")] {
        let mut body = json!({ "dirs": [{ "host": host, "guest": "/data" }] });
        body["components"] = json!([server.upload(&component(HANDLER)).await]);
        let refused = server.request(Method::PUT, "/v1/apps/h").json(&body).send();
        let message = expect_error(
            refused.await.unwrap(),
            StatusCode::BAD_REQUEST,
            "bad-request",
        )
        .await;
        assert!(message.contains("grantable-dir"), "{message}");
    }
    assert_eq!(get(&server, variable).await.body, "hi");

    // The grants are part of the deployment: a restart keeps them.
    let state = server.stop().await;
    let root = grantable.path().to_owned();
    let server = TestServer::start_in(state, host_settings(), |settings| {
        settings.token = Some(super::TEST_TOKEN.into());
        settings.grantable_dirs = vec![root];
    })
    .await;
    assert_eq!(get(&server, variable).await.body, "hi");
    assert_eq!(get(&server, file).await.body, "hello from the host");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_app_serves_endpoints_and_a_handler_for_the_other_paths() {
    let server = TestServer::start().await;
    server.deploy("web", &[WEB]).await;
    assert_json(&get(&server, "/web/web/add?x=1&y=1").await, json!(2));
    let other = get(&server, "/web/web/other/path?q=1").await;
    assert_eq!(
        (other.status, other.body.as_str()),
        (StatusCode::OK, "fallback GET /other/path?q=1")
    );
    // A function that is no endpoint is not reachable by its name: the handler answers.
    let internal = get(&server, "/web/web/internal").await;
    assert_eq!(
        (internal.status, internal.body.as_str()),
        (StatusCode::OK, "fallback GET /internal")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn web_requests_are_counted_in_the_metrics() {
    let server = TestServer::start().await;
    server.deploy("web", &[WEB]).await;
    server.deploy("h", &[HANDLER]).await;
    assert_json(&get(&server, "/web/web/add?x=1&y=2").await, json!(3));
    get(&server, "/web/web/fail?message=no").await;
    // Refused before the call (a wrong method): no call to count.
    server
        .request(Method::DELETE, "/web/web/add")
        .send()
        .await
        .unwrap();
    get(&server, "/web/h/").await;
    let scrape = server
        .request(Method::GET, "/metrics")
        .send()
        .await
        .unwrap();
    assert_eq!(scrape.status(), StatusCode::OK);
    let text = scrape.text().await.unwrap();
    for line in [
        r#"fnhost_calls_total{app="web",function="add",outcome="ok"} 1"#,
        r#"fnhost_calls_total{app="web",function="fail",outcome="user"} 1"#,
        r#"fnhost_calls_total{app="h",function="incoming-handler",outcome="ok"} 1"#,
        r#"fnhost_container_starts_total{app="h",function="incoming-handler"} 1"#,
        r#"fnhost_containers{app="h",function="incoming-handler"} 1"#,
    ] {
        assert!(text.contains(line), "no `{line}` in:\n{text}");
    }
    assert!(
        !text.contains(r#"function="add",outcome="method-not-allowed""#),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_apps_summary_describes_its_endpoints_and_its_handler() {
    let server = TestServer::start().await;
    server.deploy("web", &[WEB]).await;
    server.deploy("h", &[HANDLER]).await;
    let (status, web) = server.get("/v1/apps/web").await;
    assert_eq!(status, StatusCode::OK);
    let endpoint = |name: &str| {
        let functions = web["functions"].as_array().unwrap();
        let function = functions.iter().find(|f| f["name"] == name).unwrap();
        function.get("web").cloned()
    };
    assert_eq!(
        endpoint("add"),
        Some(json!({"method": "GET", "label": "add", "requires_auth": false, "form": "arguments"}))
    );
    assert_eq!(
        endpoint("greet"),
        Some(
            json!({"method": "POST", "label": "greet", "requires_auth": false, "form": "arguments"})
        )
    );
    assert_eq!(
        endpoint("brew"),
        Some(
            json!({"method": "GET", "label": "teapot", "requires_auth": false, "form": "arguments"})
        )
    );
    assert_eq!(
        endpoint("secret"),
        Some(
            json!({"method": "GET", "label": "secret", "requires_auth": true, "form": "arguments"})
        )
    );
    assert_eq!(endpoint("internal"), None);

    get(&server, "/web/h/").await;
    let (_, handler) = server.get("/v1/apps/h").await;
    let described = &handler["http_handler"];
    assert_eq!(described["options"]["timeout"], json!(300), "{handler}");
    assert_eq!(
        described["stats"]["containers_started"],
        json!(1),
        "{handler}"
    );
    assert_eq!(handler["functions"], json!([]));
}

/// Slow clients of one app hold at most that app's share of web requests: past it a request
/// waits for a place up to the request timeout, then the app answers `429`; another app
/// serves on, and a waiting request gets the place a slow one gives back. An app or path that
/// serves nothing answers one `404`, listing nothing.
#[tokio::test(flavor = "multi_thread")]
async fn one_apps_stalled_clients_take_only_its_own_share() {
    use tokio::io::AsyncWriteExt;
    let server = TestServer::start_with(host_settings(), |settings| {
        settings.token = Some(super::TEST_TOKEN.into());
        settings.max_web_requests_per_app = Some(2);
        settings.request_timeout = Duration::from_secs(2);
    })
    .await;
    server.deploy("h", &[HANDLER]).await;
    server.deploy("other", &[HANDLER]).await;
    server.deploy("hello", &["examples/hello"]).await;
    let address = server.server.local_addr();
    // Two uploads that send a byte now and then: never idle for the request timeout, never
    // done.
    let mut slow = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(address).await.unwrap();
        let head = "POST /web/h/count HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nab";
        stream.write_all(head.as_bytes()).await.unwrap();
        slow.push(tokio::spawn(async move {
            while stream.write_all(b"c").await.is_ok() {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }));
    }
    let post = |app: &str| {
        server
            .request(Method::POST, &format!("/web/{app}/count"))
            .body("abc")
            .send()
    };
    // The two slow requests are admitted once their heads are read: the third waits for
    // that, then waits its time and is refused.
    super::until("the slow requests hold the app's share", async || {
        post("h").await.unwrap().status() == StatusCode::TOO_MANY_REQUESTS
    })
    .await;
    let refused = post("h").await.unwrap();
    expect_error(refused, StatusCode::TOO_MANY_REQUESTS, "overloaded").await;
    let other = post("other").await.unwrap();
    assert_eq!(other.status(), StatusCode::OK);
    let waiting = tokio::spawn(post("h"));
    for upload in slow {
        upload.abort();
    }
    assert_eq!(waiting.await.unwrap().unwrap().status(), StatusCode::OK);
    super::until("the share comes back", async || {
        post("h").await.unwrap().status() == StatusCode::OK
    })
    .await;
    let unknown_app = expect_error(
        server
            .request(Method::GET, "/web/nope/x")
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    let unknown_path = expect_error(
        server
            .request(Method::GET, "/web/hello/x")
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    assert_eq!(
        unknown_app.replace("/web/nope/x", "P"),
        unknown_path.replace("/web/hello/x", "P")
    );
}
