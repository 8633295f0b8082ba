//! The Jira client and test connection against the simulator (Cloud and
//! Data Center flavours) and a local server with a context path.

mod common;

use axum::Router;
use axum::routing::get;
use cairn_connect::jira::*;
use cairn_connect::{DiagnosisCode, Secret};
use cairn_sim::{JiraFlavour, SimConfig, SimHandle};
use common::{fast_http, serve};

async fn sim(flavour: JiraFlavour) -> SimHandle {
    cairn_sim::start(SimConfig {
        jira_flavour: flavour,
        ..SimConfig::default()
    })
    .await
    .expect("sim")
}

fn cloud_settings(sim: &SimHandle) -> JiraSettings {
    let mut s = JiraSettings::new(
        sim.jira_url(),
        JiraAuth::CloudBasic {
            email: cairn_sim::DEFAULT_JIRA_EMAIL.into(),
            api_token: Secret::new(cairn_sim::DEFAULT_JIRA_API_TOKEN),
        },
    );
    s.http = fast_http();
    s
}

fn dc_settings(sim: &SimHandle) -> JiraSettings {
    let mut s = JiraSettings::new(
        sim.jira_url(),
        JiraAuth::Pat(Secret::new(cairn_sim::DEFAULT_JIRA_PAT)),
    );
    s.http = fast_http();
    s
}

const FIELDS: &[&str] = &[
    "summary",
    "status",
    "issuetype",
    "parent",
    "timespent",
    "timeoriginalestimate",
    "timeestimate",
    "aggregatetimespent",
    "progress",
    "customfield_10016",
    "customfield_10020",
];

#[tokio::test]
async fn cloud_test_connection_fields_and_search() {
    let sim = sim(JiraFlavour::Cloud).await;
    let id = test_jira(&cloud_settings(&sim)).await.expect("test");
    assert_eq!(id.deployment, JiraDeployment::Cloud);
    assert_eq!(id.version, "1001.0.0-SNAPSHOT");
    assert_eq!(id.server_title.as_deref(), Some("Jira"));
    assert_eq!(
        id.account.email_address.as_deref(),
        Some(cairn_sim::DEFAULT_JIRA_EMAIL)
    );
    assert!(id.account.account_id.is_some());

    let jira = JiraClient::new(&cloud_settings(&sim)).expect("client");
    let projects = jira.projects().await.expect("projects");
    let mut keys: Vec<&str> = projects.iter().filter_map(|p| p.key.as_deref()).collect();
    keys.sort();
    assert_eq!(keys, ["GROW", "OPS"]);

    let fields = jira.fields().await.expect("fields");
    let sp = story_points_field(&fields).expect("story points field");
    assert_eq!(sp.id, "customfield_10016");
    let numeric: Vec<&str> = numeric_custom_fields(&fields)
        .iter()
        .map(|f| f.id.as_str())
        .collect();
    assert!(numeric.contains(&"customfield_10016"), "{numeric:?}");
    assert!(numeric.contains(&"customfield_10020"), "{numeric:?}");

    let jql = "project = OPS ORDER BY key ASC";
    let mut search = jira.search(jql, FIELDS).page_size(2);
    let mut issues = Vec::new();
    while let Some(page) = search.next_page().await.expect("page") {
        assert!(page.issues.len() <= 2);
        assert_eq!(page.total, None, "Cloud gives no total");
        issues.extend(page.issues);
    }
    assert_eq!(search.pages_read(), 3);
    assert_eq!(issues.len(), 6);
    assert_eq!(jira.approximate_count(jql).await.expect("count"), 6);
    assert!(
        sim.requests()
            .iter()
            .all(|r| !r.path.ends_with("/rest/api/3/search")
                && !r.path.ends_with("/rest/api/2/search")),
        "Cloud searches go to /search/jql only"
    );

    let rehearse = issues
        .iter()
        .find(|i| i.fields.summary.as_deref() == Some("Rehearse failover on staging"))
        .expect("rehearse");
    assert!(rehearse.is_done());
    assert_eq!(
        rehearse.fields.custom_numbers.get("customfield_10016"),
        Some(3.0)
    );
    assert_eq!(rehearse.fields.timespent, Some(6 * 3600));
    assert_eq!(rehearse.fields.timeoriginalestimate, Some(8 * 3600));
    assert_eq!(
        rehearse
            .fields
            .parent
            .as_ref()
            .and_then(|p| p.key.as_deref()),
        Some("OPS-1")
    );
    let cut_over = issues
        .iter()
        .find(|i| i.fields.summary.as_deref() == Some("Cut over read traffic"))
        .expect("cut over");
    assert!(!cut_over.is_done());
    assert_eq!(
        cut_over.fields.custom_numbers.get("customfield_10020"),
        Some(40.0)
    );
    let subtask = issues
        .iter()
        .find(|i| i.fields.issuetype.as_ref().is_some_and(|t| t.subtask))
        .expect("a sub-task");
    assert_eq!(
        subtask
            .fields
            .status
            .as_ref()
            .and_then(|s| s.status_category.as_ref())
            .map(|c| c.key.as_str()),
        Some("new")
    );

    // Without explicit fields the metric fields are asked for.
    let default_fields = jira
        .search("key = OPS-2", &[])
        .collect_all()
        .await
        .expect("default fields");
    assert_eq!(default_fields.len(), 1);
    assert_eq!(default_fields[0].fields.timespent, Some(6 * 3600));
    assert!(default_fields[0].fields.status.is_some());
    assert!(default_fields[0].fields.updated.is_some());

    let one = jira.issue(&rehearse.key, FIELDS).await.expect("issue");
    assert_eq!(one.key, rehearse.key);
    assert_eq!(
        one.fields.custom_numbers.get("customfield_10016"),
        Some(3.0)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn invalid_jql_keeps_jiras_message() {
    let sim = sim(JiraFlavour::Cloud).await;
    let jira = JiraClient::new(&cloud_settings(&sim)).expect("client");
    let e = jira
        .search("project = = OPS", FIELDS)
        .collect_all()
        .await
        .expect_err("bad jql");
    assert_eq!(e.code(), DiagnosisCode::BadRequest);
    assert_eq!(e.status(), Some(400));
    assert!(
        e.server_messages()
            .iter()
            .any(|m| m.starts_with("Error in the JQL Query:")),
        "{:?}",
        e.server_messages()
    );
    assert!(e.diagnosis().hint.contains("Error in the JQL Query"));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_410_from_the_removed_search_switches_to_search_jql() {
    let sim = sim(JiraFlavour::Cloud).await;
    // Told the site is Data Center, the client tries /rest/api/2/search first.
    let mut settings = cloud_settings(&sim);
    settings.deployment = Some(JiraDeployment::DataCenter);
    let jira = JiraClient::new(&settings).expect("client");
    let issues = jira
        .search("project = GROW", &["summary", "status"])
        .page_size(3)
        .collect_all()
        .await
        .expect("search after 410");
    assert_eq!(issues.len(), 4);
    let log = sim.requests();
    assert!(
        log.iter()
            .any(|r| r.path == "/rest/api/2/search" && r.status == 410)
    );
    assert!(
        log.iter()
            .any(|r| r.path == "/rest/api/3/search/jql" && r.status == 200)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn cloud_webhook_registration() {
    let sim = sim(JiraFlavour::Cloud).await;
    let jira = JiraClient::new(&cloud_settings(&sim)).expect("client");
    let hook = NewJiraWebhook {
        name: "cairn".into(),
        url: "http://127.0.0.1:9/hooks/jira/1".into(),
        events: DEFAULT_WEBHOOK_EVENTS
            .iter()
            .map(|e| e.to_string())
            .collect(),
        jql_filter: Some("project = OPS".into()),
        secret: Some(Secret::new("jira-hook-secret-1")),
    };
    let registered = jira.register_webhook(&hook).await.expect("register");
    assert!(registered.id.parse::<u64>().is_ok(), "{registered:?}");
    assert_eq!(registered.action, WebhookAction::Created);
    let stored = sim.with_world(|w| w.jira.webhooks.len());
    assert_eq!(stored, 1);
    // An API token registers an admin webhook, not an app's dynamic one.
    assert!(
        sim.requests()
            .iter()
            .any(|r| r.method == "POST" && r.path == "/rest/webhooks/1.0/webhook")
    );

    // Enabling again rewrites the same webhook: one webhook, the new filter.
    let again = NewJiraWebhook {
        jql_filter: Some("project = OPS OR project = GROW".into()),
        ..hook.clone()
    };
    let rewritten = jira.register_webhook(&again).await.expect("update");
    assert_eq!(rewritten.id, registered.id);
    assert_eq!(rewritten.action, WebhookAction::Updated);
    let hooks = sim.with_world(|w| w.jira.webhooks.clone());
    assert_eq!(hooks.len(), 1);
    assert_eq!(
        hooks[0].jql_filter.as_deref(),
        Some("project = OPS OR project = GROW")
    );
    assert_eq!(hooks[0].secret.as_deref(), Some("jira-hook-secret-1"));

    let bad = NewJiraWebhook {
        jql_filter: Some("project = = OPS".into()),
        ..hook
    };
    let e = jira.register_webhook(&bad).await.expect_err("bad filter");
    assert_eq!(e.code(), DiagnosisCode::BadRequest);
    assert!(!e.server_messages().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn data_center_test_connection_search_count_and_webhook() {
    let sim = sim(JiraFlavour::Datacenter).await;
    let id = test_jira(&dc_settings(&sim)).await.expect("test");
    assert!(!id.deployment.is_cloud());
    assert_eq!(id.version, "10.3.0");
    assert!(id.account.name.is_some());

    let jira = JiraClient::new(&dc_settings(&sim)).expect("client");
    let mut search = jira
        .search("project = OPS ORDER BY key", FIELDS)
        .page_size(4);
    let first = search.next_page().await.expect("page").expect("first page");
    assert_eq!(first.total, Some(6));
    assert_eq!(first.issues.len(), 4);
    let second = search
        .next_page()
        .await
        .expect("page")
        .expect("second page");
    assert_eq!(second.issues.len(), 2);
    assert!(search.next_page().await.expect("end").is_none());
    assert_eq!(
        jira.approximate_count("project = GROW")
            .await
            .expect("count"),
        4
    );
    assert!(
        sim.requests()
            .iter()
            .all(|r| !r.path.contains("/rest/api/3/"))
    );

    let fields = jira.fields().await.expect("fields");
    assert!(story_points_field(&fields).is_some());

    let registered = jira
        .register_webhook(&NewJiraWebhook {
            name: "cairn".into(),
            url: "http://127.0.0.1:9/hooks/jira/2".into(),
            events: vec!["jira:issue_updated".into()],
            jql_filter: None,
            secret: None,
        })
        .await
        .expect("register");
    assert!(!registered.id.is_empty());
    assert_eq!(sim.with_world(|w| w.jira.webhooks.len()), 1);

    // Cloud-style credentials on Data Center are refused.
    let mut wrong = dc_settings(&sim);
    wrong.auth = JiraAuth::CloudBasic {
        email: "admin@example.com".into(),
        api_token: Secret::new("jira-wrong-token-42"),
    };
    let e = test_jira(&wrong).await.expect_err("unauthorized");
    assert_eq!(e.code(), DiagnosisCode::Unauthorized);
    assert!(!format!("{e} {e:?}").contains("jira-wrong-token-42"));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_context_path_is_kept_and_a_missing_one_is_diagnosed() {
    let app = Router::new()
        .route(
            "/jira/rest/api/2/myself",
            get(|| async {
                axum::Json(serde_json::json!({"name": "jdoe", "key": "JIRAUSER1", "displayName": "J Doe", "active": true}))
            }),
        )
        .route(
            "/jira/rest/api/2/serverInfo",
            get(|| async {
                axum::Json(serde_json::json!({"version": "9.12.2", "deploymentType": "DataCenter", "serverTitle": "Example Jira"}))
            }),
        );
    let base = serve(app).await;
    let mut s = JiraSettings::new(
        format!("{base}/jira"),
        JiraAuth::Pat(Secret::new("pat-context-path-1")),
    );
    s.http = fast_http();
    let id = test_jira(&s).await.expect("context path");
    assert_eq!(id.deployment, JiraDeployment::DataCenter);
    assert_eq!(id.account.id(), Some("jdoe"));
    assert_eq!(id.server_title.as_deref(), Some("Example Jira"));

    s.base_url = base;
    let e = test_jira(&s).await.expect_err("no context path");
    assert_eq!(e.code(), DiagnosisCode::NotFound);
    assert!(e.diagnosis().hint.contains("context path"));
}

async fn write_flow(jira: &JiraClient, key: &str) {
    let before = jira.issue(key, FIELDS).await.expect("issue");
    assert!(!before.is_done());
    let spent_before = before.fields.timespent.unwrap_or(0);

    let comment = jira
        .add_comment(key, "Synced from Cairn\n\nSecond paragraph")
        .await
        .expect("comment");
    assert!(comment.id.is_some());

    let worklog = jira
        .add_worklog(
            key,
            &NewWorklog {
                seconds: 5400,
                started: (chrono::Utc::now() - chrono::Duration::hours(2)).fixed_offset(),
                comment: Some("pairing".into()),
                adjust_estimate: Some("leave".into()),
            },
        )
        .await
        .expect("worklog");
    assert_eq!(worklog.time_spent_seconds, Some(5400));
    let e = jira
        .add_worklog(
            key,
            &NewWorklog {
                seconds: 0,
                started: chrono::Utc::now().fixed_offset(),
                comment: None,
                adjust_estimate: None,
            },
        )
        .await
        .expect_err("zero");
    assert_eq!(e.code(), DiagnosisCode::InvalidInput);

    let transitions = jira.transitions(key).await.expect("transitions");
    let done = transitions
        .iter()
        .find(|t| t.to.as_ref().is_some_and(|s| s.is_done()))
        .expect("a transition to a done status");
    jira.transition_issue(key, &done.id)
        .await
        .expect("transition");
    let after = jira.issue(key, FIELDS).await.expect("issue");
    assert!(after.is_done());
    assert_eq!(after.fields.timespent, Some(spent_before + 5400));
    let e = jira
        .transition_issue(key, "no-such-transition")
        .await
        .expect_err("bad transition");
    assert_eq!(e.code(), DiagnosisCode::BadRequest);
}

#[tokio::test]
async fn comments_worklogs_and_transitions_on_both_flavours() {
    let cloud = sim(JiraFlavour::Cloud).await;
    let jira = JiraClient::new(&cloud_settings(&cloud)).expect("client");
    write_flow(&jira, "OPS-5").await;
    cloud.shutdown().await;

    let dc = sim(JiraFlavour::Datacenter).await;
    let jira = JiraClient::new(&dc_settings(&dc)).expect("client");
    write_flow(&jira, "OPS-5").await;
    dc.shutdown().await;
}
