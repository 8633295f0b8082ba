//! Notifications out against local servers: the SSRF guard, what arrives,
//! retry hints, redirects, timeouts, Standard Webhooks signatures checked by
//! an independent implementation, and the Slack and Teams bodies.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use cairn_connect::outbound::{
    DeliveryFailure, DestinationPolicy, Outbound, OutboundConfig, OutboundError, Refusal,
    resolve_checked, slack, standard_webhooks, teams,
};
use cairn_core::goals::Status;
use cairn_core::notify::{
    EventDetail, EventKind, FailingSyncItem, Notification, NotificationEvent, OkrKind,
    SyncFailingEvent, UnreachableSide,
};
use cairn_core::secret::Secret;
use chrono::{TimeZone, Utc};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use url::Url;

/// One request the test server received.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// A server on 127.0.0.1 that records every request and answers by path.
async fn server() -> (String, Log) {
    let log: Log = Arc::default();
    let seen = log.clone();
    let app = Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
        let seen = seen.clone();
        async move {
            let path = uri.path().to_owned();
            seen.lock().unwrap().push(Seen {
                path: path.clone(),
                headers,
                body: body.to_vec(),
            });
            answer(&path)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{addr}"), log)
}

fn answer(path: &str) -> Response {
    match path {
        "/busy" => (
            StatusCode::SERVICE_UNAVAILABLE,
            [("retry-after", "7")],
            "try later",
        )
            .into_response(),
        "/redirect" => (StatusCode::FOUND, [("location", "/elsewhere")], "").into_response(),
        "/gone" => (StatusCode::GONE, "channel_is_archived").into_response(),
        "/big" => (StatusCode::OK, "x".repeat(50_000)).into_response(),
        _ => (StatusCode::OK, "ok").into_response(),
    }
}

fn loopback_allowed(timeout: Duration) -> Outbound {
    Outbound::new(OutboundConfig {
        timeout,
        policy: DestinationPolicy::parse(["127.0.0.0/8", "::1/128"]).unwrap(),
        ..OutboundConfig::default()
    })
}

fn url(text: &str) -> Url {
    Url::parse(text).unwrap()
}

fn event(detail: EventDetail) -> NotificationEvent {
    NotificationEvent {
        okr_id: 42,
        okr_title: "R&D <launch> *now*".into(),
        okr_kind: OkrKind::KeyResult,
        okr_url: "https://cairn.example.com/okrs/42?tab=progress&x=1".into(),
        status: Status::AtRisk,
        progress_percent: 42.0,
        expected_percent: Some(60.0),
        occurred_at: Utc.with_ymd_and_hms(2026, 3, 2, 9, 30, 0).unwrap(),
        detail,
    }
}

fn status_changed() -> NotificationEvent {
    event(EventDetail::StatusChanged {
        from: Status::Behind,
        to: Status::AtRisk,
    })
}

/// Standard Webhooks verification written from the spec, independent of
/// the crate's signer: HMAC-SHA256 over `{id}.{timestamp}.{body}` with the
/// base64-decoded part of the secret after `whsec_`.
fn verify_standard_webhook(secret: &str, headers: &HeaderMap, body: &[u8]) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(id), Some(ts), Some(sigs)) = (
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
    ) else {
        return false;
    };
    let Some(key) = secret
        .strip_prefix("whsec_")
        .and_then(|k| BASE64.decode(k).ok())
    else {
        return false;
    };
    let mut content = format!("{id}.{ts}.").into_bytes();
    content.extend_from_slice(body);
    sigs.split(' ').any(|sig| {
        let Some(b64) = sig.strip_prefix("v1,") else {
            return false;
        };
        let Ok(expected) = BASE64.decode(b64) else {
            return false;
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        mac.update(&content);
        mac.verify_slice(&expected).is_ok()
    })
}

#[tokio::test]
async fn signed_webhook_arrives_with_body_and_headers_when_loopback_is_allowlisted() {
    let (base, log) = server().await;
    let secret = standard_webhooks::generate_secret();
    let event = status_changed();
    let msg_id = standard_webhooks::new_message_id();
    let now = Utc::now().timestamp();
    let request = standard_webhooks::request(&event.clone().into(), &msg_id, now, &secret).unwrap();

    let outcome = loopback_allowed(Duration::from_secs(10))
        .send(&url(&format!("{base}/hook")), &request)
        .await;
    assert!(outcome.success, "{outcome:?}");
    assert_eq!(outcome.status, Some(200));
    assert_eq!(outcome.response_excerpt, "ok");
    assert_eq!(outcome.error, None);
    assert_eq!(outcome.failure, None);
    assert!(!outcome.permanent);

    let seen = log.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    let got = &seen[0];
    assert_eq!(got.path, "/hook");
    assert_eq!(got.body, request.body);
    assert_eq!(got.headers["content-type"], "application/json");
    assert_eq!(got.headers["webhook-id"], msg_id.as_str());
    assert_eq!(got.headers["webhook-timestamp"], now.to_string().as_str());
    let ua = got.headers["user-agent"].to_str().unwrap();
    assert_eq!(ua, format!("Cairn/{}", env!("CARGO_PKG_VERSION")));
    assert!(verify_standard_webhook(
        secret.expose(),
        &got.headers,
        &got.body
    ));

    // Any change to the body breaks the signature.
    let mut tampered = got.body.clone();
    tampered[0] = b' ';
    assert!(!verify_standard_webhook(
        secret.expose(),
        &got.headers,
        &tampered
    ));
    // And another secret does not verify it.
    let other = standard_webhooks::generate_secret();
    assert!(!verify_standard_webhook(
        other.expose(),
        &got.headers,
        &got.body
    ));

    let payload: Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(payload["type"], "okr.status_changed");
    assert_eq!(payload["timestamp"], "2026-03-02T09:30:00Z");
    assert_eq!(payload["data"]["kind"], "status_changed");
    assert_eq!(payload["data"]["from"], "behind");
    assert_eq!(payload["data"]["to"], "at_risk");
    assert_eq!(payload["data"]["okr_id"], 42);
}

#[test]
fn standard_webhooks_signature_matches_the_published_test_vector() {
    // From the Standard Webhooks reference libraries' tests.
    let secret = Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    let signature = standard_webhooks::sign(
        &secret,
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        br#"{"test": 2432232314}"#,
    )
    .unwrap();
    assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");

    let mut headers = HeaderMap::new();
    headers.insert(
        "webhook-id",
        "msg_p5jXN8AQM9LWM0D4loKWxJek".parse().unwrap(),
    );
    headers.insert("webhook-timestamp", "1614265330".parse().unwrap());
    headers.insert("webhook-signature", signature.parse().unwrap());
    assert!(verify_standard_webhook(
        secret.expose(),
        &headers,
        br#"{"test": 2432232314}"#
    ));
}

#[tokio::test]
async fn without_the_allowlist_loopback_is_refused_and_nothing_is_sent() {
    let (base, log) = server().await;
    let outbound = Outbound::new(OutboundConfig::default());
    let outcome = outbound
        .deliver(
            &url(&format!("{base}/services/T0/B0/very-secret-path")),
            &[],
            b"{}".to_vec(),
        )
        .await;
    assert!(!outcome.success);
    assert!(
        outcome.permanent,
        "a refused destination disables the channel"
    );
    assert_eq!(outcome.failure, Some(DeliveryFailure::RefusedDestination));
    assert_eq!(outcome.status, None);
    assert_eq!(
        outcome.error.as_deref(),
        Some("127.0.0.1 is a loopback address; an admin can allowlist it")
    );
    assert!(!format!("{outcome:?}").contains("very-secret-path"));
    assert!(log.lock().unwrap().is_empty(), "the server saw a request");
}

#[tokio::test]
async fn internal_destinations_are_refused_with_the_reason() {
    let policy = DestinationPolicy::default();
    let cases = [
        (
            "http://169.254.169.254/latest/meta-data/",
            "169.254.169.254 is a link-local address; an admin can allowlist it",
        ),
        (
            "http://10.0.0.1/hook",
            "10.0.0.1 is a private address; an admin can allowlist it",
        ),
        (
            "https://[::ffff:127.0.0.1]:9/hook",
            "::ffff:127.0.0.1 is a loopback address; an admin can allowlist it",
        ),
        (
            "http://[fd00::1]/hook",
            "fd00::1 is a unique-local address; an admin can allowlist it",
        ),
        (
            "http://100.100.100.200/",
            "100.100.100.200 is a carrier-grade NAT (shared) address; an admin can allowlist it",
        ),
    ];
    for (text, message) in cases {
        let err = resolve_checked(&url(text), &policy).await.unwrap_err();
        assert_eq!(err.to_string(), message, "{text}");
        assert!(err.is_permanent());
    }

    let err = resolve_checked(&url("http://localhost:9/hook"), &policy)
        .await
        .unwrap_err();
    match &err {
        OutboundError::Refused {
            host,
            reason: Refusal::Loopback,
            ..
        } => assert_eq!(host, "localhost"),
        other => panic!("localhost must be refused as loopback, got {other}"),
    }
    assert!(
        err.to_string().starts_with("localhost resolves to "),
        "{err}"
    );
    assert!(
        err.to_string()
            .ends_with(", a loopback address; an admin can allowlist it")
    );

    // The same refusals through the sender, which must not connect anywhere.
    let outbound = Outbound::new(OutboundConfig::default());
    for text in [
        "http://169.254.169.254/",
        "http://10.0.0.1/",
        "http://[::ffff:127.0.0.1]/",
        "http://localhost/",
        "http://0.0.0.0/",
    ] {
        let outcome = outbound.deliver(&url(text), &[], Vec::new()).await;
        assert_eq!(
            outcome.failure,
            Some(DeliveryFailure::RefusedDestination),
            "{text}: {outcome:?}"
        );
        assert!(outcome.permanent);
    }

    let outcome = outbound
        .deliver(&url("file:///etc/passwd"), &[], Vec::new())
        .await;
    assert_eq!(outcome.failure, Some(DeliveryFailure::RefusedDestination));
    assert!(outcome.error.unwrap().contains("only http and https"));
}

#[tokio::test]
async fn an_allowlisted_v4_network_admits_the_mapped_form_too() {
    let (base, log) = server().await;
    let port = Url::parse(&base).unwrap().port().unwrap();
    let outbound = Outbound::new(OutboundConfig {
        policy: DestinationPolicy::parse(["127.0.0.0/8"]).unwrap(),
        ..OutboundConfig::default()
    });
    let outcome = outbound
        .deliver(&url(&format!("{base}/v4")), &[], b"{}".to_vec())
        .await;
    assert!(outcome.success, "{outcome:?}");
    let outcome = outbound
        .deliver(
            &url(&format!("http://[::ffff:127.0.0.1]:{port}/mapped")),
            &[],
            b"{}".to_vec(),
        )
        .await;
    assert!(outcome.success, "{outcome:?}");
    // localhost may also resolve to ::1, which this allowlist does not
    // cover: then every address is refused, not just that one.
    let addrs = resolve_checked(
        &url(&format!("http://localhost:{port}/")),
        &DestinationPolicy::parse(["127.0.0.0/8", "::1/128"]).unwrap(),
    )
    .await
    .unwrap();
    assert!(addrs.iter().all(|a| a.ip().is_loopback()));
    let paths: Vec<String> = log.lock().unwrap().iter().map(|s| s.path.clone()).collect();
    assert_eq!(paths, ["/v4", "/mapped"]);
}

#[tokio::test]
async fn a_503_with_retry_after_reports_the_wait() {
    let (base, _log) = server().await;
    let outcome = loopback_allowed(Duration::from_secs(10))
        .deliver(&url(&format!("{base}/busy")), &[], b"{}".to_vec())
        .await;
    assert!(!outcome.success);
    assert!(!outcome.permanent);
    assert_eq!(outcome.status, Some(503));
    assert_eq!(outcome.retry_after, Some(Duration::from_secs(7)));
    assert_eq!(outcome.failure, Some(DeliveryFailure::HttpStatus));
    assert_eq!(outcome.response_excerpt, "try later");
    assert_eq!(
        outcome.error.as_deref(),
        Some("the endpoint answered 503 Service Unavailable")
    );
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let (base, log) = server().await;
    let outcome = loopback_allowed(Duration::from_secs(10))
        .deliver(&url(&format!("{base}/redirect")), &[], b"{}".to_vec())
        .await;
    assert!(!outcome.success);
    assert_eq!(outcome.status, Some(302));
    assert!(outcome.error.unwrap().contains("redirect"));
    let paths: Vec<String> = log.lock().unwrap().iter().map(|s| s.path.clone()).collect();
    assert_eq!(paths, ["/redirect"]);
}

#[tokio::test]
async fn a_deleted_hook_is_permanent() {
    let (base, _log) = server().await;
    let outcome = loopback_allowed(Duration::from_secs(10))
        .deliver(&url(&format!("{base}/gone")), &[], b"{}".to_vec())
        .await;
    assert_eq!(outcome.status, Some(410));
    assert!(outcome.permanent);
    assert_eq!(outcome.response_excerpt, "channel_is_archived");
}

#[tokio::test]
async fn a_long_answer_is_kept_as_a_short_excerpt() {
    let (base, _log) = server().await;
    let outcome = loopback_allowed(Duration::from_secs(10))
        .deliver(&url(&format!("{base}/big")), &[], b"{}".to_vec())
        .await;
    assert!(outcome.success);
    assert_eq!(outcome.response_excerpt.chars().count(), 1000);
}

#[tokio::test]
async fn a_hanging_server_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Accept connections and never answer.
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let outcome = loopback_allowed(Duration::from_millis(300))
        .deliver(&url(&format!("http://{addr}/hook")), &[], b"{}".to_vec())
        .await;
    assert!(!outcome.success);
    assert_eq!(
        outcome.failure,
        Some(DeliveryFailure::Timeout),
        "{outcome:?}"
    );
    assert_eq!(outcome.status, None);
    assert!(!outcome.permanent);
    assert!(outcome.duration >= Duration::from_millis(250));
    assert!(
        outcome.duration < Duration::from_secs(5),
        "{:?}",
        outcome.duration
    );
    assert_eq!(outcome.error.as_deref(), Some("no answer within 0.3 s"));
}

#[tokio::test]
async fn a_closed_port_is_connection_refused() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let outcome = loopback_allowed(Duration::from_secs(5))
        .deliver(
            &url(&format!("http://{addr}/services/secret-token")),
            &[],
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(
        outcome.failure,
        Some(DeliveryFailure::ConnectionRefused),
        "{outcome:?}"
    );
    let error = outcome.error.unwrap();
    assert_eq!(error, format!("http://{addr} refused the connection"));
}

#[test]
fn events_serialise_with_stable_names_and_round_trip() {
    let all = [
        status_changed(),
        event(EventDetail::TargetReached),
        event(EventDetail::LinkStale {
            failures: 5,
            last_error: "Jira answered 401".into(),
        }),
        event(EventDetail::LinkFailing),
        event(EventDetail::ConnectionUnhealthy {
            connection_id: 3,
            connection_name: "Company Jira".into(),
            code: "unauthorized".into(),
            also_affected: vec![4],
        }),
        event(EventDetail::CheckInDue {
            due_since: "2026-02-23T00:00:00Z".parse().unwrap(),
            every_days: 7,
        }),
    ];
    for e in &all {
        let value = serde_json::to_value(e).unwrap();
        assert_eq!(value["kind"], e.kind().as_str());
        assert_eq!(value["okr_kind"], "key_result");
        assert_eq!(value["status"], "at_risk");
        assert_eq!(value["occurred_at"], "2026-03-02T09:30:00Z");
        let back: NotificationEvent = serde_json::from_value(value).unwrap();
        assert_eq!(&back, e);
    }
    let value = serde_json::to_value(&all[0]).unwrap();
    assert_eq!(
        value,
        json!({
            "okr_id": 42,
            "okr_title": "R&D <launch> *now*",
            "okr_kind": "key_result",
            "okr_url": "https://cairn.example.com/okrs/42?tab=progress&x=1",
            "status": "at_risk",
            "progress_percent": 42.0,
            "expected_percent": 60.0,
            "occurred_at": "2026-03-02T09:30:00Z",
            "kind": "status_changed",
            "from": "behind",
            "to": "at_risk",
        })
    );
    let due = serde_json::to_value(&all[5]).unwrap();
    assert_eq!(
        (&due["due_since"], &due["every_days"]),
        (&json!("2026-02-23T00:00:00Z"), &json!(7))
    );
    for body in [slack::slack_message(&all[5]), teams::teams_message(&all[5])] {
        let text = body.to_string();
        assert!(
            text.contains("Check-in due since") && text.contains("2026-02-23"),
            "{text}"
        );
    }
    let stale = serde_json::to_value(&all[2]).unwrap();
    assert_eq!(stale["failures"], 5);
    assert_eq!(stale["last_error"], "Jira answered 401");
    assert_eq!(
        EventKind::ALL.iter().filter(|k| k.is_about_okrs()).count(),
        all.len()
    );
}

/// Every mrkdwn text in a Slack body.
fn mrkdwn_texts(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            if map.get("type") == Some(&json!("mrkdwn"))
                && let Some(Value::String(t)) = map.get("text")
            {
                out.push(t.clone());
            }
            for item in map.values() {
                mrkdwn_texts(item, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| mrkdwn_texts(i, out)),
        _ => {}
    }
}

#[test]
fn slack_message_has_fallback_text_blocks_and_escaped_user_strings() {
    let body = slack::slack_message(&status_changed());
    let text = body["text"].as_str().unwrap();
    assert_eq!(
        text,
        "R&amp;D &lt;launch&gt; *now* is now at risk (42% of 60% expected), was behind."
    );

    let blocks = body["blocks"].as_array().unwrap();
    let types: Vec<&str> = blocks.iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        ["header", "section", "section", "actions", "context"]
    );

    // The header is plain text: shown as typed, no escaping.
    assert_eq!(blocks[0]["text"]["type"], "plain_text");
    assert_eq!(
        blocks[0]["text"]["text"],
        "R&D <launch> *now* is now at risk"
    );

    let fields = blocks[2]["fields"].as_array().unwrap();
    let field_texts: Vec<&str> = fields.iter().map(|f| f["text"].as_str().unwrap()).collect();
    assert_eq!(
        field_texts[0],
        "*Key result*\n<https://cairn.example.com/okrs/42?tab=progress&amp;x=1|R&amp;D &lt;launch&gt; *now*>"
    );
    assert_eq!(field_texts[1], "*Status*\n:red_circle: At risk");
    assert_eq!(field_texts[2], "*Progress*\n42% of 60% expected");
    assert_eq!(field_texts[3], "*Previous status*\nBehind");

    let button = &blocks[3]["elements"][0];
    assert_eq!(button["type"], "button");
    assert_eq!(button["text"]["type"], "plain_text");
    assert_eq!(
        button["url"],
        "https://cairn.example.com/okrs/42?tab=progress&x=1"
    );

    let context = blocks[4]["elements"][0]["text"].as_str().unwrap();
    assert!(
        context.starts_with("Cairn · <!date^1772443800^"),
        "{context}"
    );

    // No mrkdwn text carries the user's raw `<`: no injected links or
    // mentions.
    let mut texts = Vec::new();
    mrkdwn_texts(&body, &mut texts);
    // The section's text, its four fields and the context line.
    assert_eq!(texts.len(), 6, "{texts:?}");
    for t in texts {
        assert!(!t.contains("<launch>"), "{t}");
    }
}

#[test]
fn slack_message_carries_the_details_of_each_kind() {
    let mut e = event(EventDetail::ConnectionUnhealthy {
        connection_id: 3,
        connection_name: "Jira <prod>".into(),
        code: "unauthorized".into(),
        also_affected: Vec::new(),
    });
    e.okr_url = "not a url".into();
    let body = slack::slack_message(&e);
    let blocks = body["blocks"].as_array().unwrap();
    let types: Vec<&str> = blocks.iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        ["header", "section", "section", "context"],
        "no button without a URL"
    );
    let fields: Vec<&str> = blocks[2]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["text"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"*Connection*\nJira &lt;prod&gt;"),
        "{fields:?}"
    );
    assert!(fields.contains(&"*Problem*\nunauthorized"), "{fields:?}");
    assert_eq!(fields[0], "*Key result*\nR&amp;D &lt;launch&gt; *now*");

    let long = "x".repeat(400);
    let mut e = event(EventDetail::LinkStale {
        failures: 3,
        last_error: long.clone(),
    });
    e.okr_title = "y".repeat(300);
    let body = slack::slack_message(&e);
    let header = body["blocks"][0]["text"]["text"].as_str().unwrap();
    assert_eq!(header.chars().count(), 150, "Slack's header limit");
    assert!(header.ends_with('…'));
}

#[test]
fn teams_message_is_an_adaptive_card_attachment() {
    let body = teams::teams_message(&status_changed());
    assert_eq!(body["type"], "message");
    let attachments = body["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 1);
    let a = &attachments[0];
    assert_eq!(a["contentType"], "application/vnd.microsoft.card.adaptive");
    assert!(a["contentUrl"].is_null());
    let card = &a["content"];
    assert_eq!(
        card["$schema"],
        "http://adaptivecards.io/schemas/adaptive-card.json"
    );
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["version"], "1.4");

    let items = card["body"].as_array().unwrap();
    assert_eq!(items[0]["type"], "TextBlock");
    assert_eq!(items[0]["text"], "R&D <launch> *now* is now at risk");
    assert_eq!(items[0]["color"], "Attention");
    assert_eq!(items[0]["wrap"], true);
    assert_eq!(items[1]["type"], "TextBlock");
    assert_eq!(
        items[1]["text"],
        "R&D <launch> *now* is now at risk (42% of 60% expected), was behind."
    );
    assert_eq!(items[2]["type"], "FactSet");
    let facts: Vec<(String, String)> = items[2]["facts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["title"].as_str().unwrap().to_owned(),
                f["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        facts.contains(&("Status".into(), "At risk".into())),
        "{facts:?}"
    );
    assert!(facts.contains(&("Progress".into(), "42% of 60% expected".into())));
    assert!(facts.contains(&("Previous status".into(), "Behind".into())));
    assert!(facts.contains(&("When".into(), "2026-03-02 09:30 UTC".into())));

    let actions = card["actions"].as_array().unwrap();
    assert_eq!(actions[0]["type"], "Action.OpenUrl");
    assert_eq!(
        actions[0]["url"],
        "https://cairn.example.com/okrs/42?tab=progress&x=1"
    );

    let request = teams::request(&status_changed().into());
    assert_eq!(
        request.headers,
        [("content-type".to_owned(), "application/json".to_owned())]
    );
    let parsed: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(parsed, body);
}

#[tokio::test]
async fn slack_and_teams_requests_arrive_as_json() {
    let (base, log) = server().await;
    let outbound = loopback_allowed(Duration::from_secs(10));
    let e: Notification = status_changed().into();
    assert!(
        outbound
            .send(&url(&format!("{base}/slack")), &slack::request(&e))
            .await
            .success
    );
    assert!(
        outbound
            .send(&url(&format!("{base}/teams")), &teams::request(&e))
            .await
            .success
    );
    let seen = log.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    let slack_body: Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert!(slack_body["blocks"].is_array());
    let teams_body: Value = serde_json::from_slice(&seen[1].body).unwrap();
    assert_eq!(teams_body["type"], "message");
    for s in &seen {
        assert_eq!(s.headers["content-type"], "application/json");
    }
}

fn sync_failing() -> SyncFailingEvent {
    let at = Utc.with_ymd_and_hms(2026, 3, 2, 9, 30, 0).unwrap();
    SyncFailingEvent {
        pair_id: 5,
        pair_name: "Web <app> & OPS".into(),
        pair_url: "https://cairn.example.com/sync-pairs/5".into(),
        failing_count: 3,
        failing_items: vec![FailingSyncItem {
            left_key: Some("#12".into()),
            right_key: Some("OPS-3".into()),
            failing_since: at - chrono::Duration::hours(2),
            last_error: "Jira answered 400: <summary> too long".into(),
        }],
        unreachable_sides: vec![UnreachableSide {
            side: "right".into(),
            connection_name: "Company Jira".into(),
            error: "connection refused".into(),
            since: at - chrono::Duration::hours(1),
        }],
        occurred_at: at,
    }
}

/// A sync pair's trouble reads the same in every format: the pair, how
/// many items fail, the unreachable side, the first item's error, and a
/// button to the pair's page; the signed webhook's type is `sync.failing`.
#[test]
fn sync_failing_messages_name_the_pair_its_items_and_the_unreachable_side() {
    let notification: Notification = sync_failing().into();
    let slack_body: Value = serde_json::from_slice(&slack::request(&notification).body).unwrap();
    let mut texts = Vec::new();
    mrkdwn_texts(&slack_body, &mut texts);
    let all = texts.join("\n");
    assert!(
        all.contains("Web &lt;app&gt; &amp; OPS"),
        "escaped pair name: {all}"
    );
    assert!(all.contains("*Failing for over an hour*\n3"), "{all}");
    assert!(
        all.contains("*Unreachable (right side)*\nCompany Jira: connection refused"),
        "{all}"
    );
    assert!(all.contains("*#12 ↔ OPS-3*"), "{all}");
    assert_eq!(
        slack_body["blocks"][0]["text"]["text"],
        "Sync pair Web <app> & OPS is failing"
    );
    let button = slack_body["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "actions")
        .expect("a button");
    assert_eq!(
        button["elements"][0]["url"],
        "https://cairn.example.com/sync-pairs/5"
    );

    let teams_body: Value = serde_json::from_slice(&teams::request(&notification).body).unwrap();
    let card = &teams_body["attachments"][0]["content"];
    assert_eq!(card["body"][0]["color"], "Attention");
    let facts = card["body"][2]["facts"].as_array().unwrap();
    assert!(facts.contains(&json!({"title": "Sync pair", "value": "Web <app> & OPS"})));
    assert!(facts.contains(
        &json!({"title": "#12 ↔ OPS-3", "value": "Jira answered 400: <summary> too long"})
    ));
    assert_eq!(
        card["actions"][0]["url"],
        "https://cairn.example.com/sync-pairs/5"
    );

    let payload = standard_webhooks::payload(&notification);
    assert_eq!(payload["type"], "sync.failing");
    assert_eq!(payload["timestamp"], "2026-03-02T09:30:00Z");
    assert_eq!(payload["data"]["kind"], "sync_failing");
    assert_eq!(payload["data"]["pair_id"], 5);
    assert_eq!(payload["data"]["failing_items"][0]["right_key"], "OPS-3");
}
