//! Issue 5's acceptance tests: key results linked to GitLab issues in the
//! simulator, through the API.

mod common;

use axum::http::StatusCode;
use chrono::{TimeZone, Utc};
use common::Harness;
use serde_json::{Value, json};

const PROJECT: &str = "northwind/checkout";

struct Setup {
    h: Harness,
    period: i64,
    connection: i64,
    milestone: String,
}

/// A period, a shared GitLab connection owned by `owner`, and a fresh
/// milestone of our own so that the selection holds only this test's issues.
async fn setup(name: &str) -> Setup {
    setup_on(name, cairn_store::Backend::Sqlite).await
}

async fn setup_on(name: &str, backend: cairn_store::Backend) -> Setup {
    let h = Harness::new(backend).await;
    let reply = h
        .call(
            "POST",
            "/api/v1/periods",
            Some(&h.admin.token),
            Some(json!({"name": "Q1 2026", "starts_on": "2026-01-01", "ends_on": "2026-03-31"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let period = reply.body["id"].as_i64().expect("period");
    let connection = h.gitlab_connection(&h.owner, "gitlab", true).await;
    let milestone = format!("Test {name}");
    h.gitlab(
        "POST",
        "/projects/northwind%2Fcheckout/milestones",
        Some(json!({"title": milestone})),
    )
    .await;
    Setup {
        h,
        period,
        connection,
        milestone,
    }
}

impl Setup {
    async fn issue(&self, title: &str, tasks: &[&str], extra: Value) -> u64 {
        let mut body = json!({"project": PROJECT, "title": title, "milestone": self.milestone, "tasks": tasks});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        self.h.control("gitlab/issues", body).await["iid"]
            .as_u64()
            .expect("iid")
    }

    async fn key_result(&self, measure: Value) -> i64 {
        let reply = self
            .h
            .call(
                "POST",
                "/api/v1/okrs",
                Some(&self.h.owner.token),
                Some(json!({"kind": "key_result", "title": "Ship checkout", "period_id": self.period, "measure": measure, "progress_source": "data_link"})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply.body["id"].as_i64().expect("okr")
    }

    async fn link(&self, okr: i64, extra: Value) -> Value {
        let mut body = json!({"tracker": "gitlab", "connection_id": self.connection, "project": PROJECT, "milestone": self.milestone});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        let reply = self
            .h
            .call(
                "PUT",
                &format!("/api/v1/okrs/{okr}/link"),
                Some(&self.h.owner.token),
                Some(body),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply.body
    }

    async fn refresh(&self, okr: i64) -> Value {
        let reply = self
            .h
            .call(
                "POST",
                &format!("/api/v1/okrs/{okr}/refresh"),
                Some(&self.h.owner.token),
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply.body
    }

    async fn okr(&self, okr: i64) -> Value {
        self.h
            .call(
                "GET",
                &format!("/api/v1/okrs/{okr}"),
                Some(&self.h.other.token),
                None,
            )
            .await
            .body
    }

    async fn percent(&self, okr: i64) -> f64 {
        self.okr(okr).await["progress"]["percent"]
            .as_f64()
            .expect("percent")
    }

    async fn explained_keys(&self, okr: i64) -> Vec<String> {
        let reply = self
            .h
            .call(
                "GET",
                &format!("/api/v1/okrs/{okr}/explain"),
                Some(&self.h.other.token),
                None,
            )
            .await;
        reply.body["explanation"]["contributions"]
            .as_array()
            .expect("contributions")
            .iter()
            .map(|c| c["key"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_issues_with_two_tasks_each_closing_one_task_gives_25_then_50_percent() {
    tasks_25_then_50(cairn_store::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_on_postgresql() {
    tasks_25_then_50(cairn_store::Backend::Postgres).await;
}

async fn tasks_25_then_50(backend: cairn_store::Backend) {
    let s = setup_on("tasks", backend).await;
    let a = s
        .issue("Card form", &["validate", "submit"], json!({}))
        .await;
    let b = s
        .issue("Receipt email", &["template", "send"], json!({}))
        .await;
    let kr = s.key_result(json!({"mode": "percent_complete"})).await;
    let linked = s.link(kr, json!({})).await;
    assert_eq!(linked["progress"]["percent"], 0.0, "{linked}");
    s.h.control(
        "gitlab/tasks/complete",
        json!({"project": PROJECT, "iid": a, "task": 1}),
    )
    .await;
    s.refresh(kr).await;
    assert_eq!(s.percent(kr).await, 25.0);
    s.h.control(
        "gitlab/tasks/complete",
        json!({"project": PROJECT, "iid": b, "task": 2}),
    )
    .await;
    let outcome = s.refresh(kr).await;
    assert_eq!(outcome["error"], Value::Null);
    assert_eq!(s.percent(kr).await, 50.0);

    let explain =
        s.h.call(
            "GET",
            &format!("/api/v1/okrs/{kr}/explain"),
            Some(&s.h.other.token),
            None,
        )
        .await
        .body;
    let contributions = explain["explanation"]["contributions"]
        .as_array()
        .expect("contributions");
    assert_eq!(contributions.len(), 2);
    for c in contributions {
        assert_eq!(
            (c["amount"].as_f64(), c["done_amount"].as_f64()),
            (Some(2.0), Some(1.0)),
            "{c}"
        );
    }
    let history =
        s.h.call(
            "GET",
            &format!("/api/v1/okrs/{kr}/history"),
            Some(&s.h.other.token),
            None,
        )
        .await
        .body;
    let percents: Vec<f64> = history
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|p| p["percent"].as_f64())
        .collect();
    assert_eq!(
        percents,
        vec![50.0, 25.0, 0.0],
        "every change is a point, newest first"
    );

    // Minutes of history make no forecast, and it says what it needs.
    let forecast =
        s.h.call(
            "GET",
            &format!("/api/v1/okrs/{kr}/forecast"),
            Some(&s.h.other.token),
            None,
        )
        .await;
    assert_eq!(forecast.status, StatusCode::OK, "{}", forecast.text);
    assert_eq!(
        forecast.body["outcome"], "not_enough_data",
        "{}",
        forecast.body
    );
    assert_eq!(forecast.body["needed_hours"], 48);
    assert!(
        forecast.body["history_hours"]
            .as_f64()
            .is_some_and(|h| h < 1.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_issue_with_open_tasks_counts_complete() {
    let s = setup("closed").await;
    let a = s
        .issue("Migrate payments", &["one", "two", "three"], json!({}))
        .await;
    s.issue("No tasks here", &[], json!({})).await;
    let kr = s.key_result(json!({"mode": "percent_complete"})).await;
    s.link(kr, json!({})).await;
    s.h.control("gitlab/issues/close", json!({"project": PROJECT, "iid": a}))
        .await;
    s.refresh(kr).await;
    assert_eq!(
        s.percent(kr).await,
        75.0,
        "3 of 3 units for the closed issue, 0 of 1 for the other"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_refresh_waits_while_its_integration_is_disabled() {
    let s = setup("paused").await;
    let a = s.issue("First", &[], json!({})).await;
    s.issue("Second", &[], json!({})).await;
    let kr = s.key_result(json!({"mode": "percent_complete"})).await;
    s.link(kr, json!({})).await;
    assert_eq!(s.percent(kr).await, 0.0);
    let toggle = |enabled: bool| {
        s.h.call(
            "PATCH",
            "/api/v1/integrations/gitlab",
            Some(&s.h.admin.token),
            Some(json!({ "enabled": enabled })),
        )
    };
    assert_eq!(toggle(false).await.status, StatusCode::OK);
    s.h.control("gitlab/issues/close", json!({"project": PROJECT, "iid": a}))
        .await;
    let refused =
        s.h.call(
            "POST",
            &format!("/api/v1/okrs/{kr}/refresh"),
            Some(&s.h.owner.token),
            None,
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("GitLab integration is disabled")),
        "{}",
        refused.text
    );
    assert_eq!(s.percent(kr).await, 0.0, "nothing was read while paused");
    assert_eq!(toggle(true).await.status, StatusCode::OK);
    s.refresh(kr).await;
    assert_eq!(s.percent(kr).await, 50.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kpi_resolve_30_issues() {
    let s = setup("kpi").await;
    let mut iids = Vec::new();
    for n in 0..32 {
        iids.push(s.issue(&format!("Bug {n}"), &[], json!({})).await);
    }
    let kr = s
        .key_result(json!({"mode": "kpi", "unit": "issues", "start_value": 0, "target_value": 30}))
        .await;
    s.link(kr, json!({"state": "closed"})).await;
    for iid in &iids[..12] {
        s.h.control(
            "gitlab/issues/close",
            json!({"project": PROJECT, "iid": iid}),
        )
        .await;
    }
    s.refresh(kr).await;
    let okr = s.okr(kr).await;
    assert_eq!(
        (
            okr["progress"]["value"].as_f64(),
            okr["progress"]["percent"].as_f64()
        ),
        (Some(12.0), Some(40.0)),
        "{okr}"
    );
    for iid in &iids[12..30] {
        s.h.control(
            "gitlab/issues/close",
            json!({"project": PROJECT, "iid": iid}),
        )
        .await;
    }
    s.refresh(kr).await;
    let okr = s.okr(kr).await;
    assert_eq!(okr["progress"]["value"].as_f64(), Some(30.0));
    assert_eq!(okr["progress"]["status"], "done", "{okr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn milestone_assignee_and_label_filters() {
    let s = setup("filters").await;
    let matching = s
        .issue(
            "match",
            &[],
            json!({"assignees": ["amartin"], "labels": ["backend", "urgent"]}),
        )
        .await;
    let matching_too = s
        .issue(
            "match too",
            &[],
            json!({"assignees": ["amartin", "bokafor"], "labels": ["backend", "urgent", "extra"]}),
        )
        .await;
    s.issue(
        "one label short",
        &[],
        json!({"assignees": ["amartin"], "labels": ["backend"]}),
    )
    .await;
    s.issue(
        "someone else",
        &[],
        json!({"assignees": ["bokafor"], "labels": ["backend", "urgent"]}),
    )
    .await;
    s.h.control("gitlab/issues", json!({"project": PROJECT, "title": "no milestone", "assignees": ["amartin"], "labels": ["backend", "urgent"]})).await;
    let kr = s.key_result(json!({"mode": "percent_complete"})).await;
    s.link(
        kr,
        json!({"assignee": "amartin", "labels": ["backend", "urgent"]}),
    )
    .await;
    // Exactly the two issues in the milestone, assigned to amartin, with
    // both labels: not the one a label short, not bokafor's, not the one
    // outside the milestone.
    let mut keys = s.explained_keys(kr).await;
    keys.sort();
    let mut expected = vec![
        format!("{PROJECT}#{matching}"),
        format!("{PROJECT}#{matching_too}"),
    ];
    expected.sort();
    assert_eq!(keys, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issue_removed_from_the_milestone_leaves_the_selection_at_the_next_refresh() {
    let s = setup("moved").await;
    let a = s.issue("stays", &[], json!({})).await;
    let b = s.issue("moves away", &[], json!({})).await;
    s.h.control("gitlab/issues/close", json!({"project": PROJECT, "iid": a}))
        .await;
    let kr = s.key_result(json!({"mode": "percent_complete"})).await;
    s.link(kr, json!({})).await;
    assert_eq!(s.percent(kr).await, 50.0);
    s.h.gitlab(
        "PUT",
        &format!("/projects/northwind%2Fcheckout/issues/{b}"),
        Some(json!({"milestone_id": 0})),
    )
    .await;
    let outcome = s.refresh(kr).await;
    assert_eq!(outcome["full"], false, "an incremental refresh notices it");
    assert_eq!(s.explained_keys(kr).await, vec![format!("{PROJECT}#{a}")]);
    assert_eq!(s.percent(kr).await, 100.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_against_500s_and_429s_changes_nothing_and_recovers() {
    let s = setup("faults").await;
    let a = s.issue("one", &[], json!({})).await;
    s.issue("two", &[], json!({})).await;
    let kr = s.key_result(json!({"mode": "percent_complete"})).await;
    s.link(kr, json!({})).await;
    assert_eq!(s.percent(kr).await, 0.0);
    s.h.control("gitlab/issues/close", json!({"project": PROJECT, "iid": a}))
        .await;
    for fault in [
        json!({"service": "gitlab", "kind": "server_error", "status": 500, "count": 5}),
        json!({"service": "gitlab", "kind": "rate_limit", "count": 5, "retry_after": 1}),
    ] {
        s.h.control("faults", fault.clone()).await;
        let outcome = s.refresh(kr).await;
        assert!(outcome["error"]["code"].is_string(), "{fault}: {outcome}");
        let okr = s.okr(kr).await;
        assert_eq!(
            okr["progress"]["percent"], 0.0,
            "a failed refresh changes nothing"
        );
        assert_eq!(okr["link"]["stale"], true);
        assert!(
            okr["link"]["last_error"]
                .as_str()
                .is_some_and(|e| !e.is_empty())
        );
        s.h.sim.clear_faults();
    }
    let history_before =
        s.h.call(
            "GET",
            &format!("/api/v1/okrs/{kr}/history"),
            Some(&s.h.owner.token),
            None,
        )
        .await
        .body;
    assert_eq!(
        history_before.as_array().map(Vec::len),
        Some(1),
        "no point was written by failures"
    );
    let outcome = s.refresh(kr).await;
    assert_eq!(outcome["error"], Value::Null, "{outcome}");
    let okr = s.okr(kr).await;
    assert_eq!(okr["progress"]["percent"], 50.0);
    assert_eq!(
        (
            okr["link"]["stale"].as_bool(),
            okr["link"]["failures"].as_i64()
        ),
        (Some(false), Some(0))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_marks_the_connection_unhealthy() {
    let s = setup("revoked").await;
    s.issue("one", &[], json!({})).await;
    let kr = s.key_result(json!({"mode": "percent_complete"})).await;
    s.link(kr, json!({})).await;
    s.h.control("faults", json!({"service": "gitlab", "kind": "revoke_token", "token": cairn_sim::DEFAULT_GITLAB_TOKEN})).await;
    let outcome = s.refresh(kr).await;
    assert_eq!(outcome["error"]["code"], "unauthorized", "{outcome}");
    let connection =
        s.h.call(
            "GET",
            &format!("/api/v1/connections/{}", s.connection),
            Some(&s.h.owner.token),
            None,
        )
        .await
        .body;
    assert_eq!(connection["health"]["status"], "failing", "{connection}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_colours_on_a_fixed_clock() {
    let s = setup("clock").await;
    let reply = s
        .h
        .call(
            "POST",
            "/api/v1/okrs",
            Some(&s.h.owner.token),
            Some(json!({"kind": "key_result", "title": "Half way", "period_id": s.period, "starts_on": "2026-01-01", "due_on": "2026-01-10", "measure": {"mode": "percent_complete"}, "progress_source": "check_in"})),
        )
        .await;
    let kr = reply.body["id"].as_i64().expect("okr");
    let reply =
        s.h.call(
            "POST",
            &format!("/api/v1/okrs/{kr}/check-ins"),
            Some(&s.h.owner.token),
            Some(json!({"value": 50, "note": "half"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    // Ten days, 10 points of expected progress a day (measured at noon:
    // day d expects (d - 0.5) x 10 %); actual 50 %.
    for (day, expected_status) in [
        (1, "on_track"),
        (5, "on_track"),
        (6, "behind"),
        (8, "behind"),
        (9, "at_risk"),
    ] {
        let at = Utc
            .with_ymd_and_hms(2026, 1, day, 0, 0, 0)
            .single()
            .expect("time")
            + chrono::Duration::hours(12);
        s.h.state
            .goals
            .recompute(kr, at, "check_in", "clock")
            .await
            .expect("recompute");
        let okr = s.okr(kr).await;
        assert_eq!(
            okr["progress"]["status"], expected_status,
            "day {day}: {okr}"
        );
    }
    // Without a new check-in, time alone moves the status.
    let later = Utc
        .with_ymd_and_hms(2026, 1, 5, 12, 0, 0)
        .single()
        .expect("time");
    s.h.state
        .goals
        .recompute(kr, later, "check_in", "clock")
        .await
        .expect("recompute");
    assert_eq!(s.okr(kr).await["progress"]["status"], "on_track");
    let much_later = Utc
        .with_ymd_and_hms(2026, 1, 9, 12, 0, 0)
        .single()
        .expect("time");
    assert_eq!(
        s.h.state
            .goals
            .reassess_all(much_later)
            .await
            .expect("reassess"),
        1
    );
    assert_eq!(s.okr(kr).await["progress"]["status"], "at_risk");
    let before = Utc
        .with_ymd_and_hms(2025, 12, 30, 12, 0, 0)
        .single()
        .expect("time");
    s.h.state
        .goals
        .recompute(kr, before, "check_in", "clock")
        .await
        .expect("recompute");
    assert_eq!(s.okr(kr).await["progress"]["status"], "not_started");
    s.h.call(
        "POST",
        &format!("/api/v1/okrs/{kr}/check-ins"),
        Some(&s.h.owner.token),
        Some(json!({"value": 100})),
    )
    .await;
    assert_eq!(s.okr(kr).await["progress"]["status"], "done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objectives_roll_up_and_check_ins_belong_to_their_author() {
    let s = setup("rollup").await;
    let create = |body: Value| async {
        s.h.call("POST", "/api/v1/okrs", Some(&s.h.owner.token), Some(body))
            .await
    };
    let objective = create(json!({"kind": "objective", "title": "Faster checkout", "period_id": s.period, "measure": {"mode": "percent_complete"}, "progress_source": "roll_up"})).await.body["id"].as_i64().expect("id");
    let mut krs = Vec::new();
    for (title, weight) in [("a", 1.0), ("b", 3.0)] {
        let reply = create(json!({"kind": "key_result", "title": title, "period_id": s.period, "parent_id": objective, "weight": weight, "measure": {"mode": "percent_complete"}, "progress_source": "check_in"})).await;
        krs.push(reply.body["id"].as_i64().expect("id"));
    }
    let first =
        s.h.call(
            "POST",
            &format!("/api/v1/okrs/{}/check-ins", krs[0]),
            Some(&s.h.owner.token),
            Some(json!({"value": 100})),
        )
        .await;
    s.h.call(
        "POST",
        &format!("/api/v1/okrs/{}/check-ins", krs[1]),
        Some(&s.h.owner.token),
        Some(json!({"value": 20})),
    )
    .await;
    assert_eq!(s.percent(objective).await, 40.0, "(100 x 1 + 20 x 3) / 4");
    let check_in = first.body["id"].as_i64().expect("id");
    let stranger =
        s.h.call(
            "PUT",
            &format!("/api/v1/check-ins/{check_in}"),
            Some(&s.h.other.token),
            Some(json!({"value": 0})),
        )
        .await;
    assert_eq!(stranger.status, StatusCode::FORBIDDEN);
    let edited =
        s.h.call(
            "PUT",
            &format!("/api/v1/check-ins/{check_in}"),
            Some(&s.h.owner.token),
            Some(json!({"value": 60, "note": "re-estimated"})),
        )
        .await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.text);
    assert_eq!(s.percent(objective).await, 30.0, "(60 + 60) / 4");
    let deleted =
        s.h.call(
            "DELETE",
            &format!("/api/v1/check-ins/{check_in}"),
            Some(&s.h.owner.token),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let check_ins =
        s.h.call(
            "GET",
            &format!("/api/v1/okrs/{}/check-ins", krs[0]),
            Some(&s.h.owner.token),
            None,
        )
        .await
        .body;
    assert_eq!(check_ins.as_array().map(Vec::len), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_names_the_field_and_saves_nothing() {
    let s = setup("bad").await;
    let base = json!({"kind": "key_result", "title": "t", "period_id": s.period, "measure": {"mode": "percent_complete"}, "progress_source": "check_in"});
    let with = |key: &str, value: Value| {
        let mut body = base.clone();
        body[key] = value;
        body
    };
    let objective =
        s.h.call(
            "POST",
            "/api/v1/okrs",
            Some(&s.h.owner.token),
            Some(with("kind", json!("objective"))),
        )
        .await
        .body["id"]
            .as_i64()
            .expect("id");
    let child =
        s.h.call(
            "POST",
            "/api/v1/okrs",
            Some(&s.h.owner.token),
            Some(with("parent_id", json!(objective))),
        )
        .await
        .body["id"]
            .as_i64()
            .expect("id");
    assert_eq!(okr_count(&s).await, Some(2));
    for (body, field) in [
        (
            with(
                "measure",
                json!({"mode": "kpi", "unit": "bugs", "start_value": 5, "target_value": 5}),
            ),
            "measure",
        ),
        (with("due_on", json!("2025-12-01")), "due_on"),
        (with("weight", json!(-1)), "weight"),
        (with("period_id", json!(999)), "period_id"),
        (with("parent_id", json!(999)), "parent_id"),
        (with("title", json!("")), "title"),
        (with("progress_source", json!("magic")), "progress_source"),
    ] {
        let reply =
            s.h.call(
                "POST",
                "/api/v1/okrs",
                Some(&s.h.owner.token),
                Some(body.clone()),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            reply.text
        );
        assert_eq!(
            reply.body["error"]["field"], field,
            "{body}: {}",
            reply.text
        );
    }
    assert_eq!(okr_count(&s).await, Some(2), "nothing saved");
    // A parent that would make a cycle: the objective under its own child.
    let cycle = s.h.call("PUT", &format!("/api/v1/okrs/{objective}"), Some(&s.h.owner.token), Some(json!({"kind": "objective", "title": "o", "period_id": s.period, "parent_id": child, "measure": {"mode": "percent_complete"}, "progress_source": "roll_up"}))).await;
    assert_eq!(
        (cycle.status.as_u16(), cycle.body["error"]["field"].as_str()),
        (422, Some("parent_id")),
        "{}",
        cycle.text
    );

    let kr = s.key_result(json!({"mode": "percent_complete"})).await;
    let private =
        s.h.gitlab_connection(&s.h.other, "someone else's", false)
            .await;
    for (body, field) in [
        (
            json!({"tracker": "gitlab", "connection_id": private, "project": PROJECT}),
            "connection_id",
        ),
        (
            json!({"tracker": "gitlab", "connection_id": s.connection, "project": "northwind/nope"}),
            "project",
        ),
        (
            json!({"tracker": "gitlab", "connection_id": s.connection, "project": PROJECT, "milestone": "No such milestone"}),
            "milestone",
        ),
        (
            json!({"tracker": "gitlab", "connection_id": s.connection, "project": PROJECT, "state": "closed"}),
            "state",
        ),
        (
            json!({"tracker": "gitlab", "connection_id": s.connection, "project": PROJECT, "refresh_interval_secs": 5}),
            "refresh_interval_secs",
        ),
    ] {
        let reply =
            s.h.call(
                "PUT",
                &format!("/api/v1/okrs/{kr}/link"),
                Some(&s.h.owner.token),
                Some(body.clone()),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            reply.text
        );
        assert_eq!(
            reply.body["error"]["field"], field,
            "{body}: {}",
            reply.text
        );
    }
    assert_eq!(s.okr(kr).await["link"], Value::Null, "no link saved");
}

async fn okr_count(s: &Setup) -> Option<usize> {
    s.h.call("GET", "/api/v1/okrs", Some(&s.h.owner.token), None)
        .await
        .body
        .as_array()
        .map(Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn due_links_are_refreshed_on_schedule_through_the_job_queue() {
    use cairn_engine::goals::gitlab_link::{REFRESH_KIND, RefreshHandler};
    use cairn_engine::jobs::{JobSignal, Registry, Worker, WorkerConfig};

    let s = setup("schedule").await;
    let a = s.issue("one", &[], json!({})).await;
    s.issue("two", &[], json!({})).await;
    let kr = s.key_result(json!({"mode": "percent_complete"})).await;
    let linked = s.link(kr, json!({"refresh_interval_secs": 60})).await;
    let next = linked["link"]["next_refresh_at"]
        .as_str()
        .expect("next refresh")
        .to_owned();
    let next: chrono::DateTime<Utc> = next.parse().expect("time");
    let since = linked["link"]["last_success_at"]
        .as_str()
        .expect("last success")
        .parse::<chrono::DateTime<Utc>>()
        .expect("time");
    assert_eq!((next - since).num_seconds(), 60, "the link's own interval");

    // Nothing is due yet, and the link is due one interval after its last
    // refresh: pretend that one ran 61 seconds ago.
    assert_eq!(
        s.h.state
            .goals
            .enqueue_due_refreshes(Utc::now())
            .await
            .expect("schedule"),
        0
    );
    assert!(
        s.h.state
            .goals
            .enqueue_due_refreshes(next - chrono::Duration::seconds(1))
            .await
            .expect("schedule")
            == 0
    );
    let link_id =
        s.h.state
            .store
            .link_for_okr(kr)
            .await
            .expect("link")
            .expect("link")
            .id;
    let earlier = Utc::now() - chrono::Duration::seconds(61);
    s.h.state
        .goals
        .refresh_link(link_id, false, earlier)
        .await
        .expect("refresh");
    s.h.control("gitlab/issues/close", json!({"project": PROJECT, "iid": a}))
        .await;
    assert_eq!(s.percent(kr).await, 0.0);
    let now = Utc::now();
    assert_eq!(
        s.h.state
            .goals
            .enqueue_due_refreshes(now)
            .await
            .expect("schedule"),
        1
    );
    assert_eq!(
        s.h.state
            .goals
            .enqueue_due_refreshes(now)
            .await
            .expect("schedule"),
        0,
        "deduplicated while queued"
    );
    let mut registry = Registry::default();
    registry.register(REFRESH_KIND, RefreshHandler(s.h.state.goals.clone()));
    let shutdown = tokio_util::sync::CancellationToken::new();
    let worker = Worker::new(
        s.h.state.store.clone(),
        registry,
        WorkerConfig::default(),
        "w".into(),
        JobSignal::default(),
    );
    let task = tokio::spawn(worker.run(shutdown.clone()));
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while s.percent(kr).await != 50.0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the scheduled refresh did not run"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    shutdown.cancel();
    task.await.expect("worker").expect("worker ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_in_use_by_a_link_is_not_deleted() {
    let s = setup("in use").await;
    s.issue("one", &[], json!({})).await;
    let kr = s.key_result(json!({"mode": "percent_complete"})).await;
    s.link(kr, json!({})).await;
    let reply =
        s.h.call(
            "DELETE",
            &format!("/api/v1/connections/{}", s.connection),
            Some(&s.h.owner.token),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
    assert!(
        reply.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("1 key result"))
    );
    assert_eq!(
        s.okr(kr).await["link"]["connection_id"].as_i64(),
        Some(s.connection),
        "nothing changed"
    );
}

/// One link resource for both trackers: `PUT` with a tagged body, `GET`
/// and `DELETE` on `/okrs/{id}/link`; `/jira-link` is gone; a GitLab issue
/// state is spelled `opened`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_link_resource_for_both_trackers() {
    let s = setup("resource").await;
    s.issue("one", &[], json!({})).await;
    let kr = s
        .key_result(json!({"mode": "kpi", "unit": "issues", "start_value": 0, "target_value": 10}))
        .await;
    let linked = s.link(kr, json!({"state": "opened"})).await;
    assert_eq!(linked["link"]["rule"]["state"], "opened", "{linked}");
    let path = format!("/api/v1/okrs/{kr}/link");
    let got = s.h.call("GET", &path, Some(&s.h.other.token), None).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    assert_eq!(got.body["connection_id"], s.connection);
    // An unknown tracker, or none, names the tracker.
    for body in [
        json!({"tracker": "trello", "connection_id": s.connection}),
        json!({"connection_id": s.connection, "project": PROJECT}),
    ] {
        let reply =
            s.h.call("PUT", &path, Some(&s.h.owner.token), Some(body))
                .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            reply.text
        );
    }
    let old =
        s.h.call(
            "PUT",
            &format!("/api/v1/okrs/{kr}/jira-link"),
            Some(&s.h.owner.token),
            Some(json!({"connection_id": s.connection, "jql": "x", "metric": "count"})),
        )
        .await;
    assert_eq!(old.status, StatusCode::NOT_FOUND, "{}", old.text);
    // Only the owner (or an admin) removes it.
    let reply =
        s.h.call("DELETE", &path, Some(&s.h.other.token), None)
            .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text);
    let reply =
        s.h.call("DELETE", &path, Some(&s.h.owner.token), None)
            .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    let reply = s.h.call("GET", &path, Some(&s.h.owner.token), None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text);
    assert_eq!(s.okr(kr).await["link"], Value::Null);
}

/// Issue 18 item 6: a key result whose number comes from its data link
/// takes check-ins too (a note and a confidence), which change neither its
/// number nor its status; a number or a status override there is refused,
/// and so is a confidence that is not one, each naming its field and saving
/// nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linked_key_results_take_a_note_and_a_confidence_but_keep_their_number() {
    let s = setup("confidence").await;
    let kr = s.key_result(json!({"mode": "percent_complete"})).await;
    for (title, close) in [("one", true), ("two", false)] {
        let iid = s.issue(title, &[], json!({})).await;
        if close {
            s.h.control(
                "gitlab/issues/close",
                json!({"project": PROJECT, "iid": iid}),
            )
            .await;
        }
    }
    s.link(kr, json!({})).await;
    s.refresh(kr).await;
    let before = s.okr(kr).await["progress"].clone();
    assert_eq!(before["percent"], 50.0, "{before}");
    let path = format!("/api/v1/okrs/{kr}/check-ins");
    let post = |body: Value| s.h.call("POST", &path, Some(&s.h.owner.token), Some(body));

    let recorded = post(json!({"note": "review is slow this week", "confidence": "behind"})).await;
    assert_eq!(recorded.status, StatusCode::CREATED, "{}", recorded.text);
    assert_eq!(recorded.body["confidence"], "behind");
    assert_eq!(recorded.body["value"], 50.0, "the number as it stood");
    assert!(recorded.body["status_override"].is_null());
    let after = s.okr(kr).await["progress"].clone();
    assert_eq!(
        (&after["percent"], &after["status"]),
        (&before["percent"], &before["status"]),
        "the number and the status stay the link's"
    );

    for (body, field) in [
        (json!({"value": 90, "note": "x"}), "value"),
        (
            json!({"status_override": "done", "note": "x"}),
            "status_override",
        ),
        (json!({"confidence": "done", "note": "x"}), "confidence"),
        (json!({"note": "  "}), "note"),
    ] {
        let refused = post(body.clone()).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            refused.text
        );
        assert_eq!(
            refused.body["error"]["field"], field,
            "{body}: {}",
            refused.text
        );
    }
    let listed = s.h.call("GET", &path, Some(&s.h.owner.token), None).await;
    assert_eq!(
        listed.body.as_array().map(Vec::len),
        Some(1),
        "nothing more saved"
    );

    // A check-in OKR still needs its number.
    let by_hand =
        s.h.call(
            "POST",
            "/api/v1/okrs",
            Some(&s.h.owner.token),
            Some(
                json!({"kind": "key_result", "title": "by hand", "period_id": s.period,
                "measure": {"mode": "percent_complete"}, "progress_source": "check_in"}),
            ),
        )
        .await
        .body["id"]
            .as_i64()
            .expect("okr");
    let no_value =
        s.h.call(
            "POST",
            &format!("/api/v1/okrs/{by_hand}/check-ins"),
            Some(&s.h.owner.token),
            Some(json!({"note": "forgot the number", "confidence": "on_track"})),
        )
        .await;
    assert_eq!(
        no_value.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        no_value.text
    );
    assert_eq!(no_value.body["error"]["field"], "value");
}

/// A period's check-in cadence: weekly unless set, 1 to 90 days, changed
/// by admins; anything else names the field and saves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_period_sets_its_check_in_cadence_within_bounds() {
    let s = setup("cadence").await;
    let periods = || async {
        s.h.call("GET", "/api/v1/periods", Some(&s.h.admin.token), None)
            .await
            .body
    };
    assert_eq!(periods().await[0]["check_in_every_days"], 7, "weekly");
    for days in [0, 91, -3] {
        let refused = s
            .h
            .call(
                "POST",
                "/api/v1/periods",
                Some(&s.h.admin.token),
                Some(json!({"name": format!("Every {days}"), "starts_on": "2026-04-01", "ends_on": "2026-06-30", "check_in_every_days": days})),
            )
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            refused.text
        );
        assert_eq!(refused.body["error"]["field"], "check_in_every_days");
    }
    assert_eq!(
        periods().await.as_array().map(Vec::len),
        Some(1),
        "none created"
    );
    let fortnightly = s
        .h
        .call(
            "POST",
            "/api/v1/periods",
            Some(&s.h.admin.token),
            Some(json!({"name": "Q2 2026", "starts_on": "2026-04-01", "ends_on": "2026-06-30", "check_in_every_days": 14})),
        )
        .await;
    assert_eq!(
        fortnightly.status,
        StatusCode::CREATED,
        "{}",
        fortnightly.text
    );
    assert_eq!(fortnightly.body["check_in_every_days"], 14);

    let path = format!("/api/v1/periods/{}", s.period);
    let changed =
        s.h.call(
            "PATCH",
            &path,
            Some(&s.h.admin.token),
            Some(json!({"check_in_every_days": 1})),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    assert_eq!(changed.body["check_in_every_days"], 1);
    let refused =
        s.h.call(
            "PATCH",
            &path,
            Some(&s.h.admin.token),
            Some(json!({"check_in_every_days": 120})),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    assert_eq!(refused.body["error"]["field"], "check_in_every_days");
    let missing =
        s.h.call(
            "PATCH",
            "/api/v1/periods/424242",
            Some(&s.h.admin.token),
            Some(json!({"check_in_every_days": 3})),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.text);
    assert_eq!(periods().await[0]["check_in_every_days"], 1, "kept");
}

/// A GitLab connection to the simulator made straight through the engine,
/// so it is never tested (as connections made before testing on save).
async fn untested_gitlab(h: &Harness, name: &str) -> i64 {
    let user = h
        .state
        .store
        .get_user(h.owner.id)
        .await
        .expect("user")
        .expect("owner");
    let who = cairn_engine::accounts::Authenticated {
        user,
        session: None,
    };
    let input = cairn_engine::connections::ConnectionInput {
        kind: "gitlab".to_owned(),
        name: name.to_owned(),
        base_url: Some(h.sim.gitlab_url()),
        auth_kind: "private_token".to_owned(),
        username: None,
        secret: cairn_core::secret::Secret::new(cairn_sim::DEFAULT_GITLAB_TOKEN),
        shared: true,
    };
    h.state
        .connections
        .create(&who, input, Utc::now())
        .await
        .expect("connection")
        .id
}

async fn connection_health(s: &Setup, id: i64) -> Value {
    let reply =
        s.h.call(
            "GET",
            &format!("/api/v1/connections/{id}"),
            Some(&s.h.owner.token),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body["health"].clone()
}

async fn refreshes_make_a_connections_health(backend: cairn_store::Backend) {
    let s = setup_on("health", backend).await;
    s.issue("one", &[], json!({})).await;
    let connection = untested_gitlab(&s.h, "never tested").await;
    assert_eq!(connection_health(&s, connection).await["status"], "unknown");

    let kr = s.key_result(json!({"mode": "percent_complete"})).await;
    s.link(kr, json!({"connection_id": connection})).await;
    let outcome = s.refresh(kr).await;
    assert_eq!(outcome["error"], Value::Null, "{outcome}");
    let health = connection_health(&s, connection).await;
    assert_eq!(health["status"], "ok", "a refresh that worked: {health}");
    assert!(health["last_ok_at"].is_string(), "{health}");

    // The sim rejects the token: the next refresh makes it failing, with why.
    let token_user =
        s.h.sim
            .with_world(|w| w.gitlab.tokens[cairn_sim::DEFAULT_GITLAB_TOKEN]);
    s.h.control("faults", json!({"service": "gitlab", "kind": "revoke_token", "token": cairn_sim::DEFAULT_GITLAB_TOKEN})).await;
    let outcome = s.refresh(kr).await;
    assert_eq!(outcome["error"]["code"], "unauthorized", "{outcome}");
    let health = connection_health(&s, connection).await;
    assert_eq!(health["status"], "failing", "{health}");
    assert_eq!(health["last_error_code"], "unauthorized", "{health}");
    assert!(
        health["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("401") || e.to_lowercase().contains("token")),
        "the reason: {health}"
    );
    let catalog =
        s.h.call("GET", "/api/v1/integrations", Some(&s.h.admin.token), None)
            .await;
    let gitlab = &catalog.body.as_array().expect("catalog")[0];
    assert_eq!(gitlab["kind"], "gitlab");
    assert!(gitlab["failing"].as_u64() >= Some(1), "{gitlab}");
    assert!(
        gitlab["last_failure"]
            .as_str()
            .is_some_and(|f| f.starts_with("never tested")),
        "{gitlab}"
    );

    // Fixed (the token is valid again): the first refresh that works makes
    // it ok again at once.
    s.h.sim.with_world_mut(|w| {
        w.gitlab
            .tokens
            .insert(cairn_sim::DEFAULT_GITLAB_TOKEN.to_owned(), token_user)
    });
    s.h.sim.clear_faults();
    let outcome = s.refresh(kr).await;
    assert_eq!(outcome["error"], Value::Null, "{outcome}");
    assert_eq!(connection_health(&s, connection).await["status"], "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refreshes_make_a_connections_health_on_sqlite() {
    refreshes_make_a_connections_health(cairn_store::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refreshes_make_a_connections_health_on_postgres() {
    refreshes_make_a_connections_health(cairn_store::Backend::Postgres).await;
}
