//! What `#[function]` and `#[local_entrypoint]` declare and how their runners decode arguments.
//! Runs natively (`cargo test --release -p fnhost-guest`): nothing here calls the host.

use fnhost_guest::__private::{Endpoint, Entry, FunctionConfig, Registered, Runner};
use fnhost_guest::web::Response;
use fnhost_guest::{function, local_entrypoint};

#[function(
    max_inputs = 8,
    timeout = 30,
    memory = 64,
    cpu = 0.25,
    retries(max_retries = 2, backoff_coefficient = 3, max_delay = 5000)
)]
fn configured(x: u32) -> u32 {
    x
}

#[function(retries = 4, scaledown_window = 2, cpu = 2)]
fn retried() {}

#[function]
fn plain() {}

#[local_entrypoint]
fn main() {}

#[function]
fn pair_sum(pair: (u32, u32)) -> u32 {
    pair.0 + pair.1
}

#[function]
fn describe_sum(a: u32, b: u32, label: String) -> String {
    format!("{label}: {}", a + b)
}

#[function]
fn shout(text: String) -> String {
    text.to_uppercase()
}

#[function(web)]
fn count(items: Vec<u32>, label: Option<String>) -> String {
    format!("{}: {}", label.unwrap_or_default(), items.len())
}

#[function(
    web(method = "post", label = "price", requires_auth = true),
    timeout = 5
)]
fn priced(item: String, quantity: u32) -> Result<Response, String> {
    if quantity == 0 {
        return Err("nothing to price".to_owned());
    }
    Ok(Response::text(201, format!("{quantity} × {item}")).header("x-item", item))
}

const NOTHING: FunctionConfig = FunctionConfig {
    max_inputs: None,
    target_inputs: None,
    max_containers: None,
    min_containers: None,
    buffer_containers: None,
    scaledown_window_secs: None,
    timeout_secs: None,
    memory_mib: None,
    cpu_millicores: None,
    retries: None,
    retry_delay_ms: None,
    backoff_coefficient: None,
    max_retry_delay_ms: None,
};

fn fields(config: FunctionConfig) -> String {
    format!("{config:?}")
}

#[test]
fn only_the_options_written_are_declared() {
    assert_eq!(
        fields(configured::ENTRY.config),
        fields(FunctionConfig {
            max_inputs: Some(8),
            timeout_secs: Some(30),
            memory_mib: Some(64),
            cpu_millicores: Some(250),
            retries: Some(2),
            backoff_coefficient: Some(3.0),
            max_retry_delay_ms: Some(5000),
            ..NOTHING
        })
    );
    assert_eq!(
        fields(retried::ENTRY.config),
        fields(FunctionConfig {
            retries: Some(4),
            scaledown_window_secs: Some(2),
            cpu_millicores: Some(2000),
            ..NOTHING
        })
    );
    assert_eq!(fields(plain::ENTRY.config), fields(NOTHING));
    assert_eq!(fields(main::ENTRY.config), fields(NOTHING));
}

fn run(entry: &Entry, args: &str) -> String {
    let Runner::Blocking(run) = entry.runner else {
        panic!("a blocking body");
    };
    match run(args.as_bytes().to_vec()) {
        Ok(output) => String::from_utf8(output).unwrap(),
        Err(error) => format!("{error:?}"),
    }
}

#[test]
fn runners_take_the_json_array_of_arguments() {
    assert_eq!(run(&plain::ENTRY, "[]"), "null");
    assert_eq!(run(&shout::ENTRY, r#"["pear"]"#), r#""PEAR""#);
    assert_eq!(run(&pair_sum::ENTRY, "[[1,2]]"), "3");
    assert_eq!(
        run(&describe_sum::ENTRY, r#"[2,3,"total"]"#),
        r#""total: 5""#
    );
    assert!(run(&shout::ENTRY, r#""pear""#).contains("BadArguments"));
}

#[test]
fn web_functions_declare_their_endpoint_and_parameter_types() {
    assert_eq!(
        count::ENTRY.web,
        Some(Endpoint {
            method: "GET",
            label: None,
            requires_auth: false,
        })
    );
    assert_eq!(count::ENTRY.param_types, ["Vec<u32>", "Option<String>"]);
    assert_eq!(
        priced::ENTRY.web,
        Some(Endpoint {
            method: "POST",
            label: Some("price"),
            requires_auth: true,
        })
    );
    assert_eq!(priced::ENTRY.param_types, ["String", "u32"]);
    assert_eq!(
        fields(priced::ENTRY.config),
        fields(FunctionConfig {
            timeout_secs: Some(5),
            ..NOTHING
        })
    );
    assert_eq!(plain::ENTRY.web, None);
    assert_eq!(main::ENTRY.web, None);
    assert!(main::ENTRY.param_types.is_empty());
}

#[test]
fn a_web_response_is_the_result_the_server_reads() {
    assert_eq!(
        run(&priced::ENTRY, r#"["pear", 2]"#),
        r#"{"fnhost:web-response":{"status":201,"headers":[["content-type","text/plain; charset=utf-8"],["x-item","pear"]],"body":"MiDDlyBwZWFy"}}"#
    );
    assert_eq!(
        run(&priced::ENTRY, r#"["pear", 0]"#),
        r#"CallError::User("nothing to price")"#
    );
    assert_eq!(run(&count::ENTRY, "[[1,2,3],null]"), r#"": 3""#);
}
