//! Issue 7, notifications out and outbound safety: a real local receiver
//! (axum on 127.0.0.1:0) gets Slack Block Kit, a Teams Adaptive Card and a
//! signed generic webhook whose signature is verified here by an
//! independent Standard Webhooks implementation; the simulator closes an
//! issue and the notification arrives; subtree subscriptions; retries with
//! `Retry-After`; a 410 disables the channel; internal destinations are
//! refused; the signing secret is shown once and never logged. On SQLite
//! and PostgreSQL.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use cairn_engine::notify::{FANOUT_KIND, NotifySettings};
use cairn_store::{Backend, JobState};
use chrono::Utc;
use common::{Harness, Received, Receiver, Running, eventually, period};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

const PROJECT: &str = "northwind/checkout";

/// The harness with notifications that may reach loopback (like the demo)
/// and retry delays scaled down from seconds to milliseconds.
async fn harness(backend: Backend) -> Harness {
    harness_with(backend, NotifySettings::default().disable_after).await
}

/// [`harness`] with channels disabled after failing for `disable_after`.
async fn harness_with(backend: Backend, disable_after: Duration) -> Harness {
    Harness::new(backend)
        .await
        .with_loopback_notify(disable_after)
}

/// Whether every job is finished (none queued or running).
async fn idle(h: &Harness) -> bool {
    let counts = h.state.store.job_counts().await.expect("counts");
    counts.get(JobState::Queued) == 0 && counts.get(JobState::Running) == 0
}

async fn jobs_of(h: &Harness, kind: &str) -> usize {
    h.state
        .store
        .list_jobs(None, 1000)
        .await
        .expect("jobs")
        .iter()
        .filter(|j| j.kind == kind)
        .count()
}

/// Creates a channel as the admin: its id and, for webhooks, the secret.
async fn channel(h: &Harness, name: &str, kind: &str, url: &str) -> (i64, Option<String>) {
    let reply = h
        .call(
            "POST",
            "/api/v1/channels",
            Some(&h.admin.token),
            Some(json!({"name": name, "kind": kind, "url": url})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    (
        reply.body["id"].as_i64().expect("id"),
        reply.body["secret"].as_str().map(str::to_owned),
    )
}

async fn subscribe(h: &Harness, channel: i64, okr: Option<i64>, subtree: bool) -> i64 {
    let reply = h
        .call(
            "POST",
            "/api/v1/subscriptions",
            Some(&h.admin.token),
            Some(json!({"channel_id": channel, "okr_id": okr, "include_subtree": subtree})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.body["id"].as_i64().expect("id")
}

async fn okr(h: &Harness, body: Value) -> i64 {
    let reply = h
        .call("POST", "/api/v1/okrs", Some(&h.owner.token), Some(body))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.body["id"].as_i64().expect("okr")
}

/// A key result measured by check-ins, under `parent` if given.
async fn checked_in_kr(h: &Harness, period: i64, title: &str, parent: Option<i64>) -> i64 {
    okr(
        h,
        json!({"kind": "key_result", "title": title, "period_id": period, "parent_id": parent,
            "measure": {"mode": "percent_complete"}, "progress_source": "check_in"}),
    )
    .await
}

async fn check_in(h: &Harness, kr: i64, value: f64) {
    let reply = h
        .call(
            "POST",
            &format!("/api/v1/okrs/{kr}/check-ins"),
            Some(&h.owner.token),
            Some(json!({"value": value, "note": "check-in"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
}

async fn deliveries(h: &Harness, channel: i64) -> Vec<Value> {
    let reply = h
        .call(
            "GET",
            &format!("/api/v1/channels/{channel}/deliveries"),
            Some(&h.admin.token),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body.as_array().cloned().unwrap_or_default()
}

/// Standard Webhooks verification written here from the specification,
/// independent of Cairn's signer: HMAC-SHA256 keyed with the base64 part
/// of `whsec_...` over `{id}.{timestamp}.{body}`, compared with every
/// `v1,` signature of the header.
fn verify_standard_webhook(secret: &str, received: &Received) -> bool {
    let Some(key) = secret
        .strip_prefix("whsec_")
        .and_then(|k| BASE64.decode(k).ok())
    else {
        return false;
    };
    let (Some(id), Some(timestamp), Some(signatures)) = (
        received.headers.get("webhook-id"),
        received.headers.get("webhook-timestamp"),
        received.headers.get("webhook-signature"),
    ) else {
        return false;
    };
    let Ok(sent_at) = timestamp.parse::<i64>() else {
        return false;
    };
    if (Utc::now().timestamp() - sent_at).abs() > 300 {
        return false;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key length");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(&received.body);
    let expected = BASE64.encode(mac.finalize().into_bytes());
    signatures
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .any(|s| s == expected)
}

async fn three_formats_arrive(backend: Backend) {
    let h = harness(backend).await;
    let receiver = Receiver::start().await;
    let period = period(&h).await;
    // With no channel, a status change makes no job at all.
    let unheard = checked_in_kr(&h, period, "Unheard", None).await;
    check_in(&h, unheard, 0.0).await;
    check_in(&h, unheard, 50.0).await;
    assert_eq!(
        h.state
            .store
            .get_okr(unheard)
            .await
            .expect("okr")
            .and_then(|o| o.progress)
            .map(|p| p.status),
        Some(cairn_core::goals::Status::OnTrack),
        "the status did change"
    );
    assert_eq!(jobs_of(&h, FANOUT_KIND).await, 0, "nobody listens");
    let (slack, _) = channel(&h, "slack", "slack", &receiver.url("/slack/T1/B2/xyz")).await;
    let (teams, _) = channel(&h, "teams", "teams", &receiver.url("/teams")).await;
    let (hook, secret) = channel(&h, "hook", "webhook", &receiver.url("/hook")).await;
    let secret = secret.expect("a webhook channel's secret is shown on create");
    for id in [slack, teams, hook] {
        subscribe(&h, id, None, true).await;
    }
    let kr = checked_in_kr(&h, period, "Checkout revamp", None).await;

    // The first computation is no event.
    check_in(&h, kr, 0.0).await;
    assert_eq!(jobs_of(&h, FANOUT_KIND).await, 0);
    // 10 % expected, 50 % done: behind becomes on track. The fan-out job
    // was committed with the change: it is there as soon as the answer
    // comes, and no worker runs yet.
    check_in(&h, kr, 50.0).await;
    assert_eq!(
        jobs_of(&h, FANOUT_KIND).await,
        1,
        "enqueued with the change"
    );

    let running = Running::start(&h, false).await;
    eventually("three deliveries arrived", || async {
        receiver.received("/slack/T1/B2/xyz").len() == 1
            && receiver.received("/teams").len() == 1
            && receiver.received("/hook").len() == 1
    })
    .await;

    let slack_body = receiver.received("/slack/T1/B2/xyz")[0].json();
    let text = slack_body.to_string();
    assert!(slack_body["blocks"].is_array(), "{slack_body}");
    assert!(text.contains("Checkout revamp is now on track"), "{text}");
    assert!(
        text.contains(&format!("https://cairn.example.com/okrs/{kr}")),
        "links use public_url: {text}"
    );

    let teams_body = receiver.received("/teams")[0].json();
    assert_eq!(teams_body["type"], "message", "{teams_body}");
    assert_eq!(
        teams_body["attachments"][0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(
        teams_body["attachments"][0]["content"]["type"],
        "AdaptiveCard"
    );

    let signed = &receiver.received("/hook")[0];
    assert!(
        verify_standard_webhook(&secret, signed),
        "the signature verifies independently: {:?}",
        signed.headers
    );
    let mut tampered = signed.clone();
    tampered.body.push(b' ');
    assert!(!verify_standard_webhook(&secret, &tampered));
    let payload = signed.json();
    assert_eq!(payload["type"], "okr.status_changed", "{payload}");
    assert_eq!(payload["data"]["from"], "behind");
    assert_eq!(payload["data"]["to"], "on_track");
    assert_eq!(payload["data"]["okr_id"], kr);

    // Reaching the target is its own event.
    check_in(&h, kr, 100.0).await;
    eventually("target reached arrived", || async {
        receiver.received("/hook").len() == 2
    })
    .await;
    let reached = receiver.received("/hook")[1].clone();
    assert!(verify_standard_webhook(&secret, &reached));
    assert_eq!(reached.json()["type"], "okr.target_reached");
    eventually("all jobs done", || idle(&h)).await;
    running.stop().await;

    let logged = deliveries(&h, hook).await;
    assert_eq!(logged.len(), 2, "{logged:?}");
    for d in &logged {
        assert_eq!(d["state"], "delivered", "{d}");
        assert_eq!(d["attempt_log"][0]["status_code"], 200, "{d}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_teams_and_a_signed_webhook_arrive() {
    three_formats_arrive(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_teams_and_a_signed_webhook_arrive_on_postgres() {
    three_formats_arrive(Backend::Postgres).await;
}

async fn simulator_moves_a_key_result_and_slack_hears(backend: Backend) {
    let h = harness(backend).await;
    let receiver = Receiver::start().await;
    let (slack, _) = channel(&h, "slack", "slack", &receiver.url("/slack")).await;
    let period = period(&h).await;
    let connection = h.gitlab_connection(&h.owner, "gitlab", true).await;
    let milestone = "Notify";
    h.gitlab(
        "POST",
        "/projects/northwind%2Fcheckout/milestones",
        Some(json!({"title": milestone})),
    )
    .await;
    let mut iids = Vec::new();
    for n in 0..2 {
        let issue = h
            .control(
                "gitlab/issues",
                json!({"project": PROJECT, "title": format!("Notified {n}"), "milestone": milestone}),
            )
            .await;
        iids.push(issue["iid"].as_u64().expect("iid"));
    }
    let kr = okr(
        &h,
        json!({"kind": "key_result", "title": "Ship it", "period_id": period,
            "measure": {"mode": "percent_complete"}, "progress_source": "data_link"}),
    )
    .await;
    let reply = h
        .call(
            "PUT",
            &format!("/api/v1/okrs/{kr}/link"),
            Some(&h.owner.token),
            Some(json!({"tracker": "gitlab", "connection_id": connection, "project": PROJECT, "milestone": milestone})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    subscribe(&h, slack, Some(kr), false).await;
    let reply = h
        .call(
            "POST",
            &format!("/api/v1/connections/{connection}/hooks/secret"),
            Some(&h.owner.token),
            None,
        )
        .await;
    let hook_secret = reply.body["secret"].as_str().expect("secret").to_owned();
    let running = Running::start(&h, true).await;
    let address = running.address.expect("listening");
    h.gitlab(
        "POST",
        "/projects/northwind%2Fcheckout/hooks",
        Some(
            json!({"url": format!("http://{address}/hooks/gitlab/{connection}"),
            "token": hook_secret, "issues_events": true}),
        ),
    )
    .await;
    let before = h
        .call(
            "GET",
            &format!("/api/v1/okrs/{kr}"),
            Some(&h.owner.token),
            None,
        )
        .await;
    assert_eq!(
        before.body["progress"]["status"], "behind",
        "{}",
        before.text
    );

    // The simulator closes an issue and sends its webhook; Cairn applies
    // it, the key result goes on track, and Slack hears of it.
    h.control(
        "gitlab/issues/close",
        json!({"project": PROJECT, "iid": iids[0]}),
    )
    .await;
    eventually("Slack heard of the status change", || async {
        !receiver.received("/slack").is_empty()
    })
    .await;
    let text = receiver.received("/slack")[0].json().to_string();
    assert!(text.contains("Ship it is now on track"), "{text}");
    assert!(text.contains("was behind"), "{text}");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_closes_an_issue_and_the_notification_arrives() {
    simulator_moves_a_key_result_and_slack_hears(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_closes_an_issue_and_the_notification_arrives_on_postgres() {
    simulator_moves_a_key_result_and_slack_hears(Backend::Postgres).await;
}

async fn subtrees(backend: Backend) {
    let h = harness(backend).await;
    let receiver = Receiver::start().await;
    let period = period(&h).await;
    let objective = okr(
        &h,
        json!({"kind": "objective", "title": "Faster checkout", "period_id": period,
            "measure": {"mode": "percent_complete"}, "progress_source": "roll_up"}),
    )
    .await;
    let child = checked_in_kr(&h, period, "Child", Some(objective)).await;
    let unrelated = checked_in_kr(&h, period, "Unrelated", None).await;
    let (tree, _) = channel(&h, "tree", "slack", &receiver.url("/tree")).await;
    let (only, _) = channel(&h, "only", "slack", &receiver.url("/only")).await;
    subscribe(&h, tree, Some(objective), true).await;
    // Two subscriptions of one channel that both match: one delivery.
    subscribe(&h, tree, Some(child), false).await;
    subscribe(&h, only, Some(objective), false).await;
    for kr in [child, unrelated] {
        check_in(&h, kr, 0.0).await;
        check_in(&h, kr, 60.0).await;
    }
    let running = Running::start(&h, false).await;
    eventually("every job done", || async {
        idle(&h).await && !receiver.received("/tree").is_empty()
    })
    .await;
    running.stop().await;

    let tree_deliveries = deliveries(&h, tree).await;
    assert_eq!(
        tree_deliveries.len(),
        1,
        "the child's change once, the unrelated key result's not: {tree_deliveries:?}"
    );
    assert_eq!(tree_deliveries[0]["event"]["okr_id"], child);
    assert_eq!(receiver.received("/tree").len(), 1);
    assert!(
        deliveries(&h, only).await.is_empty(),
        "without its subtree an objective's subscription ignores its key results"
    );
    assert!(receiver.received("/only").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subtree_subscriptions_match_and_unrelated_okrs_do_not() {
    subtrees(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subtree_subscriptions_match_and_unrelated_okrs_do_not_on_postgres() {
    subtrees(Backend::Postgres).await;
}

/// A channel subscribed to everything and one status change of a key
/// result.
/// The catalog's entry of one kind, as the API shows it.
async fn catalog_entry(h: &Harness, kind: &str) -> Value {
    let catalog = h
        .call("GET", "/api/v1/integrations", Some(&h.admin.token), None)
        .await;
    catalog
        .body
        .as_array()
        .and_then(|list| list.iter().find(|i| i["kind"] == kind).cloned())
        .unwrap_or_else(|| panic!("no {kind} in {}", catalog.text))
}

async fn one_event_to(h: &Harness, channel: i64) {
    subscribe(h, channel, None, true).await;
    let period = period(h).await;
    let kr = checked_in_kr(h, period, "Retried", None).await;
    check_in(h, kr, 0.0).await;
    check_in(h, kr, 50.0).await;
}

/// Delays here are a tenth of the real ones: the first retry is scheduled
/// 0.5 s (±20 %) after a failure, and a `Retry-After: 30` means 3 s, far
/// more than the worker's 50 ms poll, so the two cannot be confused.
const RETRY_SCALE: f64 = 0.1;

/// The times of a delivery's first two attempts, from its attempt log.
fn attempt_times(delivery: &Value) -> (chrono::DateTime<Utc>, chrono::DateTime<Utc>) {
    let log = delivery["attempt_log"].as_array().expect("attempts");
    let at = |n: usize| -> chrono::DateTime<Utc> {
        log[n]["at"]
            .as_str()
            .unwrap_or_else(|| panic!("attempt {n}: {delivery}"))
            .parse()
            .expect("time")
    };
    (at(0), at(1))
}

/// The first retry's scheduled delay at this scale, without `Retry-After`:
/// the shortest and the longest the jitter allows.
fn first_retry_bounds() -> (chrono::Duration, chrono::Duration) {
    use cairn_core::notify::{DELIVERY_JITTER, DELIVERY_SCHEDULE};
    let base = DELIVERY_SCHEDULE[0].mul_f64(RETRY_SCALE);
    let shortest = base.mul_f64(1.0 - DELIVERY_JITTER);
    let longest = base.mul_f64(1.0 + DELIVERY_JITTER);
    (
        chrono::Duration::from_std(shortest).expect("duration"),
        chrono::Duration::from_std(longest).expect("duration"),
    )
}

/// One delivery to a receiver that first answers 503 (with `headers`),
/// then 200; the delivery once delivered, and what the receiver got.
async fn delivered_after_a_503(
    backend: Backend,
    headers: Vec<(&'static str, &'static str)>,
) -> (Value, Vec<Received>, String) {
    let h = Harness::new(backend)
        .await
        .with_loopback_notify_scaled(NotifySettings::default().disable_after, RETRY_SCALE);
    let receiver = Receiver::start().await;
    receiver.script(503, headers);
    let (hook, secret) = channel(&h, "hook", "webhook", &receiver.url("/hook")).await;
    let secret = secret.expect("secret");
    one_event_to(&h, hook).await;
    let running = Running::start(&h, false).await;
    eventually("delivered on the second attempt", || async {
        deliveries(&h, hook)
            .await
            .first()
            .is_some_and(|d| d["state"] == "delivered")
    })
    .await;
    running.stop().await;
    let channel_view = h
        .call(
            "GET",
            &format!("/api/v1/channels/{hook}"),
            Some(&h.admin.token),
            None,
        )
        .await;
    assert_eq!(channel_view.body["enabled"], true);
    assert_eq!(channel_view.body["consecutive_failures"], 0);
    // Delivered at last: the catalog counts the webhook channel healthy.
    let webhook = catalog_entry(&h, "webhook").await;
    assert_eq!(
        (
            webhook["connections"].as_u64(),
            webhook["healthy"].as_u64(),
            webhook["failing"].as_u64()
        ),
        (Some(1), Some(1), Some(0)),
        "{webhook}"
    );
    let delivery = deliveries(&h, hook).await[0].clone();
    (delivery, receiver.received("/hook"), secret)
}

async fn retry_after(backend: Backend) {
    let (d, received, secret) = delivered_after_a_503(backend, vec![("retry-after", "30")]).await;
    assert_eq!(received.len(), 2, "{received:?}");
    assert_eq!(
        received[0].headers.get("webhook-id"),
        received[1].headers.get("webhook-id"),
        "the same webhook-id on every attempt"
    );
    assert!(received.iter().all(|r| verify_standard_webhook(&secret, r)));
    assert_eq!(d["attempts"], 2, "{d}");
    let log = d["attempt_log"].as_array().expect("attempts");
    assert_eq!(log.len(), 2, "{d}");
    assert_eq!(log[0]["attempt"], 1);
    assert_eq!(log[0]["status_code"], 503);
    assert_eq!(log[0]["response_excerpt"], "scripted answer");
    assert!(log[0]["error"].as_str().is_some_and(|e| e.contains("503")));
    assert!(log[0]["duration_ms"].as_i64().is_some());
    assert_eq!(log[1]["attempt"], 2);
    assert_eq!(log[1]["status_code"], 200);
    // Retry-After (30 s, 3 s here) is later than the first scheduled delay
    // (5 s ±20 %, 0.5 s here): the second attempt waited for it. A retry
    // that ignored it would come after at most 0.6 s plus a poll.
    let (first, second) = attempt_times(&d);
    let (_, longest) = first_retry_bounds();
    let waited = second - first;
    let retry_after = chrono::Duration::milliseconds((30_000.0 * RETRY_SCALE) as i64);
    assert!(retry_after > longest * 4, "the two are far apart");
    assert!(
        waited >= retry_after,
        "the retry came {waited} after the first attempt, before Retry-After's {retry_after}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_with_retry_after_is_retried_and_both_attempts_are_logged() {
    retry_after(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_with_retry_after_is_retried_and_both_attempts_are_logged_on_postgres() {
    retry_after(Backend::Postgres).await;
}

/// Without `Retry-After`, the retry follows the schedule: not before the
/// first delay's shortest jitter, and well before a `Retry-After` would
/// have put it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_without_retry_after_is_retried_on_the_schedule() {
    let (d, received, _) = delivered_after_a_503(Backend::Sqlite, vec![]).await;
    assert_eq!(received.len(), 2, "{received:?}");
    assert_eq!(d["attempts"], 2, "{d}");
    let (first, second) = attempt_times(&d);
    let (shortest, longest) = first_retry_bounds();
    let waited = second - first;
    assert!(
        waited >= shortest,
        "the retry came {waited} after the first attempt, before the schedule's {shortest}"
    );
    // The longest jitter, a worker poll (50 ms) and two generous seconds
    // for a loaded machine: 2.6 s, still under the 3 s a Retry-After: 30
    // means here.
    let slack = chrono::Duration::milliseconds(2000);
    assert!(
        waited <= longest + slack,
        "the retry came {waited} after the first attempt, later than the schedule's {longest}"
    );
}

async fn gone(backend: Backend) {
    let h = harness(backend).await;
    let receiver = Receiver::start().await;
    receiver.script(410, vec![]);
    let (slack, _) = channel(&h, "gone", "slack", &receiver.url("/gone")).await;
    one_event_to(&h, slack).await;
    let running = Running::start(&h, false).await;
    eventually("the delivery failed for good", || async {
        idle(&h).await
            && deliveries(&h, slack)
                .await
                .first()
                .is_some_and(|d| d["state"] == "failed")
    })
    .await;
    running.stop().await;
    assert_eq!(receiver.received("/gone").len(), 1, "not retried");

    let view = h
        .call(
            "GET",
            &format!("/api/v1/channels/{slack}"),
            Some(&h.admin.token),
            None,
        )
        .await;
    assert_eq!(view.body["enabled"], false, "{}", view.text);
    assert!(
        view.body["disabled_reason"]
            .as_str()
            .is_some_and(|r| r.contains("410")),
        "{}",
        view.text
    );
    let notices = h
        .call("GET", "/api/v1/notices", Some(&h.admin.token), None)
        .await;
    assert_eq!(notices.status, StatusCode::OK, "{}", notices.text);
    let list = notices.body.as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 1, "{}", notices.text);
    assert!(
        list[0]["text"].as_str().is_some_and(|t| t.contains("gone")),
        "{}",
        notices.text
    );
    let members = h
        .call("GET", "/api/v1/notices", Some(&h.other.token), None)
        .await;
    assert_eq!(members.status, StatusCode::FORBIDDEN, "admins only");
    let audit = h
        .call("GET", "/api/v1/audit", Some(&h.admin.token), None)
        .await;
    assert!(
        audit.text.contains("channel.disabled") && audit.text.contains("\"system\""),
        "{}",
        audit.text
    );
    let id = list[0]["id"].as_i64().expect("id");
    let dismissed = h
        .call(
            "POST",
            &format!("/api/v1/notices/{id}/dismiss"),
            Some(&h.admin.token),
            None,
        )
        .await;
    assert_eq!(
        dismissed.status,
        StatusCode::NO_CONTENT,
        "{}",
        dismissed.text
    );
    let after = h
        .call("GET", "/api/v1/notices", Some(&h.admin.token), None)
        .await;
    assert_eq!(after.body, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_410_disables_the_channel_with_a_notice_and_an_audit_entry() {
    gone(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_410_disables_the_channel_with_a_notice_and_an_audit_entry_on_postgres() {
    gone(Backend::Postgres).await;
}

/// Refused when the channel is created, not only at delivery: names of
/// this machine (which DNS may not know, so the check cannot wait for a
/// lookup), missing or malformed hosts, hosts hidden behind a user name,
/// host names DNS cannot carry. Without an allowlist, as by default.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_destinations_are_refused_at_create() {
    let h = Harness::new(Backend::Sqlite).await;
    let long_host = format!("http://{}example.com/x", "abcdefghi.".repeat(26));
    let long_label = format!("http://{}.example.com/x", "a".repeat(64));
    for url in [
        "http://localhost./hook",
        "http://hooks.localhost/hook",
        "http://chat.localhost./hook",
        "http:///x",
        "https:///hooks.slack.com/services/x",
        "http://127.0.0.1%2f@x/",
        "http://user:pw@hooks.example.com/x",
        long_host.as_str(),
        long_label.as_str(),
    ] {
        let reply = h
            .call(
                "POST",
                "/api/v1/channels",
                Some(&h.admin.token),
                Some(json!({"name": "odd", "kind": "webhook", "url": url})),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{url}: {}",
            reply.text
        );
        assert_eq!(reply.body["error"]["field"], "url", "{}", reply.text);
    }
    let listed = h
        .call("GET", "/api/v1/channels", Some(&h.admin.token), None)
        .await;
    assert_eq!(
        listed.body.as_array().map(Vec::len),
        Some(0),
        "nothing created"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_destinations_are_refused_with_422_naming_url() {
    let h = harness(Backend::Sqlite).await;
    for url in [
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.5/hook",
        "http://[fe80::1]/hook",
        "ftp://example.com/hook",
    ] {
        let reply = h
            .call(
                "POST",
                "/api/v1/channels",
                Some(&h.admin.token),
                Some(json!({"name": "internal", "kind": "webhook", "url": url})),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{url}: {}",
            reply.text
        );
        assert_eq!(reply.body["error"]["field"], "url", "{}", reply.text);
    }
    let reply = h
        .call(
            "POST",
            "/api/v1/channels",
            Some(&h.admin.token),
            Some(json!({"name": "x", "kind": "email", "url": "https://example.com/"})),
        )
        .await;
    assert_eq!(reply.body["error"]["field"], "kind", "{}", reply.text);

    // Bad input names its field.
    let (ok, _) = channel(&h, "fine", "slack", "http://127.0.0.1:9/x").await;
    for (body, field, status, code) in [
        (
            json!({"name": "x", "kind": "slack"}),
            "url",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            json!({"name": "", "kind": "slack", "url": "http://127.0.0.1:9/y"}),
            "name",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        // Taken: a conflict, not bad input.
        (
            json!({"name": "fine", "kind": "slack", "url": "http://127.0.0.1:9/y"}),
            "name",
            StatusCode::CONFLICT,
            "conflict",
        ),
    ] {
        let reply = h
            .call(
                "POST",
                "/api/v1/channels",
                Some(&h.admin.token),
                Some(body.clone()),
            )
            .await;
        assert_eq!(
            (reply.status, reply.body["error"]["code"].as_str()),
            (status, Some(code)),
            "{body}: {}",
            reply.text
        );
        assert_eq!(reply.body["error"]["field"], field, "{}", reply.text);
    }
    for (body, field) in [
        (json!({"channel_id": 424242}), "channel_id"),
        (json!({"channel_id": ok, "okr_id": 424242}), "okr_id"),
        (
            json!({"channel_id": ok, "events": ["status-changed"]}),
            "events",
        ),
    ] {
        let reply = h
            .call(
                "POST",
                "/api/v1/subscriptions",
                Some(&h.admin.token),
                Some(body),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            reply.text
        );
        assert_eq!(reply.body["error"]["field"], field, "{}", reply.text);
    }
    let reply = h
        .call(
            "PATCH",
            &format!("/api/v1/channels/{ok}"),
            Some(&h.admin.token),
            Some(json!({"url": "http://169.254.169.254/"})),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text
    );
    assert_eq!(reply.body["error"]["field"], "url");
    let reply = h
        .call(
            "POST",
            &format!("/api/v1/channels/{ok}/rotate-secret"),
            Some(&h.admin.token),
            None,
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::CONFLICT,
        "a Slack channel has no secret"
    );

    // Without the allowlist (the default), loopback is refused too.
    let strict = Harness::new(Backend::Sqlite).await;
    let reply = strict
        .call(
            "POST",
            "/api/v1/channels",
            Some(&strict.admin.token),
            Some(json!({"name": "local", "kind": "slack", "url": "http://127.0.0.1:9/x"})),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text
    );
    assert_eq!(reply.body["error"]["field"], "url");

    // Members may not create channels; admins manage them all.
    let reply = h
        .call(
            "POST",
            "/api/v1/channels",
            Some(&h.owner.token),
            Some(json!({"name": "mine", "kind": "slack", "url": "http://127.0.0.1:9/x"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text);
}

/// A writer that keeps every log line, to look for secrets in.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_secret_is_shown_once_and_never_returned_or_logged() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let h = harness(Backend::Sqlite).await;
    let receiver = Receiver::start().await;
    receiver.script(500, vec![]);
    let url = receiver.url("/services/T0/B0/sekretpathtoken");
    let (hook, secret) = channel(&h, "hook", "webhook", &url).await;
    let secret = secret.expect("shown on create");
    one_event_to(&h, hook).await;
    let running = Running::start(&h, false).await;
    eventually("delivered after a failure", || async {
        deliveries(&h, hook)
            .await
            .first()
            .is_some_and(|d| d["state"] == "delivered")
    })
    .await;
    let tested = h
        .call(
            "POST",
            &format!("/api/v1/channels/{hook}/test"),
            Some(&h.admin.token),
            None,
        )
        .await;
    assert_eq!(tested.status, StatusCode::OK, "{}", tested.text);
    assert_eq!(tested.body["status_code"], 200, "{}", tested.text);
    running.stop().await;

    let mut answers = Vec::new();
    for path in [
        "/api/v1/channels".to_owned(),
        format!("/api/v1/channels/{hook}"),
        format!("/api/v1/channels/{hook}/deliveries"),
        "/api/v1/subscriptions".to_owned(),
        "/api/v1/audit".to_owned(),
    ] {
        let reply = h.call("GET", &path, Some(&h.admin.token), None).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
        answers.push(reply.text);
    }
    let shown = answers.join("\n");
    assert!(
        shown.contains(&format!("http://{}", receiver.address)),
        "the target is shown"
    );
    assert!(!shown.contains(&secret), "the secret is never returned");
    assert!(!shown.contains("sekretpathtoken"), "nor the URL's path");

    // Rotating shows a new secret once; the old one no longer verifies.
    let rotated = h
        .call(
            "POST",
            &format!("/api/v1/channels/{hook}/rotate-secret"),
            Some(&h.admin.token),
            None,
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);
    let new_secret = rotated.body["secret"]
        .as_str()
        .expect("new secret")
        .to_owned();
    assert_ne!(new_secret, secret);

    let logged = String::from_utf8_lossy(&logs.0.lock().expect("lock")).into_owned();
    // This test's failure: the subscriber is global and other tests' sends
    // fail too, but only this receiver listens on this port.
    let target = format!("target_url=http://{}", receiver.address);
    let failures: Vec<&str> = logged
        .lines()
        .filter(|l| l.contains("notification delivery failed") && l.contains(&target))
        .collect();
    assert_eq!(failures.len(), 1, "the failure was logged once: {logged}");
    assert!(
        failures[0].contains("status=Some(500)") && failures[0].contains("failure=\"http_status\""),
        "{}",
        failures[0]
    );
    for leaked in [secret.as_str(), new_secret.as_str(), "sekretpathtoken"] {
        assert!(!logged.contains(leaked), "{leaked} is in the logs");
    }

    // The OpenAPI document lists the notification endpoints.
    let spec = h.call("GET", "/api/openapi.json", None, None).await;
    for path in [
        "/api/v1/channels",
        "/api/v1/channels/{id}",
        "/api/v1/channels/{id}/test",
        "/api/v1/channels/{id}/rotate-secret",
        "/api/v1/channels/{id}/deliveries",
        "/api/v1/subscriptions",
        "/api/v1/subscriptions/{id}",
        "/api/v1/notices",
        "/api/v1/notices/{id}/dismiss",
    ] {
        assert!(spec.body["paths"][path].is_object(), "{path} in OpenAPI");
    }

    // Deleting a channel is audited.
    let deleted = h
        .call(
            "DELETE",
            &format!("/api/v1/channels/{hook}"),
            Some(&h.admin.token),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let audit = h
        .call("GET", "/api/v1/audit", Some(&h.admin.token), None)
        .await;
    assert!(audit.text.contains("channel.created") && audit.text.contains("channel.deleted"));
}

async fn failing_for_days(backend: Backend) {
    // "Days" of failures, shortened to none: the first failure is already
    // too long.
    let h = harness_with(backend, Duration::ZERO).await;
    let receiver = Receiver::start().await;
    receiver.script(500, vec![]);
    let (slack, _) = channel(&h, "flaky", "slack", &receiver.url("/flaky")).await;
    one_event_to(&h, slack).await;
    let running = Running::start(&h, false).await;
    eventually("the channel is disabled", || async {
        let view = h
            .call(
                "GET",
                &format!("/api/v1/channels/{slack}"),
                Some(&h.admin.token),
                None,
            )
            .await;
        view.body["enabled"] == false
    })
    .await;
    eventually("every job done", || idle(&h)).await;
    running.stop().await;
    let view = h
        .call(
            "GET",
            &format!("/api/v1/channels/{slack}"),
            Some(&h.admin.token),
            None,
        )
        .await;
    assert!(
        view.body["disabled_reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("every delivery failed since")),
        "{}",
        view.text
    );
    // The retry already scheduled finds the channel disabled and stops.
    let d = &deliveries(&h, slack).await[0];
    assert_eq!(d["state"], "failed", "{d}");
    assert_eq!(receiver.received("/flaky").len(), 1);
    // The catalog's Slack health comes from that delivery.
    let slack_health = catalog_entry(&h, "slack").await;
    assert_eq!(
        (
            slack_health["connections"].as_u64(),
            slack_health["healthy"].as_u64(),
            slack_health["failing"].as_u64()
        ),
        (Some(1), Some(0), Some(1)),
        "{slack_health}"
    );
    assert!(
        slack_health["last_failure"]
            .as_str()
            .is_some_and(|f| f.starts_with("flaky: disabled, every delivery failed since")),
        "{slack_health}"
    );
    assert!(
        slack_health["last_failure_at"].is_string(),
        "{slack_health}"
    );
    let notices = h
        .call("GET", "/api/v1/notices", Some(&h.admin.token), None)
        .await;
    assert_eq!(
        notices.body.as_array().map(Vec::len),
        Some(1),
        "{}",
        notices.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_failing_for_too_long_is_disabled() {
    failing_for_days(Backend::Sqlite).await;
}

/// The kinds of the events enqueued so far, in order.
async fn event_kinds(h: &Harness) -> Vec<String> {
    let mut jobs = h.state.store.list_jobs(None, 1000).await.expect("jobs");
    jobs.sort_by_key(|j| j.id);
    jobs.iter()
        .filter(|j| j.kind == FANOUT_KIND)
        .map(|j| j.payload["kind"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn failing_links(backend: Backend) {
    let h = harness(backend).await;
    let receiver = Receiver::start().await;
    let (listening, _) = channel(&h, "listening", "slack", &receiver.url("/all")).await;
    subscribe(&h, listening, None, true).await;
    let period = period(&h).await;
    let connection = h.gitlab_connection(&h.owner, "gitlab", true).await;
    let kr = okr(
        &h,
        json!({"kind": "key_result", "title": "Read through", "period_id": period,
            "measure": {"mode": "percent_complete"}, "progress_source": "data_link"}),
    )
    .await;
    let reply = h
        .call(
            "PUT",
            &format!("/api/v1/okrs/{kr}/link"),
            Some(&h.owner.token),
            Some(json!({"tracker": "gitlab", "connection_id": connection, "project": PROJECT})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let link = h
        .state
        .store
        .link_for_okr(kr)
        .await
        .expect("link")
        .expect("link");
    assert!(event_kinds(&h).await.is_empty());

    // The token stops working: every refresh now fails with 401.
    let reply = h
        .call(
            "PATCH",
            &format!("/api/v1/connections/{connection}"),
            Some(&h.owner.token),
            Some(json!({"secret": "revoked-token"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let mut seen = Vec::new();
    for _ in 0..4 {
        let outcome = h
            .state
            .goals
            .refresh_link(link.id, true, Utc::now())
            .await
            .expect("refresh ran");
        assert!(outcome.error.is_some(), "{outcome:?}");
        seen.push(event_kinds(&h).await);
    }
    assert_eq!(
        seen[0],
        ["link_stale", "connection_unhealthy"],
        "the first failure makes the progress stale and the connection unhealthy"
    );
    assert_eq!(seen[1], seen[0], "nothing new at the second");
    assert_eq!(
        seen[2],
        ["link_stale", "connection_unhealthy", "link_failing"],
        "failing at the third"
    );
    assert_eq!(seen[3], seen[2], "and nothing repeated after");
    let jobs = h.state.store.list_jobs(None, 1000).await.expect("jobs");
    let unhealthy = jobs
        .iter()
        .find(|j| j.payload["kind"] == "connection_unhealthy")
        .expect("event");
    assert_eq!(unhealthy.payload["okr_id"], kr);
    assert_eq!(unhealthy.payload["connection_id"], connection);
}

/// A subscription to `kinds` only.
async fn subscribe_to(h: &Harness, channel: i64, okr: Option<i64>, subtree: bool, kinds: &[&str]) {
    let reply = h
        .call(
            "POST",
            "/api/v1/subscriptions",
            Some(&h.admin.token),
            Some(json!({"channel_id": channel, "okr_id": okr, "include_subtree": subtree, "events": kinds})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_failing_under_many_key_results_is_one_message_per_channel() {
    let h = harness(Backend::Sqlite).await;
    let receiver = Receiver::start().await;
    let period = period(&h).await;
    let connection = h.gitlab_connection(&h.owner, "gitlab", true).await;
    let objective = okr(
        &h,
        json!({"kind": "objective", "title": "Reliable checkout", "period_id": period,
            "measure": {"mode": "percent_complete"}, "progress_source": "roll_up"}),
    )
    .await;
    let mut key_results = Vec::new();
    for title in ["First", "Second", "Third"] {
        let kr = okr(
            &h,
            json!({"kind": "key_result", "title": title, "period_id": period, "parent_id": objective,
                "measure": {"mode": "percent_complete"}, "progress_source": "data_link"}),
        )
        .await;
        let reply = h
            .call(
                "PUT",
                &format!("/api/v1/okrs/{kr}/link"),
                Some(&h.owner.token),
                Some(json!({"tracker": "gitlab", "connection_id": connection, "project": PROJECT})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        key_results.push(kr);
    }
    let unhealthy = ["connection_unhealthy"];
    let (everything, _) = channel(&h, "everything", "slack", &receiver.url("/all")).await;
    subscribe_to(&h, everything, None, true, &unhealthy).await;
    let (tree, _) = channel(&h, "tree", "slack", &receiver.url("/tree")).await;
    subscribe_to(&h, tree, Some(objective), true, &unhealthy).await;
    // Subscribed to the last key result only: the event is about the first
    // one it finds, and still reaches this channel.
    let (last, _) = channel(&h, "last", "slack", &receiver.url("/last")).await;
    subscribe_to(&h, last, key_results.last().copied(), false, &unhealthy).await;

    let reply = h
        .call(
            "PATCH",
            &format!("/api/v1/connections/{connection}"),
            Some(&h.owner.token),
            Some(json!({"secret": "revoked-token"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    for kr in &key_results {
        let link = h
            .state
            .store
            .link_for_okr(*kr)
            .await
            .expect("link")
            .expect("link");
        let outcome = h
            .state
            .goals
            .refresh_link(link.id, true, Utc::now())
            .await
            .expect("refresh ran");
        assert!(outcome.error.is_some(), "{outcome:?}");
    }
    let running = Running::start(&h, false).await;
    eventually("every job done", || async {
        idle(&h).await && receiver.received("/last").len() == 1
    })
    .await;
    running.stop().await;
    for (path, id) in [("/all", everything), ("/tree", tree), ("/last", last)] {
        let got = deliveries(&h, id).await;
        assert_eq!(got.len(), 1, "{path}: {got:?}");
        assert_eq!(got[0]["event"]["kind"], "connection_unhealthy", "{path}");
        assert_eq!(receiver.received(path).len(), 1, "{path}");
    }
    let message = String::from_utf8_lossy(&receiver.received("/all")[0].body).into_owned();
    assert!(message.contains("and 2 other OKRs"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_refreshes_make_stale_failing_and_unhealthy_events_once() {
    failing_links(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_refreshes_make_stale_failing_and_unhealthy_events_once_on_postgres() {
    failing_links(Backend::Postgres).await;
}

/// Issue 18 item 6's reminder: a key result not checked in on for its
/// period's cadence is reminded of it through the channels subscribed to
/// `check_in_due`, once per missed check-in; a check-in starts the count
/// again.
async fn check_in_reminders(backend: Backend) {
    let h = harness(backend).await;
    let receiver = Receiver::start().await;
    // Began 10 days ago: weekly, a check-in was due 3 days ago.
    let period = period(&h).await;
    let quiet = okr(
        &h,
        json!({"kind": "key_result", "title": "Quiet and linked", "period_id": period,
            "measure": {"mode": "percent_complete"}, "progress_source": "data_link"}),
    )
    .await;
    let checked = checked_in_kr(&h, period, "Checked in today", None).await;
    check_in(&h, checked, 30.0).await;
    let (slack, _) = channel(&h, "reminders", "slack", &receiver.url("/reminders")).await;
    let reply = h
        .call(
            "POST",
            "/api/v1/subscriptions",
            Some(&h.admin.token),
            Some(json!({"channel_id": slack, "events": ["check_in_due"]})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);

    let now = Utc::now();
    let goals = &h.state.goals;
    assert_eq!(goals.remind_due_check_ins(now).await.expect("remind"), 1);
    assert_eq!(
        goals.remind_due_check_ins(now).await.expect("remind"),
        0,
        "once per missed check-in, however often it runs"
    );
    let running = Running::start(&h, false).await;
    eventually("the reminder delivered", || async {
        idle(&h).await && !receiver.received("/reminders").is_empty()
    })
    .await;
    running.stop().await;
    let sent = deliveries(&h, slack).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["event"]["okr_id"], quiet);
    assert_eq!(sent[0]["event"]["kind"], "check_in_due");
    let due_since = (Utc::now().date_naive() - chrono::Duration::days(3)).to_string();
    let body = String::from_utf8_lossy(&receiver.received("/reminders")[0].body).into_owned();
    assert!(
        body.contains("A check-in on Quiet and linked is due") && body.contains(&due_since),
        "{body}"
    );

    // A note on the quiet one; eight days on, each has missed one more.
    let noted = h
        .call(
            "POST",
            &format!("/api/v1/okrs/{quiet}/check-ins"),
            Some(&h.owner.token),
            Some(json!({"note": "still waiting", "confidence": "at_risk"})),
        )
        .await;
    assert_eq!(noted.status, StatusCode::CREATED, "{}", noted.text);
    let later = now + chrono::Duration::days(8);
    assert_eq!(goals.remind_due_check_ins(later).await.expect("remind"), 2);
    assert_eq!(goals.remind_due_check_ins(later).await.expect("remind"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_due_check_in_is_reminded_of_once_through_the_channels() {
    check_in_reminders(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_due_check_in_is_reminded_of_once_through_the_channels_on_postgres() {
    check_in_reminders(Backend::Postgres).await;
}
