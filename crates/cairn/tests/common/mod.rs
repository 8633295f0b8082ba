//! What the SIGKILL sync tests share: shared connections to the
//! simulator, a pair between its checkout project and OPS, and clients
//! that make items on each side.

#![allow(dead_code)]

use cairn_connect::{GitLabAuth, GitLabClient, GitLabSettings, JiraAuth, JiraClient, JiraSettings};
use cairn_core::secret::Secret;
use cairn_engine::accounts::Authenticated;
use cairn_engine::connections::ConnectionInput;
use cairn_engine::sync::{PairInput, SideInput};
use cairn_sim::SimHandle;
use chrono::{DateTime, Utc};

/// The GitLab side's project.
pub const LEFT: &str = "northwind/checkout";

/// A shared GitLab and a shared Jira connection to the simulator, made by
/// `admin`: their ids.
pub async fn sim_connections(
    state: &cairn_web::AppState,
    admin: &Authenticated,
    sim: &SimHandle,
) -> (i64, i64) {
    let input = |kind: &str, base: String, username: Option<&str>, secret: &str| ConnectionInput {
        kind: kind.into(),
        name: format!("sim {kind}"),
        base_url: Some(base),
        auth_kind: if kind == "jira" {
            "basic"
        } else {
            "private_token"
        }
        .into(),
        username: username.map(str::to_owned),
        secret: Secret::new(secret),
        shared: true,
    };
    let gitlab = state
        .connections
        .create(
            admin,
            input(
                "gitlab",
                sim.gitlab_url(),
                None,
                cairn_sim::DEFAULT_GITLAB_TOKEN,
            ),
            Utc::now(),
        )
        .await
        .expect("gitlab")
        .id;
    let jira = state
        .connections
        .create(
            admin,
            input(
                "jira",
                sim.jira_url(),
                Some(cairn_sim::DEFAULT_JIRA_EMAIL),
                cairn_sim::DEFAULT_JIRA_API_TOKEN,
            ),
            Utc::now(),
        )
        .await
        .expect("jira")
        .id;
    (gitlab, jira)
}

/// A pair between `LEFT` on `gitlab` and OPS on `jira`, the rest default.
pub fn pair_input(
    name: &str,
    gitlab: i64,
    jira: i64,
    active: bool,
    created_after: Option<DateTime<Utc>>,
) -> PairInput {
    let side = |connection_id: i64, project: &str| SideInput {
        connection_id,
        project: project.into(),
        labels: vec![],
        jql: None,
    };
    PairInput {
        name: name.into(),
        left: side(gitlab, LEFT),
        right: side(jira, "OPS"),
        active,
        created_after,
        fields: Default::default(),
        status_mapping: None,
        transition_defaults: None,
        jira_issue_type: None,
        scan_interval_secs: None,
        delete_comment_copies: false,
        scan_overlap_secs: None,
        auto_map_people: false,
    }
}

/// Clients to the simulator as its default users, at `http`'s rates.
pub fn sim_clients(sim: &SimHandle, http: cairn_connect::HttpConfig) -> (GitLabClient, JiraClient) {
    let gl = GitLabClient::new(&GitLabSettings {
        http: http.clone(),
        ..GitLabSettings::new(
            sim.gitlab_url(),
            GitLabAuth::PrivateToken(Secret::new(cairn_sim::DEFAULT_GITLAB_TOKEN)),
        )
    })
    .expect("gitlab client");
    let jc = JiraClient::new(&JiraSettings {
        http,
        ..JiraSettings::new(
            sim.jira_url(),
            JiraAuth::CloudBasic {
                email: cairn_sim::DEFAULT_JIRA_EMAIL.into(),
                api_token: Secret::new(cairn_sim::DEFAULT_JIRA_API_TOKEN),
            },
        )
    })
    .expect("jira client");
    (gl, jc)
}
