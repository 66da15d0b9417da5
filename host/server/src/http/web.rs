//! `/web/{app}/...`: the apps' web endpoints and wasi:http handlers.
//!
//! A request for `/web/{app}/{label}` goes to the app's function (or class method) whose web
//! endpoint is `label` (`#[function(web)]`), and one for a path under it too when that
//! endpoint takes whole requests (Modal's `asgi_app`/`wsgi_app`); any other path under
//! `/web/{app}/` goes to the app's wasi:http handler, which sees the path without the
//! `/web/{app}` prefix (so a component written for `wasmtime serve` answers at the app's root
//! unchanged). Neither: `404`, the same for an app not deployed (nothing listed). An app
//! serves at most the server's `max_web_requests_per_app` web requests at once (`web_limits`);
//! one past it waits for a place up to the request timeout, then is refused with `429`.
//!
//! Invariants: these routes need no token, unless the endpoint says so (`requires_auth`); a
//! handler's response streams (the body is never gathered in memory here); a client that goes
//! away cancels its request (the host's side: the handler's body guard, the call's drop).

use crate::access::Principal;
use crate::context::Context;
use crate::http::ApiError;
use crate::http::calls::{CALL_BODY_CAP, json_response};
use crate::http::extract::{read_capped, read_json};
use crate::http::guard::principal;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use fnhost::{
    App, Error, FunctionInfo, HANDLER_NAME, MAX_PAYLOAD, WebEndpoint, WebForm, WebRequest,
};
use http_body_util::BodyExt;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Instant;
use tracing::Instrument;

/// The key of the one field of a result that is a web response (the guest SDK's
/// `web::Response`), rather than a value to answer as JSON.
const RESPONSE_KEY: &str = "fnhost:web-response";

/// Any request under `/web/`.
pub(crate) async fn web(State(context): State<Arc<Context>>, request: Request) -> Response {
    let Some((app_name, rest)) = split_path(request.uri().path()) else {
        return ApiError::not_found("web paths are /web/{app}/...").into_response();
    };
    let (app_name, rest) = (app_name.to_owned(), rest.to_owned());
    let nothing_here = || nothing_served(request.uri().path());
    let Some(app) = fnhost::check_app_name(&app_name)
        .ok()
        .and_then(|()| context.host.deployed(&app_name))
    else {
        return nothing_here();
    };
    // Held until the answer's body ends: a web app's clients, stalled or not, hold at most
    // its share of the server.
    let Some(permit) = context.web_limits.admit(&app_name).await else {
        return ApiError::overloaded(format!(
            "app `{app_name}` served as many web requests as it may at once for as long as a \
             request waits"
        ))
        .into_response();
    };
    let response = route(&context, &app, &app_name, &rest, request).await;
    response.map(|body| {
        Body::new(body.map_frame(move |frame| {
            let _held = &permit;
            frame
        }))
    })
}

/// Answers a request for `rest` under `/web/{app_name}` of the deployed `app`.
async fn route(
    context: &Context,
    app: &App,
    app_name: &str,
    rest: &str,
    request: Request,
) -> Response {
    let nothing_here = || nothing_served(request.uri().path());
    let under = rest.trim_start_matches('/');
    if let Some(info) = app.web_endpoint(under) {
        let span = tracing::info_span!("web", app = %app_name, function = %info.name);
        let info = info.clone();
        let name = info.name.clone();
        let started = Instant::now();
        let target = Target {
            app,
            name: app_name,
            info: &info,
        };
        let result = endpoint(context, target, under, request)
            .instrument(span)
            .await;
        let outcome = match &result {
            Ok(_) => Some(Ok(())),
            Err((_, kind)) => kind.map(Err),
        };
        // A request refused before the call (method, token, arguments' form) is no call.
        if let Some(outcome) = outcome {
            context
                .metrics
                .record(app_name, &name, outcome, started.elapsed());
        }
        return result.unwrap_or_else(|(response, _)| response);
    }
    if app.has_http_handler() {
        let span = tracing::info_span!("wasi-http", app = %app_name);
        let started = Instant::now();
        let result = handler(app, rest, request).instrument(span).await;
        let outcome = result.as_ref().map(|_| ()).map_err(Error::kind);
        context
            .metrics
            .record(app_name, HANDLER_NAME, outcome, started.elapsed());
        return result.unwrap_or_else(|error| ApiError::from(error).into_response());
    }
    nothing_here()
}

/// The one answer for a web path that serves nothing, whether its app is deployed or not: a
/// client without the token learns nothing of what is deployed from it.
fn nothing_served(path: &str) -> Response {
    let shown: String = path.chars().take(200).collect();
    ApiError::not_found(format!("nothing is served at {shown}")).into_response()
}

/// `(app, rest)` of `/web/{app}{rest}`, where `rest` is empty or starts with `/`.
fn split_path(path: &str) -> Option<(&str, &str)> {
    let tail = path.strip_prefix("/web/")?;
    let end = tail.find('/').unwrap_or(tail.len());
    let (app, rest) = tail.split_at(end);
    (!app.is_empty()).then_some((app, rest))
}

/// A failure of an endpoint: its answer, and its kind for the metrics (`None`: the request was
/// refused before the function was called).
type Refused = (Response, Option<fnhost::ErrorKind>);

/// A web endpoint of a deployed app.
#[derive(Clone, Copy)]
struct Target<'a> {
    app: &'a App,
    /// The app's name.
    name: &'a str,
    info: &'a FunctionInfo,
}

/// Calls the function behind a web endpoint (serving `under`, the path under `/web/{app}/`)
/// with the request: its query and JSON body as arguments, or itself whole.
async fn endpoint(
    context: &Context,
    Target { app, name, info }: Target<'_>,
    under: &str,
    request: Request,
) -> Result<Response, Refused> {
    let refused = |error: ApiError| (error.into_response(), None);
    let web: &WebEndpoint = info
        .web
        .as_ref()
        .ok_or_else(|| refused(ApiError::internal("not a web endpoint")))?;
    if web.requires_auth {
        match principal(context, request.headers()) {
            Some(Principal::Operator) => {}
            Some(Principal::App(app)) if app == name => {}
            _ => return Err(refused(ApiError::unauthorized())),
        }
    }
    let args = match web.form {
        WebForm::Arguments => arguments(info, web, request).await?,
        WebForm::Request => whole_request(name, web, under, request)
            .await
            .map_err(refused)?,
    };
    let failed = |error: Error| {
        let kind = error.kind();
        (ApiError::from(error).into_response(), Some(kind))
    };
    let function = app.web_function(info).map_err(failed)?;
    // Dropping this future (the client went away) cancels the call.
    let result = function.remote_raw(args).await.map_err(failed)?;
    Ok(web_response(result))
}

/// The largest body a `request` endpoint takes: its base64 and the rest of the request fit in
/// one payload.
const REQUEST_BODY_CAP: u64 = (MAX_PAYLOAD as u64 / 4) * 3 - (64 << 10);

/// The one argument of the `request` endpoint `web` of `app`: the request whole, for the
/// path `under` (`/web/{app}/` left out).
async fn whole_request(
    app: &str,
    web: &WebEndpoint,
    under: &str,
    request: Request,
) -> Result<Vec<u8>, ApiError> {
    let path = &under[web.label.len()..];
    let (parts, body) = request.into_parts();
    let body = read_capped(&parts.headers, body, REQUEST_BODY_CAP).await?;
    let mut headers = Vec::with_capacity(parts.headers.len());
    for (name, value) in &parts.headers {
        let value = value.to_str().map_err(|_| {
            ApiError::bad_request(format!("the header `{name}` is not visible ASCII"))
        })?;
        headers.push((name.as_str().to_owned(), value.to_owned()));
    }
    let request = WebRequest {
        root: format!("/web/{app}/{}", web.label),
        method: parts.method.as_str().to_owned(),
        path: if path.is_empty() { "/" } else { path }.to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers,
        body: base64::engine::general_purpose::STANDARD.encode(&body),
    };
    Ok(request.arguments())
}

/// The arguments of an `arguments` endpoint's call: its query and its JSON body.
async fn arguments(
    info: &FunctionInfo,
    web: &WebEndpoint,
    request: Request,
) -> Result<Vec<u8>, Refused> {
    let refused = |error: ApiError| (error.into_response(), None);
    if request.method().as_str() != web.method {
        let mut response =
            ApiError::method_not_allowed(format!("`{}` answers {} only", web.label, web.method))
                .into_response();
        if let Ok(allow) = HeaderValue::from_str(&web.method) {
            response.headers_mut().insert(header::ALLOW, allow);
        }
        return Err((response, None));
    }
    let query: Vec<(String, String)> = match request.uri().query() {
        None => Vec::new(),
        Some(query) => serde_urlencoded::from_str(query).map_err(|error| {
            refused(ApiError::bad_arguments(format!(
                "the query is not form-encoded: {error}"
            )))
        })?,
    };
    let (parts, body) = request.into_parts();
    let given = read_json(&parts.headers, body, CALL_BODY_CAP)
        .await
        .map_err(refused)?;
    info.web_arguments(query, given).map_err(|error| {
        let kind = error.kind();
        (ApiError::from(error).into_response(), Some(kind))
    })
}

/// The answer for a web endpoint's result: the response it describes, when it is the SDK's
/// `web::Response`, else `200` with its JSON.
fn web_response(result: Vec<u8>) -> Response {
    let prefix = format!("{{\"{RESPONSE_KEY}\"");
    if !result.starts_with(prefix.as_bytes()) {
        return json_response(StatusCode::OK, result);
    }
    match serde_json::from_slice::<Described>(&result) {
        Ok(Described { response }) => response.into_response(),
        Err(error) => {
            ApiError::internal(format!("the function's web response is malformed: {error}"))
                .into_response()
        }
    }
}

/// A result that describes its response.
#[derive(Deserialize)]
struct Described {
    #[serde(rename = "fnhost:web-response")]
    response: WebResponse,
}

/// The guest SDK's `web::Response`: status, headers, and the body in standard base64.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebResponse {
    status: u16,
    #[serde(default)]
    headers: Vec<(String, String)>,
    #[serde(default)]
    body: String,
}

impl IntoResponse for WebResponse {
    fn into_response(self) -> Response {
        let malformed = |what: String| {
            ApiError::internal(format!("the function's web response is malformed: {what}"))
                .into_response()
        };
        let Ok(status) = StatusCode::from_u16(self.status) else {
            return malformed(format!("status {} is not an HTTP status", self.status));
        };
        let body = match base64::engine::general_purpose::STANDARD.decode(&self.body) {
            Ok(body) => body,
            Err(error) => return malformed(format!("its body is not base64: {error}")),
        };
        // Built bare, so that the function's headers are the only ones (no default type).
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = status;
        for (name, value) in self.headers {
            match (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                (Ok(name), Ok(value)) => {
                    response.headers_mut().append(name, value);
                }
                _ => return malformed(format!("header `{name}` is not a valid HTTP header")),
            }
        }
        response
    }
}

/// Hands the request to the app's wasi:http handler, its path made relative to the app.
async fn handler(app: &App, rest: &str, request: Request) -> Result<Response, Error> {
    let (mut parts, body) = request.into_parts();
    let path = if rest.is_empty() { "/" } else { rest };
    let path_and_query = match parts.uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    };
    parts.uri = Uri::builder()
        .path_and_query(path_and_query)
        .build()
        .map_err(|error| Error::BadArguments(format!("bad request path: {error}")))?;
    if !parts.headers.contains_key(header::HOST) {
        parts
            .headers
            .insert(header::HOST, HeaderValue::from_static("localhost"));
    }
    let response = app.handle_http(Request::from_parts(parts, body)).await?;
    Ok(response.map(Body::new))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_app_and_rest() {
        assert_eq!(split_path("/web/hello"), Some(("hello", "")));
        assert_eq!(split_path("/web/hello/"), Some(("hello", "/")));
        assert_eq!(split_path("/web/hello/a/b"), Some(("hello", "/a/b")));
        assert_eq!(split_path("/web/"), None);
        assert_eq!(split_path("/v1/apps"), None);
    }

    #[test]
    fn described_responses_become_responses() {
        let body = base64::engine::general_purpose::STANDARD.encode("short and stout");
        let result = format!(
            r#"{{"fnhost:web-response":{{"status":418,"headers":[["x-kind","green"]],"body":"{body}"}}}}"#
        );
        let response = web_response(result.into_bytes());
        assert_eq!(response.status(), StatusCode::IM_A_TEAPOT);
        assert_eq!(response.headers()["x-kind"], "green");
        let plain = web_response(b"{\"a\":1}".to_vec());
        assert_eq!(plain.status(), StatusCode::OK);
        let broken = web_response(br#"{"fnhost:web-response":{"status":99}}"#.to_vec());
        assert_eq!(broken.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
