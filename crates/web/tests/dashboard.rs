//! Issue 18 item 5 through the API: a period's dashboard counts each
//! team's statuses, lists the key results whose status moved in the last
//! 7 days, the stale links, the failing connections and the due check-ins,
//! on both backends.

mod common;

use axum::http::StatusCode;
use cairn_store::Backend;
use common::{Harness, dashboard_scenario};
use serde_json::Value;

fn ids(list: &Value, field: &str) -> Vec<i64> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|e| e[field].as_i64().expect("id"))
        .collect()
}

async fn a_period_at_a_glance(backend: Backend) {
    let h = Harness::new(backend).await;
    let s = dashboard_scenario(&h).await;
    let reply = h
        .call(
            "GET",
            &format!("/api/v1/periods/{}/dashboard", s.period),
            Some(&h.owner.token),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let d = &reply.body;
    assert_eq!(d["period"]["id"], s.period);

    // Three key results: one done, two on track (the linked one from its
    // first refresh, when the token still worked).
    let all = &d["all"];
    assert_eq!(
        (
            all["done"].as_u64(),
            all["on_track"].as_u64(),
            all["no_data"].as_u64(),
            all["total"].as_u64()
        ),
        (Some(1), Some(2), Some(0), Some(3)),
        "{d}"
    );
    let teams = d["teams"].as_array().expect("teams");
    assert_eq!(teams.len(), 2, "the team, then the OKRs no team owns: {d}");
    assert_eq!(
        (teams[0]["team_id"].as_i64(), teams[0]["name"].as_str()),
        (Some(s.team), Some("Platform"))
    );
    assert_eq!(
        (
            teams[0]["counts"]["done"].as_u64(),
            teams[0]["counts"]["total"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert!(teams[1]["team_id"].is_null());
    assert_eq!(
        (
            teams[1]["counts"]["on_track"].as_u64(),
            teams[1]["counts"]["total"].as_u64()
        ),
        (Some(2), Some(2))
    );

    // Only the key result that moved; the steady one is not listed.
    assert_eq!(ids(&d["status_changes"], "okr_id"), vec![s.moved], "{d}");
    let change = &d["status_changes"][0];
    assert_eq!(
        (
            change["from"].as_str(),
            change["to"].as_str(),
            change["changes"].as_u64()
        ),
        (Some("on_track"), Some("done"), Some(1))
    );

    // The link whose refresh failed, and the connection it failed on.
    assert_eq!(ids(&d["stale_links"], "okr_id"), vec![s.linked]);
    let stale = &d["stale_links"][0];
    assert_eq!(
        (stale["failures"].as_i64(), stale["connection_id"].as_i64()),
        (Some(1), Some(s.connection))
    );
    assert!(
        stale["last_success_at"].is_string(),
        "it refreshed once when linked"
    );
    assert!(
        stale["last_error"].as_str().is_some_and(|e| !e.is_empty()),
        "{stale}"
    );
    assert_eq!(ids(&d["failing_connections"], "id"), vec![s.connection]);
    assert_eq!(d["failing_connections"][0]["links_in_period"], 1);
    assert_eq!(d["failing_connections"][0]["kind"], "gitlab");

    // Only the key result never checked in on is due (the period began 10
    // days ago and asks for a weekly check-in).
    assert_eq!(ids(&d["check_ins_due"], "okr_id"), vec![s.linked], "{d}");

    // Another member sees the same OKRs, but not the owner's connection.
    let other = h
        .call(
            "GET",
            &format!("/api/v1/periods/{}/dashboard", s.period),
            Some(&h.other.token),
            None,
        )
        .await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.text);
    assert_eq!(other.body["all"], d["all"]);
    assert!(
        other.body["failing_connections"]
            .as_array()
            .expect("list")
            .is_empty()
    );
    assert_eq!(ids(&other.body["stale_links"], "okr_id"), vec![s.linked]);

    let missing = h
        .call(
            "GET",
            "/api/v1/periods/424242/dashboard",
            Some(&h.owner.token),
            None,
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.text);
    assert!(
        missing.text.contains("no period 424242"),
        "{}",
        missing.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_period_at_a_glance_on_sqlite() {
    a_period_at_a_glance(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_period_at_a_glance_on_postgres() {
    a_period_at_a_glance(Backend::Postgres).await;
}
