//! What time tracking needs from the simulated GitLab: pushes (with the
//! 20-commit cap of the push hook), rebases and force-pushes scripted as a
//! person, the Events and Commits APIs (author date versus committed date),
//! branches, and merge request approvals.

mod common;

use cairn_sim::JiraFlavour;
use common::schemas::{assert_valid, gitlab_schema};
use common::{Receiver, capture, client, ctl, missing_keys, sim};
use serde_json::{Value, json};

const ROOT: &str = "glpat-sim-root";

async fn get(c: &reqwest::Client, url: &str, tok: &str) -> (u16, Value) {
    let r = c
        .get(url)
        .header("PRIVATE-TOKEN", tok)
        .send()
        .await
        .expect("send");
    let st = r.status().as_u16();
    (st, r.json().await.unwrap_or(Value::Null))
}

fn titles(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("list")
        .iter()
        .filter_map(|c| c["title"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn pushes_rebases_and_the_commits_api() {
    let s = sim(JiraFlavour::Cloud).await;
    let rx = Receiver::start().await;
    let c = client();
    let gl = s.gitlab_url();
    let p = format!("{gl}/api/v4/projects/northwind%2Fcheckout");
    let r = c
        .post(format!("{p}/hooks"))
        .header("PRIVATE-TOKEN", ROOT)
        .json(&json!({"url": rx.url, "push_events": true}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 201);

    // 25 commits on a new branch, authored from 09:00 on.
    let (st, v) = ctl(
        &c,
        &gl,
        "/_sim/gitlab/push",
        json!({"project": "northwind/checkout", "as": "amartin", "branch": "feature/AE-12",
               "commits": 25, "authored_at": "2026-11-02T09:00:00Z"}),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    let got = rx.wait_for(1).await;
    let hook: Value = serde_json::from_slice(&got[0].1).expect("json");
    assert_eq!(hook["total_commits_count"], 25);
    assert_eq!(hook["commits"].as_array().map(Vec::len), Some(20));
    assert_eq!(hook["commits"][0]["title"], "Simulated commit 6");
    assert_eq!(hook["commits"][19]["title"], "Simulated commit 25");
    assert_eq!(hook["before"], "0".repeat(40));
    assert_eq!(hook["ref"], "refs/heads/feature/AE-12");
    assert_eq!(hook["user_username"], "amartin");
    assert_eq!(
        missing_keys(&capture("gitlab-webhooks/push_hook.json"), &hook, ""),
        Vec::<String>::new()
    );

    // The Events API shows the push with its push_data.
    let (st, events) = get(
        &c,
        &format!("{gl}/api/v4/users/amartin/events?action=pushed"),
        ROOT,
    )
    .await;
    assert_eq!(st, 200);
    let push = &events[0];
    assert_eq!(push["action_name"], "pushed new");
    assert_eq!(push["push_data"]["commit_count"], 25);
    assert_eq!(push["push_data"]["ref"], "feature/AE-12");
    assert_eq!(push["push_data"]["commit_to"], v["after"]);

    // Commits API: the branch's history (25 + main's 2), filters, schema.
    let (st, all) = get(
        &c,
        &format!("{p}/repository/commits?ref_name=feature/AE-12&per_page=100"),
        ROOT,
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(all.as_array().map(Vec::len), Some(27));
    assert_valid(&gitlab_schema("commits.json"), &all, "commits");
    assert_eq!(all[0]["title"], "Simulated commit 25");
    assert_eq!(all[0]["authored_date"], "2026-11-02T09:24:00.000Z");
    assert_eq!(all[0]["author_name"], "Alice Martin");
    let head_before = all[0]["id"].as_str().expect("sha").to_string();
    let (_, by_author) = get(
        &c,
        &format!("{p}/repository/commits?ref_name=feature/AE-12&author=alice&per_page=100"),
        ROOT,
    )
    .await;
    assert_eq!(by_author.as_array().map(Vec::len), Some(25));
    let (_, none) = get(
        &c,
        &format!("{p}/repository/commits?ref_name=feature/AE-12&until=2020-01-01T00:00:00Z"),
        ROOT,
    )
    .await;
    assert_eq!(none, json!([]));
    let (st, _) = get(&c, &format!("{p}/repository/commits?ref_name=nope"), ROOT).await;
    assert_eq!(st, 404);
    let (st, _) = get(&c, &format!("{p}/repository/commits?since=soon"), ROOT).await;
    assert_eq!(st, 400);
    let (st, one) = get(
        &c,
        &format!("{p}/repository/commits/{}", &head_before[..8]),
        ROOT,
    )
    .await;
    assert_eq!(st, 200);
    assert_valid(&gitlab_schema("commit/detail.json"), &one, "commit detail");

    // Branches.
    let (st, branches) = get(&c, &format!("{p}/repository/branches"), ROOT).await;
    assert_eq!(st, 200);
    assert_valid(&gitlab_schema("branches.json"), &branches, "branches");
    let names: Vec<&str> = branches
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|b| b["name"].as_str())
        .collect();
    assert_eq!(names, vec!["feature/AE-12", "main"]);

    // main moves on; a rebase keeps messages and author dates, changes SHAs
    // and committed dates.
    let (st, _) = ctl(
        &c,
        &gl,
        "/_sim/gitlab/push",
        json!({"project": "northwind/checkout", "as": "bokafor", "messages": ["Fix on main"]}),
    )
    .await;
    assert_eq!(st, 201);
    let (st, v) = ctl(
        &c,
        &gl,
        "/_sim/gitlab/rebase",
        json!({"project": "northwind/checkout", "as": "amartin", "branch": "feature/AE-12"}),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let got = rx.wait_for(3).await;
    let rebased: Value = serde_json::from_slice(&got[2].1).expect("json");
    assert_eq!(rebased["before"], head_before.as_str());
    assert_eq!(rebased["total_commits_count"], 25);
    let (_, after) = get(
        &c,
        &format!("{p}/repository/commits?ref_name=feature/AE-12&per_page=100"),
        ROOT,
    )
    .await;
    assert_eq!(after.as_array().map(Vec::len), Some(28));
    assert_eq!(titles(&after)[..25], titles(&all)[..25]);
    assert_eq!(after[25]["title"], "Fix on main");
    for (new, old) in after
        .as_array()
        .expect("a")
        .iter()
        .zip(all.as_array().expect("b"))
        .take(25)
    {
        assert_ne!(new["id"], old["id"]);
        assert_eq!(new["authored_date"], old["authored_date"]);
        assert!(new["committed_date"].as_str() > old["committed_date"].as_str());
    }

    // Force-push: drop two commits, add one.
    let (st, v) = ctl(&c, &gl, "/_sim/gitlab/force_push", json!({"project": "northwind/checkout", "as": "amartin", "branch": "feature/AE-12", "drop": 2, "messages": ["Squashed AE-12"]})).await;
    assert_eq!(st, 200, "{v}");
    let (_, forced) = get(
        &c,
        &format!("{p}/repository/commits?ref_name=feature/AE-12&per_page=100"),
        ROOT,
    )
    .await;
    assert_eq!(forced.as_array().map(Vec::len), Some(27));
    assert_eq!(forced[0]["title"], "Squashed AE-12");
    assert_eq!(forced[1]["title"], "Simulated commit 23");
    let (st, v) = ctl(
        &c,
        &gl,
        "/_sim/gitlab/force_push",
        json!({"project": "northwind/checkout", "branch": "feature/AE-12", "drop": 500}),
    )
    .await;
    assert_eq!(st, 400);
    assert_eq!(v["field"], "drop");
    // Every commit ever pushed stays readable by SHA (as GitLab keeps them).
    let (st, _) = get(&c, &format!("{p}/repository/commits/{head_before}"), ROOT).await;
    assert_eq!(st, 200);
    let (_, every) = get(
        &c,
        &format!("{p}/repository/commits?all=true&per_page=100"),
        ROOT,
    )
    .await;
    assert_eq!(every.as_array().map(Vec::len), Some(54));
}

#[tokio::test]
async fn merge_request_approvals_send_the_approved_hook() {
    let s = sim(JiraFlavour::Cloud).await;
    let rx = Receiver::start().await;
    let c = client();
    let gl = s.gitlab_url();
    let p = format!("{gl}/api/v4/projects/northwind%2Fcheckout");
    let r = c
        .post(format!("{p}/hooks"))
        .header("PRIVATE-TOKEN", ROOT)
        .json(&json!({"url": rx.url, "merge_requests_events": true}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 201);
    let (st, v) = ctl(
        &c,
        &gl,
        "/_sim/gitlab/merge_requests",
        json!({"project": "northwind/checkout", "as": "amartin", "title": "AE-12: checkout"}),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let iid = v["iid"].as_u64().expect("iid");
    let approve = |tok: &'static str| {
        let c = c.clone();
        let url = format!("{p}/merge_requests/{iid}/approve");
        async move {
            c.post(url)
                .header("PRIVATE-TOKEN", tok)
                .send()
                .await
                .expect("send")
        }
    };
    let r = approve("glpat-sim-bokafor").await;
    assert_eq!(r.status(), 201);
    let a: Value = r.json().await.expect("json");
    assert_eq!(a["approved"], true);
    assert_eq!(a["approved_by"][0]["user"]["username"], "bokafor");
    assert_eq!(approve("glpat-sim-bokafor").await.status(), 401);
    assert_eq!(approve("glpat-sim-outsider").await.status(), 404);
    let (st, a) = get(
        &c,
        &format!("{p}/merge_requests/{iid}/approvals"),
        "glpat-sim-amartin",
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(a["user_has_approved"], false);
    let got = rx.wait_for(2).await;
    let hook: Value = serde_json::from_slice(&got[1].1).expect("json");
    assert_eq!(hook["object_attributes"]["action"], "approved");
    assert_eq!(hook["user"]["username"], "bokafor");
    let reference = capture("gitlab-webhooks/merge_request_hook__merge_request_approved.json");
    let missing = missing_keys(&reference, &hook, "");
    assert_eq!(missing, Vec::<String>::new());
}

#[tokio::test]
async fn comments_on_merge_requests_and_commits_send_note_hooks() {
    let s = sim(JiraFlavour::Cloud).await;
    let rx = Receiver::start().await;
    let c = client();
    let gl = s.gitlab_url();
    let p = format!("{gl}/api/v4/projects/northwind%2Fcheckout");
    let r = c
        .post(format!("{p}/hooks"))
        .header("PRIVATE-TOKEN", ROOT)
        .json(&json!({"url": rx.url, "note_events": true}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 201);

    // On the merge request, through the API as bokafor.
    let r = c
        .post(format!("{p}/merge_requests/1/notes"))
        .header("PRIVATE-TOKEN", "glpat-sim-bokafor")
        .json(&json!({"body": "Looks good for AE-12"}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 201);
    let got = rx.wait_for(1).await;
    let mr_hook: Value = serde_json::from_slice(&got[0].1).expect("json");
    assert_eq!(
        mr_hook["object_attributes"]["noteable_type"],
        "MergeRequest"
    );
    assert_eq!(mr_hook["user"]["username"], "bokafor");
    assert_eq!(mr_hook["merge_request"]["iid"], 1);
    assert_eq!(
        missing_keys(
            &capture("gitlab-webhooks/note_hook__merge_request_note.json"),
            &mr_hook,
            ""
        ),
        Vec::<String>::new()
    );
    let (st, notes) = get(&c, &format!("{p}/merge_requests/1/notes"), ROOT).await;
    assert_eq!(st, 200);
    assert_valid(&gitlab_schema("notes.json"), &notes, "merge request notes");
    assert_eq!(notes[0]["body"], "Looks good for AE-12");

    // On the head commit of main, through the control API as crossi.
    let (_, head) = get(&c, &format!("{p}/repository/commits/main"), ROOT).await;
    let sha = head["id"].as_str().expect("sha").to_string();
    let (st, v) = ctl(
        &c,
        &gl,
        "/_sim/gitlab/notes",
        json!({"project": "northwind/checkout", "as": "crossi", "commit": &sha[..10], "body": "Why AE-13?"}),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    let got = rx.wait_for(2).await;
    let commit_hook: Value = serde_json::from_slice(&got[1].1).expect("json");
    assert_eq!(commit_hook["object_attributes"]["noteable_type"], "Commit");
    assert_eq!(commit_hook["object_attributes"]["commit_id"], sha.as_str());
    assert_eq!(commit_hook["commit"]["id"], sha.as_str());
    assert_eq!(
        missing_keys(
            &capture("gitlab-webhooks/note_hook__commit_note.json"),
            &commit_hook,
            ""
        ),
        Vec::<String>::new()
    );
    let (st, comments) = get(&c, &format!("{p}/repository/commits/{sha}/comments"), ROOT).await;
    assert_eq!(st, 200);
    assert_valid(
        &gitlab_schema("commit_notes.json"),
        &comments,
        "commit comments",
    );
    assert_eq!(comments[0]["author"]["username"], "crossi");
    let (st, v) = ctl(
        &c,
        &gl,
        "/_sim/gitlab/notes",
        json!({"project": "northwind/checkout", "commit": "deadbeefdead", "body": "x"}),
    )
    .await;
    assert_eq!(st, 404);
    assert_eq!(v["field"], "commit");

    // Both show in the Events API as "commented on".
    let (_, events) = get(&c, &format!("{p}/events?action=commented"), ROOT).await;
    assert_eq!(events.as_array().map(Vec::len), Some(2));
    let kinds: Vec<&str> = events
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["note"]["noteable_type"].as_str())
        .collect();
    assert_eq!(kinds, vec!["Commit", "MergeRequest"]);
}

/// Every commit pushed gets a SHA of its own, however quickly pushes follow
/// each other (a seed mixed from the clock once gave two pushes the same
/// SHAs, so reading one push's commits back returned the other's), and
/// reading a push back from its `after` gives exactly its commits.
#[tokio::test]
async fn rapid_pushes_never_repeat_a_sha() {
    let s = sim(JiraFlavour::Cloud).await;
    let c = client();
    let gl = s.gitlab_url();
    let mut afters = Vec::new();
    for n in 0..300 {
        let (st, v) = ctl(
            &c,
            &gl,
            "/_sim/gitlab/push",
            json!({"project": "northwind/checkout", "as": "amartin",
                   "branch": format!("feature/b{}", n % 7), "commits": 3}),
        )
        .await;
        assert_eq!(st, 201, "{v}");
        afters.push((n, v["after"].as_str().expect("after").to_owned()));
    }
    let shas = s.with_world(|w| {
        w.gitlab
            .projects
            .iter()
            .find(|p| p.path_with_namespace == "northwind/checkout")
            .map(|p| p.commits.iter().map(|c| c.id.clone()).collect::<Vec<_>>())
            .expect("project")
    });
    let unique: std::collections::HashSet<&String> = shas.iter().collect();
    assert_eq!(unique.len(), shas.len(), "a SHA repeated");
    let p = format!("{gl}/api/v4/projects/northwind%2Fcheckout");
    for (n, after) in afters.iter().step_by(37) {
        let (st, v) = get(
            &c,
            &format!("{p}/repository/commits?ref_name={after}&per_page=3"),
            ROOT,
        )
        .await;
        assert_eq!(st, 200, "{v}");
        let read: Vec<&str> = v
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|c| c["id"].as_str())
            .collect();
        assert_eq!(read.len(), 3, "push {n}: {v}");
        assert_eq!(read[0], after, "push {n} read back from its head");
    }
}
