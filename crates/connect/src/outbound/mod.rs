//! Notifications out: the bodies Slack, Microsoft Teams and signed generic
//! webhooks expect for a [`Notification`] (an OKR's event or a sync pair's
//! `sync_failing`), and a sender that only
//! reaches destinations that passed the SSRF guard.
//!
//! - [`destination`]: which addresses may be reached ([`DestinationPolicy`],
//!   [`resolve_checked`]).
//! - [`slack`], [`teams`], [`standard_webhooks`]: one [`OutboundRequest`]
//!   per format.
//! - [`deliver`]: [`Outbound`] sends a request once and reports a
//!   [`DeliveryOutcome`]; the engine decides about retries with
//!   [`cairn_core::notify::next_delivery_delay`].
//!
//! Webhook URLs of Slack and Teams are secrets (anyone who has one can post
//! to the channel): keep them in a [`Secret`] until the send
//! ([`parse_webhook_url`]), and log only [`redacted_target`].
//!
//! ```no_run
//! use cairn_connect::outbound::{Outbound, OutboundConfig, parse_webhook_url, slack};
//! # async fn demo(notification: cairn_core::notify::Notification, url: cairn_connect::Secret) {
//! let outbound = Outbound::new(OutboundConfig::default());
//! let url = parse_webhook_url(&url).expect("a valid URL");
//! let outcome = outbound.send(&url, &slack::request(&notification)).await;
//! if !outcome.success && outcome.permanent {
//!     // disable the channel and tell its owner why: outcome.error
//! }
//! # }
//! ```
//!
//! [`Notification`]: cairn_core::notify::Notification

use std::net::IpAddr;

use url::Url;

use cairn_core::secret::Secret;

pub mod deliver;
pub mod destination;
pub mod slack;
pub mod standard_webhooks;
pub mod teams;

pub use deliver::{DeliveryFailure, DeliveryOutcome, Outbound, OutboundConfig};
pub use destination::{Cidr, DestinationPolicy, Refusal, refusal, resolve_checked};

/// Why a notification destination, secret or request was refused before
/// anything was sent. Messages never contain a URL's path or query (where
/// webhook tokens live), only its host.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    /// An allowlist entry that is not a CIDR.
    #[error("`{entry}` is not a valid CIDR: {reason}")]
    InvalidCidr { entry: String, reason: String },
    /// The URL could not be parsed (the reason never repeats the URL).
    #[error("the webhook URL is not valid: {reason}")]
    InvalidUrl { reason: String },
    /// Only http and https URLs receive notifications.
    #[error("only http and https URLs can receive notifications, not `{scheme}:`")]
    UnsupportedScheme { scheme: String },
    /// A URL without a host.
    #[error("the webhook URL has no host")]
    MissingHost,
    /// A host that is malformed, over-long, or hidden behind a user name.
    #[error("the webhook URL's host is not valid: {reason}")]
    BadHost { reason: String },
    /// The host name did not resolve.
    #[error("DNS lookup of {host} failed: {reason}")]
    Dns { host: String, reason: String },
    /// The host name resolved to nothing.
    #[error("{host} resolves to no address")]
    NoAddresses { host: String },
    /// The host is, or resolves to, an internal address not allowlisted.
    #[error("{}", refused_message(host, *addr, *reason))]
    Refused {
        host: String,
        addr: IpAddr,
        reason: destination::Refusal,
    },
    /// A signing secret that is not `whsec_` + base64 of 24 to 64 bytes.
    #[error("the signing secret is not valid: {0}")]
    InvalidSecret(String),
    /// A message id the Standard Webhooks scheme cannot sign unambiguously.
    #[error("the webhook message id is not valid: {0}")]
    InvalidMessageId(String),
}

fn refused_message(host: &str, addr: IpAddr, reason: destination::Refusal) -> String {
    let is_literal = host.trim_start_matches('[').trim_end_matches(']') == addr.to_string();
    if is_literal {
        format!("{addr} is {reason}; an admin can allowlist it")
    } else {
        format!("{host} resolves to {addr}, {reason}; an admin can allowlist it")
    }
}

impl OutboundError {
    /// Whether sending again cannot help until someone changes the
    /// destination (or the allowlist), so the channel should be disabled.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            OutboundError::InvalidUrl { .. }
                | OutboundError::UnsupportedScheme { .. }
                | OutboundError::MissingHost
                | OutboundError::BadHost { .. }
                | OutboundError::Refused { .. }
                | OutboundError::InvalidSecret(_)
        )
    }
}

/// A request body with its headers, ready for [`Outbound::send`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRequest {
    /// Header names and values (`content-type` included).
    pub headers: Vec<(String, String)>,
    /// The exact bytes to send (and, for signed webhooks, that were signed).
    pub body: Vec<u8>,
}

impl OutboundRequest {
    /// A JSON body with `content-type: application/json`.
    pub fn json(value: &serde_json::Value) -> OutboundRequest {
        OutboundRequest {
            headers: vec![("content-type".into(), "application/json".into())],
            body: value.to_string().into_bytes(),
        }
    }
}

/// Parses a webhook URL kept as a secret, checking the scheme; the error
/// never repeats the URL.
pub fn parse_webhook_url(url: &Secret) -> Result<Url, OutboundError> {
    let text = url.expose().trim();
    // The URL parser forgives what a person would not mean: `http:///x`
    // and `http:/\\/x` are read as host `x`. An http(s) URL must be
    // written `scheme://host...`, the host there as written.
    if let Some((scheme, rest)) = text.split_once(':')
        && (scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https"))
    {
        let authority = rest.strip_prefix("//").unwrap_or_default();
        if authority.is_empty() || authority.starts_with(['/', '\\', '?', '#']) {
            return Err(OutboundError::MissingHost);
        }
    }
    let parsed = Url::parse(text).map_err(|e| OutboundError::InvalidUrl {
        reason: e.to_string(),
    })?;
    // `http://127.0.0.1%2f@x/` goes to `x`: a user name makes a URL read
    // as another host. Webhook URLs carry their credentials in the path.
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(OutboundError::BadHost {
            reason: "a user name or password before `@` is not allowed".to_owned(),
        });
    }
    destination::target(&parsed)?;
    Ok(parsed)
}

/// `scheme://host[:port]` of a URL: all of it that may be logged or shown
/// beside a delivery, since the path and query of a webhook URL are its
/// credentials.
pub fn redacted_target(url: &Url) -> String {
    let host = url.host_str().unwrap_or("");
    match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_that_read_as_another_host_are_refused() {
        let parse = |u: &str| parse_webhook_url(&Secret::new(u.to_owned()));
        for missing in [
            "http:///x",
            "https:///hooks.slack.com/x",
            "http://",
            "http://?x",
            "http:/\\/x",
        ] {
            assert!(
                matches!(
                    parse(missing),
                    Err(OutboundError::MissingHost | OutboundError::InvalidUrl { .. })
                ),
                "{missing}: {:?}",
                parse(missing)
            );
        }
        for userinfo in [
            "http://127.0.0.1%2f@x/",
            "https://user:pw@hooks.example.com/x",
            "http://a@b/",
        ] {
            assert!(
                matches!(parse(userinfo), Err(OutboundError::BadHost { .. })),
                "{userinfo}"
            );
        }
        assert!(parse("https://hooks.slack.com/services/T/B/X").is_ok());
    }

    #[test]
    fn redacted_targets_keep_only_scheme_host_and_port() {
        let url = Url::parse("https://hooks.slack.com/services/T000/B000/XXXXSECRET?x=1").unwrap();
        assert_eq!(redacted_target(&url), "https://hooks.slack.com");
        let url = Url::parse("http://user:pw@[::1]:8080/hook").unwrap();
        assert_eq!(redacted_target(&url), "http://[::1]:8080");
    }

    #[test]
    fn webhook_urls_parse_without_echoing_the_secret() {
        let secret = Secret::new("https://hooks.slack.com/services/T1/B2/abcdef");
        let url = parse_webhook_url(&secret).unwrap();
        assert_eq!(url.host_str(), Some("hooks.slack.com"));

        let bad = Secret::new("hooks.slack.com/services/T1/B2/abcdef");
        let err = parse_webhook_url(&bad).unwrap_err();
        assert!(!err.to_string().contains("abcdef"), "{err}");
        assert!(err.is_permanent());

        let ftp = Secret::new("ftp://files.example.com/abcdef");
        let err = parse_webhook_url(&ftp).unwrap_err();
        assert_eq!(
            err.to_string(),
            "only http and https URLs can receive notifications, not `ftp:`"
        );
    }
}
