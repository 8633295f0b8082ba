//! Issue 6's acceptance tests: key results linked to Jira tickets by JQL,
//! against the simulator (Cloud by default, Data Center where said).

mod common;

use axum::http::StatusCode;
use common::Harness;
use serde_json::{Value, json};

struct Setup {
    h: Harness,
    period: i64,
    jira: i64,
}

/// A Jira connection (owned by the harness' owner, shared) to a simulator.
async fn jira_connection(h: &Harness, name: &str, jira_url: &str, cloud: bool) -> i64 {
    let body = if cloud {
        json!({"kind": "jira", "name": name, "base_url": jira_url, "auth_kind": "basic",
               "username": cairn_sim::DEFAULT_JIRA_EMAIL, "secret": cairn_sim::DEFAULT_JIRA_API_TOKEN, "shared": true})
    } else {
        json!({"kind": "jira", "name": name, "base_url": jira_url, "auth_kind": "bearer",
               "secret": cairn_sim::DEFAULT_JIRA_PAT, "shared": true})
    };
    let reply = h
        .call(
            "POST",
            "/api/v1/connections",
            Some(&h.owner.token),
            Some(body),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.body["id"].as_i64().expect("id")
}

async fn setup() -> Setup {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
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
    let url = h.sim.jira_url();
    let jira = jira_connection(&h, "jira", &url, true).await;
    Setup { h, period, jira }
}

/// Makes something happen in a simulator's Jira (control endpoints answer
/// on both listeners).
async fn control(sim_url: &str, path: &str, body: Value) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{sim_url}/_sim/{path}"))
        .json(&body)
        .send()
        .await
        .expect("simulator answers");
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.expect("JSON")
}

async fn new_issue(sim_url: &str, body: Value) -> String {
    control(sim_url, "jira/issues", body).await["key"]
        .as_str()
        .expect("key")
        .to_owned()
}

impl Setup {
    fn sim(&self) -> String {
        self.h.sim.jira_url()
    }

    async fn key_result(&self, measure: Value) -> i64 {
        let reply = self
            .h
            .call(
                "POST",
                "/api/v1/okrs",
                Some(&self.h.owner.token),
                Some(json!({"kind": "key_result", "title": "From Jira", "period_id": self.period, "measure": measure, "progress_source": "data_link"})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply.body["id"].as_i64().expect("okr")
    }

    async fn put_link(&self, okr: i64, body: Value) -> common::Reply {
        self.h
            .call(
                "PUT",
                &format!("/api/v1/okrs/{okr}/jira-link"),
                Some(&self.h.owner.token),
                Some(body),
            )
            .await
    }

    async fn link(&self, okr: i64, jql: &str, extra: Value) -> Value {
        let mut body = json!({"connection_id": self.jira, "jql": jql, "metric": "count"});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        let reply = self.put_link(okr, body).await;
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
        assert!(reply.body["error"].is_null(), "{}", reply.text);
        reply.body
    }

    async fn okr(&self, okr: i64) -> Value {
        self.h
            .call(
                "GET",
                &format!("/api/v1/okrs/{okr}"),
                Some(&self.h.owner.token),
                None,
            )
            .await
            .body
    }
}

/// An epic in `project` with `stories` stories, the first `done` of them Done.
async fn epic(sim_url: &str, project: &str, stories: usize, done: usize) -> (String, Vec<String>) {
    let epic = new_issue(
        sim_url,
        json!({"project": project, "summary": "Checkout revamp", "issue_type": "Epic"}),
    )
    .await;
    let mut keys = Vec::new();
    for n in 0..stories {
        let mut body = json!({"project": project, "summary": format!("Story {n}"), "epic": epic, "story_points": (n % 3 + 1) as f64, "original_estimate": "2h"});
        if n < done
            && let Some(obj) = body.as_object_mut()
        {
            obj.insert("status".into(), json!("Done"));
        }
        keys.push(new_issue(sim_url, body).await);
    }
    (epic, keys)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn epic_of_ten_stories_three_done_is_30_percent_and_an_eleventh_makes_27() {
    let s = setup().await;
    let (epic_key, _) = epic(&s.sim(), "OPS", 10, 3).await;
    let kr = s.key_result(json!({"mode": "percent_complete"})).await;
    let jql = format!("\"Epic Link\" = {epic_key} ORDER BY rank");
    let linked = s.link(kr, &jql, json!({})).await;
    assert_eq!(linked["link"]["rule"]["tracker"], "jira", "{linked}");
    assert_eq!(linked["link"]["query"]["jql"], jql.as_str());
    assert_eq!(
        linked["progress"]["percent"].as_f64(),
        Some(30.0),
        "{linked}"
    );
    new_issue(
        &s.sim(),
        json!({"project": "OPS", "summary": "Story 11", "epic": epic_key}),
    )
    .await;
    let outcome = s.refresh(kr).await;
    assert_eq!(outcome["full"], false, "{outcome}");
    let okr = s.okr(kr).await;
    let percent = okr["progress"]["percent"].as_f64().expect("percent");
    assert!((percent - 300.0 / 11.0).abs() < 0.01, "{okr}");
    assert_eq!(percent.round(), 27.0);
    // Done means the status category done: a story moved to Done counts.
    let story = new_issue(
        &s.sim(),
        json!({"project": "OPS", "summary": "Story 12", "epic": epic_key}),
    )
    .await;
    control(
        &s.sim(),
        "jira/transition",
        json!({"key": story, "status": "Done"}),
    )
    .await;
    s.refresh(kr).await;
    let percent = s.okr(kr).await["progress"]["percent"]
        .as_f64()
        .expect("percent");
    assert!((percent - 400.0 / 12.0).abs() < 0.01, "{percent}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fix_20_bugs_reaches_100_percent_at_20_done_while_more_are_filed() {
    let s = setup().await;
    let kr = s
        .key_result(json!({"mode": "kpi", "unit": "bugs", "start_value": 0, "target_value": 20}))
        .await;
    let mut bugs = Vec::new();
    for n in 0..25 {
        bugs.push(
            new_issue(
                &s.sim(),
                json!({"project": "OPS", "summary": format!("Bug {n}"), "issue_type": "Bug", "labels": ["fix20"]}),
            )
            .await,
        );
    }
    let jql = "project = OPS AND issuetype = Bug AND labels = fix20";
    let linked = s.link(kr, jql, json!({"scope": "completed_only"})).await;
    assert_eq!(linked["progress"]["value"].as_f64(), Some(0.0), "{linked}");
    for key in &bugs[..12] {
        control(
            &s.sim(),
            "jira/transition",
            json!({"key": key, "status": "Done"}),
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
        (Some(12.0), Some(60.0)),
        "{okr}"
    );
    // More bugs are filed; they do not count until done.
    for n in 25..35 {
        bugs.push(
            new_issue(
                &s.sim(),
                json!({"project": "OPS", "summary": format!("Bug {n}"), "issue_type": "Bug", "labels": ["fix20"]}),
            )
            .await,
        );
    }
    for key in &bugs[12..20] {
        control(
            &s.sim(),
            "jira/transition",
            json!({"key": key, "status": "Done"}),
        )
        .await;
    }
    s.refresh(kr).await;
    let okr = s.okr(kr).await;
    assert_eq!(okr["progress"]["value"].as_f64(), Some(20.0), "{okr}");
    assert_eq!(okr["progress"]["percent"].as_f64(), Some(100.0), "{okr}");
    assert_eq!(okr["progress"]["status"], "done", "{okr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_names_the_field_and_saves_nothing() {
    let s = setup().await;
    let gitlab = s.h.gitlab_connection(&s.h.owner, "gitlab", true).await;
    let pc = s.key_result(json!({"mode": "percent_complete"})).await;
    let kpi = s
        .key_result(json!({"mode": "kpi", "unit": "h", "start_value": 0, "target_value": 10}))
        .await;
    let cases = [
        (
            pc,
            json!({"connection_id": s.jira, "jql": "project = OPS AND", "metric": "count"}),
            "jql",
        ),
        (
            pc,
            json!({"connection_id": s.jira, "jql": "project query OPS", "metric": "count"}),
            "jql",
        ),
        (
            pc,
            json!({"connection_id": s.jira, "jql": "  ", "metric": "count"}),
            "jql",
        ),
        (
            pc,
            json!({"connection_id": s.jira, "jql": "project = OPS", "metric": "custom_field:customfield_99999"}),
            "metric",
        ),
        (
            pc,
            json!({"connection_id": s.jira, "jql": "project = OPS", "metric": "remaining_estimate"}),
            "metric",
        ),
        (
            pc,
            json!({"connection_id": s.jira, "jql": "project = OPS", "metric": "progress"}),
            "metric",
        ),
        (
            pc,
            json!({"connection_id": s.jira, "jql": "project = OPS", "metric": "velocity"}),
            "metric",
        ),
        (
            pc,
            json!({"connection_id": gitlab, "jql": "project = OPS", "metric": "count"}),
            "connection_id",
        ),
        (
            pc,
            json!({"connection_id": 9999, "jql": "project = OPS", "metric": "count"}),
            "connection_id",
        ),
        (
            pc,
            json!({"connection_id": s.jira, "jql": "project = OPS", "metric": "count", "scope": "all"}),
            "scope",
        ),
        (
            kpi,
            json!({"connection_id": s.jira, "jql": "project = OPS", "metric": "remaining_estimate"}),
            "scope",
        ),
    ];
    for (okr, body, field) in cases {
        let reply = s.put_link(okr, body.clone()).await;
        assert!(
            reply.status.is_client_error(),
            "{body}: {} {}",
            reply.status,
            reply.text
        );
        assert_eq!(
            reply.body["error"]["field"], field,
            "{body}: {}",
            reply.text
        );
        assert!(s.okr(okr).await["link"].is_null(), "{body}: nothing saved");
    }
    // Jira's own message, with its position.
    let reply = s
        .put_link(
            pc,
            json!({"connection_id": s.jira, "jql": "project query OPS", "metric": "count"}),
        )
        .await;
    let message = reply.body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("character"), "{}", reply.text);
    // The custom field the sample site has is accepted.
    s.link(
        kpi,
        "project = OPS",
        json!({"metric": "custom_field:customfield_10020", "scope": "all"}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jql_preview_counts_matches_and_shows_jiras_error() {
    let s = setup().await;
    let (epic_key, keys) = epic(&s.sim(), "GROW", 25, 5).await;
    let preview = |jql: String, connection: i64| {
        let h = &s.h;
        async move {
            h.call(
                "POST",
                &format!("/api/v1/connections/{connection}/jira/preview"),
                Some(&h.owner.token),
                Some(json!({"jql": jql})),
            )
            .await
        }
    };
    let reply = preview(
        format!("parent = {epic_key} OR \"Epic Link\" = {epic_key}"),
        s.jira,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["count"].as_u64(), Some(25), "{}", reply.text);
    let tickets = reply.body["tickets"].as_array().expect("tickets");
    assert_eq!(tickets.len(), 20);
    assert!(
        tickets
            .iter()
            .all(|t| keys.iter().any(|k| t["key"] == k.as_str()))
    );
    let reply = preview("status = = Done".to_owned(), s.jira).await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text
    );
    assert_eq!(reply.body["error"]["field"], "jql");
    assert!(
        reply.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("line 1, character")),
        "{}",
        reply.text
    );
    let gitlab = s.h.gitlab_connection(&s.h.owner, "gitlab", true).await;
    let reply = preview("project = OPS".to_owned(), gitlab).await;
    assert_eq!(
        reply.body["error"]["field"], "connection_id",
        "{}",
        reply.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_link_on_cloud_and_data_center_gives_the_same_numbers() {
    let s = setup().await;
    let mut results = Vec::new();
    for cloud in [true, false] {
        let flavour = if cloud {
            cairn_sim::JiraFlavour::Cloud
        } else {
            cairn_sim::JiraFlavour::Datacenter
        };
        let sim = cairn_sim::start(cairn_sim::SimConfig {
            jira_flavour: flavour,
            ..cairn_sim::SimConfig::default()
        })
        .await
        .expect("simulator");
        let url = sim.jira_url();
        let connection =
            jira_connection(&s.h, if cloud { "cloud" } else { "dc" }, &url, cloud).await;
        let (epic_key, keys) = epic(&url, "OPS", 7, 2).await;
        for key in &keys[..3] {
            control(
                &url,
                "jira/worklog",
                json!({"key": key, "time_spent": "1h"}),
            )
            .await;
        }
        let jql = format!("\"Epic Link\" = {epic_key}");
        let mut numbers = Vec::new();
        for metric in ["count", "story_points", "time_spent", "original_estimate"] {
            let kr = s.key_result(json!({"mode": "percent_complete"})).await;
            let linked = s
                .link(
                    kr,
                    &jql,
                    json!({"connection_id": connection, "metric": metric}),
                )
                .await;
            numbers.push((metric, linked["progress"]["percent"].as_f64()));
        }
        let kr = s
            .key_result(json!({"mode": "kpi", "unit": "h", "start_value": 0, "target_value": 100}))
            .await;
        let linked = s
            .link(
                kr,
                &jql,
                json!({"connection_id": connection, "metric": "remaining_estimate", "scope": "all"}),
            )
            .await;
        numbers.push(("remaining_estimate", linked["progress"]["value"].as_f64()));
        results.push(numbers);
        drop(sim);
    }
    assert_eq!(results[0], results[1]);
    // 7 stories, 2 done; points 1,2,3,1,2,3,1 (3 of 13 done); 1h on each of
    // the first 3 (2 of 3 done); 2h estimated each.
    let expected = [
        ("count", 200.0 / 7.0),
        ("story_points", 300.0 / 13.0),
        ("time_spent", 200.0 / 3.0),
        ("original_estimate", 200.0 / 7.0),
    ];
    for ((metric, got), (want_metric, want)) in results[0].iter().zip(expected) {
        assert_eq!(*metric, want_metric);
        let got = got.expect("percent");
        assert!((got - want).abs() < 0.01, "{metric}: {got} != {want}");
    }
}
