//! What the two-way sync needs from the simulated GitLab: issue edits of
//! every synced field, notes read/written/edited/deleted, and the webhook
//! GitLab sends for each change (checked against testdata/gitlab-webhooks).

mod common;

use cairn_sim::JiraFlavour;
use common::{Receiver, capture, client, ctl, header, missing_keys, sim};
use reqwest::Method;
use serde_json::{Value, json};

async fn call(c: &reqwest::Client, m: Method, url: &str, tok: &str, body: Value) -> (u16, Value) {
    let r = c
        .request(m, url)
        .header("PRIVATE-TOKEN", tok)
        .json(&body)
        .send()
        .await
        .expect("send");
    let st = r.status().as_u16();
    (st, r.json().await.unwrap_or(Value::Null))
}

fn body(d: &(axum::http::HeaderMap, axum::body::Bytes)) -> Value {
    serde_json::from_slice(&d.1).expect("json delivery")
}

#[tokio::test]
async fn issue_edits_send_the_hooks_gitlab_sends() {
    let s = sim(JiraFlavour::Cloud).await;
    let rx = Receiver::start().await;
    let c = client();
    let gl = s.gitlab_url();
    let p = format!("{gl}/api/v4/projects/northwind%2Fcheckout");
    let (st, _) = call(
        &c,
        Method::POST,
        &format!("{p}/hooks"),
        "glpat-sim-root",
        json!({"url": rx.url, "issues_events": true, "note_events": true}),
    )
    .await;
    assert_eq!(st, 201);
    let (st, ms) = call(
        &c,
        Method::POST,
        &format!("{p}/milestones"),
        "glpat-sim-amartin",
        json!({"title": "Sync 1"}),
    )
    .await;
    assert_eq!(st, 201);

    // Create as amartin: an "open" hook whose changes list what was set.
    let (st, created) = call(
        &c,
        Method::POST,
        &format!("{p}/issues"),
        "glpat-sim-amartin",
        json!({"title": "Synced", "description": "first", "labels": "ux", "assignee_ids": [3]}),
    )
    .await;
    assert_eq!(st, 201);
    let iid = created["iid"].as_u64().expect("iid");
    let got = rx.wait_for(1).await;
    let open = body(&got[0]);
    assert_eq!(header(&got[0].0, "x-gitlab-event"), "Issue Hook");
    assert_eq!(open["object_attributes"]["action"], "open");
    assert_eq!(open["user"]["username"], "amartin");
    assert_eq!(
        open["changes"]["title"],
        json!({"previous": null, "current": "Synced"})
    );
    assert_eq!(
        open["changes"]["assignees"]["current"][0]["username"],
        "bokafor"
    );
    assert_eq!(open["changes"]["labels"]["current"][0]["title"], "ux");
    assert_eq!(
        missing_keys(
            &capture("gitlab-webhooks/issue_hook__issue_created_with_two_assignees.json"),
            &open,
            ""
        ),
        Vec::<String>::new()
    );

    // Every synced field in one edit: one "update" hook with each change.
    let (st, edited) = call(
        &c,
        Method::PUT,
        &format!("{p}/issues/{iid}"),
        "glpat-sim-amartin",
        json!({
            "title": "Synced 2", "description": "second", "add_labels": "backend",
            "remove_labels": "ux", "due_date": "2027-03-01", "milestone_id": ms["id"],
            "assignee_ids": [2, 4]
        }),
    )
    .await;
    assert_eq!(st, 200, "{edited}");
    assert_eq!(edited["labels"], json!(["backend"]));
    assert_eq!(edited["milestone"]["title"], "Sync 1");
    assert_eq!(edited["due_date"], "2027-03-01");
    let got = rx.wait_for(2).await;
    let upd = body(&got[1]);
    assert_eq!(upd["object_attributes"]["action"], "update");
    assert_eq!(upd["user"]["username"], "amartin");
    let ch = &upd["changes"];
    assert_eq!(
        ch["title"],
        json!({"previous": "Synced", "current": "Synced 2"})
    );
    assert_eq!(
        ch["description"],
        json!({"previous": "first", "current": "second"})
    );
    assert_eq!(
        ch["due_date"],
        json!({"previous": null, "current": "2027-03-01"})
    );
    assert_eq!(
        ch["milestone_id"],
        json!({"previous": null, "current": ms["id"]})
    );
    assert_eq!(ch["labels"]["previous"][0]["title"], "ux");
    assert_eq!(ch["labels"]["current"][0]["title"], "backend");
    let names: Vec<&str> = ch["assignees"]["current"]
        .as_array()
        .expect("assignees")
        .iter()
        .filter_map(|u| u["username"].as_str())
        .collect();
    assert_eq!(names, vec!["amartin", "crossi"]);
    assert_eq!(ch["updated_by_id"]["current"], 2);
    // issue_hook__issue_updated.json comes from a GitLab of 2018 (top-level
    // `assignee`, `position`, since removed): the 2026 captures are the reference.
    // Escalation fields exist on incidents only.
    let missing: Vec<String> = missing_keys(
        &capture("gitlab-webhooks/issue_hook__incident_reopen.json"),
        &upd,
        "",
    )
    .into_iter()
    .filter(|k| !k.contains(".escalation_"))
    .collect();
    assert_eq!(missing, Vec::<String>::new());

    // An edit that changes nothing sends nothing; close and reopen do.
    let (st, _) = call(
        &c,
        Method::PUT,
        &format!("{p}/issues/{iid}"),
        "glpat-sim-amartin",
        json!({"title": "Synced 2"}),
    )
    .await;
    assert_eq!(st, 200);
    let (st, _) = call(
        &c,
        Method::PUT,
        &format!("{p}/issues/{iid}"),
        "glpat-sim-amartin",
        json!({"state_event": "close"}),
    )
    .await;
    assert_eq!(st, 200);
    let got = rx.wait_for(3).await;
    let close = body(&got[2]);
    assert_eq!(close["object_attributes"]["action"], "close");
    assert_eq!(
        close["changes"]["state_id"],
        json!({"previous": 1, "current": 2})
    );

    // Another person edits through the control API: the hook names them.
    let (st, v) = ctl(
        &c,
        &gl,
        "/_sim/gitlab/issues/edit",
        json!({"project": "northwind/checkout", "iid": iid, "as": "bokafor", "state_event": "reopen", "title": "By Bruno", "labels": ["a", "b"], "milestone": null, "due_date": null}),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let got = rx.wait_for(4).await;
    let reopen = body(&got[3]);
    assert_eq!(reopen["object_attributes"]["action"], "reopen");
    assert_eq!(reopen["user"]["username"], "bokafor");
    assert_eq!(reopen["changes"]["title"]["current"], "By Bruno");
    assert_eq!(
        reopen["changes"]["due_date"],
        json!({"previous": "2027-03-01", "current": null})
    );
    assert_eq!(reopen["changes"]["milestone_id"]["current"], Value::Null);
    let (st, v) = ctl(
        &c,
        &gl,
        "/_sim/gitlab/issues/edit",
        json!({"project": "northwind/checkout", "iid": iid, "state_event": "explode"}),
    )
    .await;
    assert_eq!(st, 400);
    assert_eq!(v["field"], "state_event");
    assert_eq!(
        rx.got.lock().expect("lock").len(),
        4,
        "no hook for a no-op or a refusal"
    );
}

#[tokio::test]
async fn notes_are_read_written_edited_and_deleted() {
    let s = sim(JiraFlavour::Cloud).await;
    let rx = Receiver::start().await;
    let c = client();
    let gl = s.gitlab_url();
    let p = format!("{gl}/api/v4/projects/northwind%2Fcheckout");
    let (st, _) = call(
        &c,
        Method::POST,
        &format!("{p}/hooks"),
        "glpat-sim-root",
        json!({"url": rx.url, "note_events": true}),
    )
    .await;
    assert_eq!(st, 201);
    let (st, note) = call(
        &c,
        Method::POST,
        &format!("{p}/issues/1/notes"),
        "glpat-sim-amartin",
        json!({"body": "first words"}),
    )
    .await;
    assert_eq!(st, 201);
    let nid = note["id"].as_u64().expect("id");
    let got = rx.wait_for(1).await;
    let created = body(&got[0]);
    assert_eq!(header(&got[0].0, "x-gitlab-event"), "Note Hook");
    assert_eq!(created["object_attributes"]["action"], "create");
    assert_eq!(
        missing_keys(
            &capture("gitlab-webhooks/note_hook__issue_note.json"),
            &created,
            ""
        ),
        Vec::<String>::new()
    );

    // Only the author edits; the edit sends a note hook with action update.
    let (st, _) = call(
        &c,
        Method::PUT,
        &format!("{p}/issues/1/notes/{nid}"),
        "glpat-sim-bokafor",
        json!({"body": "hijack"}),
    )
    .await;
    assert_eq!(st, 403);
    let (st, edited) = call(
        &c,
        Method::PUT,
        &format!("{p}/issues/1/notes/{nid}"),
        "glpat-sim-amartin",
        json!({"body": "second words"}),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(edited["body"], "second words");
    let got = rx.wait_for(2).await;
    let upd = body(&got[1]);
    assert_eq!(upd["object_attributes"]["action"], "update");
    assert_eq!(upd["object_attributes"]["note"], "second words");
    assert_eq!(upd["object_attributes"]["id"], nid);

    // Edit as a person through the control API.
    let (st, _) = ctl(
        &c,
        &gl,
        "/_sim/gitlab/notes/edit",
        json!({"project": "northwind/checkout", "iid": 1, "note_id": nid, "as": "amartin", "body": "third"}),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(
        body(&rx.wait_for(3).await[2])["object_attributes"]["note"],
        "third"
    );

    // Delete: 204, gone from reads, and no webhook (GitLab sends none).
    let r = c
        .delete(format!("{p}/issues/1/notes/{nid}"))
        .header("PRIVATE-TOKEN", "glpat-sim-bokafor")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 403, "a developer may not delete another's note");
    let r = c
        .delete(format!("{p}/issues/1/notes/{nid}"))
        .header("PRIVATE-TOKEN", "glpat-sim-amartin")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 204);
    let r = c
        .get(format!("{p}/issues/1/notes/{nid}"))
        .header("PRIVATE-TOKEN", "glpat-sim-amartin")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 404);
    let (st, v) = ctl(
        &c,
        &gl,
        "/_sim/gitlab/notes/delete",
        json!({"project": "northwind/checkout", "iid": 1, "note_id": nid}),
    )
    .await;
    assert_eq!(st, 404);
    assert_eq!(v["field"], "note_id");
    assert_eq!(rx.got.lock().expect("lock").len(), 3);
}
