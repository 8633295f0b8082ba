//! The simulated Jira API (Cloud and Data Center), validated against
//! Atlassian's OpenAPI documents.

mod common;

use base64::Engine;
use cairn_sim::{DataSource, GenSpec, JiraFlavour, SimConfig};
use common::schemas::Spec;
use common::{client, sim};
use serde_json::{Value, json};

fn basic(email: &str, token: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{email}:{token}"))
    )
}

fn cloud_auth() -> String {
    basic("admin@example.com", "jira-sim-token")
}

async fn get(c: &reqwest::Client, url: String, auth: &str) -> (u16, Value) {
    let r = c
        .get(url)
        .header("Authorization", auth)
        .send()
        .await
        .expect("send");
    let st = r.status().as_u16();
    (st, r.json().await.unwrap_or(Value::Null))
}

async fn post(c: &reqwest::Client, url: String, auth: &str, body: Value) -> (u16, Value) {
    let r = c
        .post(url)
        .header("Authorization", auth)
        .json(&body)
        .send()
        .await
        .expect("send");
    let st = r.status().as_u16();
    (st, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn cloud_endpoints_match_openapi() {
    let spec = Spec::load("swagger-v3.v3.json");
    let s = sim(JiraFlavour::Cloud).await;
    let c = client();
    let a = cloud_auth();
    let api = format!("{}/rest/api/3", s.jira_url());

    let (st, _) = get(&c, format!("{api}/myself"), "Basic Zm9vOmJhcg==").await;
    assert_eq!(st, 401);
    let (st, _) = get(&c, format!("{api}/myself"), "Bearer jira-sim-pat").await;
    assert_eq!(st, 401, "Cloud does not take PATs");
    let (st, me) = get(&c, format!("{api}/myself"), &a).await;
    assert_eq!(st, 200);
    assert_eq!(me["emailAddress"], "admin@example.com");
    spec.check("/rest/api/3/myself", "get", "200", &me);
    let (_, me2) = get(&c, format!("{}/rest/api/2/myself", s.jira_url()), &a).await;
    assert_eq!(me2["accountId"], me["accountId"]);

    let (_, info) = get(&c, format!("{api}/serverInfo"), &a).await;
    assert_eq!(info["deploymentType"], "Cloud");
    spec.check("/rest/api/3/serverInfo", "get", "200", &info);

    let (_, fields) = get(&c, format!("{api}/field"), &a).await;
    spec.check("/rest/api/3/field", "get", "200", &fields);
    let sp = fields
        .as_array()
        .expect("array")
        .iter()
        .find(|f| f["schema"]["custom"] == "com.pyxis.greenhopper.jira:jsw-story-points")
        .expect("story points field");
    assert_eq!(sp["id"], "customfield_10016");
    assert_eq!(sp["schema"]["type"], "number");

    // search/jql: default fields are id only, no total, token paging.
    let (st, page) = get(
        &c,
        format!("{api}/search/jql?jql=project%20%3D%20OPS&maxResults=2"),
        &a,
    )
    .await;
    assert_eq!(st, 200);
    spec.check("/rest/api/3/search/jql", "get", "200", &page);
    assert!(page.get("total").is_none());
    assert_eq!(page["isLast"], false);
    assert_eq!(page["issues"][0].as_object().map(|o| o.len()), Some(1));
    let mut token = page["nextPageToken"].as_str().map(str::to_string);
    let mut n = page["issues"].as_array().map(Vec::len).unwrap_or(0);
    while let Some(t) = token.take() {
        let (st, p) = post(&c, format!("{api}/search/jql"), &a, json!({"jql": "project = OPS", "maxResults": 2, "nextPageToken": t, "fields": ["summary", "status"]})).await;
        assert_eq!(st, 200);
        spec.check("/rest/api/3/search/jql", "post", "200", &p);
        n += p["issues"].as_array().map(Vec::len).unwrap_or(0);
        token = p["nextPageToken"].as_str().map(str::to_string);
        assert_eq!(p["isLast"], token.is_none());
    }
    assert_eq!(n, 6);
    let (_, cnt) = post(
        &c,
        format!("{api}/search/approximate-count"),
        &a,
        json!({"jql": "project = OPS AND statusCategory = Done"}),
    )
    .await;
    spec.check("/rest/api/3/search/approximate-count", "post", "200", &cnt);
    assert_eq!(cnt["count"], 2);

    // Removed search API answers 410; unbounded and bad JQL answer 400.
    for path in ["rest/api/3/search", "rest/api/2/search"] {
        let (st, body) = get(&c, format!("{}/{path}?jql=project=OPS", s.jira_url()), &a).await;
        assert_eq!(st, 410);
        assert!(
            body["errorMessages"][0]
                .as_str()
                .is_some_and(|m| m.contains("/rest/api/3/search/jql"))
        );
    }
    let (st, body) = get(&c, format!("{api}/search/jql?jql=order%20by%20key"), &a).await;
    assert_eq!(st, 400);
    assert!(
        body["errorMessages"][0]
            .as_str()
            .is_some_and(|m| m.starts_with("Unbounded JQL"))
    );
    let (st, body) = post(
        &c,
        format!("{api}/search/jql"),
        &a,
        json!({"jql": "project = OPS AND status = "}),
    )
    .await;
    assert_eq!(st, 400);
    assert_eq!(body["errors"], json!({}));
    assert!(
        body["errorMessages"][0]
            .as_str()
            .is_some_and(|m| m.starts_with("Error in the JQL Query:")),
        "{body}"
    );
    let (st, body) = post(
        &c,
        format!("{api}/search/jql"),
        &a,
        json!({"jql": "nosuchfield = 1"}),
    )
    .await;
    assert_eq!(st, 400);
    assert_eq!(
        body["errorMessages"][0],
        "Field 'nosuchfield' does not exist or you do not have permission to view it."
    );

    // Issue with time tracking, story points, epic link and parent.
    let (st, issue) = get(&c, format!("{api}/issue/OPS-3"), &a).await;
    assert_eq!(st, 200);
    spec.check("/rest/api/3/issue/{issueIdOrKey}", "get", "200", &issue);
    let f = &issue["fields"];
    assert_eq!(f["customfield_10016"], 5.0);
    assert_eq!(f["customfield_10014"], "OPS-1");
    assert_eq!(f["timeoriginalestimate"], 3 * 8 * 3600);
    assert_eq!(f["timespent"], 2 * 8 * 3600);
    assert_eq!(f["timeestimate"], 8 * 3600);
    assert_eq!(f["aggregatetimeoriginalestimate"], 3 * 8 * 3600 + 7200);
    assert_eq!(f["progress"]["percent"], 66);
    assert_eq!(f["status"]["statusCategory"]["key"], "indeterminate");
    assert_eq!(f["subtasks"][0]["key"], "OPS-4");
    assert_eq!(f["description"], Value::Null);
    let (_, sub) = get(&c, format!("{api}/issue/OPS-4?fields=parent,issuetype"), &a).await;
    assert_eq!(sub["fields"]["parent"]["key"], "OPS-3");
    assert_eq!(sub["fields"]["issuetype"]["subtask"], true);
    assert!(sub["fields"].get("summary").is_none());
    let (st, _) = get(&c, format!("{api}/issue/NOPE-1"), &a).await;
    assert_eq!(st, 404);

    // Transitions, comments (ADF), worklogs, versions.
    let (_, tr) = get(&c, format!("{api}/issue/OPS-5/transitions"), &a).await;
    spec.check(
        "/rest/api/3/issue/{issueIdOrKey}/transitions",
        "get",
        "200",
        &tr,
    );
    let done = tr["transitions"]
        .as_array()
        .expect("array")
        .iter()
        .find(|t| t["to"]["statusCategory"]["key"] == "done")
        .expect("done transition")
        .clone();
    let r = c
        .post(format!("{api}/issue/OPS-5/transitions"))
        .header("Authorization", &a)
        .json(&json!({"transition": {"id": done["id"]}}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 204);
    let (_, i5) = get(
        &c,
        format!("{api}/issue/OPS-5?fields=status,resolution"),
        &a,
    )
    .await;
    assert_eq!(i5["fields"]["status"]["name"], "Done");
    assert_eq!(i5["fields"]["resolution"]["name"], "Done");
    let (st, body) = post(
        &c,
        format!("{api}/issue/OPS-5/transitions"),
        &a,
        json!({"transition": {"id": "999"}}),
    )
    .await;
    assert_eq!(st, 400);
    assert!(
        body["errorMessages"][0]
            .as_str()
            .is_some_and(|m| m.contains("999"))
    );

    let adf = json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Ship it"}]}]});
    let (st, cm) = post(
        &c,
        format!("{api}/issue/OPS-5/comment"),
        &a,
        json!({"body": adf}),
    )
    .await;
    assert_eq!(st, 201);
    spec.check(
        "/rest/api/3/issue/{issueIdOrKey}/comment",
        "post",
        "201",
        &cm,
    );
    assert_eq!(cm["body"], adf);
    let (_, v2c) = get(
        &c,
        format!("{}/rest/api/2/issue/OPS-5/comment", s.jira_url()),
        &a,
    )
    .await;
    assert_eq!(v2c["comments"][0]["body"], "Ship it");
    let (_, cms) = get(&c, format!("{api}/issue/OPS-5/comment"), &a).await;
    spec.check(
        "/rest/api/3/issue/{issueIdOrKey}/comment",
        "get",
        "200",
        &cms,
    );

    let (st, wl) = post(
        &c,
        format!("{api}/issue/OPS-3/worklog"),
        &a,
        json!({"timeSpentSeconds": 12000, "started": "2026-01-17T12:34:00.000+0000"}),
    )
    .await;
    assert_eq!(st, 201);
    spec.check(
        "/rest/api/3/issue/{issueIdOrKey}/worklog",
        "post",
        "201",
        &wl,
    );
    assert_eq!(wl["timeSpent"], "3h 20m");
    let (_, wls) = get(&c, format!("{api}/issue/OPS-3/worklog"), &a).await;
    spec.check(
        "/rest/api/3/issue/{issueIdOrKey}/worklog",
        "get",
        "200",
        &wls,
    );
    assert_eq!(wls["total"], 2);
    let (_, i3) = get(
        &c,
        format!("{api}/issue/OPS-3?fields=timespent,timeestimate"),
        &a,
    )
    .await;
    assert_eq!(i3["fields"]["timespent"], 2 * 8 * 3600 + 12000);
    assert_eq!(i3["fields"]["timeestimate"], 8 * 3600 - 12000);
    let (st, body) = post(&c, format!("{api}/issue/OPS-3/worklog"), &a, json!({})).await;
    assert_eq!(st, 400);
    assert!(body["errors"]["timeLogged"].is_string());

    let (_, vers) = get(&c, format!("{api}/project/OPS/versions"), &a).await;
    spec.check(
        "/rest/api/3/project/{projectIdOrKey}/versions",
        "get",
        "200",
        &vers,
    );
    assert_eq!(vers.as_array().map(Vec::len), Some(2));

    // Create and edit.
    let (st, created) = post(
        &c,
        format!("{api}/issue"),
        &a,
        json!({"fields": {"project": {"key": "GROW"}, "summary": "Share button", "issuetype": {"name": "Story"}, "customfield_10016": 2, "customfield_10014": "GROW-1"}}),
    )
    .await;
    assert_eq!(st, 201);
    assert_eq!(created["key"], "GROW-5");
    let (st, body) = post(
        &c,
        format!("{api}/issue"),
        &a,
        json!({"fields": {"project": {"key": "GROW"}, "issuetype": {"name": "Story"}}}),
    )
    .await;
    assert_eq!(st, 400);
    assert!(body["errors"]["summary"].is_string());
    let r = c
        .put(format!("{api}/issue/GROW-5"))
        .header("Authorization", &a)
        .json(
            &json!({"fields": {"customfield_10016": 8}, "update": {"labels": [{"add": "viral"}]}}),
        )
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 204);
    let (_, g5) = get(&c, format!("{api}/search/jql?jql=%22Epic%20Link%22%20%3D%20GROW-1%20AND%20cf%5B10016%5D%20%3E%3D%208&fields=labels"), &a).await;
    assert_eq!(g5["issues"][0]["key"], "GROW-5");
    assert_eq!(g5["issues"][0]["fields"]["labels"], json!(["viral"]));
    s.shutdown().await;
}

#[tokio::test]
async fn datacenter_search_and_auth() {
    let spec = Spec::load("jira-software-dc-10.3-openapi.json");
    let s = sim(JiraFlavour::Datacenter).await;
    let c = client();
    let a = "Bearer jira-sim-pat";
    let api = format!("{}/rest/api/2", s.jira_url());
    let (st, _) = get(&c, format!("{api}/myself"), &cloud_auth()).await;
    assert_eq!(st, 401, "Data Center takes PATs");
    let (st, me) = get(&c, format!("{api}/myself"), a).await;
    assert_eq!(st, 200);
    assert_eq!(me["name"], "admin");
    spec.check("/api/2/myself", "get", "200", &me);
    let (_, info) = get(&c, format!("{api}/serverInfo"), a).await;
    assert_ne!(info["deploymentType"], "Cloud");
    spec.check("/api/2/serverInfo", "get", "200", &info);
    let (st, _) = get(&c, format!("{}/rest/api/3/myself", s.jira_url()), a).await;
    assert_eq!(st, 404);

    let (st, page) = get(
        &c,
        format!("{api}/search?jql=project%3DOPS%20ORDER%20BY%20key%20ASC&startAt=2&maxResults=3"),
        a,
    )
    .await;
    assert_eq!(st, 200);
    spec.check("/api/2/search", "get", "200", &page);
    assert_eq!(page["total"], 6);
    assert_eq!(page["startAt"], 2);
    let keys: Vec<&str> = page["issues"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|i| i["key"].as_str())
        .collect();
    assert_eq!(keys, vec!["OPS-3", "OPS-4", "OPS-5"]);
    assert!(
        page["issues"][0]["fields"]["summary"].is_string(),
        "navigable fields by default"
    );
    let (st, p2) = post(
        &c,
        format!("{api}/search"),
        a,
        json!({"jql": "assignee = amartin", "fields": ["summary"]}),
    )
    .await;
    assert_eq!(st, 200);
    spec.check("/api/2/search", "post", "200", &p2);
    assert_eq!(p2["total"], 3);
    let (st, bad) = get(&c, format!("{api}/search?jql=invalid%20query"), a).await;
    assert_eq!(st, 400);
    assert_eq!(
        bad["errorMessages"][0],
        "Error in the JQL Query: Expecting operator but got 'query'. The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'. (line 1, character 9)"
    );
    let (st, _) = get(
        &c,
        format!("{}/rest/api/3/search/jql?jql=project=OPS", s.jira_url()),
        a,
    )
    .await;
    assert_eq!(st, 404);
    let (_, v2) = get(&c, format!("{api}/issue/OPS-2"), a).await;
    assert!(v2["fields"]["assignee"]["name"].is_string());
    s.shutdown().await;
}

#[tokio::test]
async fn jql_semantics_on_generated_data() {
    let spec: GenSpec = "projects=0,users=4,jira_projects=2,jira_issues=300,seed=3"
        .parse()
        .expect("spec");
    let s = cairn_sim::start(SimConfig {
        data: DataSource::Generate(spec),
        ..SimConfig::default()
    })
    .await
    .expect("start");
    let c = client();
    let a = cloud_auth();
    let url = format!("{}/rest/api/3/search/approximate-count", s.jira_url());
    let count = |jql: &str| {
        let c = c.clone();
        let a = a.clone();
        let url = url.clone();
        let jql = jql.to_string();
        async move {
            let (st, v) = post(&c, url, &a, json!({"jql": jql})).await;
            assert_eq!(st, 200, "{jql}: {v}");
            v["count"].as_u64().expect("count")
        }
    };
    let all = count("project in (OPS, WEB)").await;
    assert_eq!(all, 600);
    let done = count("statusCategory = Done").await;
    let not_done = count("statusCategory != Done").await;
    assert_eq!(done + not_done, all);
    assert_eq!(count("NOT statusCategory = Done").await, not_done);
    let assigned = count("assignee is not EMPTY").await;
    assert_eq!(assigned + count("assignee is EMPTY").await, all);
    assert!(count("assignee != currentUser()").await <= assigned);
    let epics = count("issuetype = Epic").await;
    assert_eq!(epics, 24);
    let sp = count("\"Story point estimate\" > 3").await;
    assert_eq!(sp, count("cf[10016] > 3").await);
    assert!(sp > 0);
    assert_eq!(
        count("created >= \"2026-01-05\" AND created < \"2100-01-01 00:00\"").await,
        all
    );
    assert_eq!(count("created > -7d").await, 0);
    assert_eq!(count("updated <= endOfDay()").await, all);
    assert_eq!(
        count("project = OPS AND (type = Bug OR type = Story)").await,
        count("project = OPS AND type in (Bug, Story)").await
    );
    assert!(count("parent is not EMPTY AND issuetype = Sub-task").await > 0);
    assert!(count("summary ~ \"login\"").await > 0);
    assert_eq!(count("summary ~ login").await, count("text ~ login").await);
    assert_eq!(
        count("fixVersion = \"1.0\"").await + count("fixVersion != \"1.0\"").await,
        count("fixVersion is not EMPTY").await
    );
    assert!(count("resolution = Unresolved").await > 0);
    assert_eq!(count("key = OPS-1").await, 1);
    s.shutdown().await;
}
