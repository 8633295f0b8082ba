//! Webhooks registered through the clients are delivered by the simulator
//! when data changes through the clients, and parse and verify with the
//! payload types: the whole event path Cairn relies on.

mod common;

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::HeaderMap;
use cairn_connect::Secret;
use cairn_connect::gitlab::{
    GitLabAuth, GitLabClient, GitLabSettings, HookEvents, IssueChanges, NewProjectHook, ProjectRef,
    StateEvent,
};
use cairn_connect::jira::{JiraAuth, JiraClient, JiraSettings, NewJiraWebhook};
use cairn_connect::webhook::gitlab::GitLabWebhook;
use cairn_connect::webhook::jira::JiraEventKind;
use cairn_connect::webhook::{
    parse_gitlab_webhook, parse_jira_webhook, verify_gitlab_token, verify_jira_signature,
};
use cairn_sim::{JiraFlavour, SimConfig};
use common::{fast_http, serve};
use tokio::sync::mpsc;

async fn receiver() -> (String, mpsc::UnboundedReceiver<(HeaderMap, Bytes)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
        let tx = tx.clone();
        async move {
            let _ = tx.send((headers, body));
            "ok"
        }
    });
    (serve(app).await, rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<(HeaderMap, Bytes)>) -> (HeaderMap, Bytes) {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a delivery within 10 s")
        .expect("channel open")
}

#[tokio::test]
async fn gitlab_issue_close_arrives_as_a_verified_issue_hook() {
    let sim = cairn_sim::start(SimConfig::default()).await.expect("sim");
    let (url, mut rx) = receiver().await;
    let mut settings = GitLabSettings::new(
        sim.gitlab_url(),
        GitLabAuth::PrivateToken(Secret::new(cairn_sim::DEFAULT_GITLAB_TOKEN)),
    );
    settings.http = fast_http();
    let gl = GitLabClient::new(&settings).expect("client");
    let project = ProjectRef::from("northwind/checkout");
    let token = Secret::new("gitlab-hook-token-77");
    gl.create_hook(
        &project,
        &NewProjectHook {
            url: format!("{url}/hooks/gitlab/1"),
            token: Some(token.clone()),
            events: HookEvents::default(),
            enable_ssl_verification: false,
        },
    )
    .await
    .expect("hook");
    gl.update_issue(
        &project,
        3,
        &IssueChanges {
            state_event: Some(StateEvent::Close),
            ..Default::default()
        },
    )
    .await
    .expect("close");

    let (headers, body) = next(&mut rx).await;
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    assert_eq!(header("x-gitlab-event"), Some("Issue Hook"));
    assert!(verify_gitlab_token(header("x-gitlab-token"), &token));
    assert!(!verify_gitlab_token(
        header("x-gitlab-token"),
        &Secret::new("other-token-1")
    ));
    let GitLabWebhook::Issue(hook) = parse_gitlab_webhook(&body).expect("parse") else {
        panic!("not an issue hook");
    };
    assert_eq!(hook.object_attributes.iid, 3);
    assert_eq!(hook.object_attributes.state, "closed");
    assert_eq!(hook.object_attributes.action.as_deref(), Some("close"));
    assert!(hook.project_id().is_some());
    sim.shutdown().await;
}

#[tokio::test]
async fn jira_transition_arrives_as_a_signed_issue_updated_with_changelog() {
    let sim = cairn_sim::start(SimConfig {
        jira_flavour: JiraFlavour::Cloud,
        ..SimConfig::default()
    })
    .await
    .expect("sim");
    let (url, mut rx) = receiver().await;
    let mut settings = JiraSettings::new(
        sim.jira_url(),
        JiraAuth::CloudBasic {
            email: cairn_sim::DEFAULT_JIRA_EMAIL.into(),
            api_token: Secret::new(cairn_sim::DEFAULT_JIRA_API_TOKEN),
        },
    );
    settings.http = fast_http();
    let jira = JiraClient::new(&settings).expect("client");
    let secret = Secret::new("jira-hook-secret-88");
    jira.register_webhook(&NewJiraWebhook {
        name: "cairn".into(),
        url: format!("{url}/hooks/jira/1"),
        events: vec!["jira:issue_updated".into()],
        jql_filter: Some("project = OPS".into()),
        secret: Some(secret.clone()),
    })
    .await
    .expect("register");
    let transitions = jira.transitions("OPS-5").await.expect("transitions");
    let done = transitions
        .iter()
        .find(|t| t.to.as_ref().is_some_and(|s| s.is_done()))
        .expect("done transition");
    jira.transition_issue("OPS-5", &done.id)
        .await
        .expect("transition");

    let (headers, body) = next(&mut rx).await;
    let signature = headers.get("x-hub-signature").and_then(|v| v.to_str().ok());
    assert!(verify_jira_signature(signature, &body, &secret));
    assert!(!verify_jira_signature(
        signature,
        &body,
        &Secret::new("wrong-secret-99")
    ));
    let hook = parse_jira_webhook(&body).expect("parse");
    assert_eq!(hook.kind(), JiraEventKind::IssueUpdated);
    assert_eq!(hook.issue_key(), Some("OPS-5"));
    assert!(hook.issue.as_ref().is_some_and(|i| i.is_done()));
    let change = hook.change("status").expect("status change");
    assert_eq!(
        change.to_string.as_deref(),
        Some(done.to.as_ref().map_or("", |s| s.name.as_str()))
    );
    sim.shutdown().await;
}
