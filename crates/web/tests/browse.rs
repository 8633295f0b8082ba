//! The GitLab pickers under `/api/v1/connections/{id}/gitlab/`, against the
//! simulator's sample organisation.

mod common;

use axum::http::StatusCode;
use common::{Harness, Reply};
use serde_json::{Value, json};

struct Setup {
    h: Harness,
    /// Shared, owned by `owner`, with the simulator's root token.
    connection: i64,
    /// Every reply, to check none carries the token.
    seen: std::sync::Mutex<Vec<String>>,
}

async fn setup() -> Setup {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let connection = h.gitlab_connection(&h.owner, "gitlab", true).await;
    Setup {
        h,
        connection,
        seen: std::sync::Mutex::new(Vec::new()),
    }
}

impl Setup {
    async fn get_as(&self, token: &str, path: &str) -> Reply {
        let reply = self.h.call("GET", path, Some(token), None).await;
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(reply.text.clone());
        reply
    }

    /// `GET /api/v1/connections/{connection}/gitlab/{rest}` as `other`,
    /// who may use the shared connection but does not own it.
    async fn get(&self, rest: &str) -> Reply {
        let path = format!("/api/v1/connections/{}/gitlab/{rest}", self.connection);
        self.get_as(&self.h.other.token, &path).await
    }

    async fn ok(&self, rest: &str) -> Value {
        let reply = self.get(rest).await;
        assert_eq!(reply.status, StatusCode::OK, "{rest}: {}", reply.text);
        reply.body
    }

    fn assert_no_token_seen(&self) {
        for text in self.seen.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            assert!(
                !text.contains(cairn_sim::DEFAULT_GITLAB_TOKEN),
                "a reply carries the token: {text}"
            );
        }
    }
}

fn strings(page: &Value, key: &str) -> Vec<String> {
    page["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i[key].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

const CHECKOUT: &str = "projects/northwind%2Fcheckout";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projects_are_listed_searched_and_paged() {
    let s = setup().await;
    let all = s.ok("projects").await;
    let mut paths = strings(&all, "path_with_namespace");
    paths.sort();
    assert_eq!(
        paths,
        vec![
            "northwind/checkout",
            "northwind/handbook",
            "northwind/mobile-app"
        ]
    );
    assert_eq!(
        (&all["page"], &all["per_page"], &all["next_page"]),
        (&json!(1), &json!(20), &Value::Null)
    );
    let first = &all["items"][0];
    assert!(first["id"].is_u64() && first["name"].is_string() && first["web_url"].is_string());
    assert_eq!(
        strings(&s.ok("projects?search=mobile").await, "path_with_namespace"),
        vec!["northwind/mobile-app"]
    );

    // One a page: three pages, the last without a next one.
    let mut seen = Vec::new();
    let mut page = Some(1);
    while let Some(n) = page {
        let reply = s.ok(&format!("projects?per_page=1&page={n}")).await;
        assert_eq!(reply["page"], json!(n));
        assert_eq!(reply["per_page"], 1);
        seen.extend(strings(&reply, "path_with_namespace"));
        page = reply["next_page"].as_u64();
        assert!(seen.len() <= 3, "pages never end: {reply}");
    }
    seen.sort();
    assert_eq!(seen, paths);

    let capped = s.ok("projects?per_page=1000").await;
    assert_eq!(capped["per_page"], 100);
    s.assert_no_token_seen();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn milestones_by_path_or_id_and_search() {
    let s = setup().await;
    let mut titles = strings(&s.ok(&format!("{CHECKOUT}/milestones")).await, "title");
    titles.sort();
    assert_eq!(titles, vec!["Q1 2026", "Q2 2026"]);
    let found = s.ok(&format!("{CHECKOUT}/milestones?search=q2")).await;
    assert_eq!(strings(&found, "title"), vec!["Q2 2026"]);

    let projects = s.ok("projects?search=checkout").await;
    let id = projects["items"][0]["id"].as_u64().expect("project id");
    let by_id = s.ok(&format!("projects/{id}/milestones?search=Q1")).await;
    assert_eq!(strings(&by_id, "title"), vec!["Q1 2026"]);

    let paged = s.ok(&format!("{CHECKOUT}/milestones?per_page=1")).await;
    assert_eq!(paged["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(paged["next_page"], 2);
    s.assert_no_token_seen();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_and_labels_with_search() {
    let s = setup().await;
    let mut members = strings(&s.ok(&format!("{CHECKOUT}/members")).await, "username");
    members.sort();
    assert_eq!(members, vec!["amartin", "bokafor", "crossi", "root"]);
    let found = s.ok(&format!("{CHECKOUT}/members?search=bok")).await;
    assert_eq!(strings(&found, "username"), vec!["bokafor"]);
    assert!(
        found["items"][0].get("email").is_none(),
        "a picker shows no email: {found}"
    );

    let mut labels = strings(&s.ok(&format!("{CHECKOUT}/labels")).await, "name");
    labels.sort();
    assert_eq!(labels, vec!["bug", "feature", "payments", "ux"]);
    let found = s.ok(&format!("{CHECKOUT}/labels?search=PAY")).await;
    assert_eq!(strings(&found, "name"), vec!["payments"]);
    assert!(found["items"][0]["color"].is_string());
    s.assert_no_token_seen();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issues_are_picked_by_iid_or_title_and_paged() {
    let s = setup().await;
    let all = s.ok(&format!("{CHECKOUT}/issues?per_page=100")).await;
    assert_eq!(all["items"].as_array().map(Vec::len), Some(7), "{all}");
    let issue = &all["items"][0];
    assert!(issue["iid"].is_u64() && issue["title"].is_string() && issue["web_url"].is_string());
    assert_eq!(issue["reference"], format!("#{}", issue["iid"]));

    let paged = s.ok(&format!("{CHECKOUT}/issues?per_page=3")).await;
    assert_eq!(paged["items"].as_array().map(Vec::len), Some(3));
    assert_eq!(paged["next_page"], 2);
    let last = s.ok(&format!("{CHECKOUT}/issues?per_page=3&page=3")).await;
    assert_eq!(last["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(last["next_page"], Value::Null);

    let picked = s
        .ok(&format!("{CHECKOUT}/issues?iids%5B%5D=2&iids[]=4"))
        .await;
    let mut iids: Vec<u64> = picked["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["iid"].as_u64()).collect())
        .unwrap_or_default();
    iids.sort();
    assert_eq!(iids, vec![2, 4]);

    let hash = s.ok(&format!("{CHECKOUT}/issues?search=%232")).await;
    assert_eq!(hash["items"].as_array().map(Vec::len), Some(1), "{hash}");
    assert_eq!(hash["items"][0]["iid"], 2);

    let titled = s.ok(&format!("{CHECKOUT}/issues?search=apple")).await;
    assert_eq!(
        strings(&titled, "title"),
        vec!["Support Apple Pay in checkout"]
    );
    assert_eq!(titled["items"][0]["milestone"], "Q1 2026");
    assert_eq!(titled["items"][0]["labels"], json!(["feature", "payments"]));

    let closed = s.ok(&format!("{CHECKOUT}/issues?state=closed")).await;
    assert!(
        closed["items"]
            .as_array()
            .is_some_and(|a| a.len() == 2 && a.iter().all(|i| i["state"] == "closed")),
        "{closed}"
    );

    let bad = s.get(&format!("{CHECKOUT}/issues?iids[]=x")).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    assert_eq!(bad.body["error"]["field"], "iids");
    s.assert_no_token_seen();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_members_private_connection_is_not_found() {
    let s = setup().await;
    let private = s.h.gitlab_connection(&s.h.owner, "private", false).await;
    for rest in ["projects", "projects/northwind%2Fcheckout/milestones"] {
        let path = format!("/api/v1/connections/{private}/gitlab/{rest}");
        let reply = s.get_as(&s.h.other.token, &path).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text);
        assert_eq!(reply.body["error"]["code"], "not_found");
        let mine = s.get_as(&s.h.owner.token, &path).await;
        assert_eq!(mine.status, StatusCode::OK, "{}", mine.text);
    }
    let unknown = s
        .get_as(
            &s.h.other.token,
            "/api/v1/connections/99999/gitlab/projects",
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.text);
    let anonymous =
        s.h.call(
            "GET",
            &format!("/api/v1/connections/{}/gitlab/projects", s.connection),
            None,
            None,
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    s.assert_no_token_seen();
}

/// `.` and `..` as a project (or a part of one) are refused naming the
/// project, never dropped from the path sent upstream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_segments_are_not_project_paths() {
    let s = setup().await;
    s.h.sim.clear_requests();
    for project in [
        ".",
        "..",
        "%2E",
        "%2E%2E",
        "northwind%2F..",
        "..%2Fnorthwind%2Fcheckout",
        "northwind%2F.%2Fcheckout",
    ] {
        for list in ["milestones", "members", "labels", "issues"] {
            let reply = s.get(&format!("projects/{project}/{list}")).await;
            assert_eq!(
                reply.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{project}/{list}: {}",
                reply.text
            );
            assert_eq!(reply.body["error"]["field"], "project", "{}", reply.text);
        }
    }
    assert!(
        s.h.sim.requests().is_empty(),
        "nothing went upstream: {:?}",
        s.h.sim.requests()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_the_token_cannot_see_is_not_found() {
    let s = setup().await;
    for rest in [
        "projects/northwind%2Fnope/milestones",
        "projects/northwind%2Fnope/members",
        "projects/northwind%2Fnope/labels",
        "projects/northwind%2Fnope/issues",
        "projects/999999/issues",
    ] {
        let reply = s.get(rest).await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{rest}: {}",
            reply.text
        );
        let message = reply.body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("project"), "{message}");
    }
    // A private project is invisible to a token of someone outside it.
    let reply =
        s.h.call(
            "POST",
            "/api/v1/connections",
            Some(&s.h.owner.token),
            Some(json!({
                "kind": "gitlab",
                "name": "outsider",
                "base_url": s.h.sim.gitlab_url(),
                "auth_kind": "private_token",
                "secret": "glpat-sim-outsider",
            })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let outsider = reply.body["id"].as_i64().expect("id");
    let base = format!("/api/v1/connections/{outsider}/gitlab");
    let hidden = s
        .get_as(&s.h.owner.token, &format!("{base}/{CHECKOUT}/issues"))
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{}", hidden.text);
    assert!(
        hidden.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("northwind/checkout")),
        "{}",
        hidden.text
    );
    let projects = s
        .get_as(&s.h.owner.token, &format!("{base}/projects"))
        .await;
    assert_eq!(projects.status, StatusCode::OK, "{}", projects.text);
    assert_eq!(projects.body["items"], json!([]), "not a member of any");
    let text = projects.text + &hidden.text;
    assert!(!text.contains("glpat-sim-outsider"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jira_connection_is_refused_naming_the_connection() {
    let s = setup().await;
    let reply =
        s.h.call(
            "POST",
            "/api/v1/connections",
            Some(&s.h.owner.token),
            Some(json!({
                "kind": "jira",
                "name": "jira",
                "base_url": s.h.sim.jira_url(),
                "auth_kind": "bearer",
                "secret": "jira-pat-secret",
            })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let jira = reply.body["id"].as_i64().expect("id");
    let reply = s
        .get_as(
            &s.h.owner.token,
            &format!("/api/v1/connections/{jira}/gitlab/projects"),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text
    );
    assert_eq!(reply.body["error"]["field"], "connection");
    assert!(!reply.text.contains("jira-pat-secret"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitlab_failures_are_502_with_the_diagnosis_and_no_secret() {
    let s = setup().await;
    s.ok("projects").await;
    s.h.control(
        "faults",
        json!({"service": "gitlab", "kind": "server_error", "status": 500, "count": 5}),
    )
    .await;
    for rest in ["projects", &format!("{CHECKOUT}/milestones")] {
        let reply = s.get(rest).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_GATEWAY,
            "{rest}: {}",
            reply.text
        );
        assert_eq!(reply.body["error"]["code"], "upstream_failed");
        let message = reply.body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("server_error"), "{message}");
        assert!(message.contains("500"), "{message}");
        assert!(message.contains("retry later"), "the hint: {message}");
    }
    s.h.sim.clear_faults();
    s.ok("projects").await;

    s.h.control(
        "faults",
        json!({"service": "gitlab", "kind": "revoke_token", "token": cairn_sim::DEFAULT_GITLAB_TOKEN}),
    )
    .await;
    let reply = s.get(&format!("{CHECKOUT}/labels")).await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY, "{}", reply.text);
    let message = reply.body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("unauthorized"), "{message}");
    s.assert_no_token_seen();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_the_browse_endpoints() {
    let s = setup().await;
    let doc = s.h.call("GET", "/api/openapi.json", None, None).await.body;
    for path in [
        "/api/v1/connections/{id}/gitlab/projects",
        "/api/v1/connections/{id}/gitlab/projects/{project}/milestones",
        "/api/v1/connections/{id}/gitlab/projects/{project}/members",
        "/api/v1/connections/{id}/gitlab/projects/{project}/labels",
        "/api/v1/connections/{id}/gitlab/projects/{project}/issues",
    ] {
        assert!(doc["paths"][path]["get"].is_object(), "{path}");
        let schema =
            doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
                ["$ref"]
                .as_str()
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
                .unwrap_or_default();
        let properties = &doc["components"]["schemas"][schema]["properties"];
        for key in ["items", "page", "per_page", "next_page"] {
            assert!(properties[key].is_object(), "{path}: {schema} lacks {key}");
        }
    }
}
