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

/// The health of the setup's Jira connection, as the API shows it.
async fn connection_health(s: &Setup) -> Value {
    let path = format!("/api/v1/connections/{}", s.jira);
    s.h.call("GET", &path, Some(&s.h.owner.token), None)
        .await
        .body["health"]
        .clone()
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

    async fn put_link(&self, okr: i64, mut body: Value) -> common::Reply {
        if let Some(body) = body.as_object_mut() {
            body.entry("tracker").or_insert(json!("jira"));
        }
        self.h
            .call(
                "PUT",
                &format!("/api/v1/okrs/{okr}/link"),
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
        assert_eq!(
            (reply.status, reply.body["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_field")),
            "{body}: {}",
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
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text
    );
    assert_eq!(reply.body["error"]["field"], "jql", "{}", reply.text);
    assert_eq!(
        reply.body["error"]["message"],
        "Error in the JQL Query: Expecting operator but got 'query'. The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'. (line 1, character 9)",
        "{}",
        reply.text
    );
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
    assert_eq!(
        reply.body["error"]["message"],
        "Error in the JQL Query: Expecting either a value, list or function but got '='. You must surround '=' in quotation marks to use it as a value. (line 1, character 10)",
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

/// A simulator holding the hand-worked dataset: projects AE (numbered from
/// 786) and NJDP, a numeric custom field "Revenue" and a second number
/// field "Story Points" beside Jira Software's own story points field.
///
/// `"Epic Link" = AE-786 OR parent = NJDP-5` matches five tickets:
///
/// | key | done | points | Story Points (other field) | estimate | remaining | logged | Revenue |
/// |---|---|---|---|---|---|---|---|
/// | AE-787 | yes | 5 | 50 | 4h | 1h | 3h | 100 |
/// | AE-788 | no | 3 | 30 | 8h | 5h | 2h | 50 |
/// | AE-789 | no | 2 | - | 2h | 2h | - | - |
/// | NJDP-6 | yes | 1 | 10 | 1h | 30m | 30m | 20 |
/// | NJDP-7 | no | - | - | 6h | 6h | - | 30 |
///
/// AE-790 (done, 8 points, 10h, Revenue 1000) has no epic and NJDP-1 (done,
/// 13 points) no parent: they must not count.
async fn hand_worked_sim(flavour: cairn_sim::JiraFlavour) -> cairn_sim::SimHandle {
    let worklog = |t: &str| json!([{"time_spent": t}]);
    let dataset = json!({
        "jira": {
            "projects": [
                {"key": "AE", "name": "Android Experience", "first_number": 786},
                {"key": "NJDP", "name": "New Journey"}
            ],
            "custom_fields": [
                {"id": "customfield_10100", "name": "Revenue"},
                {"id": "customfield_10200", "name": "Story Points"}
            ],
            "issues": [
                {"project": "AE", "summary": "Checkout revamp", "issue_type": "Epic"},
                {"project": "AE", "summary": "Pay by card", "epic": "AE-786", "status": "Done", "story_points": 5.0,
                 "original_estimate": "4h", "remaining_estimate": "1h", "worklogs": worklog("3h"),
                 "custom": {"Revenue": 100, "customfield_10200": 50}},
                {"project": "AE", "summary": "Pay by wallet", "epic": "AE-786", "status": "In Progress", "story_points": 3.0,
                 "original_estimate": "8h", "remaining_estimate": "5h", "worklogs": worklog("2h"),
                 "custom": {"Revenue": 50, "customfield_10200": 30}},
                {"project": "AE", "summary": "Receipts", "epic": "AE-786", "story_points": 2.0,
                 "original_estimate": "2h", "remaining_estimate": "2h"},
                {"project": "AE", "summary": "Unrelated", "status": "Done", "story_points": 8.0,
                 "original_estimate": "10h", "remaining_estimate": "0m", "worklogs": worklog("10h"),
                 "custom": {"Revenue": 1000}},
                {"project": "NJDP", "summary": "Old work", "status": "Done", "story_points": 13.0},
                {"project": "NJDP", "summary": "Filler 2"},
                {"project": "NJDP", "summary": "Filler 3"},
                {"project": "NJDP", "summary": "Filler 4"},
                {"project": "NJDP", "summary": "Journey planner", "issue_type": "Epic"},
                {"project": "NJDP", "summary": "Planner UI", "parent": "NJDP-5", "status": "Done", "story_points": 1.0,
                 "original_estimate": "1h", "remaining_estimate": "30m", "worklogs": worklog("30m"),
                 "custom": {"Revenue": 20, "customfield_10200": 10}},
                {"project": "NJDP", "summary": "Planner crash", "issue_type": "Bug", "parent": "NJDP-5",
                 "original_estimate": "6h", "remaining_estimate": "6h", "custom": {"Revenue": 30}}
            ]
        }
    });
    let dataset: cairn_sim::Dataset = serde_json::from_value(dataset).expect("dataset");
    cairn_sim::start(cairn_sim::SimConfig {
        jira_flavour: flavour,
        data: cairn_sim::DataSource::Dataset(Box::new(dataset)),
        ..cairn_sim::SimConfig::default()
    })
    .await
    .expect("simulator")
}

const EPIC_OR_PARENT: &str = "\"Epic Link\" = AE-786 OR parent = NJDP-5";

fn close(got: Option<f64>, want: f64, what: &str) {
    let got = got.unwrap_or_else(|| panic!("{what}: no number"));
    assert!((got - want).abs() < 0.001, "{what}: {got} != {want}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_matches_totals_worked_out_by_hand() {
    let s = setup().await;
    let sim = hand_worked_sim(cairn_sim::JiraFlavour::Cloud).await;
    let connection = jira_connection(&s.h, "hand-worked", &sim.jira_url(), true).await;
    let link = |metric: &str, scope: Option<&str>| {
        let mut extra = json!({"connection_id": connection, "metric": metric});
        if let (Some(scope), Some(obj)) = (scope, extra.as_object_mut()) {
            obj.insert("scope".into(), json!(scope));
        }
        extra
    };

    // Percent complete: done / all of the five matching tickets.
    for (metric, want) in [
        ("count", 200.0 / 5.0),
        ("time_spent", 100.0 * 3.5 / 5.5),
        ("original_estimate", 100.0 * 5.0 / 21.0),
        ("story_points", 100.0 * 6.0 / 11.0),
        ("custom_field:customfield_10100", 100.0 * 120.0 / 200.0),
    ] {
        let kr = s.key_result(json!({"mode": "percent_complete"})).await;
        let linked = s.link(kr, EPIC_OR_PARENT, link(metric, None)).await;
        close(linked["progress"]["percent"].as_f64(), want, metric);
    }

    // KPI: the metric's value, over completed tickets only or all of them.
    // Progress per ticket = logged / (logged + remaining): 75 %, 28.571 %,
    // 0 %, 50 %, 0 %.
    for (metric, all, completed) in [
        ("count", 5.0, 2.0),
        ("time_spent", 5.5, 3.5),
        ("original_estimate", 21.0, 5.0),
        ("remaining_estimate", 14.5, 1.5),
        (
            "progress",
            (75.0 + 200.0 / 7.0 + 50.0) / 5.0,
            (75.0 + 50.0) / 2.0,
        ),
        ("story_points", 11.0, 6.0),
        ("custom_field:customfield_10100", 200.0, 120.0),
    ] {
        for (scope, want) in [("all", all), ("completed_only", completed)] {
            let kr = s
                .key_result(
                    json!({"mode": "kpi", "unit": "x", "start_value": 0, "target_value": 1000}),
                )
                .await;
            let linked = s.link(kr, EPIC_OR_PARENT, link(metric, Some(scope))).await;
            close(
                linked["progress"]["value"].as_f64(),
                want,
                &format!("{metric} {scope}"),
            );
        }
    }

    // The explanation lists exactly the five matching tickets.
    let kr = s.key_result(json!({"mode": "percent_complete"})).await;
    s.link(kr, EPIC_OR_PARENT, link("story_points", None)).await;
    let explain =
        s.h.call(
            "GET",
            &format!("/api/v1/okrs/{kr}/explain"),
            Some(&s.h.owner.token),
            None,
        )
        .await;
    assert_eq!(explain.status, StatusCode::OK, "{}", explain.text);
    let mut keys: Vec<String> = explain.body["explanation"]["contributions"]
        .as_array()
        .expect("contributions")
        .iter()
        .map(|i| i["key"].as_str().unwrap_or_default().to_owned())
        .collect();
    keys.sort();
    assert_eq!(keys, ["AE-787", "AE-788", "AE-789", "NJDP-6", "NJDP-7"]);

    // Cloud reads through the enhanced search only.
    let paths: Vec<String> = sim.requests().into_iter().map(|r| r.path).collect();
    assert!(paths.iter().any(|p| p == "/rest/api/3/search/jql"));
    assert!(!paths.iter().any(|p| p == "/rest/api/2/search"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn epic_link_or_parent_on_data_center_and_the_story_points_override() {
    let s = setup().await;
    let sim = hand_worked_sim(cairn_sim::JiraFlavour::Datacenter).await;
    let connection = jira_connection(&s.h, "dc", &sim.jira_url(), false).await;
    let kr = s
        .key_result(json!({"mode": "kpi", "unit": "points", "start_value": 0, "target_value": 100}))
        .await;
    let linked = s
        .link(
            kr,
            EPIC_OR_PARENT,
            json!({"connection_id": connection, "metric": "story_points", "scope": "all"}),
        )
        .await;
    close(linked["progress"]["value"].as_f64(), 11.0, "detected field");
    assert!(
        sim.requests()
            .iter()
            .any(|r| r.path == "/rest/api/2/search"),
        "Data Center searches /rest/api/2/search"
    );

    // The pickers: custom fields by name, the detected story points field.
    let fields_path = format!("/api/v1/connections/{connection}/jira/fields");
    let fields =
        s.h.call("GET", &fields_path, Some(&s.h.other.token), None)
            .await;
    assert_eq!(fields.status, StatusCode::OK, "{}", fields.text);
    assert_eq!(fields.body["story_points_source"], "detected");
    assert_eq!(fields.body["story_points_field"]["id"], "customfield_10016");
    let metrics: Vec<(String, String)> = fields.body["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .map(|m| {
            (
                m["metric"].as_str().unwrap_or_default().to_owned(),
                m["label"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert!(metrics.contains(&(
        "custom_field:customfield_10100".to_owned(),
        "Revenue".to_owned()
    )));
    assert!(
        fields.body["metrics"]
            .as_array()
            .expect("metrics")
            .iter()
            .any(|m| m["metric"] == "progress" && m["kpi_only"] == true)
    );

    // Choosing the other "Story Points" field: bad choices first.
    let override_path = format!("/api/v1/connections/{connection}/jira/story-points-field");
    let refused =
        s.h.call(
            "PUT",
            &override_path,
            Some(&s.h.owner.token),
            Some(json!({"field": "customfield_99999"})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.body["error"]["field"], "story_points_field");
    let refused =
        s.h.call(
            "PUT",
            &override_path,
            Some(&s.h.other.token),
            Some(json!({"field": "customfield_10200"})),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::FORBIDDEN,
        "a member may use a shared connection but not change it"
    );
    let chosen =
        s.h.call(
            "PUT",
            &override_path,
            Some(&s.h.owner.token),
            Some(json!({"field": "customfield_10200"})),
        )
        .await;
    assert_eq!(chosen.status, StatusCode::OK, "{}", chosen.text);
    assert_eq!(chosen.body["story_points_source"], "connection");
    assert_eq!(chosen.body["story_points_field"]["name"], "Story Points");
    // The links read the chosen field at once: 50 + 30 + 10.
    close(
        s.okr(kr).await["progress"]["value"].as_f64(),
        90.0,
        "chosen field",
    );
    let view =
        s.h.call(
            "GET",
            &format!("/api/v1/connections/{connection}"),
            Some(&s.h.owner.token),
            None,
        )
        .await;
    assert_eq!(view.body["story_points_field"], "customfield_10200");

    // Back to detection.
    let reset =
        s.h.call(
            "PUT",
            &override_path,
            Some(&s.h.owner.token),
            Some(json!({"field": null})),
        )
        .await;
    assert_eq!(reset.body["story_points_source"], "detected");
    close(
        s.okr(kr).await["progress"]["value"].as_f64(),
        11.0,
        "detected again",
    );

    // A GitLab connection has no story points field.
    let gitlab = s.h.gitlab_connection(&s.h.owner, "gitlab", true).await;
    let refused =
        s.h.call(
            "PUT",
            &format!("/api/v1/connections/{gitlab}/jira/story-points-field"),
            Some(&s.h.owner.token),
            Some(json!({"field": "customfield_10200"})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.body["error"]["field"], "story_points_field");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_jira_keeps_the_last_good_progress_and_marks_the_link_stale() {
    let s = setup().await;
    let (epic_key, keys) = epic(&s.sim(), "OPS", 4, 1).await;
    let kr = s.key_result(json!({"mode": "percent_complete"})).await;
    let linked = s
        .link(kr, &format!("\"Epic Link\" = {epic_key}"), json!({}))
        .await;
    close(linked["progress"]["percent"].as_f64(), 25.0, "before");
    control(
        &s.sim(),
        "jira/transition",
        json!({"key": keys[1], "status": "Done"}),
    )
    .await;

    // Rate limited once: the client waits as told and the refresh succeeds.
    s.h.sim.clear_requests();
    control(
        &s.sim(),
        "faults",
        json!({"service": "jira", "kind": "rate_limit", "count": 1, "retry_after": 1}),
    )
    .await;
    let outcome = s.refresh(kr).await;
    assert!(outcome["error"].is_null(), "{outcome}");
    let statuses: Vec<u16> = s.h.sim.requests().iter().map(|r| r.status).collect();
    assert!(statuses.contains(&429), "{statuses:?}");
    close(
        s.okr(kr).await["progress"]["percent"].as_f64(),
        50.0,
        "after 429",
    );

    // Failing for longer than the retries: nothing changes, the link is stale.
    control(
        &s.sim(),
        "jira/transition",
        json!({"key": keys[2], "status": "Done"}),
    )
    .await;
    for fault in [
        json!({"service": "jira", "kind": "server_error", "status": 503, "count": 10}),
        json!({"service": "jira", "kind": "rate_limit", "count": 10, "retry_after": 1}),
        json!({"service": "jira", "kind": "malformed", "count": 10}),
    ] {
        control(&s.sim(), "faults", fault.clone()).await;
        let reply =
            s.h.call(
                "POST",
                &format!("/api/v1/okrs/{kr}/refresh"),
                Some(&s.h.owner.token),
                None,
            )
            .await;
        assert!(
            reply.body["error"]["code"].is_string(),
            "{fault}: {}",
            reply.text
        );
        let okr = s.okr(kr).await;
        close(okr["progress"]["percent"].as_f64(), 50.0, "unchanged");
        assert_eq!(okr["link"]["stale"], true, "{okr}");
        assert!(okr["link"]["last_error_code"].is_string(), "{okr}");
        s.h.sim.clear_faults();
    }
    let outcome = s.refresh(kr).await;
    assert!(outcome["error"].is_null(), "{outcome}");
    let okr = s.okr(kr).await;
    close(okr["progress"]["percent"].as_f64(), 75.0, "recovered");
    assert_eq!(okr["link"]["stale"], false);

    // A 503, a rate limit or a malformed answer is not the connection's
    // fault: it stays ok. A rejected token is: the next refresh makes it
    // failing with the reason, as for GitLab.
    assert_eq!(connection_health(&s).await["status"], "ok");
    control(
        &s.sim(),
        "faults",
        json!({"service": "jira", "kind": "revoke_token", "token": cairn_sim::DEFAULT_JIRA_API_TOKEN}),
    )
    .await;
    let outcome =
        s.h.call(
            "POST",
            &format!("/api/v1/okrs/{kr}/refresh"),
            Some(&s.h.owner.token),
            None,
        )
        .await;
    assert_eq!(
        outcome.body["error"]["code"], "unauthorized",
        "{}",
        outcome.text
    );
    let failing = connection_health(&s).await;
    assert_eq!(failing["status"], "failing", "{failing}");
    assert_eq!(failing["last_error_code"], "unauthorized", "{failing}");
    assert!(failing["last_error"].is_string(), "{failing}");
}
