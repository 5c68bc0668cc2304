//! A small client for the admin API, over real HTTP: what the scenario and the
//! graders use, and what a `curl` does.

use anyhow::Context;
use reqwest::StatusCode;
use serde_json::Value;

/// The admin API of one running service.
#[derive(Debug, Clone)]
pub struct ApiClient {
    base_url: String,
    token: Option<String>,
    http: reqwest::Client,
}

/// One response: its status and its body (JSON, or the text as a JSON string
/// when it is not JSON, e.g. `/metrics`).
#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub status: StatusCode,
    pub content_type: Option<String>,
    pub body: Value,
    pub text: String,
}

impl ApiClient {
    pub fn new(base_url: &str, token: Option<&str>) -> ApiClient {
        ApiClient {
            base_url: base_url.trim_end_matches('/').to_string(),
            token: token.map(str::to_string),
            // A replay of a big DLQ takes a while; a hung handler must still not
            // hang whoever called it.
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(120))
                .build()
                .unwrap_or_default(),
        }
    }

    /// The same API, calling with another token (or none).
    pub fn with_token(&self, token: Option<&str>) -> ApiClient {
        ApiClient {
            token: token.map(str::to_string),
            ..self.clone()
        }
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<ApiResponse> {
        self.send(self.http.get(self.url(path))).await
    }

    /// POST `body` as JSON (`None`: an empty body).
    pub async fn post(&self, path: &str, body: Option<&Value>) -> anyhow::Result<ApiResponse> {
        let mut request = self.http.post(self.url(path));
        if let Some(body) = body {
            request = request.json(body);
        }
        self.send(request).await
    }

    /// POST `text` as is, declared as JSON (for malformed-body checks).
    pub async fn post_raw(&self, path: &str, text: &str) -> anyhow::Result<ApiResponse> {
        let request = self
            .http
            .post(self.url(path))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(text.to_string());
        self.send(request).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    async fn send(&self, mut request: reqwest::RequestBuilder) -> anyhow::Result<ApiResponse> {
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.context("calling the admin API")?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = response.text().await.context("reading the response")?;
        let body = serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.clone()));
        Ok(ApiResponse {
            status,
            content_type,
            body,
            text,
        })
    }
}

impl ApiResponse {
    /// The body, if the status is a success; else an error saying what came back.
    pub fn ok(self) -> anyhow::Result<Value> {
        if self.status.is_success() {
            Ok(self.body)
        } else {
            anyhow::bail!("HTTP {}: {}", self.status, self.text)
        }
    }
}
