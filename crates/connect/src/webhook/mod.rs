//! Webhook payload types of GitLab and Jira, and their parsers. Verifying a
//! delivery (tokens, signatures) belongs to the receiver; these types only
//! turn a body into typed data.

pub mod gitlab;
pub mod jira;

pub use gitlab::{GitLabWebhook, parse_gitlab_webhook};
pub use jira::{JiraEventKind, JiraWebhook, parse_jira_webhook};

use cairn_core::secret::Secret;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Checks GitLab's `X-Gitlab-Token` header against the hook's secret, in
/// constant time (a timing difference would reveal the secret byte by byte).
pub fn verify_gitlab_token(header: Option<&str>, expected: &Secret) -> bool {
    let Some(received) = header else {
        return false;
    };
    let (a, b) = (received.as_bytes(), expected.expose().as_bytes());
    if a.len() != b.len() || b.is_empty() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks Jira's `X-Hub-Signature: sha256=<hex>` (HMAC-SHA256 of the raw
/// body with the webhook's secret), in constant time.
pub fn verify_jira_signature(header: Option<&str>, body: &[u8], secret: &Secret) -> bool {
    let Some(hex_sig) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(signature) = hex::decode(hex_sig) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&signature).is_ok()
}

/// Why a webhook body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The body is not JSON at all.
    #[error("webhook body is not JSON: {0}")]
    NotJson(String),
    /// A field that identifies the event is missing.
    #[error("webhook payload has no `{0}`")]
    Missing(&'static str),
    /// The payload's shape does not match its kind.
    #[error("`{kind}` webhook payload does not parse: {detail}")]
    Shape {
        /// The event kind.
        kind: String,
        /// The parser's message.
        detail: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitlab_tokens_must_match_exactly() {
        let secret = Secret::new("hook-token-abc");
        assert!(verify_gitlab_token(Some("hook-token-abc"), &secret));
        assert!(!verify_gitlab_token(Some("hook-token-abd"), &secret));
        assert!(!verify_gitlab_token(Some("hook-token-ab"), &secret));
        assert!(!verify_gitlab_token(None, &secret));
        assert!(!verify_gitlab_token(Some(""), &Secret::new("")));
    }

    #[test]
    fn jira_signatures_are_hmac_sha256_of_the_body() {
        let secret = Secret::new("It's a Secret to Everybody");
        // The example of the HMAC-SHA256 webhook signature convention.
        let body = b"Hello, World!";
        let header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert!(verify_jira_signature(Some(header), body, &secret));
        assert!(!verify_jira_signature(
            Some(header),
            b"Hello, World?",
            &secret
        ));
        assert!(!verify_jira_signature(Some("sha256=zz"), body, &secret));
        assert!(!verify_jira_signature(Some("sha1=757107"), body, &secret));
        assert!(!verify_jira_signature(None, body, &secret));
    }
}
