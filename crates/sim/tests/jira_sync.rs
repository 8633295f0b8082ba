//! What the two-way sync needs from the simulated Jira: a workflow graph
//! with a screen that requires Resolution, entity properties, descriptions
//! and comments in the format they were written, edits of every synced
//! field, versions, remote links, user search, and the webhook Jira sends
//! for each change (checked against testdata/jira-webhooks and the OpenAPI
//! documents).

mod common;

use base64::Engine;
use cairn_sim::JiraFlavour;
use common::schemas::Spec;
use common::{Receiver, capture, client, ctl, missing_keys, sim};
use reqwest::Method;
use serde_json::{Value, json};

fn cloud_auth() -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("admin@example.com:jira-sim-token")
    )
}

async fn call(
    c: &reqwest::Client,
    m: Method,
    url: &str,
    auth: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut rb = c.request(m, url).header("Authorization", auth);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.expect("send");
    let st = r.status().as_u16();
    (st, r.json().await.unwrap_or(Value::Null))
}

fn adf(text: &str) -> Value {
    json!({"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": text, "marks": [{"type": "strong"}]}]}
    ]})
}

fn targets(tr: &Value) -> Vec<String> {
    let mut v: Vec<String> = tr["transitions"]
        .as_array()
        .expect("transitions")
        .iter()
        .filter_map(|t| t["to"]["name"].as_str().map(str::to_string))
        .collect();
    v.sort();
    v
}

async fn workflow_on(flavour: JiraFlavour) {
    let (auth, ver, spec, prefix) = match flavour {
        JiraFlavour::Cloud => (
            cloud_auth(),
            3,
            Spec::load("swagger-v3.v3.json"),
            "/rest/api/3",
        ),
        JiraFlavour::Datacenter => (
            "Bearer jira-sim-pat".to_string(),
            2,
            Spec::load("jira-software-dc-10.3-openapi.json"),
            "/api/2",
        ),
    };
    let s = sim(flavour).await;
    let c = client();
    let api = format!("{}/rest/api/{ver}", s.jira_url());
    let tr_url = format!("{api}/issue/OPS-4/transitions");

    // From To Do: In Progress or Done, never In Review directly.
    let (st, tr) = call(&c, Method::GET, &tr_url, &auth, None).await;
    assert_eq!(st, 200);
    assert_eq!(targets(&tr), vec!["Done", "In Progress"]);
    let start = tr["transitions"]
        .as_array()
        .expect("list")
        .iter()
        .find(|t| t["to"]["name"] == "In Progress")
        .expect("start")["id"]
        .clone();
    let (st, _) = call(
        &c,
        Method::POST,
        &tr_url,
        &auth,
        Some(json!({"transition": {"id": "41"}})),
    )
    .await;
    assert_eq!(st, 400, "Request review is not offered from To Do");
    let (st, _) = call(
        &c,
        Method::POST,
        &tr_url,
        &auth,
        Some(json!({"transition": {"id": start}})),
    )
    .await;
    assert_eq!(st, 204);
    let (_, tr) = call(&c, Method::GET, &tr_url, &auth, None).await;
    assert_eq!(targets(&tr), vec!["Done", "In Review", "To Do"]);
    let review = tr["transitions"]
        .as_array()
        .expect("list")
        .iter()
        .find(|t| t["to"]["name"] == "In Review")
        .expect("review")["id"]
        .clone();
    // A field the screen does not have is refused by name.
    let (st, e) = call(
        &c,
        Method::POST,
        &tr_url,
        &auth,
        Some(json!({"transition": {"id": review}, "fields": {"resolution": {"name": "Done"}}})),
    )
    .await;
    assert_eq!(st, 400);
    assert!(e["errors"]["resolution"].is_string(), "{e}");
    let (st, _) = call(
        &c,
        Method::POST,
        &tr_url,
        &auth,
        Some(json!({"transition": {"id": review}})),
    )
    .await;
    assert_eq!(st, 204);

    // From In Review the only way to Done has a screen requiring Resolution.
    let (_, tr) = call(
        &c,
        Method::GET,
        &format!("{tr_url}?expand=transitions.fields"),
        &auth,
        None,
    )
    .await;
    spec.check(
        &format!("{prefix}/issue/{{issueIdOrKey}}/transitions"),
        "get",
        "200",
        &tr,
    );
    let resolve = tr["transitions"]
        .as_array()
        .expect("list")
        .iter()
        .find(|t| t["to"]["name"] == "Done")
        .expect("resolve")
        .clone();
    assert_eq!(resolve["hasScreen"], true);
    assert_eq!(resolve["fields"]["resolution"]["required"], true);
    let back = tr["transitions"]
        .as_array()
        .expect("list")
        .iter()
        .find(|t| t["to"]["name"] == "In Progress")
        .expect("back");
    assert_eq!(back["fields"], json!({}));
    let (st, e) = call(
        &c,
        Method::POST,
        &tr_url,
        &auth,
        Some(json!({"transition": {"id": resolve["id"]}})),
    )
    .await;
    assert_eq!(st, 400);
    assert_eq!(e["errors"]["resolution"], "Resolution is required.");
    assert_eq!(e["errorMessages"], json!([]));
    spec.check_component("ErrorCollection", &e);
    let (st, _) = call(
        &c,
        Method::POST,
        &tr_url,
        &auth,
        Some(json!({"transition": {"id": resolve["id"]}, "fields": {"resolution": {"name": "Won't Do"}}})),
    )
    .await;
    assert_eq!(st, 204);
    let (_, i) = call(
        &c,
        Method::GET,
        &format!("{api}/issue/OPS-4?fields=status,resolution"),
        &auth,
        None,
    )
    .await;
    assert_eq!(i["fields"]["status"]["name"], "Done");
    assert_eq!(i["fields"]["resolution"]["name"], "Won't Do");

    // The project's statuses per issue type.
    let (st, statuses) = call(
        &c,
        Method::GET,
        &format!("{api}/project/OPS/statuses"),
        &auth,
        None,
    )
    .await;
    assert_eq!(st, 200);
    spec.check(
        &format!("{prefix}/project/{{projectIdOrKey}}/statuses"),
        "get",
        "200",
        &statuses,
    );
    let names: Vec<&str> = statuses[0]["statuses"]
        .as_array()
        .expect("statuses")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names.len(), 4, "{names:?}");
    let cats: Vec<&str> = statuses[0]["statuses"]
        .as_array()
        .expect("statuses")
        .iter()
        .filter_map(|s| s["statusCategory"]["key"].as_str())
        .collect();
    assert!(cats.contains(&"done") && cats.contains(&"new"));
}

#[tokio::test]
async fn workflow_is_a_graph_with_a_required_resolution_cloud() {
    workflow_on(JiraFlavour::Cloud).await;
}

#[tokio::test]
async fn workflow_is_a_graph_with_a_required_resolution_datacenter() {
    workflow_on(JiraFlavour::Datacenter).await;
}

#[tokio::test]
async fn entity_properties_and_descriptions_as_written() {
    let s = sim(JiraFlavour::Cloud).await;
    let c = client();
    let a = cloud_auth();
    let v3 = format!("{}/rest/api/3", s.jira_url());
    let v2 = format!("{}/rest/api/2", s.jira_url());
    let spec = Spec::load("swagger-v3.v3.json");

    // Created through v3 with an ADF description and a property.
    let (st, created) = call(
        &c,
        Method::POST,
        &format!("{v3}/issue"),
        &a,
        Some(json!({
            "fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "Marked", "description": adf("bold words")},
            "properties": [{"key": "cairn.sync", "value": {"pair": 7, "left": "gl-42"}}]
        })),
    )
    .await;
    assert_eq!(st, 201, "{created}");
    let key = created["key"].as_str().expect("key").to_string();
    let (_, i3) = call(
        &c,
        Method::GET,
        &format!("{v3}/issue/{key}?fields=description"),
        &a,
        None,
    )
    .await;
    assert_eq!(i3["fields"]["description"], adf("bold words"));
    let (_, i2) = call(
        &c,
        Method::GET,
        &format!("{v2}/issue/{key}?fields=description"),
        &a,
        None,
    )
    .await;
    // v2 renders the ADF as wiki markup, as Jira does (strong is `*`).
    assert_eq!(i2["fields"]["description"], "*bold words*");

    // Edited through v2 with wiki markup: v2 gives it back, v3 wraps it.
    let (st, _) = call(
        &c,
        Method::PUT,
        &format!("{v2}/issue/{key}"),
        &a,
        Some(json!({"fields": {"description": "*bold* and {{code}}"}})),
    )
    .await;
    assert_eq!(st, 204);
    let (_, i2) = call(
        &c,
        Method::GET,
        &format!("{v2}/issue/{key}?fields=description"),
        &a,
        None,
    )
    .await;
    assert_eq!(i2["fields"]["description"], "*bold* and {{code}}");
    let (_, i3) = call(
        &c,
        Method::GET,
        &format!("{v3}/issue/{key}?fields=description"),
        &a,
        None,
    )
    .await;
    assert_eq!(
        i3["fields"]["description"]["content"][0]["content"][0]["text"],
        "*bold* and {{code}}"
    );

    // Properties: read one, on get-issue and on search; 201 then 200 on PUT.
    let prop = format!("{v3}/issue/{key}/properties/cairn.sync");
    let (st, p) = call(&c, Method::GET, &prop, &a, None).await;
    assert_eq!(st, 200);
    spec.check(
        "/rest/api/3/issue/{issueIdOrKey}/properties/{propertyKey}",
        "get",
        "200",
        &p,
    );
    assert_eq!(p["value"]["left"], "gl-42");
    let (st, _) = call(
        &c,
        Method::PUT,
        &format!("{v3}/issue/OPS-1/properties/cairn.sync"),
        &a,
        Some(json!({"left": "gl-1"})),
    )
    .await;
    assert_eq!(st, 201);
    let (st, _) = call(
        &c,
        Method::PUT,
        &format!("{v3}/issue/OPS-1/properties/cairn.sync"),
        &a,
        Some(json!({"left": "gl-1b"})),
    )
    .await;
    assert_eq!(st, 200);
    let (_, i) = call(
        &c,
        Method::GET,
        &format!("{v3}/issue/{key}?fields=summary&properties=cairn.sync,other"),
        &a,
        None,
    )
    .await;
    assert_eq!(
        i["properties"],
        json!({"cairn.sync": {"pair": 7, "left": "gl-42"}})
    );
    let (_, page) = call(
        &c,
        Method::POST,
        &format!("{v3}/search/jql"),
        &a,
        Some(json!({"jql": "project = OPS ORDER BY key ASC", "fields": ["summary"], "properties": ["cairn.sync"], "maxResults": 100})),
    )
    .await;
    let marked: Vec<(&str, &Value)> = page["issues"]
        .as_array()
        .expect("issues")
        .iter()
        .filter(|i| i["properties"].get("cairn.sync").is_some())
        .map(|i| {
            (
                i["key"].as_str().unwrap_or(""),
                &i["properties"]["cairn.sync"]["left"],
            )
        })
        .collect();
    assert_eq!(marked.len(), 2, "{marked:?}");
    let (_, page) = call(
        &c,
        Method::GET,
        &format!("{v3}/search/jql?jql=key%3D{key}&fields=summary&properties=*all"),
        &a,
        None,
    )
    .await;
    assert_eq!(page["issues"][0]["properties"]["cairn.sync"]["pair"], 7);
    let (st, _) = call(&c, Method::DELETE, &prop, &a, None).await;
    assert_eq!(st, 204);
    let (st, e) = call(&c, Method::GET, &prop, &a, None).await;
    assert_eq!(st, 404);
    assert!(
        e["errorMessages"][0]
            .as_str()
            .is_some_and(|m| m.contains("cairn.sync"))
    );
    let (_, keys) = call(
        &c,
        Method::GET,
        &format!("{v3}/issue/OPS-1/properties"),
        &a,
        None,
    )
    .await;
    assert_eq!(keys["keys"][0]["key"], "cairn.sync");
}

#[tokio::test]
async fn edits_comments_and_versions_send_jira_webhooks() {
    let s = sim(JiraFlavour::Cloud).await;
    let rx = Receiver::start().await;
    let c = client();
    let a = cloud_auth();
    let jira = s.jira_url();
    let v3 = format!("{jira}/rest/api/3");
    let (st, v) = call(
        &c,
        Method::POST,
        &format!("{v3}/webhook"),
        &a,
        Some(json!({"url": rx.url, "webhooks": [{"events": [
            "jira:issue_updated", "comment_created", "comment_updated", "comment_deleted",
            "jira:version_created", "jira:version_updated"
        ], "jqlFilter": "project = OPS"}]})),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let spec = Spec::load("swagger-v3.v3.json");

    // A version, then an edit of every synced field in one request.
    let (st, version) = call(
        &c,
        Method::POST,
        &format!("{v3}/version"),
        &a,
        Some(json!({"name": "2027.1", "projectId": 10001, "project": "OPS"})),
    )
    .await;
    assert_eq!(st, 201, "{version}");
    let got = rx.wait_for(1).await;
    let created: Value = serde_json::from_slice(&got[0].1).expect("json");
    assert_eq!(created["webhookEvent"], "jira:version_created");
    assert_eq!(created["version"]["name"], "2027.1");
    let vid = version["id"].as_str().expect("id").to_string();
    let (st, upd) = call(
        &c,
        Method::PUT,
        &format!("{v3}/version/{vid}"),
        &a,
        Some(json!({"released": true, "releaseDate": "2027-01-15"})),
    )
    .await;
    assert_eq!(st, 200);
    spec.check("/rest/api/3/version/{id}", "put", "200", &upd);
    let got = rx.wait_for(2).await;
    let vu: Value = serde_json::from_slice(&got[1].1).expect("json");
    assert_eq!(vu["webhookEvent"], "jira:version_updated");
    assert_eq!(vu["version"]["released"], true);

    let (st, _) = call(
        &c,
        Method::PUT,
        &format!("{v3}/issue/OPS-1"),
        &a,
        Some(json!({
            "fields": {"summary": "Renamed", "duedate": "2027-02-01", "labels": ["db", "sync"],
                        "fixVersions": [{"id": vid}], "assignee": {"accountId": "5b10ac8d82e05b22cc7d0003"}}
        })),
    )
    .await;
    assert_eq!(st, 204);
    let got = rx.wait_for(3).await;
    let e: Value = serde_json::from_slice(&got[2].1).expect("json");
    assert_eq!(e["webhookEvent"], "jira:issue_updated");
    assert_eq!(e["user"]["emailAddress"], "admin@example.com");
    let fields: Vec<&str> = e["changelog"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["field"].as_str())
        .collect();
    for f in ["summary", "duedate", "labels", "Fix Version", "assignee"] {
        assert!(fields.contains(&f), "{f} missing from {fields:?}");
    }
    assert_eq!(
        missing_keys(&capture("jira-webhooks/issue_updated__status.json"), &e, ""),
        Vec::<String>::new()
    );
    // The same edit again changes nothing and sends nothing.
    let (st, _) = call(
        &c,
        Method::PUT,
        &format!("{v3}/issue/OPS-1"),
        &a,
        Some(json!({"fields": {"summary": "Renamed"}})),
    )
    .await;
    assert_eq!(st, 204);
    let (_, issue) = call(
        &c,
        Method::GET,
        &format!("{v3}/issue/OPS-1?fields=fixVersions,duedate"),
        &a,
        None,
    )
    .await;
    assert_eq!(issue["fields"]["fixVersions"][0]["name"], "2027.1");
    assert_eq!(issue["fields"]["duedate"], "2027-02-01");

    // Another person edits through the control API: the webhook names them.
    let (st, v) = ctl(
        &c,
        &jira,
        "/_sim/jira/issues/edit",
        json!({"key": "OPS-1", "as": "crossi", "update": {"labels": [{"remove": "db"}], "fixVersions": [{"remove": {"name": "2027.1"}}]}}),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let got = rx.wait_for(4).await;
    let e: Value = serde_json::from_slice(&got[3].1).expect("json");
    assert_eq!(e["user"]["displayName"], "Chiara Rossi");
    let (st, v) = ctl(
        &c,
        &jira,
        "/_sim/jira/issues/edit",
        json!({"key": "OPS-1", "fields": {"fixVersions": [{"name": "nope"}]}}),
    )
    .await;
    assert_eq!(st, 400);
    assert_eq!(v["field"], "fixVersions");

    // Comments: created (ADF), updated, deleted, each with its webhook.
    let (st, cm) = call(
        &c,
        Method::POST,
        &format!("{v3}/issue/OPS-1/comment"),
        &a,
        Some(json!({"body": adf("first")})),
    )
    .await;
    assert_eq!(st, 201);
    assert_eq!(cm["body"], adf("first"));
    let cid = cm["id"].as_str().expect("id").to_string();
    let (st, cm) = call(
        &c,
        Method::PUT,
        &format!("{v3}/issue/OPS-1/comment/{cid}"),
        &a,
        Some(json!({"body": adf("second")})),
    )
    .await;
    assert_eq!(st, 200);
    spec.check(
        "/rest/api/3/issue/{issueIdOrKey}/comment/{id}",
        "put",
        "200",
        &cm,
    );
    let (st, one) = call(
        &c,
        Method::GET,
        &format!("{v3}/issue/OPS-1/comment/{cid}"),
        &a,
        None,
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(one["body"], adf("second"));
    let (st, _) = ctl(
        &c,
        &jira,
        "/_sim/jira/comment/edit",
        json!({"key": "OPS-1", "id": cid.parse::<u64>().expect("n"), "as": "crossi", "body": "not mine"}),
    )
    .await;
    assert_eq!(st, 403, "only the author or an admin edits a comment");
    let (st, _) = call(
        &c,
        Method::DELETE,
        &format!("{v3}/issue/OPS-1/comment/{cid}"),
        &a,
        None,
    )
    .await;
    assert_eq!(st, 204);
    let (st, _) = call(
        &c,
        Method::GET,
        &format!("{v3}/issue/OPS-1/comment/{cid}"),
        &a,
        None,
    )
    .await;
    assert_eq!(st, 404);
    let got = rx.wait_for(10).await;
    let events: Vec<(String, String)> = got[4..]
        .iter()
        .map(|(_, b)| {
            let v: Value = serde_json::from_slice(b).expect("json");
            (
                v["webhookEvent"].as_str().unwrap_or("").to_string(),
                v["issue_event_type_name"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    let expect = [
        ("comment_created", ""),
        ("jira:issue_updated", "issue_commented"),
        ("comment_updated", ""),
        ("jira:issue_updated", "issue_comment_edited"),
        ("comment_deleted", ""),
        ("jira:issue_updated", "issue_comment_deleted"),
    ];
    assert_eq!(
        events,
        expect
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect::<Vec<_>>()
    );
    let updated: Value = serde_json::from_slice(&got[6].1).expect("json");
    // `entityId` of an issue type exists in team-managed projects only.
    let missing: Vec<String> =
        missing_keys(&capture("jira-webhooks/comment_updated.json"), &updated, "")
            .into_iter()
            .filter(|k| !k.ends_with(".entityId"))
            .collect();
    assert_eq!(missing, Vec::<String>::new());
}

#[tokio::test]
async fn remote_links_dedupe_by_global_id_and_user_search_privacy() {
    let s = sim(JiraFlavour::Cloud).await;
    let c = client();
    let a = cloud_auth();
    let v3 = format!("{}/rest/api/3", s.jira_url());
    let spec = Spec::load("swagger-v3.v3.json");
    let link = |global: &str, title: &str| {
        json!({"globalId": global, "application": {"type": "com.gitlab", "name": "GitLab"},
               "object": {"url": format!("https://gitlab.example.com/{global}"), "title": title}})
    };
    let url = format!("{v3}/issue/OPS-2/remotelink");
    let (st, first) = call(&c, Method::POST, &url, &a, Some(link("mr-42", "MR !42"))).await;
    assert_eq!(st, 201);
    spec.check(
        "/rest/api/3/issue/{issueIdOrKey}/remotelink",
        "post",
        "201",
        &first,
    );
    let (st, again) = call(
        &c,
        Method::POST,
        &url,
        &a,
        Some(link("mr-42", "MR !42: renamed")),
    )
    .await;
    assert_eq!(st, 200, "same globalId updates");
    assert_eq!(again["id"], first["id"]);
    let (st, _) = call(&c, Method::POST, &url, &a, Some(link("mr-43", "MR !43"))).await;
    assert_eq!(st, 201);
    let (st, e) = call(
        &c,
        Method::POST,
        &url,
        &a,
        Some(json!({"object": {"title": "no url"}})),
    )
    .await;
    assert_eq!(st, 400);
    assert!(e["errors"]["url"].is_string());
    let (st, links) = call(&c, Method::GET, &url, &a, None).await;
    assert_eq!(st, 200);
    spec.check(
        "/rest/api/3/issue/{issueIdOrKey}/remotelink",
        "get",
        "200",
        &links,
    );
    assert_eq!(links.as_array().map(Vec::len), Some(2));
    assert_eq!(links[0]["object"]["title"], "MR !42: renamed");
    let (_, one) = call(&c, Method::GET, &format!("{url}?globalId=mr-43"), &a, None).await;
    assert_eq!(one["object"]["title"], "MR !43");

    // Privacy: Chiara hides her email; search still finds her by name.
    s.with_world_mut(|w| {
        for u in w.jira.users.iter_mut().filter(|u| u.name == "crossi") {
            u.email_visible = false;
        }
    });
    let (st, found) = call(
        &c,
        Method::GET,
        &format!("{v3}/user/search?query=chiara"),
        &a,
        None,
    )
    .await;
    assert_eq!(st, 200);
    spec.check("/rest/api/3/user/search", "get", "200", &found);
    assert_eq!(found.as_array().map(Vec::len), Some(1));
    assert!(found[0].get("emailAddress").is_none(), "{found}");
    let (_, bruno) = call(
        &c,
        Method::GET,
        &format!("{v3}/user/search?query=bruno"),
        &a,
        None,
    )
    .await;
    assert_eq!(bruno[0]["emailAddress"], "bruno.okafor@example.com");
    let (st, _) = call(&c, Method::GET, &format!("{v3}/user/search"), &a, None).await;
    assert_eq!(st, 400);
}

#[tokio::test]
async fn per_issue_write_limit_answers_429_with_retry_after() {
    let s = sim(JiraFlavour::Cloud).await;
    let c = client();
    let a = cloud_auth();
    let v3 = format!("{}/rest/api/3", s.jira_url());
    let (st, _) = ctl(
        &c,
        &s.jira_url(),
        "/_sim/faults",
        json!({"service": "jira", "kind": "issue_write_limit", "count": 2}),
    )
    .await;
    assert_eq!(st, 201);
    // Five writes to one issue span at most two seconds, so some second
    // holds three of them: at least one is refused.
    let mut limited = Vec::new();
    for n in 0..5 {
        let r = c
            .put(format!("{v3}/issue/OPS-3/properties/n"))
            .header("Authorization", &a)
            .json(&json!(n))
            .send()
            .await
            .expect("send");
        if r.status() == 429 {
            limited.push((
                r.headers().get("retry-after").cloned(),
                r.headers().get("ratelimit-reason").cloned(),
            ));
        }
    }
    assert!(!limited.is_empty(), "no write was limited");
    for (retry, reason) in &limited {
        assert_eq!(retry.as_ref().and_then(|v| v.to_str().ok()), Some("1"));
        assert_eq!(
            reason.as_ref().and_then(|v| v.to_str().ok()),
            Some("jira-per-issue-on-write")
        );
    }
    // Reads and other issues are not limited.
    let (st, _) = call(&c, Method::GET, &format!("{v3}/issue/OPS-3"), &a, None).await;
    assert_eq!(st, 200);
    let (st, _) = call(
        &c,
        Method::PUT,
        &format!("{v3}/issue/OPS-2/properties/n"),
        &a,
        Some(json!(1)),
    )
    .await;
    assert_eq!(st, 201);
}

/// Jira refuses a comment over 32,767 characters with a 400 and an
/// ErrorCollection naming the limit; one at the limit is taken.
#[tokio::test]
async fn a_comment_over_the_limit_is_refused_like_jira() {
    let s = sim(JiraFlavour::Cloud).await;
    let c = client();
    let a = cloud_auth();
    let v3 = format!("{}/rest/api/3", s.jira_url());
    let spec = Spec::load("swagger-v3.v3.json");
    let url = format!("{v3}/issue/OPS-1/comment");
    let long = "x".repeat(32_768);
    let (st, e) = call(
        &c,
        Method::POST,
        &url,
        &a,
        Some(json!({"body": adf(&long)})),
    )
    .await;
    assert_eq!(st, 400, "{e}");
    spec.check_component("ErrorCollection", &e);
    assert!(
        e["errorMessages"][0]
            .as_str()
            .is_some_and(|m| m.contains("32,767")),
        "{e}"
    );
    let (st, _) = call(
        &c,
        Method::POST,
        &url,
        &a,
        Some(json!({"body": {"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": &long[1..]}]}
        ]}})),
    )
    .await;
    assert_eq!(st, 201, "at the limit");
}
