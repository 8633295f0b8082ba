//! The whole authorization matrix: every endpoint for anonymous, another
//! member, the owner and an admin. The rows are checked against the
//! OpenAPI document's operations, so an endpoint added without a row fails
//! here (the pages have their own matrix in `ui_pages.rs`).

mod common;

use std::collections::BTreeSet;

use axum::http::StatusCode;
use common::{Harness, Reply};
use serde_json::{Value, json};

const PROJECT: &str = "northwind/checkout";
const ENCODED_PROJECT: &str = "northwind%2Fcheckout";

struct Row {
    method: &'static str,
    path: String,
    body: Option<Value>,
    /// Expected status for anonymous, another member, the owner, an admin.
    expect: [u16; 4],
}

fn row(
    method: &'static str,
    path: impl Into<String>,
    body: Option<Value>,
    expect: [u16; 4],
) -> Row {
    Row {
        method,
        path: path.into(),
        body,
        expect,
    }
}

/// Calls the app as one of the four callers and remembers which operation
/// of the OpenAPI document each call exercised.
struct Matrix<'a> {
    h: &'a Harness,
    document: Value,
    /// Anonymous, another member, the owner, an admin.
    tokens: [Option<String>; 4],
    covered: BTreeSet<(String, String)>,
}

impl<'a> Matrix<'a> {
    async fn new(h: &'a Harness) -> Matrix<'a> {
        let document = h.call("GET", "/api/openapi.json", None, None).await.body;
        assert!(document["paths"].is_object(), "{document}");
        Matrix {
            h,
            document,
            tokens: [
                None,
                Some(h.other.token.clone()),
                Some(h.owner.token.clone()),
                Some(h.admin.token.clone()),
            ],
            covered: BTreeSet::new(),
        }
    }

    /// One call as caller `who`, which must answer `expect`.
    async fn check(
        &mut self,
        who: usize,
        method: &str,
        path: &str,
        body: Option<Value>,
        expect: u16,
    ) -> Reply {
        let bare = path.split('?').next().unwrap_or(path);
        let template = common::template_of(&self.document, bare)
            .unwrap_or_else(|| panic!("{method} {path}: no such path in the OpenAPI document"));
        assert!(
            self.document["paths"][template][method.to_ascii_lowercase()].is_object(),
            "{method} {template}: no such operation in the OpenAPI document"
        );
        self.covered
            .insert((method.to_owned(), template.to_owned()));
        let reply = self
            .h
            .call(method, path, self.tokens[who].as_deref(), body)
            .await;
        assert_eq!(
            reply.status.as_u16(),
            expect,
            "{method} {path} as caller #{who}: {}",
            reply.text
        );
        assert!(
            reply.body["error"].is_object() || reply.status.is_success(),
            "{method} {path} as caller #{who}: {}",
            reply.text
        );
        if reply.status == StatusCode::NOT_FOUND {
            assert!(
                !reply.text.contains("owner's"),
                "a 404 reveals nothing: {}",
                reply.text
            );
        }
        reply
    }

    async fn row(&mut self, row: &Row) {
        for who in 0..4 {
            self.check(
                who,
                row.method,
                &row.path,
                row.body.clone(),
                row.expect[who],
            )
            .await;
        }
    }

    /// Every operation of the OpenAPI document has been called: an endpoint
    /// added without rows here fails the test.
    fn assert_every_operation_covered(&self) {
        let mut operations = BTreeSet::new();
        let paths = self.document["paths"].as_object().expect("paths");
        for (template, item) in paths {
            for method in ["get", "put", "post", "delete", "patch", "head", "options"] {
                if item[method].is_object() {
                    operations.insert((method.to_ascii_uppercase(), template.clone()));
                }
            }
        }
        assert!(operations.len() > 70, "{operations:?}");
        let missing: Vec<_> = operations.difference(&self.covered).collect();
        assert!(
            missing.is_empty(),
            "operations without rows in the authorization matrix: {missing:?}"
        );
        assert_eq!(self.covered.len(), operations.len());
    }
}

/// A Jira connection to the simulator owned by the owner.
async fn jira_connection(h: &Harness, name: &str, shared: bool) -> i64 {
    let reply = h
        .call(
            "POST",
            "/api/v1/connections",
            Some(&h.owner.token),
            Some(json!({"kind": "jira", "name": name, "base_url": h.sim.jira_url(), "auth_kind": "basic",
                "username": cairn_sim::DEFAULT_JIRA_EMAIL, "secret": cairn_sim::DEFAULT_JIRA_API_TOKEN, "shared": shared})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.body["id"].as_i64().expect("id")
}

/// A key result of the owner's; `source` is `data_link` or `check_in`.
async fn owners_key_result(h: &Harness, period: i64, source: &str) -> i64 {
    let reply = h
        .call(
            "POST",
            "/api/v1/okrs",
            Some(&h.owner.token),
            Some(
                json!({"kind": "key_result", "title": "Owned", "period_id": period,
                "measure": {"mode": "percent_complete"}, "progress_source": source}),
            ),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.body["id"].as_i64().expect("okr")
}

/// A check-in of the owner's on `okr`.
async fn owners_check_in(h: &Harness, okr: i64) -> i64 {
    let reply = h
        .call(
            "POST",
            &format!("/api/v1/okrs/{okr}/check-ins"),
            Some(&h.owner.token),
            Some(json!({"value": 10.0})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.body["id"].as_i64().expect("check-in")
}

fn gitlab_link(connection: i64) -> Value {
    json!({"tracker": "gitlab", "connection_id": connection, "project": PROJECT})
}

/// An inactive sync pair between the owner's shared connections.
fn sync_pair(gitlab: i64, jira: i64) -> Value {
    json!({
        "name": "checkout <-> OPS",
        "left": {"connection_id": gitlab, "project": PROJECT},
        "right": {"connection_id": jira, "project": "OPS"},
        "active": false,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_for_every_kind_of_caller() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let mut m = Matrix::new(&h).await;
    let private = h
        .gitlab_connection(&h.owner, "owner's private", false)
        .await;
    let shared = h.gitlab_connection(&h.owner, "owner's shared", true).await;
    let jira_private = jira_connection(&h, "owner's private jira", false).await;
    let jira_shared = jira_connection(&h, "owner's shared jira", true).await;
    // With a hook secret, Jira's deliveries must be signed with it.
    let reply = h
        .call(
            "POST",
            &format!("/api/v1/connections/{jira_shared}/hooks/secret"),
            Some(&h.owner.token),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let other_id = h.other.id;
    let period = common::period(&h).await;
    let linked = owners_key_result(&h, period, "data_link").await;
    let checked_in = owners_key_result(&h, period, "check_in").await;
    let check_in = owners_check_in(&h, checked_in).await;
    let reply = h
        .call(
            "POST",
            "/api/v1/sync-pairs",
            Some(&h.owner.token),
            Some(sync_pair(shared, jira_shared)),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let pair = reply.body["id"].as_i64().expect("pair");

    // Notification channels are the admins' (the URL does not resolve
    // here, which is allowed: it is checked again at every delivery).
    let created = h
        .call(
            "POST",
            "/api/v1/channels",
            Some(&h.admin.token),
            Some(
                json!({"name": "signed", "kind": "webhook", "url": "https://hooks.invalid/cairn"}),
            ),
        )
        .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.text);
    let channel = created.body["id"].as_i64().expect("channel");

    let okr_edit = json!({"kind": "key_result", "title": "Renamed", "period_id": period,
        "measure": {"mode": "percent_complete"}, "progress_source": "data_link"});
    let rows = vec![
        // Open to everyone.
        row("GET", "/healthz", None, [200, 200, 200, 200]),
        row("GET", "/readyz", None, [200, 200, 200, 200]),
        row("GET", "/api/v1/status", None, [200, 200, 200, 200]),
        row(
            "POST",
            "/api/v1/session",
            Some(json!({"email": h.owner.email, "password": "not the password"})),
            [401, 401, 401, 401],
        ),
        row(
            "POST",
            "/api/v1/session",
            Some(json!({"email": h.owner.email, "password": common::PASSWORD})),
            [200, 200, 200, 200],
        ),
        // Signing out with no session cookie clears the cookie, whoever asks.
        row("DELETE", "/api/v1/session", None, [204, 204, 204, 204]),
        row("GET", "/api/v1/channels", None, [401, 403, 403, 200]),
        row(
            "POST",
            "/api/v1/channels",
            Some(json!({"name": "chat", "kind": "slack", "url": "https://hooks.invalid/chat"})),
            [401, 403, 403, 201],
        ),
        row(
            "GET",
            format!("/api/v1/channels/{channel}"),
            None,
            [401, 403, 403, 200],
        ),
        row(
            "PATCH",
            format!("/api/v1/channels/{channel}"),
            Some(json!({"enabled": true})),
            [401, 403, 403, 200],
        ),
        row(
            "POST",
            format!("/api/v1/channels/{channel}/test"),
            None,
            [401, 403, 403, 200],
        ),
        row(
            "GET",
            format!("/api/v1/channels/{channel}/deliveries"),
            None,
            [401, 403, 403, 200],
        ),
        row(
            "POST",
            format!("/api/v1/channels/{channel}/rotate-secret"),
            None,
            [401, 403, 403, 200],
        ),
        row("GET", "/api/v1/channels/424242", None, [401, 403, 403, 404]),
        row("GET", "/api/v1/subscriptions", None, [401, 403, 403, 200]),
        row(
            "POST",
            "/api/v1/subscriptions",
            Some(json!({"channel_id": channel})),
            [401, 403, 403, 201],
        ),
        row(
            "DELETE",
            "/api/v1/subscriptions/424242",
            None,
            [401, 403, 403, 404],
        ),
        row("GET", "/api/v1/notices", None, [401, 403, 403, 200]),
        row(
            "POST",
            "/api/v1/notices/424242/dismiss",
            None,
            [401, 403, 403, 404],
        ),
        row("GET", "/api/v1/me", None, [401, 200, 200, 200]),
        row("GET", "/api/v1/me/tokens", None, [401, 200, 200, 200]),
        row(
            "POST",
            "/api/v1/me/tokens",
            Some(json!({"name": "laptop"})),
            [401, 201, 201, 201],
        ),
        row(
            "DELETE",
            "/api/v1/me/tokens/999",
            None,
            [401, 404, 404, 404],
        ),
        row("GET", "/api/v1/users", None, [401, 403, 403, 200]),
        row(
            "PATCH",
            format!("/api/v1/users/{other_id}"),
            Some(json!({"name": "Renamed"})),
            [401, 403, 403, 200],
        ),
        row("GET", "/api/v1/integrations", None, [401, 200, 200, 200]),
        row(
            "PATCH",
            "/api/v1/integrations/slack",
            Some(json!({"enabled": true})),
            [401, 403, 403, 200],
        ),
        row("GET", "/api/v1/audit", None, [401, 403, 403, 200]),
        row("GET", "/api/v1/connections", None, [401, 200, 200, 200]),
        row(
            "GET",
            format!("/api/v1/connections/{private}"),
            None,
            [401, 404, 200, 200],
        ),
        row(
            "GET",
            format!("/api/v1/connections/{shared}"),
            None,
            [401, 200, 200, 200],
        ),
        row(
            "PATCH",
            format!("/api/v1/connections/{private}"),
            Some(json!({"shared": false})),
            [401, 404, 200, 200],
        ),
        row(
            "PATCH",
            format!("/api/v1/connections/{shared}"),
            Some(json!({"shared": true})),
            [401, 403, 200, 200],
        ),
        row(
            "POST",
            format!("/api/v1/connections/{private}/test"),
            None,
            [401, 404, 200, 200],
        ),
        row(
            "POST",
            format!("/api/v1/connections/{shared}/test"),
            None,
            [401, 200, 200, 200],
        ),
        row(
            "GET",
            "/api/v1/connections/424242",
            None,
            [401, 404, 404, 404],
        ),
        row(
            "GET",
            format!("/api/v1/connections/{private}/hooks"),
            None,
            [401, 404, 200, 200],
        ),
        row(
            "GET",
            format!("/api/v1/connections/{shared}/hooks"),
            None,
            [401, 200, 200, 200],
        ),
        row(
            "GET",
            "/api/v1/connections/424242/hooks",
            None,
            [401, 404, 404, 404],
        ),
        row(
            "POST",
            format!("/api/v1/connections/{private}/hooks/secret"),
            None,
            [401, 404, 200, 200],
        ),
        row(
            "POST",
            format!("/api/v1/connections/{shared}/hooks/secret"),
            None,
            [401, 403, 200, 200],
        ),
        row(
            "POST",
            "/api/v1/connections/424242/hooks/secret",
            None,
            [401, 404, 404, 404],
        ),
        // Without an address for GitLab to call, the answer says what to
        // paste by hand.
        row(
            "POST",
            format!("/api/v1/connections/{private}/hooks/enable"),
            Some(json!({})),
            [401, 404, 200, 200],
        ),
        row(
            "POST",
            format!("/api/v1/connections/{shared}/hooks/enable"),
            Some(json!({})),
            [401, 403, 200, 200],
        ),
        // Browsing GitLab goes through a connection one may use.
        row(
            "GET",
            format!("/api/v1/connections/{private}/gitlab/projects"),
            None,
            [401, 404, 200, 200],
        ),
        row(
            "GET",
            format!("/api/v1/connections/{shared}/gitlab/projects"),
            None,
            [401, 200, 200, 200],
        ),
        row(
            "GET",
            "/api/v1/connections/424242/gitlab/projects",
            None,
            [401, 404, 404, 404],
        ),
    ];
    for row in &rows {
        m.row(row).await;
    }
    for what in ["milestones", "members", "labels", "issues"] {
        for (connection, expect) in [
            (private, [401, 404, 200, 200]),
            (shared, [401, 200, 200, 200]),
        ] {
            let path = format!(
                "/api/v1/connections/{connection}/gitlab/projects/{ENCODED_PROJECT}/{what}"
            );
            m.row(&row("GET", path, None, expect)).await;
        }
    }

    // Jira: reading fields and previewing JQL use the connection; choosing
    // the story points field changes it. A Jira connection one may not use
    // is refused as a field of the request (422), never shown.
    let rows = vec![
        row(
            "GET",
            format!("/api/v1/connections/{jira_shared}/jira/fields"),
            None,
            [401, 200, 200, 200],
        ),
        row(
            "GET",
            format!("/api/v1/connections/{jira_private}/jira/fields"),
            None,
            [401, 422, 200, 200],
        ),
        row(
            "POST",
            format!("/api/v1/connections/{jira_shared}/jira/preview"),
            Some(json!({"jql": "project = OPS"})),
            [401, 200, 200, 200],
        ),
        row(
            "POST",
            format!("/api/v1/connections/{jira_private}/jira/preview"),
            Some(json!({"jql": "project = OPS"})),
            [401, 422, 200, 200],
        ),
        row(
            "PUT",
            format!("/api/v1/connections/{jira_shared}/jira/story-points-field"),
            Some(json!({"field": null})),
            [401, 403, 200, 200],
        ),
        row(
            "PUT",
            format!("/api/v1/connections/{jira_private}/jira/story-points-field"),
            Some(json!({"field": null})),
            [401, 404, 200, 200],
        ),
    ];
    for row in &rows {
        m.row(row).await;
    }

    // Teams: everyone signed in sees them; admins manage them. The OKR
    // list's filters answer everyone alike; a filter naming nothing is 422.
    let reply = h
        .call(
            "POST",
            "/api/v1/teams",
            Some(&h.admin.token),
            Some(json!({"name": "Platform"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let team = reply.body["id"].as_i64().expect("team");
    let rows = vec![
        row("GET", "/api/v1/teams", None, [401, 200, 200, 200]),
        row(
            "POST",
            "/api/v1/teams",
            Some(json!({"name": "Web", "lead_id": h.owner.id})),
            [401, 403, 403, 201],
        ),
        row(
            "GET",
            format!("/api/v1/teams/{team}"),
            None,
            [401, 200, 200, 200],
        ),
        row("GET", "/api/v1/teams/424242", None, [401, 404, 404, 404]),
        row(
            "PUT",
            format!("/api/v1/teams/{team}"),
            Some(json!({"name": "Platform team", "lead_id": null})),
            [401, 403, 403, 200],
        ),
        row(
            "POST",
            format!("/api/v1/teams/{team}/members"),
            Some(json!({"user_id": other_id})),
            [401, 403, 403, 200],
        ),
        row(
            "DELETE",
            format!("/api/v1/teams/{team}/members/{other_id}"),
            None,
            [401, 403, 403, 200],
        ),
        row(
            "GET",
            format!("/api/v1/okrs?team_id={team}&status=on_track&mine=true"),
            None,
            [401, 200, 200, 200],
        ),
        row(
            "GET",
            "/api/v1/okrs?team_id=424242",
            None,
            [401, 422, 422, 422],
        ),
    ];
    for row in &rows {
        m.row(row).await;
    }

    // Goals: periods are the admins'; OKRs are open to read, changed by
    // their owner or an admin.
    let rows = vec![
        row("GET", "/api/v1/periods", None, [401, 200, 200, 200]),
        row(
            "POST",
            "/api/v1/periods",
            Some(json!({"name": "Next", "starts_on": "2031-01-01", "ends_on": "2031-03-31"})),
            [401, 403, 403, 201],
        ),
        row(
            "PATCH",
            format!("/api/v1/periods/{period}"),
            Some(json!({"check_in_every_days": 14})),
            [401, 403, 403, 200],
        ),
        row(
            "GET",
            format!("/api/v1/periods/{period}/dashboard"),
            None,
            [401, 200, 200, 200],
        ),
        row(
            "GET",
            "/api/v1/periods/424242/dashboard",
            None,
            [401, 404, 404, 404],
        ),
        row("GET", "/api/v1/okrs", None, [401, 200, 200, 200]),
        row(
            "POST",
            "/api/v1/okrs",
            Some(
                json!({"kind": "objective", "title": "Mine", "period_id": period,
                "measure": {"mode": "percent_complete"}, "progress_source": "roll_up"}),
            ),
            [401, 201, 201, 201],
        ),
        row(
            "GET",
            format!("/api/v1/okrs/{linked}"),
            None,
            [401, 200, 200, 200],
        ),
        row("GET", "/api/v1/okrs/424242", None, [401, 404, 404, 404]),
        row(
            "PUT",
            format!("/api/v1/okrs/{linked}"),
            Some(okr_edit.clone()),
            [401, 403, 200, 200],
        ),
        row(
            "PUT",
            "/api/v1/okrs/424242",
            Some(okr_edit.clone()),
            [401, 404, 404, 404],
        ),
        // No link yet.
        row(
            "GET",
            format!("/api/v1/okrs/{linked}/link"),
            None,
            [401, 404, 404, 404],
        ),
        row(
            "POST",
            format!("/api/v1/okrs/{linked}/refresh"),
            None,
            [401, 409, 409, 409],
        ),
        row(
            "PUT",
            format!("/api/v1/okrs/{linked}/link"),
            Some(gitlab_link(shared)),
            [401, 403, 200, 200],
        ),
        // The owner's private connection: only they (and admins) link
        // through it; to another member it does not exist.
        row(
            "PUT",
            format!("/api/v1/okrs/{linked}/link"),
            Some(gitlab_link(private)),
            [401, 403, 200, 200],
        ),
        row(
            "GET",
            format!("/api/v1/okrs/{linked}/link"),
            None,
            [401, 200, 200, 200],
        ),
        // Anyone who sees an OKR may have its numbers read again.
        row(
            "POST",
            format!("/api/v1/okrs/{linked}/refresh"),
            None,
            [401, 200, 200, 200],
        ),
        row(
            "GET",
            format!("/api/v1/okrs/{linked}/explain"),
            None,
            [401, 200, 200, 200],
        ),
        row(
            "GET",
            format!("/api/v1/okrs/{linked}/history"),
            None,
            [401, 200, 200, 200],
        ),
        row(
            "GET",
            format!("/api/v1/okrs/{linked}/forecast"),
            None,
            [401, 200, 200, 200],
        ),
        row(
            "GET",
            format!("/api/v1/okrs/{checked_in}/check-ins"),
            None,
            [401, 200, 200, 200],
        ),
        row(
            "POST",
            format!("/api/v1/okrs/{checked_in}/check-ins"),
            Some(json!({"value": 20.0, "note": "progress"})),
            [401, 403, 201, 201],
        ),
        row(
            "PUT",
            format!("/api/v1/check-ins/{check_in}"),
            Some(json!({"value": 15.0})),
            [401, 403, 200, 200],
        ),
        row(
            "PUT",
            "/api/v1/check-ins/424242",
            Some(json!({"value": 15.0})),
            [401, 404, 404, 404],
        ),
        row(
            "DELETE",
            "/api/v1/check-ins/424242",
            None,
            [401, 404, 404, 404],
        ),
        // Sync pairs are their owner's and the admins'; to others they do
        // not exist.
        row("GET", "/api/v1/sync-pairs", None, [401, 200, 200, 200]),
        row(
            "POST",
            "/api/v1/sync-pairs",
            Some(sync_pair(shared, jira_shared)),
            [401, 201, 201, 201],
        ),
        // Through a connection the caller may not use: refused as a field.
        row(
            "POST",
            "/api/v1/sync-pairs",
            Some(sync_pair(private, jira_shared)),
            [401, 422, 201, 201],
        ),
        row(
            "GET",
            format!("/api/v1/sync-pairs/{pair}"),
            None,
            [401, 404, 200, 200],
        ),
        row(
            "PUT",
            format!("/api/v1/sync-pairs/{pair}"),
            Some(sync_pair(shared, jira_shared)),
            [401, 404, 200, 200],
        ),
        row(
            "POST",
            format!("/api/v1/sync-pairs/{pair}/preview"),
            None,
            [401, 404, 200, 200],
        ),
        // An inactive pair is not scanned; others do not learn it exists.
        row(
            "POST",
            format!("/api/v1/sync-pairs/{pair}/scan"),
            None,
            [401, 404, 409, 409],
        ),
        row(
            "GET",
            format!("/api/v1/sync-pairs/{pair}/items"),
            None,
            [401, 404, 200, 200],
        ),
        row(
            "POST",
            format!("/api/v1/sync-pairs/{pair}/items/424242/retry"),
            None,
            [401, 404, 404, 404],
        ),
        row(
            "GET",
            format!("/api/v1/sync-pairs/{pair}/conflicts"),
            None,
            [401, 404, 200, 200],
        ),
        row(
            "POST",
            format!("/api/v1/sync-pairs/{pair}/conflicts/424242/keep"),
            Some(json!({"side": "left"})),
            [401, 404, 404, 404],
        ),
        row(
            "GET",
            format!("/api/v1/sync-pairs/{pair}/runs"),
            None,
            [401, 404, 200, 200],
        ),
        row(
            "GET",
            format!("/api/v1/sync-pairs/{pair}/operations"),
            None,
            [401, 404, 200, 200],
        ),
        row(
            "GET",
            format!("/api/v1/sync-pairs/{pair}/people"),
            None,
            [401, 404, 200, 200],
        ),
        // Someone not of the side: refused as a field, nothing saved.
        row(
            "POST",
            format!("/api/v1/sync-pairs/{pair}/people"),
            Some(json!({"left_id": "999999", "right_id": "nobody"})),
            [401, 404, 422, 422],
        ),
        row(
            "DELETE",
            format!("/api/v1/sync-pairs/{pair}/people/424242"),
            None,
            [401, 404, 404, 404],
        ),
        // The initial sync: none yet; an inactive pair starts none, and
        // there is nothing to pause or resume.
        row(
            "GET",
            format!("/api/v1/sync-pairs/{pair}/initial-sync"),
            None,
            [401, 404, 404, 404],
        ),
        row(
            "POST",
            format!("/api/v1/sync-pairs/{pair}/initial-sync/preview"),
            Some(json!({"since": "2020-01-01"})),
            [401, 404, 200, 200],
        ),
        row(
            "POST",
            format!("/api/v1/sync-pairs/{pair}/initial-sync"),
            Some(json!({"since": "2020-01-01"})),
            [401, 404, 422, 422],
        ),
        row(
            "POST",
            format!("/api/v1/sync-pairs/{pair}/initial-sync/pause"),
            None,
            [401, 404, 422, 422],
        ),
        row(
            "POST",
            format!("/api/v1/sync-pairs/{pair}/initial-sync/resume"),
            None,
            [401, 404, 422, 422],
        ),
        row(
            "GET",
            format!("/api/v1/sync-pairs/{pair}/release-links"),
            None,
            [401, 404, 200, 200],
        ),
        // A release not of the side: refused as a field, nothing saved.
        row(
            "POST",
            format!("/api/v1/sync-pairs/{pair}/release-links"),
            Some(json!({"left_id": "999999", "right_id": "nobody"})),
            [401, 404, 422, 422],
        ),
        row(
            "DELETE",
            format!("/api/v1/sync-pairs/{pair}/release-links/424242"),
            None,
            [401, 404, 404, 404],
        ),
        row(
            "GET",
            "/api/v1/sync-pairs/424242",
            None,
            [401, 404, 404, 404],
        ),
        // Webhooks ignore API tokens and sessions: only the hook secret
        // (X-Gitlab-Token, Jira's signature) lets a delivery in.
        row(
            "POST",
            format!("/hooks/gitlab/{shared}"),
            Some(json!({"object_kind": "issue"})),
            [401, 401, 401, 401],
        ),
        row(
            "POST",
            "/hooks/gitlab/424242",
            Some(json!({"object_kind": "issue"})),
            [404, 404, 404, 404],
        ),
        row(
            "POST",
            format!("/hooks/jira/{jira_shared}"),
            Some(json!({"webhookEvent": "jira:issue_updated"})),
            [401, 401, 401, 401],
        ),
        row(
            "POST",
            "/hooks/jira/424242",
            Some(json!({"webhookEvent": "jira:issue_updated"})),
            [404, 404, 404, 404],
        ),
    ];
    for row in &rows {
        m.row(row).await;
    }

    // Time: the source and people are the admins'; a person's week and
    // suggestions are theirs alone (not even an admin's to read).
    let reply = h
        .call(
            "PUT",
            "/api/v1/time/source",
            Some(&h.admin.token),
            Some(json!({"connection_id": shared, "projects": [PROJECT]})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let owner_id = h.owner.id;
    let reply = h
        .call(
            "PUT",
            "/api/v1/time/people/me",
            Some(&h.owner.token),
            Some(json!({"gitlab_user_id": 9000, "gitlab_username": "owner", "time_zone": "UTC"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let key = json!({"key": "2026-12-01/OPS-1/1"});
    let time_rows = vec![
        row("GET", "/api/v1/time/source", None, [401, 403, 403, 200]),
        row(
            "PUT",
            "/api/v1/time/source",
            Some(json!({"connection_id": shared, "projects": [PROJECT]})),
            [401, 403, 403, 200],
        ),
        row(
            "POST",
            "/api/v1/time/people/match",
            Some(json!({"user_ids": [owner_id]})),
            [401, 403, 403, 200],
        ),
        row("GET", "/api/v1/time/people", None, [401, 403, 403, 200]),
        row(
            "POST",
            "/api/v1/time/people",
            Some(json!({"people": []})),
            [401, 403, 403, 200],
        ),
        row("GET", "/api/v1/time/people/me", None, [401, 404, 200, 404]),
        row(
            "GET",
            format!("/api/v1/time/people/{owner_id}/week?day=2026-12-01"),
            None,
            [401, 404, 200, 404],
        ),
        row(
            "POST",
            format!("/api/v1/time/people/{owner_id}/accept"),
            Some(key.clone()),
            [401, 404, 404, 404],
        ),
        row(
            "POST",
            format!("/api/v1/time/people/{owner_id}/dismiss"),
            Some(key),
            [401, 404, 404, 404],
        ),
        row(
            "POST",
            "/api/v1/time/worklogs/424242/retry",
            None,
            [401, 404, 404, 404],
        ),
        row("GET", "/api/v1/time/totals", None, [401, 403, 403, 200]),
        row(
            "PUT",
            "/api/v1/time/dev-links",
            Some(json!({"gitlab_connection_id": shared, "jira_connection_id": jira_shared})),
            [401, 403, 403, 200],
        ),
        row("GET", "/api/v1/time/dev-links", None, [401, 403, 403, 200]),
        row(
            "DELETE",
            "/api/v1/time/dev-links/424242",
            None,
            [401, 403, 403, 404],
        ),
    ];
    for row in &time_rows {
        m.row(row).await;
    }
    let pairs = h
        .call("GET", "/api/v1/time/dev-links", Some(&h.admin.token), None)
        .await;
    let pair = pairs.body[0]["id"].as_i64().expect("the pair's id");
    for (who, expect) in [(0, 401), (1, 403), (2, 403), (3, 204)] {
        m.check(
            who,
            "DELETE",
            &format!("/api/v1/time/dev-links/{pair}"),
            None,
            expect,
        )
        .await;
    }
    // Connecting oneself: each caller with an account of their own.
    for (who, gitlab_id) in [(0, 9001), (1, 9002), (2, 9000), (3, 9003)] {
        m.check(
            who,
            "PUT",
            "/api/v1/time/people/me",
            Some(json!({"gitlab_user_id": gitlab_id, "gitlab_username": format!("u{gitlab_id}"), "time_zone": "UTC"})),
            [401, 200, 200, 200][who],
        )
        .await;
    }
    // Disconnecting: the owner's link is not another member's to remove;
    // an admin removes the other member's; the owner their own.
    for (who, user, expect) in [
        (0, owner_id, 401),
        (1, owner_id, 404),
        (3, other_id, 200),
        (2, owner_id, 200),
    ] {
        m.check(
            who,
            "DELETE",
            &format!("/api/v1/time/people/{user}"),
            None,
            expect,
        )
        .await;
    }
    for (who, expect) in [(0, 401), (1, 403), (2, 403), (3, 200)] {
        m.check(who, "DELETE", "/api/v1/time/source", None, expect)
            .await;
    }
    // The owner's OKR kept its owner through the admin's edits.
    let okr = h
        .call(
            "GET",
            &format!("/api/v1/okrs/{linked}"),
            Some(&h.owner.token),
            None,
        )
        .await;
    assert_eq!(okr.body["owner_id"], h.owner.id, "{}", okr.text);

    // Creating and deleting change state: fresh subjects for each caller.
    for who in 0..4 {
        m.check(
            who,
            "POST",
            "/api/v1/users",
            Some(json!({"email": format!("new{who}@example.com"), "name": "New", "role": "member", "password": common::PASSWORD})),
            [401, 403, 403, 201][who],
        )
        .await;
        m.check(
            who,
            "POST",
            "/api/v1/connections",
            Some(json!({"kind": "gitlab", "name": format!("mine {who}"), "auth_kind": "private_token", "secret": "glpat-x"})),
            [401, 201, 201, 201][who],
        )
        .await;
        for (shared, expect) in [(false, [401, 404, 204, 204]), (true, [401, 403, 204, 204])] {
            let id = h
                .gitlab_connection(&h.owner, &format!("doomed {who} {shared}"), shared)
                .await;
            let path = format!("/api/v1/connections/{id}");
            m.check(who, "DELETE", &path, None, expect[who]).await;
        }

        let reply = h
            .call(
                "POST",
                "/api/v1/channels",
                Some(&h.admin.token),
                Some(json!({"name": format!("doomed {who}"), "kind": "slack", "url": "https://hooks.invalid/doomed"})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        let doomed = reply.body["id"].as_i64().expect("channel");
        let path = format!("/api/v1/channels/{doomed}");
        m.check(who, "DELETE", &path, None, [401, 403, 403, 204][who])
            .await;

        let doomed = owners_key_result(&h, period, "data_link").await;
        let path = format!("/api/v1/okrs/{doomed}/link");
        let reply = h
            .call(
                "PUT",
                &path,
                Some(&h.owner.token),
                Some(gitlab_link(shared)),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        m.check(who, "DELETE", &path, None, [401, 403, 204, 204][who])
            .await;
        let path = format!("/api/v1/okrs/{doomed}");
        m.check(who, "DELETE", &path, None, [401, 403, 204, 204][who])
            .await;

        let reply = h
            .call(
                "POST",
                "/api/v1/teams",
                Some(&h.admin.token),
                Some(json!({"name": format!("doomed {who}")})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        let doomed = reply.body["id"].as_i64().expect("team");
        let path = format!("/api/v1/teams/{doomed}");
        m.check(who, "DELETE", &path, None, [401, 403, 403, 200][who])
            .await;

        let doomed = owners_check_in(&h, checked_in).await;
        let path = format!("/api/v1/check-ins/{doomed}");
        m.check(who, "DELETE", &path, None, [401, 403, 204, 204][who])
            .await;

        let reply = h
            .call(
                "POST",
                "/api/v1/sync-pairs",
                Some(&h.owner.token),
                Some(sync_pair(shared, jira_shared)),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        let doomed = reply.body["id"].as_i64().expect("pair");
        let path = format!("/api/v1/sync-pairs/{doomed}");
        m.check(who, "DELETE", &path, None, [401, 404, 204, 204][who])
            .await;
    }
    m.assert_every_operation_covered();

    // Lists show only what the caller may see.
    let names = |reply: common::Reply| -> Vec<String> {
        reply
            .body
            .as_array()
            .expect("list")
            .iter()
            .map(|c| c["name"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let seen_by_other = names(
        h.call("GET", "/api/v1/connections", Some(&h.other.token), None)
            .await,
    );
    assert!(seen_by_other.contains(&"owner's shared".to_owned()));
    assert!(!seen_by_other.contains(&"owner's private".to_owned()));
    let seen_by_admin = names(
        h.call("GET", "/api/v1/connections", Some(&h.admin.token), None)
            .await,
    );
    assert!(seen_by_admin.contains(&"owner's private".to_owned()));
    let pairs_seen_by_other = h
        .call("GET", "/api/v1/sync-pairs", Some(&h.other.token), None)
        .await;
    assert!(
        pairs_seen_by_other
            .body
            .as_array()
            .expect("pairs")
            .iter()
            .all(|p| p["owner_id"] == h.other.id),
        "{}",
        pairs_seen_by_other.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_use_shared_connections_but_never_see_secrets() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let shared = h.gitlab_connection(&h.owner, "team gitlab", true).await;
    for token in [&h.other.token, &h.owner.token, &h.admin.token] {
        let reply = h
            .call(
                "GET",
                &format!("/api/v1/connections/{shared}"),
                Some(token),
                None,
            )
            .await;
        assert!(
            !reply.text.contains(cairn_sim::DEFAULT_GITLAB_TOKEN),
            "{}",
            reply.text
        );
        assert!(reply.body.get("secret").is_none());
    }
    let reply = h
        .call(
            "POST",
            &format!("/api/v1/connections/{shared}/test"),
            Some(&h.other.token),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["ok"], true, "{}", reply.text);
    assert!(
        reply.body["account_name"]
            .as_str()
            .is_some_and(|n| n.contains("root")),
        "{}",
        reply.text
    );
    assert!(reply.body["server_version"].is_string());
}

/// Admin endpoints answer 401/403 before reading the body: a bad body does
/// not turn a refusal into a complaint about the body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_endpoints_refuse_before_reading_the_body() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let bad_bodies = [json!(["p", "2027-04-01", "2027-06-30"]), json!({"x": 1})];
    for (method, path) in [
        ("POST", "/api/v1/users".to_owned()),
        ("PATCH", format!("/api/v1/users/{}", h.other.id)),
        ("POST", "/api/v1/periods".to_owned()),
        ("PATCH", "/api/v1/periods/1".to_owned()),
        ("POST", "/api/v1/teams".to_owned()),
        ("PUT", "/api/v1/teams/1".to_owned()),
        ("POST", "/api/v1/teams/1/members".to_owned()),
        ("PATCH", "/api/v1/integrations/gitlab".to_owned()),
        ("POST", "/api/v1/channels".to_owned()),
        ("PATCH", "/api/v1/channels/1".to_owned()),
        ("POST", "/api/v1/subscriptions".to_owned()),
    ] {
        for body in &bad_bodies {
            let anonymous = h.call(method, &path, None, Some(body.clone())).await;
            assert_eq!(
                anonymous.status,
                StatusCode::UNAUTHORIZED,
                "{method} {path}: {}",
                anonymous.text
            );
            let member = h
                .call(method, &path, Some(&h.owner.token), Some(body.clone()))
                .await;
            assert_eq!(
                member.status,
                StatusCode::FORBIDDEN,
                "{method} {path}: {}",
                member.text
            );
        }
    }
    // A signed-in-only endpoint: 401 before the body too.
    let reply = h
        .call(
            "POST",
            "/api/v1/okrs",
            None,
            Some(json!(["not", "an", "okr"])),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text);
}

async fn okr(h: &Harness, token: &str, period: i64, owner: Option<i64>) -> common::Reply {
    let mut body = json!({"kind": "objective", "title": "Owned", "period_id": period, "measure": {"mode": "percent_complete"}, "progress_source": "roll_up"});
    if let Some(owner) = owner {
        body["owner_id"] = json!(owner);
    }
    h.call("POST", "/api/v1/okrs", Some(token), Some(body))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_may_set_an_okrs_owner() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let period = common::period(&h).await;
    // A disabled user.
    let reply = h
        .call(
            "POST",
            "/api/v1/users",
            Some(&h.admin.token),
            Some(json!({"email": "gone@example.com", "name": "Gone", "role": "member", "password": common::PASSWORD})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let gone = reply.body["id"].as_i64().expect("id");
    let reply = h
        .call(
            "PATCH",
            &format!("/api/v1/users/{gone}"),
            Some(&h.admin.token),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);

    // A member creates OKRs owned by themselves only.
    let reply = okr(&h, &h.owner.token, period, Some(h.other.id)).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text);
    let reply = okr(&h, &h.owner.token, period, Some(h.owner.id)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let mine = reply.body["id"].as_i64().expect("id");

    // Nobody gives an OKR to a disabled user, admins included.
    let reply = okr(&h, &h.admin.token, period, Some(gone)).await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text
    );
    assert_eq!(reply.body["error"]["field"], "owner_id");
    let hand_to = |owner: i64| json!({"kind": "objective", "title": "Owned", "period_id": period, "owner_id": owner, "measure": {"mode": "percent_complete"}, "progress_source": "roll_up"});
    let path = format!("/api/v1/okrs/{mine}");
    let reply = h
        .call("PUT", &path, Some(&h.owner.token), Some(hand_to(gone)))
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text
    );
    assert_eq!(reply.body["error"]["field"], "owner_id");
    assert_eq!(
        h.call("GET", &path, Some(&h.owner.token), None).await.body["owner_id"],
        h.owner.id,
        "unchanged"
    );

    // An admin may create for anyone active; editing keeps the owner.
    let reply = okr(&h, &h.admin.token, period, Some(h.other.id)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let theirs = reply.body["id"].as_i64().expect("id");
    let reply = h
        .call(
            "PUT",
            &format!("/api/v1/okrs/{theirs}"),
            Some(&h.admin.token),
            Some(json!({"kind": "objective", "title": "Renamed", "period_id": period, "measure": {"mode": "percent_complete"}, "progress_source": "roll_up"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        reply.body["owner_id"], h.other.id,
        "an admin's edit does not take it"
    );

    // The owner hands their OKR to another active user; then it is theirs.
    let reply = h
        .call(
            "PUT",
            &path,
            Some(&h.owner.token),
            Some(hand_to(h.other.id)),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["owner_id"], h.other.id);
    let reply = h
        .call(
            "PUT",
            &path,
            Some(&h.owner.token),
            Some(hand_to(h.owner.id)),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text);
}
