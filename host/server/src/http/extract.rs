//! What handlers take from a request — path parameters, query parameters, bodies — with
//! every refusal as an [`ApiError`].
//!
//! Invariants: a body is read frame by frame, never past its cap (a declared length over it
//! is refused before reading), and a body that stalls (`http::stall` cuts it) is refused as
//! such, so a slow or oversized upload costs bounded memory and time. Query strings are strict:
//! an unknown parameter is a `bad-request`, not silently ignored.

use crate::http::ApiError;
use crate::http::stall;
use axum::body::Body;
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;

/// The path parameters of the route.
pub(crate) struct Params<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(params)) => Ok(Params(params)),
            Err(rejection) => Err(ApiError::bad_request(format!(
                "bad path: {}",
                rejection.body_text()
            ))),
        }
    }
}

/// The query parameters of the request.
pub(crate) struct QueryParams<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(params)) => Ok(QueryParams(params)),
            Err(rejection) => Err(ApiError::bad_request(format!(
                "bad query: {}",
                rejection.body_text()
            ))),
        }
    }
}

/// The media type of the body (`Content-Type` without its parameters, lowercase), if given.
pub(crate) fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?;
    let text = String::from_utf8_lossy(value.as_bytes());
    let media = text.split(';').next().unwrap_or_default().trim();
    Some(media.to_ascii_lowercase())
}

/// Bytes past its cap that a body is still read (and dropped) before the `413` is answered,
/// so that its client, still sending, reads the answer instead of a reset connection. A body
/// declared longer than its cap and this is refused at once (and its connection closed).
const DRAIN_SLACK: u64 = 64 << 20;

/// Refuses at once a body whose declared length is far over `cap` (one a little over it is
/// refused once read up to the cap, see [`too_large`]).
pub(crate) fn check_length(headers: &HeaderMap, cap: u64) -> Result<(), ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    match declared {
        Some(length) if length > cap.saturating_add(DRAIN_SLACK) => Err(ApiError::too_large(cap)),
        _ => Ok(()),
    }
}

/// The `413` for `body`, over `cap` after `read` bytes: the rest of it is read and dropped
/// first, up to [`DRAIN_SLACK`] past the cap.
pub(crate) async fn too_large(body: &mut Body, cap: u64, mut read: u64) -> ApiError {
    while read <= cap.saturating_add(DRAIN_SLACK) {
        match next_chunk(body).await {
            Ok(Some(chunk)) => read += chunk.len() as u64,
            Ok(None) | Err(_) => break,
        }
    }
    ApiError::too_large(cap)
}

/// The next chunk of data of `body`; `None` at its end.
pub(crate) async fn next_chunk(body: &mut Body) -> Result<Option<Bytes>, ApiError> {
    loop {
        match body.frame().await {
            None => return Ok(None),
            Some(Err(error)) if stall::stalled(&error) => {
                return Err(ApiError::bad_request(
                    "the body stalled: nothing came within the server's request timeout",
                ));
            }
            Some(Err(error)) => {
                return Err(ApiError::bad_request(format!(
                    "cannot read the body: {error}"
                )));
            }
            Some(Ok(frame)) => {
                // Trailers carry no data: skip them.
                if let Ok(data) = frame.into_data() {
                    return Ok(Some(data));
                }
            }
        }
    }
}

/// The whole body, refused past `cap` bytes.
pub(crate) async fn read_capped(
    headers: &HeaderMap,
    mut body: Body,
    cap: u64,
) -> Result<Bytes, ApiError> {
    check_length(headers, cap)?;
    let mut all = BytesMut::new();
    while let Some(chunk) = next_chunk(&mut body).await? {
        let read = (all.len() + chunk.len()) as u64;
        if read > cap {
            return Err(too_large(&mut body, cap, read).await);
        }
        all.extend_from_slice(&chunk);
    }
    Ok(all.freeze())
}

/// Whether `media` is JSON's.
pub(crate) fn is_json(media: &str) -> bool {
    media == "application/json"
}

/// The JSON value of a body of at most `cap` bytes: `None` for an empty body (which may have
/// no `Content-Type`); any other body must be `application/json`.
pub(crate) async fn read_json(
    headers: &HeaderMap,
    body: Body,
    cap: u64,
) -> Result<Option<serde_json::Value>, ApiError> {
    let media = media_type(headers);
    let refuse = |media: &str| {
        ApiError::unsupported_media_type(format!(
            "the body must be application/json, not `{}`",
            media.chars().take(100).collect::<String>()
        ))
    };
    if let Some(media) = &media
        && !is_json(media)
    {
        return Err(refuse(media));
    }
    let bytes = read_capped(headers, body, cap).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    if media.is_none() {
        return Err(refuse("none"));
    }
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|error| ApiError::bad_arguments(format!("the body is not JSON: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(content_type: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(value) = content_type {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[tokio::test]
    async fn json_bodies_need_their_media_type_unless_empty() {
        let json = headers(Some("Application/JSON; charset=utf-8"));
        assert_eq!(
            read_json(&json, Body::from("[1]"), 100).await.unwrap(),
            Some(serde_json::json!([1]))
        );
        assert_eq!(
            read_json(&headers(None), Body::empty(), 100).await.unwrap(),
            None
        );
        let kind = |result: Result<_, ApiError>| result.unwrap_err().kind();
        assert_eq!(
            kind(read_json(&headers(None), Body::from("1"), 100).await),
            "unsupported-media-type"
        );
        assert_eq!(
            kind(read_json(&headers(Some("text/plain")), Body::from("1"), 100).await),
            "unsupported-media-type"
        );
        assert_eq!(
            kind(read_json(&json, Body::from("[1"), 100).await),
            "bad-arguments"
        );
        assert_eq!(
            kind(read_json(&json, Body::from("1".repeat(101)), 100).await),
            "payload"
        );
        let mut declared = json.clone();
        let far_over = (100 + DRAIN_SLACK + 1).to_string();
        declared.insert(
            header::CONTENT_LENGTH,
            HeaderValue::from_str(&far_over).unwrap(),
        );
        assert_eq!(
            kind(read_json(&declared, Body::from("1"), 100).await),
            "payload"
        );
    }

    use proptest::prelude::*;

    proptest! {
        /// Any body, under any media type and declared length, split into any chunks, reads
        /// as JSON within its cap or gives the API's error; never more than the cap is kept.
        #[test]
        fn any_body_reads_as_json_within_its_cap_or_is_refused(
            bytes in proptest::collection::vec(any::<u8>(), 0..300),
            split in proptest::collection::vec(0usize..300, 0..4),
            media in proptest::option::of(proptest::sample::select(vec![
                "application/json", "application/json; charset=utf-8", "text/plain", "",
                "application/jsonx", "APPLICATION/JSON",
            ])),
            declared in proptest::option::of(any::<u64>()),
            cap in 0u64..400,
        ) {
            let mut headers = headers(None);
            if let Some(media) = media {
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
            }
            if let Some(length) = declared {
                headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
            }
            let mut cuts: Vec<usize> = split.into_iter().map(|at| at.min(bytes.len())).collect();
            cuts.sort_unstable();
            let mut chunks = Vec::new();
            let mut from = 0;
            for at in cuts.into_iter().chain([bytes.len()]) {
                chunks.push(Ok::<_, std::convert::Infallible>(Bytes::copy_from_slice(&bytes[from..at])));
                from = at;
            }
            let body = Body::from_stream(futures::stream::iter(chunks));
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            match runtime.block_on(read_json(&headers, body, cap)) {
                Ok(Some(_)) => prop_assert!(bytes.len() as u64 <= cap),
                Ok(None) => prop_assert!(bytes.iter().all(u8::is_ascii_whitespace)),
                Err(error) => prop_assert!(!error.kind().is_empty()),
            }
        }
    }
}
