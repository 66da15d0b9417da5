//! The server's app tokens (`/v1/tokens`, docs/security.md): made by the operator for one app
//! (the token shown once), listed by id and app, revoked.

use crate::{Client, ClientError};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::json;

/// An app token as the server lists it: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TokenSummary {
    /// `tk-` and 12 hex digits: what revokes it.
    pub id: String,
    /// The app it reaches.
    pub app: String,
    /// When it was made, in milliseconds since the Unix epoch.
    pub created_ms: u64,
}

/// A token just made: its summary, and the token (the only time the server gives it).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct NewToken {
    /// The token's id, app and time.
    #[serde(flatten)]
    pub summary: TokenSummary,
    /// The token.
    pub token: String,
}

impl Client {
    /// Makes a token that reaches only `app`'s functions and calls.
    pub async fn create_token(&self, app: &str) -> Result<NewToken, ClientError> {
        let request = self
            .request(Method::POST, self.endpoint(&["v1", "tokens"]))
            .json(&json!({ "app": app }));
        let response = self.send(request, &[StatusCode::CREATED]).await?;
        self.json(response).await
    }

    /// The app tokens, oldest first.
    pub async fn tokens(&self) -> Result<Vec<TokenSummary>, ClientError> {
        #[derive(Deserialize)]
        struct Listed {
            tokens: Vec<TokenSummary>,
        }
        let request = self.request(Method::GET, self.endpoint(&["v1", "tokens"]));
        let response = self.send(request, &[StatusCode::OK]).await?;
        let listed: Listed = self.json(response).await?;
        Ok(listed.tokens)
    }

    /// Revokes the token `id` (`not-found` when there is none).
    pub async fn revoke_token(&self, id: &str) -> Result<(), ClientError> {
        let request = self.request(Method::DELETE, self.endpoint(&["v1", "tokens", id]));
        self.send(request, &[StatusCode::NO_CONTENT])
            .await
            .map(drop)
    }
}
