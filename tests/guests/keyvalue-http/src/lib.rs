//! A wasi:http handler on wasi:keyvalue alone (no fnhost SDK), for the tests:
//!
//! - `GET .../get?KEY` answers the value of KEY in the bucket `shared` (404 when absent);
//! - `GET .../set?KEY=VALUE` sets it; `GET .../blob?KEY` sets KEY to the bytes 0, 1, 254;
//! - `GET .../incr?KEY` adds 1 to KEY and answers the sum;
//! - `GET .../exercise` runs every operation of the interfaces on the bucket `exercise` and
//!   answers one line per step.

use wasip2::exports::http::incoming_handler::Guest;
use wasip2::http::types::{
    Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

wit_bindgen::generate!({
    path: "../../../wit/keyvalue",
    world: "wasi:keyvalue/imports",
    generate_all,
});

use wasi::keyvalue::{atomics, batch, store};

struct Handler;

wasip2::http::proxy::export!(Handler);

impl Guest for Handler {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let path = request.path_with_query().unwrap_or_default();
        let (status, body) = match answer(&path) {
            Ok(Some(body)) => (200, body),
            Ok(None) => (404, b"absent".to_vec()),
            Err(error) => (500, error.into_bytes()),
        };
        respond(response_out, status, &body);
    }
}

/// What `path` asks for: a body, `None` for an absent key, or an error's message.
fn answer(path: &str) -> Result<Option<Vec<u8>>, String> {
    let (route, query) = path.split_once('?').unwrap_or((path, ""));
    let shared = || store::open("shared").map_err(|error| format!("{error:?}"));
    match route.rsplit('/').next().unwrap_or_default() {
        "get" => shared()?.get(query).map_err(|error| format!("{error:?}")),
        "set" => {
            let (key, value) = query.split_once('=').ok_or("write set?KEY=VALUE")?;
            shared()?
                .set(key, value.as_bytes())
                .map_err(|error| format!("{error:?}"))?;
            Ok(Some(b"set".to_vec()))
        }
        "blob" => {
            shared()?
                .set(query, &[0, 1, 254])
                .map_err(|error| format!("{error:?}"))?;
            Ok(Some(b"set".to_vec()))
        }
        "incr" => {
            let sum =
                atomics::increment(&shared()?, query, 1).map_err(|error| format!("{error:?}"))?;
            Ok(Some(sum.to_string().into_bytes()))
        }
        "exercise" => exercise().map(|lines| Some(lines.join("\n").into_bytes())),
        other => Err(format!("no route `{other}`")),
    }
}

/// Every operation once, each step's outcome a line.
fn exercise() -> Result<Vec<String>, String> {
    let bucket = store::open("exercise").map_err(|error| format!("{error:?}"))?;
    let e = |error: store::Error| format!("{error:?}");
    let text = |value: Option<Vec<u8>>| {
        value.map_or("none".to_owned(), |bytes| {
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let mut lines = Vec::new();
    bucket.set("a", b"1").map_err(e)?;
    lines.push(format!("get a: {}", text(bucket.get("a").map_err(e)?)));
    lines.push(format!("exists a: {}", bucket.exists("a").map_err(e)?));
    bucket.delete("a").map_err(e)?;
    lines.push(format!(
        "exists a after delete: {}",
        bucket.exists("a").map_err(e)?
    ));
    atomics::increment(&bucket, "counter", 5).map_err(e)?;
    lines.push(format!(
        "increment: {}",
        atomics::increment(&bucket, "counter", 5).map_err(e)?
    ));
    bucket.set("c", b"old").map_err(e)?;
    let stale = atomics::Cas::new(&bucket, "c").map_err(e)?;
    let fresh = atomics::Cas::new(&bucket, "c").map_err(e)?;
    lines.push(format!(
        "cas current: {}",
        text(fresh.current().map_err(e)?)
    ));
    atomics::swap(fresh, b"new").map_err(|error| format!("{error:?}"))?;
    match atomics::swap(stale, b"lost") {
        Ok(()) => lines.push("stale swap: done".to_owned()),
        Err(atomics::CasError::CasFailed(retry)) => {
            lines.push(format!(
                "stale swap: failed, now {}",
                text(retry.current().map_err(e)?)
            ));
        }
        Err(atomics::CasError::StoreError(error)) => return Err(e(error)),
    }
    batch::set_many(
        &bucket,
        &[
            ("x".to_owned(), b"1".to_vec()),
            ("y".to_owned(), b"2".to_vec()),
        ],
    )
    .map_err(e)?;
    let many = batch::get_many(
        &bucket,
        &["x".to_owned(), "nope".to_owned(), "y".to_owned()],
    )
    .map_err(e)?;
    let shown: Vec<String> = many
        .into_iter()
        .map(|found| {
            found.map_or("none".to_owned(), |(key, value)| {
                format!("{key}={}", text(Some(value)))
            })
        })
        .collect();
    lines.push(format!("get-many: {}", shown.join(" ")));
    batch::delete_many(&bucket, &["x".to_owned(), "y".to_owned()]).map_err(e)?;
    let mut keys = Vec::new();
    let mut cursor = None;
    loop {
        let page = bucket.list_keys(cursor.as_deref()).map_err(e)?;
        keys.extend(page.keys);
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    lines.push(format!("keys: {}", keys.join(" ")));
    Ok(lines)
}

fn respond(response_out: ResponseOutparam, status: u16, body: &[u8]) {
    let headers = Fields::new();
    let response = OutgoingResponse::new(headers);
    let _ = response.set_status_code(status);
    let outgoing = response.body().expect("the body is taken once");
    ResponseOutparam::set(response_out, Ok(response));
    let stream = outgoing.write().expect("the body's stream is taken once");
    // A client that went away has nothing left to be told.
    let _ = stream.blocking_write_and_flush(body);
    drop(stream);
    let _ = OutgoingBody::finish(outgoing, None);
}
