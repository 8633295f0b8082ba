//! The simulated GitLab API: auth, visibility, filters, pagination, writes,
//! and fidelity against GitLab's own JSON schemas.

mod common;

use cairn_sim::{DataSource, GenSpec, JiraFlavour, SimConfig};
use common::schemas::{assert_valid, gitlab_schema as schema};
use common::{client, sim};
use serde_json::{Value, json};

const ROOT: &str = "glpat-sim-root";

#[tokio::test]
async fn auth_visibility_and_errors() {
    let s = sim(JiraFlavour::Cloud).await;
    let c = client();
    let base = format!("{}/api/v4", s.gitlab_url());

    let r = c.get(format!("{base}/user")).send().await.expect("send");
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.expect("json"),
        json!({"message": "401 Unauthorized"})
    );

    let r = c
        .get(format!("{base}/user"))
        .header("PRIVATE-TOKEN", "nope")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 401);

    let me: Value = c
        .get(format!("{base}/user"))
        .bearer_auth("glpat-sim-amartin")
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(me["username"], "amartin");

    let v: Value = c
        .get(format!("{base}/version"))
        .header("PRIVATE-TOKEN", ROOT)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert!(v["version"].as_str().is_some_and(|x| x.starts_with("17.")));

    // A private project the user is not a member of is a 404, by id and by path.
    let r = c
        .get(format!("{base}/projects/northwind%2Fcheckout"))
        .header("PRIVATE-TOKEN", "glpat-sim-outsider")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.json::<Value>().await.expect("json"),
        json!({"message": "404 Project Not Found"})
    );
    let p: Value = c
        .get(format!("{base}/projects/northwind%2Fcheckout"))
        .header("PRIVATE-TOKEN", "glpat-sim-amartin")
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(p["path_with_namespace"], "northwind/checkout");
    let id = p["id"].as_u64().expect("id");
    let r = c
        .get(format!("{base}/projects/{id}"))
        .header("PRIVATE-TOKEN", "glpat-sim-outsider")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 404);

    // The outsider sees only the public project; membership filters.
    let list: Value = c
        .get(format!("{base}/projects"))
        .header("PRIVATE-TOKEN", "glpat-sim-outsider")
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let paths: Vec<&str> = list
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|p| p["path_with_namespace"].as_str())
        .collect();
    assert_eq!(paths, vec!["northwind/handbook"]);
    let list: Value = c
        .get(format!("{base}/projects?membership=true&search=mobile"))
        .header("PRIVATE-TOKEN", "glpat-sim-crossi")
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(list.as_array().expect("array").len(), 1);

    // Bad parameter values answer 400 in GitLab's shape; unknown ones are ignored.
    let r = c
        .get(format!("{base}/projects/{id}/issues?state=bogus"))
        .header("PRIVATE-TOKEN", ROOT)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.expect("json"),
        json!({"error": "state does not have a valid value"})
    );
    let r = c
        .get(format!("{base}/projects/{id}/issues?frobnicate=1"))
        .header("PRIVATE-TOKEN", ROOT)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let r = c
        .get(format!("{base}/projects/{id}/issues/999"))
        .header("PRIVATE-TOKEN", ROOT)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.json::<Value>().await.expect("json"),
        json!({"message": "404 Issue Not Found"})
    );
    let r = c
        .get(format!("{base}/nothing/here"))
        .header("PRIVATE-TOKEN", ROOT)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 404);
    s.shutdown().await;
}

#[tokio::test]
async fn issue_filters() {
    let s = sim(JiraFlavour::Cloud).await;
    let c = client();
    let url = format!(
        "{}/api/v4/projects/northwind%2Fcheckout/issues",
        s.gitlab_url()
    );
    let get = |q: &'static str| {
        let c = c.clone();
        let url = url.clone();
        async move {
            let v: Value = c
                .get(format!("{url}?{q}"))
                .header("PRIVATE-TOKEN", ROOT)
                .send()
                .await
                .expect("send")
                .json()
                .await
                .expect("json");
            v.as_array()
                .expect("array")
                .iter()
                .map(|i| i["iid"].as_u64().expect("iid"))
                .collect::<Vec<u64>>()
        }
    };
    assert_eq!(get("per_page=100").await, vec![7, 6, 5, 4, 3, 2, 1]);
    assert_eq!(get("sort=asc").await, vec![1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(get("state=closed").await, vec![5, 2]);
    assert_eq!(get("state=opened&milestone=Q2%202026").await, vec![6, 4]);
    assert_eq!(get("milestone=None").await, Vec::<u64>::new());
    assert_eq!(get("labels=bug,payments").await, vec![2]);
    assert_eq!(get("labels=None").await, vec![7]);
    assert_eq!(get("assignee_username=bokafor").await, vec![7, 4, 2]);
    assert_eq!(get("assignee_id=None").await, vec![6, 5]);
    assert_eq!(get("iids[]=1&iids[]=3").await, vec![3, 1]);
    assert_eq!(get("search=apple").await, vec![1]);
    assert_eq!(
        get("order_by=title&sort=asc").await,
        vec![2, 5, 3, 4, 6, 1, 7]
    );
    assert_eq!(
        get("updated_after=2100-01-01T00:00:00Z").await,
        Vec::<u64>::new()
    );
    let r = c
        .get(format!("{url}?assignee_id=1&assignee_username=x"))
        .header("PRIVATE-TOKEN", ROOT)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 400);

    // Task completion and time stats in the issue JSON, and schema fidelity.
    let issue: Value = c
        .get(format!("{url}/1"))
        .header("PRIVATE-TOKEN", ROOT)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(
        issue["task_completion_status"],
        json!({"count": 4, "completed_count": 2})
    );
    assert_eq!(issue["time_stats"]["time_estimate"], 3 * 8 * 3600);
    assert_eq!(issue["time_stats"]["human_total_time_spent"], "1d 2h");
    assert_valid(&schema("issue.json"), &issue, "issue");
    let list: Value = c
        .get(format!("{url}?per_page=100"))
        .header("PRIVATE-TOKEN", ROOT)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let issue_schema = schema("issue.json");
    for i in list.as_array().expect("array") {
        assert_valid(&issue_schema, i, "issue in list");
    }
    let notes: Value = c
        .get(format!("{url}/1/notes"))
        .header("PRIVATE-TOKEN", ROOT)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(notes.as_array().expect("array").len(), 1);
    assert_valid(&schema("notes.json"), &notes, "notes");
    let ms: Value = c
        .get(format!(
            "{}/api/v4/projects/northwind%2Fcheckout/milestones",
            s.gitlab_url()
        ))
        .header("PRIVATE-TOKEN", ROOT)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let ms_schema = schema("milestone.json");
    for m in ms.as_array().expect("array") {
        assert_valid(&ms_schema, m, "milestone");
    }
    let members: Value = c
        .get(format!(
            "{}/api/v4/projects/northwind%2Fcheckout/members/all",
            s.gitlab_url()
        ))
        .header("PRIVATE-TOKEN", ROOT)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_valid(&schema("user/basics.json"), &members, "members");
    s.shutdown().await;
}

#[tokio::test]
async fn offset_and_keyset_pagination() {
    let spec: GenSpec = "projects=1,issues=45,users=3,jira_projects=0,seed=1"
        .parse()
        .expect("spec");
    let s = cairn_sim::start(SimConfig {
        data: DataSource::Generate(spec),
        ..SimConfig::default()
    })
    .await
    .expect("start");
    let c = client();
    let url = format!("{}/api/v4/projects/acme%2Fproject-1/issues", s.gitlab_url());
    let r = c
        .get(format!("{url}?per_page=20&page=2"))
        .header("PRIVATE-TOKEN", ROOT)
        .send()
        .await
        .expect("send");
    let h = r.headers().clone();
    let hv = |k: &str| {
        h.get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(hv("x-page"), "2");
    assert_eq!(hv("x-per-page"), "20");
    assert_eq!(hv("x-next-page"), "3");
    assert_eq!(hv("x-prev-page"), "1");
    assert_eq!(hv("x-total"), "45");
    assert_eq!(hv("x-total-pages"), "3");
    let link = hv("link");
    for rel in ["prev", "next", "first", "last"] {
        assert!(link.contains(&format!("rel=\"{rel}\"")), "{link}");
    }
    assert!(link.contains("page=3"));
    let items: Value = r.json().await.expect("json");
    assert_eq!(items.as_array().expect("array").len(), 20);
    // per_page is capped at 100 and the last page has no next.
    let r = c
        .get(format!("{url}?per_page=500"))
        .header("PRIVATE-TOKEN", ROOT)
        .send()
        .await
        .expect("send");
    assert_eq!(
        r.headers().get("x-per-page").and_then(|v| v.to_str().ok()),
        Some("100")
    );
    assert_eq!(
        r.headers().get("x-next-page").and_then(|v| v.to_str().ok()),
        Some("")
    );

    // Keyset: follow rel="next" until it disappears; every issue exactly once.
    let mut next = Some(format!(
        "{url}?pagination=keyset&per_page=10&order_by=id&sort=asc"
    ));
    let mut seen = Vec::new();
    let mut pages = 0;
    while let Some(u) = next.take() {
        let r = c
            .get(&u)
            .header("PRIVATE-TOKEN", ROOT)
            .send()
            .await
            .expect("send");
        let link = r
            .headers()
            .get("link")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let items: Value = r.json().await.expect("json");
        seen.extend(
            items
                .as_array()
                .expect("array")
                .iter()
                .map(|i| i["iid"].as_u64().expect("iid")),
        );
        next = link.and_then(|l| {
            l.split(';').next().map(|x| {
                x.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
        });
        if let Some(n) = &next {
            assert!(n.contains("cursor="), "{n}");
        }
        pages += 1;
        assert!(pages < 20, "keyset pagination does not end");
    }
    assert_eq!(seen, (1..=45).collect::<Vec<u64>>());
    s.shutdown().await;
}

#[tokio::test]
async fn writes_notes_time_milestones_hooks() {
    let s = sim(JiraFlavour::Cloud).await;
    let c = client();
    let p = format!("{}/api/v4/projects/northwind%2Fcheckout", s.gitlab_url());
    let tok = "glpat-sim-amartin";
    let r = c
        .post(format!("{p}/issues"))
        .header("PRIVATE-TOKEN", tok)
        .json(&json!({"description": "x"}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.expect("json"),
        json!({"error": "title is missing"})
    );
    let r = c
        .post(format!("{p}/issues"))
        .header("PRIVATE-TOKEN", tok)
        .json(&json!({"title": "New thing", "description": "- [ ] a\n- [x] b", "labels": "ux,new-label", "assignee_ids": [2]}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.expect("json");
    assert_eq!(created["iid"], 8);
    assert_eq!(
        created["task_completion_status"],
        json!({"count": 2, "completed_count": 1})
    );
    assert_eq!(created["labels"], json!(["ux", "new-label"]));

    let r = c
        .put(format!("{p}/issues/8"))
        .header("PRIVATE-TOKEN", tok)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("state_event=close")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["state"], "closed");
    assert!(v["closed_at"].is_string());
    let r = c
        .put(format!("{p}/issues/8"))
        .header("PRIVATE-TOKEN", tok)
        .json(&json!({"state_event": "explode"}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 400);

    let r = c
        .post(format!("{p}/issues/8/add_spent_time?duration=1h30m"))
        .header("PRIVATE-TOKEN", tok)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 201);
    let ts: Value = r.json().await.expect("json");
    assert_eq!(ts["total_time_spent"], 5400);
    assert_eq!(ts["human_total_time_spent"], "1h 30m");
    let r = c
        .post(format!("{p}/issues/8/time_estimate"))
        .header("PRIVATE-TOKEN", tok)
        .json(&json!({"duration": "1d"}))
        .send()
        .await
        .expect("send");
    assert_eq!(
        r.json::<Value>().await.expect("json")["time_estimate"],
        8 * 3600
    );
    let r = c
        .post(format!("{p}/issues/8/add_spent_time?duration=soon"))
        .header("PRIVATE-TOKEN", tok)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 400);

    let r = c
        .post(format!("{p}/issues/8/notes"))
        .header("PRIVATE-TOKEN", tok)
        .json(&json!({"body": "Looks good"}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 201);
    let note: Value = r.json().await.expect("json");
    let r = c
        .put(format!("{p}/issues/8/notes/{}", note["id"]))
        .header("PRIVATE-TOKEN", tok)
        .json(&json!({"body": "Edited"}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.json::<Value>().await.expect("json")["body"], "Edited");

    let r = c
        .post(format!("{p}/milestones"))
        .header("PRIVATE-TOKEN", tok)
        .json(&json!({"title": "Q3 2026", "due_date": "2026-09-30"}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 201);
    let m: Value = r.json().await.expect("json");
    let r = c
        .put(format!("{p}/milestones/{}", m["id"]))
        .header("PRIVATE-TOKEN", tok)
        .json(&json!({"state_event": "close"}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.json::<Value>().await.expect("json")["state"], "closed");

    // Hooks need maintainer access: a developer gets 403, root may.
    let r = c
        .post(format!("{p}/hooks"))
        .header("PRIVATE-TOKEN", tok)
        .json(&json!({"url": "http://127.0.0.1:9/x"}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 403);
    let r = c
        .post(format!("{p}/hooks"))
        .header("PRIVATE-TOKEN", ROOT)
        .json(&json!({"url": "http://127.0.0.1:9/x", "issues_events": true}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 201);
    let h: Value = r.json().await.expect("json");
    let r = c
        .put(format!("{p}/hooks/{}", h["id"]))
        .header("PRIVATE-TOKEN", ROOT)
        .json(&json!({"note_events": true}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.json::<Value>().await.expect("json")["note_events"], true);
    let r = c
        .delete(format!("{p}/hooks/{}", h["id"]))
        .header("PRIVATE-TOKEN", ROOT)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 204);

    // Events: the close and the note show up for the project and the user.
    let ev: Value = c
        .get(format!("{p}/events"))
        .header("PRIVATE-TOKEN", tok)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let actions: Vec<&str> = ev
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|e| e["action_name"].as_str())
        .collect();
    assert!(
        actions.contains(&"closed")
            && actions.contains(&"commented on")
            && actions.contains(&"pushed to"),
        "{actions:?}"
    );
    let uev: Value = c
        .get(format!(
            "{}/api/v4/users/2/events?action=closed",
            s.gitlab_url()
        ))
        .header("PRIVATE-TOKEN", tok)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(uev.as_array().expect("array").len(), 1);
    s.shutdown().await;
}
