//! The pages without a browser: each answers signed-in people and sends
//! others to the sign-in page, forms need the CSRF token, remote strings are
//! escaped, refused forms come back with the input kept, the message next
//! to the field and every problem in a summary at the top, nothing is
//! half-saved, deleting asks first on a page saying what goes with it, and
//! each action says it worked.

mod common;

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use cairn_engine::notify::NotifySettings;
use common::{Harness, PASSWORD, Receiver, Reply, Running, TitleConflict};
use serde_json::{Value, json};
use tower::ServiceExt;

const PROJECT: &str = "northwind/checkout";
/// How the pages are addressed (GitLab and Jira are told to send hooks here).
const HOST: &str = "cairn.test";

/// A form's fields, in order.
type Fields<'f> = Vec<(&'f str, &'f str)>;

struct Browser<'a> {
    h: &'a Harness,
    cookie: String,
    csrf: String,
}

fn cookie_pair(reply: &Reply) -> String {
    reply.headers["set-cookie"]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("pair")
        .to_owned()
}

fn hidden_token(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("a csrf_token field") + marker.len();
    html[start..].split('"').next().expect("value").to_owned()
}

impl<'a> Browser<'a> {
    async fn sign_in(h: &'a Harness, email: &str) -> Browser<'a> {
        let page = h.call("GET", "/login", None, None).await;
        let login_cookie = cookie_pair(&page);
        let token = hidden_token(&page.text);
        let body = serde_urlencoded::to_string([
            ("email", email),
            ("password", PASSWORD),
            ("csrf_token", &token),
        ])
        .expect("form");
        let signed_in = h
            .send(
                Request::post("/login")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .header("cookie", &login_cookie)
                    .body(Body::from(body))
                    .expect("request"),
            )
            .await;
        assert_eq!(
            signed_in.status,
            StatusCode::SEE_OTHER,
            "{}",
            signed_in.text
        );
        let cookie = cookie_pair(&signed_in);
        let mut b = Browser {
            h,
            cookie,
            csrf: String::new(),
        };
        let home = b.get("/").await;
        assert_eq!(home.status, StatusCode::OK, "{}", home.text);
        b.csrf = hidden_token(&home.text);
        b
    }

    async fn get(&self, path: &str) -> Reply {
        self.h
            .send(
                Request::get(path)
                    .header("host", HOST)
                    .header("cookie", &self.cookie)
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
    }

    async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let body = serde_urlencoded::to_string(fields).expect("form");
        self.h
            .send(
                Request::post(path)
                    .header("host", HOST)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .header("cookie", &self.cookie)
                    .body(Body::from(body))
                    .expect("request"),
            )
            .await
    }

    /// Posts a form the way the page does: with the CSRF token.
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", &self.csrf)];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }
}

async fn period(h: &Harness) -> i64 {
    let today = chrono::Utc::now().date_naive();
    let reply = h
        .call(
            "POST",
            "/api/v1/periods",
            Some(&h.admin.token),
            Some(json!({"name": "This quarter", "starts_on": (today - chrono::Duration::days(30)).to_string(), "ends_on": (today + chrono::Duration::days(30)).to_string()})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.body["id"].as_i64().expect("id")
}

/// A form refused (422) with its error next to `field`.
fn refused_at(reply: &Reply, field: &str) {
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text
    );
    assert!(
        reply.text.contains(&format!("id=\"{field}-error\"")),
        "{}",
        reply.text
    );
    // Every refused form is summed up at the top, the summary focused.
    assert!(
        reply
            .text
            .contains("<div class=\"error-summary\" id=\"error-summary\""),
        "a summary: {}",
        reply.text
    );
}

/// Creates an OKR measured in percent complete; its id.
async fn new_okr(
    h: &Harness,
    token: &str,
    kind: &str,
    title: &str,
    period: i64,
    source: &str,
) -> i64 {
    let reply = h
        .call(
            "POST",
            "/api/v1/okrs",
            Some(token),
            Some(json!({"kind": kind, "title": title, "period_id": period, "measure": {"mode": "percent_complete"}, "progress_source": source})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.body["id"].as_i64().expect("okr")
}

/// A shared connection to the simulated Jira, made with `token`; its id.
async fn shared_jira(h: &Harness, token: &str, name: &str) -> i64 {
    let reply = h
        .call(
            "POST",
            "/api/v1/connections",
            Some(token),
            Some(json!({"kind": "jira", "name": name, "base_url": h.sim.jira_url(), "auth_kind": "basic",
                "username": cairn_sim::DEFAULT_JIRA_EMAIL, "secret": cairn_sim::DEFAULT_JIRA_API_TOKEN, "shared": true})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.body["id"].as_i64().expect("jira")
}

/// How many things the admin's `GET path` lists.
async fn count(h: &Harness, path: &str) -> usize {
    h.call("GET", path, Some(&h.admin.token), None)
        .await
        .body
        .as_array()
        .map(Vec::len)
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_answers_signed_in_people_and_sends_others_to_sign_in() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let period = period(&h).await;
    let gitlab = h.gitlab_connection(&h.admin, "sim gitlab", true).await;
    let okr = new_okr(&h, &h.admin.token, "key_result", "Ship", period, "check_in").await;
    let b = Browser::sign_in(&h, &h.admin.email).await;
    let pages = [
        "/".to_owned(),
        format!("/?period={period}"),
        "/dashboard".to_owned(),
        format!("/dashboard?period={period}"),
        format!("/okrs/{okr}"),
        format!("/okrs/{okr}/edit"),
        format!("/okrs/{okr}/link"),
        format!("/okrs/new?period={period}"),
        "/periods/new".to_owned(),
        "/connections".to_owned(),
        format!("/connections/{gitlab}"),
        "/tokens".to_owned(),
        "/admin/integrations".to_owned(),
        "/admin/users".to_owned(),
        "/admin/teams".to_owned(),
        "/admin/notifications".to_owned(),
        "/admin/hooks".to_owned(),
        "/admin/time".to_owned(),
        "/sync-pairs".to_owned(),
    ];
    for path in &pages {
        let signed_in = b.get(path).await;
        assert_eq!(
            signed_in.status,
            StatusCode::OK,
            "{path}: {}",
            signed_in.text
        );
        assert!(
            signed_in.text.contains("name=\"csrf_token\""),
            "{path} has forms with the token"
        );
        assert!(
            !signed_in.text.contains("<script>") && !signed_in.text.contains("style=\""),
            "{path}: no inline script or style (CSP)"
        );
        assert!(
            !signed_in.text.contains("TODO"),
            "{path}: no placeholder text is ever shown"
        );
        let anonymous = h.call("GET", path, None, None).await;
        assert_eq!(anonymous.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(anonymous.headers["location"], "/login", "{path}");
    }
    let missing = b.get("/okrs/999999").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.text.contains("<h1>404"), "an HTML error page");
    // Members see OKRs but not the admin pages.
    let member = Browser::sign_in(&h, &h.other.email).await;
    assert_eq!(member.get("/").await.status, StatusCode::OK);
    assert_eq!(
        member.get("/admin/users").await.status,
        StatusCode::FORBIDDEN
    );
    // The script and stylesheet come from the binary.
    for asset in ["/static/cairn.js", "/static/cairn.css"] {
        let reply = h.call("GET", asset, None, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{asset}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_without_the_csrf_token_are_refused_and_change_nothing() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let period = period(&h).await;
    let b = Browser::sign_in(&h, &h.owner.email).await;
    let other = Browser::sign_in(&h, &h.other.email).await;
    let admin = Browser::sign_in(&h, &h.admin.email).await;
    assert_ne!(b.csrf, other.csrf);
    let period = period.to_string();
    let fields = [
        ("kind", "objective"),
        ("title", "Forged"),
        ("period_id", period.as_str()),
        ("measure", "percent_complete"),
        ("progress_source", "check_in"),
    ];
    let forged = b.post_raw("/okrs", &fields).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.text);
    let wrong = {
        let mut all = vec![("csrf_token", "not-the-token")];
        all.extend_from_slice(&fields);
        b.post_raw("/okrs", &all).await
    };
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert_eq!(count(&h, "/api/v1/okrs").await, 0);
    let made = b.post("/okrs", &fields).await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.text);
    assert_eq!(count(&h, "/api/v1/okrs").await, 1);

    // Forms the member may send: refused without the token and with
    // another one, changing nothing; accepted with the session's token.
    let kr = new_okr(
        &h,
        &h.owner.token,
        "key_result",
        "Checked",
        period.parse().expect("id"),
        "check_in",
    )
    .await;
    let check_ins = format!("/api/v1/okrs/{kr}/check-ins");
    let len_of = |reply: Reply| reply.body.as_array().map(Vec::len).unwrap_or_default();
    let writes: [(&Browser, &str, String, Fields, String); 5] = [
        (
            &b,
            &h.owner.token,
            format!("/okrs/{kr}/check-ins"),
            vec![("value", "40"), ("note", "forged?")],
            check_ins.clone(),
        ),
        (
            &b,
            &h.owner.token,
            "/connections".to_owned(),
            vec![
                ("kind", "gitlab"),
                ("name", "forged?"),
                ("base_url", "https://gitlab.example.com"),
                ("auth_kind", "private_token"),
                ("secret", "glpat-forged"),
            ],
            "/api/v1/connections".to_owned(),
        ),
        (
            &b,
            &h.owner.token,
            "/tokens".to_owned(),
            vec![("name", "forged?")],
            "/api/v1/me/tokens".to_owned(),
        ),
        // And the admins' forms, for an admin.
        (
            &admin,
            &h.admin.token,
            "/admin/users".to_owned(),
            vec![
                ("email", "forged@example.com"),
                ("name", "Forged"),
                ("role", "member"),
                ("password", PASSWORD),
            ],
            "/api/v1/users".to_owned(),
        ),
        (
            &admin,
            &h.admin.token,
            "/periods".to_owned(),
            vec![
                ("name", "Forged"),
                ("starts_on", "2031-01-01"),
                ("ends_on", "2031-03-31"),
            ],
            "/api/v1/periods".to_owned(),
        ),
    ];
    for (browser, token, path, fields, list) in &writes {
        let seen = || async { len_of(h.call("GET", list, Some(token), None).await) };
        let before = seen().await;
        let without = browser.post_raw(path, fields).await;
        assert_eq!(
            without.status,
            StatusCode::FORBIDDEN,
            "{path}: {}",
            without.text
        );
        let mut forged = vec![("csrf_token", "not-the-token")];
        forged.extend_from_slice(fields);
        let wrong = browser.post_raw(path, &forged).await;
        assert_eq!(
            wrong.status,
            StatusCode::FORBIDDEN,
            "{path}: {}",
            wrong.text
        );
        // Another session's token is not this session's.
        let mut theirs = vec![("csrf_token", other.csrf.as_str())];
        theirs.extend_from_slice(fields);
        let crossed = browser.post_raw(path, &theirs).await;
        assert_eq!(
            crossed.status,
            StatusCode::FORBIDDEN,
            "{path}: {}",
            crossed.text
        );
        assert_eq!(
            seen().await,
            before,
            "{path}: nothing saved without the token"
        );
        let sent = browser.post(path, fields).await;
        assert!(
            sent.status == StatusCode::SEE_OTHER || sent.status == StatusCode::OK,
            "{path} with the token: {} {}",
            sent.status,
            sent.text
        );
        assert_eq!(seen().await, before + 1, "{path}: saved with the token");
    }
}

/// The time axis's labels, as the OKR page draws them.
fn axis_labels(html: &str) -> Vec<String> {
    html.split("<text class=\"tick x\"")
        .skip(1)
        .filter_map(|t| t.split('>').nth(1)?.split('<').next().map(str::to_owned))
        .collect()
}

/// The history chart of an OKR page: hours when its history spans less
/// than a day, days otherwise, no more than five labels, and "1 change".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_chart_counts_hours_or_days_and_its_changes() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let period = period(&h).await;
    let b = Browser::sign_in(&h, &h.owner.email).await;
    let okr = new_okr(
        &h,
        &h.owner.token,
        "key_result",
        "By hand",
        period,
        "check_in",
    )
    .await;
    let page = b.get(&format!("/okrs/{okr}")).await;
    assert!(
        page.text.contains("no progress recorded yet"),
        "{}",
        page.text
    );

    let reply = b
        .post(&format!("/okrs/{okr}/check-ins"), &[("value", "40")])
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let page = b.get(&format!("/okrs/{okr}")).await;
    assert!(page.text.contains("1 change;"), "{}", page.text);
    assert!(!page.text.contains("1 changes"), "{}", page.text);
    assert!(
        page.text.contains(
            "<strong>Forecast:</strong> not enough data: a forecast needs 48 hours of history, this one has 0."
        ),
        "{}",
        page.text
    );
    assert!(page.text.contains("data-unit=\"hours\""), "{}", page.text);
    let labels = axis_labels(&page.text);
    assert!(
        (2..=5).contains(&labels.len())
            && labels
                .iter()
                .all(|l| l.len() == 5 && l.ends_with(":00") && l.as_bytes()[2] == b':'),
        "whole hours: {labels:?}"
    );

    // A check-in a week ago: the history spans days.
    let user = h
        .state
        .store
        .get_user(h.owner.id)
        .await
        .expect("user")
        .expect("owner");
    let who = cairn_engine::accounts::Authenticated {
        user,
        session: None,
    };
    h.state
        .goals
        .check_in(
            &who,
            okr,
            &cairn_engine::goals::CheckInInput {
                value: Some(20.0),
                note: "last week",
                ..Default::default()
            },
            chrono::Utc::now() - chrono::Duration::days(7),
        )
        .await
        .expect("check-in");
    let page = b.get(&format!("/okrs/{okr}")).await;
    assert!(page.text.contains("2 changes;"), "{}", page.text);
    // The newer check-in (40) holds since the older one's point a week
    // ago: no progress over the week, and 60 points over the 30 to 31 days
    // to the due date need about 2 a day.
    let week_ago = (chrono::Utc::now() - chrono::Duration::days(7)).format("%Y-%m-%d");
    let stalled = format!(
        "at this pace (from 40 % on {week_ago} to 40 % now: 0.0 points a day) it does not reach 100 %."
    );
    assert!(page.text.contains(&stalled), "{stalled}: {}", page.text);
    let needed = page
        .text
        .split_once("Making the due date (")
        .and_then(|(_, rest)| rest.split_once(") needs "))
        .and_then(|(_, rest)| rest.split_once(" points a day."))
        .and_then(|(n, _)| n.parse::<f64>().ok());
    // 30 to 31 days left, depending on the hour.
    assert!(
        needed.is_some_and(|n| (1.9..=2.0).contains(&n)),
        "{needed:?}: {}",
        page.text
    );
    assert!(page.text.contains("data-unit=\"days\""), "{}", page.text);
    let labels = axis_labels(&page.text);
    // The period runs 30 days either side of today: weekly labels.
    assert!((3..=5).contains(&labels.len()), "{labels:?}");
    for label in &labels {
        let (month, day) = label.split_once(' ').expect("`Mon D`");
        assert!(
            month.len() == 3 && day.parse::<u32>().is_ok_and(|d| (1..=31).contains(&d)),
            "{labels:?}"
        );
    }
    // Every label placed within the chart's width.
    assert!(!page.text.contains("x=\"-"), "{}", page.text);
}

/// The create form: a new objective's progress rolls up from its children
/// and a key result's is checked in, and "Aligns to" offers objectives only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_create_form_defaults_by_kind_and_aligns_to_objectives() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let period = period(&h).await;
    let b = Browser::sign_in(&h, &h.owner.email).await;
    let objective = new_okr(&h, &h.owner.token, "objective", "Grow", period, "roll_up").await;
    new_okr(
        &h,
        &h.owner.token,
        "key_result",
        "Sign 10 customers",
        period,
        "check_in",
    )
    .await;
    let selected =
        |text: &str, value: &str| text.contains(&format!("<option value=\"{value}\" selected>"));
    let page = b.get(&format!("/okrs/new?period={period}")).await;
    assert!(selected(&page.text, "roll_up"), "{}", page.text);
    assert!(
        page.text
            .contains(&format!("<option value=\"{objective}\">")),
        "{}",
        page.text
    );
    assert!(
        !page.text.contains("Sign 10 customers"),
        "a key result is not offered as a parent: {}",
        page.text
    );
    let page = b
        .get(&format!("/okrs/new?period={period}&kind=key_result"))
        .await;
    assert!(selected(&page.text, "check_in"), "{}", page.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_forms_come_back_with_the_input_and_the_error_next_to_the_field() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let period = period(&h).await.to_string();
    let b = Browser::sign_in(&h, &h.owner.email).await;

    // An empty title: the engine names `title`.
    let reply = b
        .post(
            "/okrs",
            &[
                ("kind", "objective"),
                ("title", ""),
                ("description", "kept <b>as typed</b>"),
                ("period_id", &period),
                ("measure", "percent_complete"),
                ("progress_source", "check_in"),
            ],
        )
        .await;
    refused_at(&reply, "title");
    assert!(reply.text.contains("kept &#60;b&#62;as typed&#60;/b&#62;"));
    assert!(
        reply
            .text
            .contains("id=\"title\" name=\"title\" value=\"\" aria-invalid=\"true\"")
    );

    // A KPI whose target equals its start: the message sits by the target.
    let reply = b
        .post(
            "/okrs",
            &[
                ("kind", "key_result"),
                ("title", "Fix bugs"),
                ("period_id", &period),
                ("measure", "kpi"),
                ("unit", "bugs"),
                ("start_value", "5"),
                ("target_value", "5"),
                ("progress_source", "check_in"),
            ],
        )
        .await;
    refused_at(&reply, "target_value");
    assert!(reply.text.contains("value=\"Fix bugs\""));
    assert!(reply.text.contains("value=\"bugs\""));

    // A due date before the start.
    let reply = b
        .post(
            "/okrs",
            &[
                ("kind", "objective"),
                ("title", "Backwards"),
                ("period_id", &period),
                ("starts_on", "2026-03-01"),
                ("due_on", "2026-02-01"),
                ("measure", "percent_complete"),
                ("progress_source", "check_in"),
            ],
        )
        .await;
    refused_at(&reply, "due_on");
    assert_eq!(count(&h, "/api/v1/okrs").await, 0, "nothing half-saved");

    // A connection with a bad base URL keeps the name; the secret is not echoed.
    let reply = b
        .post(
            "/connections",
            &[
                ("kind", "gitlab"),
                ("name", "my gitlab"),
                ("base_url", "not a url"),
                ("auth_kind", "private_token"),
                ("secret", "glpat-secret-value"),
            ],
        )
        .await;
    refused_at(&reply, "base_url");
    assert!(reply.text.contains("value=\"my gitlab\""));
    assert!(!reply.text.contains("glpat-secret-value"));
    let list = h
        .call("GET", "/api/v1/connections", Some(&h.owner.token), None)
        .await;
    assert_eq!(list.body.as_array().map(Vec::len), Some(0));

    // A check-in that is not a number.
    let okr = new_okr(
        &h,
        &h.owner.token,
        "key_result",
        "By hand",
        period.parse::<i64>().expect("id"),
        "check_in",
    )
    .await;
    let reply = b
        .post(
            &format!("/okrs/{okr}/check-ins"),
            &[("value", "lots"), ("note", "my note")],
        )
        .await;
    refused_at(&reply, "value");
    assert!(reply.text.contains(">my note</textarea>"));
    let reply = b
        .post(&format!("/okrs/{okr}/check-ins"), &[("value", "140")])
        .await;
    refused_at(&reply, "value");
    let reply = b
        .post(&format!("/okrs/{okr}/check-ins"), &[("value", "40")])
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let page = b.get(&format!("/okrs/{okr}")).await;
    assert!(page.text.contains("width=\"40\""), "the bar at 40 %");

    // A GitLab link to a project that does not exist.
    let gitlab = h
        .gitlab_connection(&h.owner, "gitlab", true)
        .await
        .to_string();
    let linked = new_okr(
        &h,
        &h.owner.token,
        "key_result",
        "Linked",
        period.parse::<i64>().expect("id"),
        "data_link",
    )
    .await;
    let reply = b
        .post(
            &format!("/okrs/{linked}/link/gitlab"),
            &[
                ("connection_id", &gitlab),
                ("project", "northwind/nope"),
                ("milestone", "M1"),
            ],
        )
        .await;
    refused_at(&reply, "project");
    assert!(
        reply.text.contains("<a href=\"#gl-project\">Project: "),
        "the summary links to the field by its id on the page: {}",
        reply.text
    );
    assert!(reply.text.contains("value=\"northwind/nope\""));
    assert!(reply.text.contains("value=\"M1\""));
    let view = h
        .call(
            "GET",
            &format!("/api/v1/okrs/{linked}"),
            Some(&h.owner.token),
            None,
        )
        .await;
    assert!(view.body["link"].is_null(), "no link saved");
}

/// A milestone of the simulated project with issues in it (title,
/// description); their iids.
async fn milestone_with_issues(h: &Harness, milestone: &str, issues: &[(&str, &str)]) -> Vec<u64> {
    h.gitlab(
        "POST",
        "/projects/northwind%2Fcheckout/milestones",
        Some(json!({ "title": milestone })),
    )
    .await;
    let mut iids = Vec::new();
    for (title, description) in issues {
        let iid = h
            .control(
                "gitlab/issues",
                json!({"project": PROJECT, "title": title, "description": description, "milestone": milestone}),
            )
            .await["iid"]
            .as_u64()
            .expect("iid");
        iids.push(iid);
    }
    iids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_titles_are_text_and_bars_follow_refreshes() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let period = period(&h).await;
    let b = Browser::sign_in(&h, &h.owner.email).await;
    let connection = h
        .gitlab_connection(&h.owner, "gitlab", true)
        .await
        .to_string();
    let iids = milestone_with_issues(
        &h,
        "UI pages",
        &[
            ("<script>alert(1)</script>", ""),
            ("Second", ""),
            ("Third", ""),
            ("Fourth", ""),
        ],
    )
    .await;
    let reply = b
        .post(
            "/okrs",
            &[
                ("kind", "key_result"),
                ("title", "Ship the pages"),
                ("period_id", &period.to_string()),
                ("measure", "percent_complete"),
                ("progress_source", "data_link"),
                ("contributes", "on"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text);
    let location = reply.headers["location"].to_str().expect("location");
    assert!(location.ends_with("/link?done=okr_created"), "{location}");
    let link_page = location.trim_end_matches("?done=okr_created").to_owned();
    let okr: i64 = link_page
        .trim_start_matches("/okrs/")
        .trim_end_matches("/link")
        .parse()
        .expect("id");
    let reply = b
        .post(
            &format!("/okrs/{okr}/link/gitlab"),
            &[
                ("connection_id", &connection),
                ("project", PROJECT),
                ("milestone", "UI pages"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text);

    let page = b.get(&format!("/okrs/{okr}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;")
    );
    assert!(!page.text.contains("<script>alert(1)</script>"));
    assert!(
        page.text.contains("data-status=\"at_risk\""),
        "0 % of ~50 % expected"
    );
    assert!(page.text.contains("class=\"icon gitlab\""));
    let tree = b.get(&format!("/?period={period}")).await;
    assert!(tree.text.contains("Ship the pages") && tree.text.contains("synced"));
    // "synced … ago" is a <time> the script counts up from its datetime.
    assert!(
        tree.text
            .contains(&format!("<time data-ago data-okr-id=\"{okr}\" datetime=\"")),
        "the tree's synced time carries its datetime"
    );

    for iid in &iids[..3] {
        h.control(
            "gitlab/issues/close",
            json!({"project": PROJECT, "iid": iid}),
        )
        .await;
    }
    let reply = b.post(&format!("/okrs/{okr}/refresh"), &[]).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text);
    let live = b.get(&format!("/live.json?ids={okr}")).await;
    assert_eq!(live.status, StatusCode::OK, "{}", live.text);
    assert_eq!(live.body[0]["okr_id"], okr);
    assert_eq!(live.body[0]["width"], "75");
    assert_eq!(live.body[0]["status"], "on_track");

    // The event stream starts with every bar.
    let response = tower::ServiceExt::oneshot(
        h.app.clone(),
        Request::get(format!("/live?ids={okr}"))
            .header("cookie", &b.cookie)
            .body(Body::empty())
            .expect("request"),
    )
    .await
    .expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut body = response.into_body().into_data_stream();
    let first = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        futures_util::StreamExt::next(&mut body),
    )
    .await
    .expect("an event at once")
    .expect("a chunk")
    .expect("bytes");
    let text = String::from_utf8_lossy(&first);
    assert!(
        text.contains("event: progress") && text.contains("on_track"),
        "{text}"
    );
    // A change reaches the open stream at once: it is announced by the
    // store, not found by the 30-second safety poll.
    h.control(
        "gitlab/issues/close",
        json!({"project": PROJECT, "iid": iids[3]}),
    )
    .await;
    let changed_at = std::time::Instant::now();
    let reply = b.post(&format!("/okrs/{okr}/refresh"), &[]).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text);
    let next = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        futures_util::StreamExt::next(&mut body),
    )
    .await
    .expect("the change within seconds, not at the safety poll")
    .expect("a chunk")
    .expect("bytes");
    let text = String::from_utf8_lossy(&next);
    assert!(text.contains("\"width\":\"100\""), "{text}");
    assert!(changed_at.elapsed() < std::time::Duration::from_secs(5));
    // The live message carries when the link synced, and a refresh that
    // changes no number still moves the page's "synced … ago".
    let synced_at = |text: &str| {
        text.split("\"synced_at\":\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .map(str::to_owned)
    };
    let first_synced = synced_at(&text).expect("synced_at in the live message");
    let reply = b.post(&format!("/okrs/{okr}/refresh"), &[]).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text);
    let next = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        futures_util::StreamExt::next(&mut body),
    )
    .await
    .expect("a refresh without a new number reaches the page too")
    .expect("a chunk")
    .expect("bytes");
    let text = String::from_utf8_lossy(&next);
    let again = synced_at(&text).expect("synced_at");
    assert!(again > first_synced, "{first_synced} then {again}");
    let page = b.get(&format!("/okrs/{okr}")).await;
    assert!(
        page.text.contains(&format!(
            "<time data-ago data-okr-id=\"{okr}\" datetime=\"{again}\""
        )),
        "the page counts up from the synced time"
    );
    // Without a session there is no stream.
    let anonymous = h.call("GET", &format!("/live?ids={okr}"), None, None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

/// The text of every explain panel of a page, one string per panel.
fn explain_panels(html: &str) -> Vec<String> {
    html.split("<details class=\"explain\"")
        .skip(1)
        .map(|rest| {
            rest.split("</details>")
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bar_explains_its_numbers_and_the_items_add_up() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let period = period(&h).await;
    let b = Browser::sign_in(&h, &h.owner.email).await;
    let connection = h
        .gitlab_connection(&h.owner, "gitlab", true)
        .await
        .to_string();
    // Two closed issues (1 unit each), an open one whose two tasks are done
    // (2 of 2 units) and an open one without tasks (0 of 1): 4 of 5 units.
    let iids = milestone_with_issues(
        &h,
        "Explain",
        &[
            ("Closed one", ""),
            ("Closed two", ""),
            ("Tasks all done", "- [x] write\n- [x] review"),
            ("Still open", ""),
        ],
    )
    .await;
    for iid in &iids[..2] {
        h.control(
            "gitlab/issues/close",
            json!({"project": PROJECT, "iid": iid}),
        )
        .await;
    }
    let create = |body: serde_json::Value| {
        let h = &h;
        async move {
            let reply = h
                .call("POST", "/api/v1/okrs", Some(&h.owner.token), Some(body))
                .await;
            assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
            reply.body["id"].as_i64().expect("id")
        }
    };
    let objective = create(
        json!({"kind": "objective", "title": "Explained objective", "period_id": period,
        "measure": {"mode": "percent_complete"}, "progress_source": "roll_up"}),
    )
    .await;
    let linked = create(json!({"kind": "key_result", "title": "Linked result", "period_id": period, "parent_id": objective,
        "weight": 1.0, "measure": {"mode": "percent_complete"}, "progress_source": "data_link"}))
    .await;
    let by_hand = create(json!({"kind": "key_result", "title": "Checked-in result", "period_id": period, "parent_id": objective,
        "weight": 3.0, "measure": {"mode": "percent_complete"}, "progress_source": "check_in"}))
    .await;
    let reply = b
        .post(
            &format!("/okrs/{linked}/link/gitlab"),
            &[
                ("connection_id", &connection),
                ("project", PROJECT),
                ("milestone", "Explain"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text);
    let reply = b
        .post(&format!("/okrs/{by_hand}/check-ins"), &[("value", "20")])
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text);

    // The linked key result: its items in words, the units, the total row.
    let page = b.get(&format!("/okrs/{linked}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let panels = explain_panels(&page.text);
    assert_eq!(panels.len(), 1, "one bar, one panel");
    let panel = &panels[0];
    assert!(panel.contains("How is this calculated?"), "{panel}");
    assert!(
        panel.contains("From the 4 items its data link reads (GitLab issues of northwind/checkout · milestone “Explain”)"),
        "{panel}"
    );
    assert!(
        panel.contains("Done units over all units: 4 of 5 = 80 %."),
        "{panel}"
    );
    let today = chrono::Utc::now().date_naive();
    let (start, due) = (
        today - chrono::Duration::days(30),
        today + chrono::Duration::days(30),
    );
    assert!(
        panel.contains(&format!("of the 61 days from {start} to {due} have passed")),
        "{panel}"
    );
    assert!(
        panel.contains("80 % is at or above the expected ") && panel.contains(": on track."),
        "{panel}"
    );
    assert!(panel.contains("behind up to 25 points below it"), "{panel}");
    assert!(
        page.text
            .contains("open, but all 2 of its tasks are done: counts as done"),
        "{}",
        page.text
    );
    assert!(
        page.text
            .contains("4 of 5 units done = 80 % (4 of 4 items counted)"),
        "the total row: {}",
        page.text
    );

    // The objective: each child's weight, share and the points it adds.
    let page = b.get(&format!("/okrs/{objective}")).await;
    let panels = explain_panels(&page.text);
    assert_eq!(panels.len(), 3, "its bar and its two children's");
    let own = &panels[0];
    assert!(
        own.contains("Σ (weight × progress) ÷ Σ weight = 140 ÷ 4 = 35 %."),
        "(1 × 80 + 3 × 20) ÷ 4: {own}"
    );
    for (title, weight, share, adds) in [
        ("Linked result", "1", "25 %", "20 points"),
        ("Checked-in result", "3", "75 %", "15 points"),
    ] {
        let row = own
            .split("<tr>")
            .find(|r| r.contains(title))
            .unwrap_or_else(|| panic!("{title} in {own}"));
        for cell in [weight, share, adds] {
            assert!(row.contains(&format!(">{cell}</td>")), "{cell} in {row}");
        }
    }
    let checked_in = panels
        .iter()
        .find(|p| p.contains("The latest check-in"))
        .expect("the check-in result's panel");
    assert!(
        checked_in.contains("The latest check-in: 20 by"),
        "{checked_in}"
    );
    assert!(
        checked_in.contains("20 % is")
            && checked_in.contains("points below the expected")
            && checked_in.contains(": at risk."),
        "20 % against about 49 % expected: {checked_in}"
    );

    // The tree: a panel under every bar.
    let tree = b.get(&format!("/?period={period}")).await;
    assert_eq!(explain_panels(&tree.text).len(), 3, "{}", tree.text);
    assert!(tree.text.contains("140 ÷ 4 = 35 %"), "{}", tree.text);
}

/// Issue 18 item 6 without JavaScript: a key result not checked in on for
/// the period's cadence is marked "check-in due" on the tree and its page;
/// a check-in on a linked one takes a note and a confidence (no number,
/// no status) and clears the mark.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_due_check_in_is_marked_and_a_linked_key_result_takes_a_confidence() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let period = period(&h).await;
    let b = Browser::sign_in(&h, &h.owner.email).await;
    let kr = new_okr(
        &h,
        &h.owner.token,
        "key_result",
        "Linked and quiet",
        period,
        "data_link",
    )
    .await;
    // The period began 30 days ago; weekly, the first check-in was due 7
    // days after the start.
    let since = (chrono::Utc::now().date_naive() - chrono::Duration::days(23)).to_string();
    let due = format!("Check-in due since {since}");
    let tree = b.get(&format!("/?period={period}")).await;
    assert!(tree.text.contains(&due), "{}", tree.text);
    let page = b.get(&format!("/okrs/{kr}")).await;
    assert!(page.text.contains(&due), "{}", page.text);
    assert!(page.text.contains("id=\"confidence\""), "{}", page.text);
    assert!(
        !page.text.contains("id=\"value\"") && !page.text.contains("id=\"status_override\""),
        "no number and no status on a linked key result: {}",
        page.text
    );

    // Nothing said: refused with the note named, nothing saved.
    let refused = b
        .post(&format!("/okrs/{kr}/check-ins"), &[("note", "")])
        .await;
    refused_at(&refused, "note");
    assert!(refused.text.contains(&due));

    let reply = b
        .post(
            &format!("/okrs/{kr}/check-ins"),
            &[("note", "waiting on review"), ("confidence", "behind")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text);
    let page = b.get(&format!("/okrs/{kr}")).await;
    assert!(page.text.contains("confidence: behind"), "{}", page.text);
    assert!(page.text.contains("waiting on review"), "{}", page.text);
    assert!(!page.text.contains("Check-in due since"), "{}", page.text);
    let tree = b.get(&format!("/?period={period}")).await;
    assert!(!tree.text.contains("Check-in due since"), "{}", tree.text);
}

/// Issue 18 item 5: the dashboard works without JavaScript, and every
/// entry links to the place to act, which shows what the entry says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_links_each_entry_to_the_place_to_act() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let s = common::dashboard_scenario(&h).await;
    let b = Browser::sign_in(&h, &h.owner.email).await;
    let page = b.get(&format!("/dashboard?period={}", s.period)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let html = &page.text;
    let p = s.period;
    let team = s.team;
    for expected in [
        // The team's row and its one done key result, then the OKRs no team owns.
        format!("<a href=\"/?view=all&#38;period={p}&#38;team={team}\">Platform</a>"),
        format!("<a href=\"/?view=all&#38;period={p}&#38;team={team}&#38;status=done\">1</a>"),
        format!("<a href=\"/?view=all&#38;period={p}&#38;status=on_track\">2</a>"),
        "No team".to_owned(),
        // The key result that moved, from what to what.
        format!("<a href=\"/okrs/{}\">Cut build time</a>", s.moved),
        "On track</span> → <span class=\"status-label status-text-done\">Done".to_owned(),
        // The stale link, why, and the failing connection.
        format!("<a href=\"/okrs/{}#link\">Ship it</a>", s.linked),
        "the last refresh failed: GitLab rejected the credentials (401)".to_owned(),
        format!(
            "<a href=\"/connections/{}\">Owner&#39;s GitLab</a>",
            s.connection
        ),
        "1 key result of this period reads through it".to_owned(),
        // The check-in due.
        format!("<a href=\"/okrs/{}#check-ins\">Ship it</a>", s.linked),
    ] {
        assert!(html.contains(&expected), "{expected} in {html}");
    }
    assert!(
        !html.contains("Answer every ticket</a>"),
        "the steady key result is not listed: {html}"
    );

    // Each link leads to a page showing what the dashboard said.
    let tree = b
        .get(&format!("/?view=all&period={p}&team={team}&status=done"))
        .await;
    assert!(
        tree.text.contains("Cut build time") && !tree.text.contains("Answer every ticket"),
        "{}",
        tree.text
    );
    let okr = b.get(&format!("/okrs/{}", s.linked)).await;
    assert!(
        okr.text.contains("id=\"link\"") && okr.text.contains("⚠ Stale"),
        "{}",
        okr.text
    );
    assert!(okr.text.contains("id=\"check-ins\""), "{}", okr.text);
    let connection = b.get(&format!("/connections/{}", s.connection)).await;
    assert!(connection.text.contains("401"), "{}", connection.text);

    // Another member does not see the owner's connection; the rest is the same.
    let other = Browser::sign_in(&h, &h.other.email).await;
    let page = other.get(&format!("/dashboard?period={p}")).await;
    assert!(
        page.text.contains("No connection you can see is failing."),
        "{}",
        page.text
    );
    assert!(page.text.contains("Cut build time"), "{}", page.text);

    // A period with nothing in it says so in each section.
    let empty = h
        .call(
            "POST",
            "/api/v1/periods",
            Some(&h.admin.token),
            Some(json!({"name": "Later", "starts_on": "2031-01-01", "ends_on": "2031-03-31"})),
        )
        .await;
    let empty = empty.body["id"].as_i64().expect("period");
    let page = other.get(&format!("/dashboard?period={empty}")).await;
    for said in [
        "No key result changed status since",
        "Every linked key result's number is from its latest refresh.",
        "No check-in is due.",
    ] {
        assert!(page.text.contains(said), "{said} in {}", page.text);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jira_preview_works_without_javascript() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let period = period(&h).await;
    let b = Browser::sign_in(&h, &h.owner.email).await;
    let jira = h
        .call(
            "POST",
            "/api/v1/connections",
            Some(&h.owner.token),
            Some(json!({"kind": "jira", "name": "jira", "base_url": h.sim.jira_url(), "auth_kind": "basic",
                   "username": cairn_sim::DEFAULT_JIRA_EMAIL, "secret": cairn_sim::DEFAULT_JIRA_API_TOKEN, "shared": true})),
        )
        .await
        .body["id"]
        .as_i64()
        .expect("jira")
        .to_string();
    let okr = new_okr(
        &h,
        &h.owner.token,
        "key_result",
        "From Jira",
        period,
        "data_link",
    )
    .await;
    let page = b.get(&format!("/okrs/{okr}/link")).await;
    assert!(
        page.text.contains("Story points"),
        "metrics from the connection"
    );
    let preview = b
        .post(
            &format!("/okrs/{okr}/link/jira"),
            &[
                ("connection_id", &jira),
                ("jql", "project = OPS"),
                ("metric", "count"),
                ("action", "preview"),
            ],
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.text);
    assert!(preview.text.contains("tickets match"), "{}", preview.text);
    let refused = b
        .post(
            &format!("/okrs/{okr}/link/jira"),
            &[
                ("connection_id", &jira),
                ("jql", "project = = AE"),
                ("metric", "count"),
                ("action", "preview"),
            ],
        )
        .await;
    refused_at(&refused, "jql");
    assert!(refused.text.contains("project = = AE"), "the JQL is kept");
    let saved = b
        .post(
            &format!("/okrs/{okr}/link/jira"),
            &[
                ("connection_id", &jira),
                ("jql", "project = OPS"),
                ("metric", "count"),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    let page = b.get(&format!("/okrs/{okr}")).await;
    assert!(page.text.contains("class=\"icon jira\""));
}

/// The text right inside the first element with `class` (up to the next
/// tag), or "" when there is none.
fn text_of(html: &str, class: &str) -> String {
    let marker = format!("class=\"{class}\">");
    html.find(&marker)
        .map(|i| &html[i + marker.len()..])
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_default()
        .trim()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hook_setup_shows_url_events_health_and_enables_real_time() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let gitlab = h.gitlab_connection(&h.admin, "sim gitlab", true).await;
    let jira = shared_jira(&h, &h.admin.token, "sim jira").await;

    // Members do not set hooks up.
    let member = Browser::sign_in(&h, &h.other.email).await;
    assert_eq!(
        member.get("/admin/hooks").await.status,
        StatusCode::FORBIDDEN
    );
    let refused = member
        .post(&format!("/admin/hooks/{gitlab}/secret"), &[])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let b = Browser::sign_in(&h, &h.admin.email).await;
    let page = b.get("/admin/hooks").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let url = format!("http://{HOST}/hooks/gitlab/{gitlab}");
    assert!(page.text.contains(&url), "{}", page.text);
    assert!(
        page.text
            .contains(&format!("http://{HOST}/hooks/jira/{jira}"))
    );
    assert!(
        page.text.contains("issues_events"),
        "GitLab's events to tick"
    );
    assert!(page.text.contains("jira:issue_updated"), "Jira's events");
    assert!(page.text.contains("not set"), "no secret yet");
    assert_eq!(text_of(&page.text, "last-delivery"), "never");
    assert!(
        page.text
            .contains(&format!("<label for=\"projects-{gitlab}\">"))
    );

    // Without the CSRF token nothing is enabled and no secret made.
    let forged = b
        .post_raw(
            &format!("/admin/hooks/{gitlab}/enable"),
            &[("projects", PROJECT)],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    // No key result reads a project yet and none is named: the error sits
    // next to the field, and nothing is registered.
    let reply = b
        .post(
            &format!("/admin/hooks/{gitlab}/enable"),
            &[("projects", " ")],
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text
    );
    assert!(
        reply
            .text
            .contains(&format!("id=\"projects-{gitlab}-error\"")),
        "{}",
        reply.text
    );
    assert!(reply.text.contains("aria-invalid=\"true\""));
    assert!(
        reply
            .text
            .contains(&format!("<a href=\"#projects-{gitlab}\">Projects: ")),
        "the summary links to the card's field: {}",
        reply.text
    );

    // A project GitLab does not know: by hand, with the input kept, the
    // URL, the events and the secret generated (shown this once).
    let reply = b
        .post(
            &format!("/admin/hooks/{gitlab}/enable"),
            &[("projects", "northwind/nope")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.headers["cache-control"], "no-store");
    assert!(reply.text.contains("value=\"northwind/nope\""));
    assert!(reply.text.contains("class=\"by-hand\""), "{}", reply.text);
    let first_secret = text_of(&reply.text, "hook-secret");
    assert!(first_secret.len() >= 32, "{}", reply.text);

    // The real project: registered in the simulated GitLab, once.
    let reply = b
        .post(
            &format!("/admin/hooks/{gitlab}/enable"),
            &[("projects", PROJECT)],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert!(
        reply.text.contains("class=\"registered\""),
        "{}",
        reply.text
    );
    assert!(reply.text.contains("created"), "{}", reply.text);
    assert!(
        !reply.text.contains(&first_secret),
        "the secret is shown once"
    );
    let hooks = h
        .gitlab("GET", "/projects/northwind%2Fcheckout/hooks", None)
        .await;
    assert_eq!(
        hooks
            .as_array()
            .expect("hooks")
            .iter()
            .filter(|hook| hook["url"] == url.as_str())
            .count(),
        1,
        "{hooks}"
    );

    // A delivery signed with the secret shows in the health.
    let delivered = h
        .send(
            Request::post(format!("/hooks/gitlab/{gitlab}"))
                .header("content-type", "application/json")
                .header("x-gitlab-token", &first_secret)
                .header("x-gitlab-event", "Issue Hook")
                .body(Body::from("{}"))
                .expect("request"),
        )
        .await;
    assert!(delivered.status.is_success(), "{}", delivered.text);
    let page = b.get("/admin/hooks").await;
    assert_ne!(
        text_of(&page.text, "last-delivery"),
        "never",
        "{}",
        page.text
    );
    assert_eq!(text_of(&page.text, "deliveries-today"), "1");
    assert!(!page.text.contains(&first_secret), "never shown again");

    // A new secret on request: shown once, the old one no longer accepted.
    let rotated = b.post(&format!("/admin/hooks/{gitlab}/secret"), &[]).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);
    assert_eq!(rotated.headers["cache-control"], "no-store");
    let second_secret = text_of(&rotated.text, "hook-secret");
    assert!(second_secret.len() >= 32 && second_secret != first_secret);
    let stale = h
        .send(
            Request::post(format!("/hooks/gitlab/{gitlab}"))
                .header("content-type", "application/json")
                .header("x-gitlab-token", &first_secret)
                .header("x-gitlab-event", "Issue Hook")
                .body(Body::from("{}"))
                .expect("request"),
        )
        .await;
    assert!(stale.status.is_client_error(), "{}", stale.text);
}

/// The admin's time page: the source with the token's role per project,
/// refusals next to their field with the input kept, bulk connect with the
/// matches shown before anything is saved, development links on and off,
/// and disconnecting a person only after a page that says what goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_tracking_page_sets_the_source_connects_people_and_links() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let gitlab = h.gitlab_connection(&h.admin, "sim gitlab", true).await;
    let jira = shared_jira(&h, &h.admin.token, "sim jira").await;
    let alice = h
        .state
        .accounts
        .create_user(
            None,
            "amartin@corp.example",
            "Alice Martin",
            cairn_core::authz::Role::Member,
            PASSWORD,
            chrono::Utc::now(),
        )
        .await
        .expect("alice");
    let member = Browser::sign_in(&h, &h.other.email).await;
    assert_eq!(
        member.get("/admin/time").await.status,
        StatusCode::FORBIDDEN
    );

    let b = Browser::sign_in(&h, &h.admin.email).await;
    let (gitlab_s, jira_s, alice_s) = (gitlab.to_string(), jira.to_string(), alice.id.to_string());
    let source = |rounding: &'static str| {
        vec![
            ("connection_id", gitlab_s.clone()),
            ("jira_connection_id", jira_s.clone()),
            ("projects", PROJECT.to_owned()),
            ("session_gap_minutes", "90".to_owned()),
            ("lead_in_minutes", "30".to_owned()),
            ("rounding_minutes", rounding.to_owned()),
            ("daily_target_minutes", "480".to_owned()),
        ]
    };
    let refused = b
        .post(
            "/admin/time/source",
            &source("7")
                .iter()
                .map(|(k, v)| (*k, v.as_str()))
                .collect::<Vec<_>>(),
        )
        .await;
    refused_at(&refused, "rounding_minutes");
    assert!(
        refused.text.contains(&format!("value=\"{PROJECT}\"")),
        "input kept"
    );
    assert!(
        b.get("/admin/time")
            .await
            .text
            .contains("Save the activity source")
    );
    assert!(
        h.state
            .store
            .get_time_source()
            .await
            .expect("read")
            .is_none(),
        "nothing saved"
    );

    let saved = b
        .post(
            "/admin/time/source",
            &source("15")
                .iter()
                .map(|(k, v)| (*k, v.as_str()))
                .collect::<Vec<_>>(),
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    let page = b.get("/admin/time?done=source").await;
    assert!(
        page.text.contains("The activity source is saved."),
        "{}",
        page.text
    );
    assert!(
        page.text
            .contains(&format!("<th scope=\"row\">{PROJECT}</th>"))
            && page.text.contains("Cairn can register it"),
        "{}",
        page.text
    );

    // Bulk connect: the match is shown (by username), nothing saved yet.
    let matched = b
        .post("/admin/time/match", &[("user", alice_s.as_str())])
        .await;
    assert_eq!(matched.status, StatusCode::OK, "{}", matched.text);
    assert!(
        matched
            .text
            .contains("GitLab <strong>amartin</strong> (matched by username)"),
        "{}",
        matched.text
    );
    assert!(
        h.state
            .store
            .list_time_people()
            .await
            .expect("people")
            .is_empty()
    );
    let gitlab_user = |name: &str| {
        h.sim
            .with_world(|w| w.gitlab.user_by_name(name).map(|u| u.id))
            .expect("sim user")
            .to_string()
    };
    let amartin = gitlab_user("amartin");
    let (id_field, name_field, by_field) = (
        format!("gitlab_user_id_{}", alice.id),
        format!("gitlab_username_{}", alice.id),
        format!("matched_by_{}", alice.id),
    );
    let connected = b
        .post(
            "/admin/time/people",
            &[
                ("connect", alice_s.as_str()),
                (id_field.as_str(), amartin.as_str()),
                (name_field.as_str(), "amartin"),
                (by_field.as_str(), "username"),
                ("time_zone", "Europe/Berlin"),
            ],
        )
        .await;
    assert_eq!(
        connected.status,
        StatusCode::SEE_OTHER,
        "{}",
        connected.text
    );
    let page = b.get("/admin/time?done=people&n=1").await;
    assert!(page.text.contains("1 person connected."), "{}", page.text);
    assert!(page.text.contains("Europe/Berlin") && page.text.contains("by username"));

    // Development links for the two connections; off again.
    let on = b
        .post(
            "/admin/time/dev-links",
            &[
                ("gitlab_connection_id", gitlab_s.as_str()),
                ("jira_connection_id", jira_s.as_str()),
                ("comment", "on"),
            ],
        )
        .await;
    assert_eq!(on.status, StatusCode::SEE_OTHER, "{}", on.text);
    let pairs = h.state.store.list_dev_link_pairs().await.expect("pairs");
    assert_eq!(pairs.len(), 1);
    assert!(pairs[0].links.comment && !pairs[0].links.transition);
    let page = b.get("/admin/time?done=links").await;
    assert!(page.text.contains("Development links are saved."));
    let wrong = b
        .post(
            "/admin/time/dev-links",
            &[
                ("gitlab_connection_id", jira_s.as_str()),
                ("jira_connection_id", jira_s.as_str()),
            ],
        )
        .await;
    refused_at(&wrong, "gitlab_connection_id");
    assert!(
        wrong.text.contains("<a href=\"#dl-gitlab\">"),
        "{}",
        wrong.text
    );
    let off = b
        .post(
            &format!("/admin/time/dev-links/{}/delete", pairs[0].id),
            &[],
        )
        .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER);
    assert!(
        h.state
            .store
            .list_dev_link_pairs()
            .await
            .expect("pairs")
            .is_empty()
    );

    // Disconnecting asks first and says what goes.
    let ask = b
        .get(&format!("/admin/time/people/{}/disconnect", alice.id))
        .await;
    assert_eq!(ask.status, StatusCode::OK);
    assert!(
        ask.text
            .contains("Disconnect Alice Martin from GitLab account amartin?"),
        "{}",
        ask.text
    );
    assert!(
        ask.text
            .contains("activity and pending suggestions are deleted")
    );
    assert_eq!(
        h.state
            .store
            .list_time_people()
            .await
            .expect("people")
            .len(),
        1,
        "asking changes nothing"
    );
    let gone = b
        .post(&format!("/admin/time/people/{}/disconnect", alice.id), &[])
        .await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    assert!(
        h.state
            .store
            .list_time_people()
            .await
            .expect("people")
            .is_empty()
    );
    let ask = b.get("/admin/time/disconnect").await;
    assert!(
        ask.text
            .contains("the project hooks Cairn registered are removed"),
        "{}",
        ask.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notification_channels_are_added_tested_subscribed_and_their_notices_dismissed() {
    let h = Harness::new(cairn_store::Backend::Sqlite)
        .await
        .with_loopback_notify(NotifySettings::default().disable_after);
    let receiver = Receiver::start().await;
    let hook_path = "/private-token-path";
    let url = receiver.url(hook_path);
    let period = period(&h).await;
    let objective = new_okr(
        &h,
        &h.admin.token,
        "objective",
        "Grow <fast>",
        period,
        "check_in",
    )
    .await
    .to_string();

    // Members neither see nor change channels.
    let member = Browser::sign_in(&h, &h.other.email).await;
    assert_eq!(
        member.get("/admin/notifications").await.status,
        StatusCode::FORBIDDEN
    );
    let fields = [("name", "Ops"), ("kind", "webhook"), ("url", url.as_str())];
    let refused = member.post("/admin/notifications", &fields).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    // Without the CSRF token nothing is saved.
    let b = Browser::sign_in(&h, &h.admin.email).await;
    let forged = b.post_raw("/admin/notifications", &fields).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(count(&h, "/api/v1/channels").await, 0);

    // An internal address: the form comes back as typed with the error
    // next to the URL, and nothing is saved.
    let metadata = "http://169.254.169.254/latest/meta-data";
    let reply = b
        .post(
            "/admin/notifications",
            &[("name", "Metadata"), ("kind", "webhook"), ("url", metadata)],
        )
        .await;
    refused_at(&reply, "url");
    assert!(reply.text.contains(&format!("value=\"{metadata}\"")));
    assert!(reply.text.contains("value=\"Metadata\""));
    assert!(reply.text.contains("aria-invalid=\"true\""));
    assert_eq!(count(&h, "/api/v1/channels").await, 0);

    // A signed webhook to the local receiver: its secret is shown once.
    let created = b
        .post(
            "/admin/notifications",
            &[("name", "Ops <team>"), ("kind", "webhook"), ("url", &url)],
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    assert_eq!(created.headers["cache-control"], "no-store");
    let secret = text_of(&created.text, "channel-secret");
    assert!(secret.starts_with("whsec_"), "{}", created.text);
    assert!(created.text.contains("Ops &#60;team&#62;"), "escaped");
    let id = h
        .call("GET", "/api/v1/channels", Some(&h.admin.token), None)
        .await
        .body[0]["id"]
        .as_i64()
        .expect("channel");
    let channel_path = format!("/admin/notifications/{id}");
    let again = b.get(&channel_path).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert!(!again.text.contains(&secret), "the secret is shown once");
    let list = b.get("/admin/notifications").await;
    assert!(
        list.text.contains(&receiver.address.to_string()),
        "the host"
    );
    assert!(!list.text.contains(hook_path), "never the URL's path");
    assert!(!list.text.contains(&secret));

    // A test message reaches the receiver; the page shows the attempt.
    let tested = b.post(&format!("{channel_path}/test"), &[]).await;
    assert_eq!(tested.status, StatusCode::OK, "{}", tested.text);
    assert!(tested.text.contains("id=\"test-outcome\""));
    assert!(
        tested.text.contains("The test message arrived"),
        "{}",
        tested.text
    );
    assert_eq!(receiver.received(hook_path).len(), 1);

    // A subscription to an OKR that does not exist is refused next to
    // the field, with the ticks kept; then a real one is listed.
    let refused = b
        .post(
            &format!("{channel_path}/subscriptions"),
            &[("okr_id", "999999"), ("events", "link_stale")],
        )
        .await;
    refused_at(&refused, "okr_id");
    assert!(refused.text.contains("value=\"link_stale\" checked"));
    assert!(!refused.text.contains("value=\"target_reached\" checked"));
    let subscribed = b
        .post(
            &format!("{channel_path}/subscriptions"),
            &[
                ("okr_id", &objective),
                ("include_subtree", "on"),
                ("events", "status_changed"),
                ("events", "target_reached"),
            ],
        )
        .await;
    assert_eq!(
        subscribed.status,
        StatusCode::SEE_OTHER,
        "{}",
        subscribed.text
    );
    let page = b.get(&channel_path).await;
    assert!(
        page.text.contains("Grow &#60;fast&#62; and its sub-OKRs"),
        "{}",
        page.text
    );
    assert!(page.text.contains("Status changed, Target reached"));
    let subscriptions = h
        .call("GET", "/api/v1/subscriptions", Some(&h.admin.token), None)
        .await
        .body;
    assert_eq!(subscriptions.as_array().map(Vec::len), Some(1));
    assert_eq!(
        subscriptions[0]["events"],
        json!(["status_changed", "target_reached"])
    );

    // A new secret on request, shown once.
    let rotated = b.post(&format!("{channel_path}/secret"), &[]).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);
    assert_eq!(rotated.headers["cache-control"], "no-store");
    let second = text_of(&rotated.text, "channel-secret");
    assert!(second.starts_with("whsec_") && second != secret);

    // A channel disabled by a 410: its notice shows on the admin pages
    // until dismissed.
    let now = chrono::Utc::now();
    let mut tx = h.state.store.begin().await.expect("tx");
    tx.disable_channel(id, "answered 410 Gone", now)
        .await
        .expect("disable");
    tx.insert_notice(
        "The notification channel “Ops” was disabled: answered 410 Gone.",
        now,
    )
    .await
    .expect("notice");
    tx.commit().await.expect("commit");
    let users = b.get("/admin/users").await;
    assert!(
        users.text.contains("class=\"notice-text\""),
        "{}",
        users.text
    );
    assert!(users.text.contains("was disabled: answered 410 Gone"));
    let page = b.get(&channel_path).await;
    assert!(page.text.contains("answered 410 Gone"));
    assert!(page.text.contains(">Enable</button>"));
    let notice = h
        .call("GET", "/api/v1/notices", Some(&h.admin.token), None)
        .await
        .body[0]["id"]
        .as_i64()
        .expect("notice");
    let dismissed = b
        .post(
            &format!("/admin/notices/{notice}/dismiss"),
            &[("back", "/admin/users")],
        )
        .await;
    assert_eq!(
        dismissed.status,
        StatusCode::SEE_OTHER,
        "{}",
        dismissed.text
    );
    assert_eq!(dismissed.headers["location"], "/admin/users");
    let users = b.get("/admin/users").await;
    assert!(!users.text.contains("class=\"notice-text\""));
    let elsewhere = b
        .post(
            &format!("/admin/notices/{notice}/dismiss"),
            &[("back", "https://evil.example/")],
        )
        .await;
    assert_eq!(elsewhere.status, StatusCode::NOT_FOUND, "dismissed already");

    // Pointed at a new URL: an internal one is refused next to the field
    // with the input kept and nothing changed; the receiver's new path is
    // taken and the next test message goes there.
    let edit_path = format!("{channel_path}/edit");
    let refused = b
        .post(&edit_path, &[("name", "Ops renamed"), ("url", metadata)])
        .await;
    refused_at(&refused, "url");
    assert!(refused.text.contains("value=\"Ops renamed\""));
    assert!(refused.text.contains(&format!("value=\"{metadata}\"")));
    let unchanged = h
        .call(
            "GET",
            &format!("/api/v1/channels/{id}"),
            Some(&h.admin.token),
            None,
        )
        .await
        .body;
    assert_eq!(unchanged["name"], "Ops <team>", "nothing half-saved");
    let moved = receiver.url("/moved-path");
    let edited = b
        .post(&edit_path, &[("name", "Ops renamed"), ("url", &moved)])
        .await;
    assert_eq!(edited.status, StatusCode::SEE_OTHER, "{}", edited.text);
    // Renamed with the URL left empty: the URL stays.
    let renamed = b.post(&edit_path, &[("name", "Ops"), ("url", "")]).await;
    assert_eq!(renamed.status, StatusCode::SEE_OTHER, "{}", renamed.text);
    let page = b.get(&channel_path).await;
    assert!(page.text.contains("channel “Ops”"), "{}", page.text);
    assert!(
        !page.text.contains("/moved-path"),
        "the URL's path is never shown"
    );

    // Enabled again, then deleted after the confirmation page.
    let enabled = b
        .post(&format!("{channel_path}/enabled"), &[("enabled", "true")])
        .await;
    assert_eq!(enabled.status, StatusCode::SEE_OTHER);
    assert!(
        b.get(&channel_path)
            .await
            .text
            .contains(">Disable</button>")
    );
    let tested = b.post(&format!("{channel_path}/test"), &[]).await;
    assert!(
        tested.text.contains("The test message arrived"),
        "{}",
        tested.text
    );
    assert_eq!(receiver.received("/moved-path").len(), 1, "the new URL");
    assert_eq!(receiver.received(hook_path).len(), 1, "not the old one");
    let confirm = b.get(&format!("{channel_path}/delete")).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.text);
    assert!(confirm.text.contains("1 subscription(s)"));
    assert_eq!(
        count(&h, "/api/v1/channels").await,
        1,
        "asking deletes nothing"
    );
    let deleted = b.post(&format!("{channel_path}/delete"), &[]).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert_eq!(count(&h, "/api/v1/channels").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_streams_ends_open_live_pages_for_a_graceful_shutdown() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let period = period(&h).await;
    let okr = new_okr(&h, &h.admin.token, "key_result", "Ship", period, "check_in").await;
    let b = Browser::sign_in(&h, &h.admin.email).await;
    let open = || {
        tower::ServiceExt::oneshot(
            h.app.clone(),
            Request::get(format!("/live?ids={okr}"))
                .header("cookie", &b.cookie)
                .body(Body::empty())
                .expect("request"),
        )
    };
    let response = open().await.expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body().into_data_stream();
    let first = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        futures_util::StreamExt::next(&mut body),
    )
    .await
    .expect("the first event at once");
    assert!(first.is_some_and(|chunk| chunk.is_ok()));

    h.state.stop_streams();
    // The open stream ends (well before its five minutes) ...
    let rest = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while let Some(chunk) = futures_util::StreamExt::next(&mut body).await {
            chunk.expect("bytes");
        }
    })
    .await;
    assert!(rest.is_ok(), "the stream ended when told to");
    // ... and one opened afterwards ends at once, without an event.
    let late = open().await.expect("response");
    let mut late = late.into_body().into_data_stream();
    let ended = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        futures_util::StreamExt::next(&mut late),
    )
    .await
    .expect("no wait");
    assert!(ended.is_none(), "{ended:?}");
}

/// Every `(METHOD, path)` the web crate's source routes with `.route(...)`:
/// the pages, sign-in and sign-out, the OpenAPI document and `/metrics`
/// (the API's operations are in the OpenAPI document; `authz.rs` has them).
fn routes_in_source() -> BTreeSet<(String, String)> {
    let mut files = vec![std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")];
    let mut routes = BTreeSet::new();
    while let Some(path) = files.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).expect("read_dir") {
                files.push(entry.expect("entry").path());
            }
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("source");
        for (start, _) in source.match_indices(".route(") {
            let rest = source[start + ".route(".len()..].trim_start();
            let Some(rest) = rest.strip_prefix('"') else {
                panic!("{}: a route whose path is not a literal", path.display());
            };
            let (route, rest) = rest.split_once('"').expect("the path literal ends");
            // The rest of the call, up to its closing parenthesis.
            let mut depth = 1;
            let mut end = rest.len();
            for (i, c) in rest.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    end = i;
                    break;
                }
            }
            let call = &rest[..end];
            let mut methods = 0;
            for method in ["get", "post", "put", "delete", "patch"] {
                let called = call.match_indices(&format!("{method}(")).any(|(i, _)| {
                    i == 0 || !call[..i].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                });
                if called {
                    routes.insert((method.to_ascii_uppercase(), route.to_owned()));
                    methods += 1;
                }
            }
            assert!(methods > 0, "{route}: no method found in {call}");
        }
    }
    routes
}

/// The route template a request path falls under (the one with the most
/// literal segments).
fn route_of<'a>(
    routes: &'a BTreeSet<(String, String)>,
    method: &str,
    path: &str,
) -> Option<&'a str> {
    let segments: Vec<&str> = path.split('?').next().unwrap_or(path).split('/').collect();
    routes
        .iter()
        .filter(|(m, _)| m == method)
        .filter_map(|(_, template)| {
            let parts: Vec<&str> = template.split('/').collect();
            if parts.len() != segments.len() {
                return None;
            }
            let mut literal = 0;
            for (part, segment) in parts.iter().zip(&segments) {
                if part.starts_with('{') {
                    if segment.is_empty() {
                        return None;
                    }
                } else if part == segment {
                    literal += 1;
                } else {
                    return None;
                }
            }
            Some((literal, template.as_str()))
        })
        .max_by_key(|(literal, _)| *literal)
        .map(|(_, template)| template)
}

/// The pages for anonymous, another member, the owner and an admin, each
/// signed in through the form; every call remembers its route.
struct Pages<'a> {
    h: &'a Harness,
    browsers: [Option<Browser<'a>>; 4],
    routes: BTreeSet<(String, String)>,
    covered: BTreeSet<(String, String)>,
    /// Answers other than the row's, all reported at the end.
    wrong: Vec<String>,
}

/// Anonymous, another member, the owner, an admin.
const CALLERS: [&str; 4] = ["anonymous", "another member", "the owner", "an admin"];

impl<'a> Pages<'a> {
    async fn new(h: &'a Harness) -> Pages<'a> {
        let routes = routes_in_source();
        assert!(routes.len() > 40, "{routes:?}");
        Pages {
            h,
            browsers: [
                None,
                Some(Browser::sign_in(h, &h.other.email).await),
                Some(Browser::sign_in(h, &h.owner.email).await),
                Some(Browser::sign_in(h, &h.admin.email).await),
            ],
            routes,
            covered: BTreeSet::new(),
            wrong: Vec::new(),
        }
    }

    /// One request as caller `who` (forms with the caller's CSRF token),
    /// which must answer `expect`; a 303 to the sign-in page is how
    /// anonymous callers are turned away.
    async fn check(
        &mut self,
        who: usize,
        method: &str,
        path: &str,
        fields: &[(&str, &str)],
        expect: u16,
    ) -> Reply {
        let template = route_of(&self.routes, method, path)
            .unwrap_or_else(|| panic!("{method} {path}: no such route in the source"));
        self.covered
            .insert((method.to_owned(), template.to_owned()));
        let reply = match (&self.browsers[who], method) {
            (Some(browser), "GET") => browser.get(path).await,
            (Some(browser), _) => browser.post(path, fields).await,
            (None, "GET") => {
                self.h
                    .send(
                        Request::get(path)
                            .header("host", HOST)
                            .body(Body::empty())
                            .expect("request"),
                    )
                    .await
            }
            (None, _) => {
                self.h
                    .send(
                        Request::post(path)
                            .header("host", HOST)
                            .header("content-type", "application/x-www-form-urlencoded")
                            .body(Body::from(
                                serde_urlencoded::to_string(fields).expect("form"),
                            ))
                            .expect("request"),
                    )
                    .await
            }
        };
        if reply.status.as_u16() != expect {
            let excerpt: String = reply.text.chars().take(300).collect();
            self.wrong.push(format!(
                "{method} {path} as {}: {} (expected {expect}) {excerpt}",
                CALLERS[who], reply.status
            ));
            return reply;
        }
        if who == 0 && expect == 303 {
            assert_eq!(reply.headers["location"], "/login", "{method} {path}");
        }
        if reply.status == StatusCode::NOT_FOUND {
            assert!(
                !reply.text.contains("owner's"),
                "a 404 reveals nothing: {}",
                reply.text
            );
        }
        reply
    }

    async fn row(&mut self, method: &str, path: &str, fields: &[(&str, &str)], expect: [u16; 4]) {
        for (who, expect) in expect.into_iter().enumerate() {
            self.check(who, method, path, fields, expect).await;
        }
    }

    /// A GET whose answer is a stream: only the status is read.
    async fn stream_row(&mut self, path: &str, expect: [u16; 4]) {
        let template = route_of(&self.routes, "GET", path).expect("route");
        self.covered.insert(("GET".to_owned(), template.to_owned()));
        for (who, expect) in expect.into_iter().enumerate() {
            let mut request = Request::get(path).header("host", HOST);
            if let Some(browser) = &self.browsers[who] {
                request = request.header("cookie", &browser.cookie);
            }
            let response = self
                .h
                .app
                .clone()
                .oneshot(request.body(Body::empty()).expect("request"))
                .await
                .expect("response");
            if response.status().as_u16() != expect {
                self.wrong.push(format!(
                    "GET {path} as {}: {} (expected {expect})",
                    CALLERS[who],
                    response.status()
                ));
            }
        }
    }

    /// Every route of the source has been called: a page added without
    /// rows here fails the test.
    fn assert_every_route_covered(&self) {
        assert!(self.wrong.is_empty(), "{:#?}", self.wrong);
        let missing: Vec<_> = self.routes.difference(&self.covered).collect();
        assert!(
            missing.is_empty(),
            "routes without rows in the page matrix: {missing:?}"
        );
    }
}

/// Owner's things for the page matrix.
async fn owners_connection(h: &Harness, name: &str, shared: bool) -> i64 {
    h.gitlab_connection(&h.owner, name, shared).await
}

async fn admins_channel(h: &Harness, name: &str) -> i64 {
    let reply = h
        .call(
            "POST",
            "/api/v1/channels",
            Some(&h.admin.token),
            Some(json!({"name": name, "kind": "slack", "url": "https://hooks.invalid/pages"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.body["id"].as_i64().expect("channel")
}

async fn owners_token(h: &Harness) -> i64 {
    let reply = h
        .call(
            "POST",
            "/api/v1/me/tokens",
            Some(&h.owner.token),
            Some(json!({"name": "doomed"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.body["token"]["id"].as_i64().expect("token")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_route_for_every_kind_of_caller() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let period = period(&h).await;
    let private = owners_connection(&h, "owner's private", false).await;
    let shared = owners_connection(&h, "owner's shared", true).await;
    let okr = new_okr(
        &h,
        &h.owner.token,
        "key_result",
        "Owned",
        period,
        "check_in",
    )
    .await;
    let linked = new_okr(
        &h,
        &h.owner.token,
        "key_result",
        "Linked",
        period,
        "data_link",
    )
    .await;
    let reply = h
        .call(
            "PUT",
            &format!("/api/v1/okrs/{linked}/link"),
            Some(&h.owner.token),
            Some(json!({"tracker": "gitlab", "connection_id": shared, "project": PROJECT})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let jira = shared_jira(&h, &h.owner.token, "owner's jira").await;
    let channel = admins_channel(&h, "pages").await;
    let signed = {
        let reply = h
            .call(
                "POST",
                "/api/v1/channels",
                Some(&h.admin.token),
                Some(json!({"name": "signed", "kind": "webhook", "url": "https://hooks.invalid/signed"})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply.body["id"].as_i64().expect("channel")
    };
    let subscription = {
        let reply = h
            .call(
                "POST",
                "/api/v1/subscriptions",
                Some(&h.admin.token),
                Some(json!({"channel_id": channel})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply.body["id"].as_i64().expect("subscription")
    };
    let gitlab_url = h.sim.gitlab_url();
    let other_id = h.other.id;
    let other_s = other_id.to_string();
    let new_team = |name: &'static str| {
        let h = &h;
        async move {
            let reply = h
                .call(
                    "POST",
                    "/api/v1/teams",
                    Some(&h.admin.token),
                    Some(json!({"name": name})),
                )
                .await;
            assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
            reply.body["id"].as_i64().expect("team")
        }
    };
    let team = new_team("Platform").await;
    let doomed_team = new_team("Doomed").await;
    let mut m = Pages::new(&h).await;
    let period_s = period.to_string();
    let okr_fields = [
        ("kind", "key_result"),
        ("title", "Edited"),
        ("period_id", period_s.as_str()),
        ("measure", "percent_complete"),
        ("progress_source", "check_in"),
    ];
    let shared_s = shared.to_string();
    let jira_s = jira.to_string();
    let pair = {
        let reply = h
            .call(
                "POST",
                "/api/v1/sync-pairs",
                Some(&h.owner.token),
                Some(json!({"name": "checkout <-> OPS", "left": {"connection_id": shared, "project": PROJECT},
                    "right": {"connection_id": jira, "project": "OPS"}, "active": false})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply.body["id"].as_i64().expect("pair")
    };

    // Reading.
    let gets: Vec<(String, [u16; 4])> = vec![
        ("/".to_owned(), [303, 200, 200, 200]),
        ("/static/cairn.css".to_owned(), [200, 200, 200, 200]),
        ("/static/cairn.js".to_owned(), [200, 200, 200, 200]),
        ("/api/openapi.json".to_owned(), [200, 200, 200, 200]),
        ("/metrics".to_owned(), [200, 200, 200, 200]),
        // Signed in already: on to the OKRs.
        ("/login".to_owned(), [200, 303, 303, 303]),
        // Fetched by the pages' script: answered like the API.
        ("/live.json".to_owned(), [401, 200, 200, 200]),
        // Forms are shown to members; sending them is refused (below).
        ("/periods/new".to_owned(), [303, 200, 200, 200]),
        (format!("/okrs/new?period={period}"), [303, 200, 200, 200]),
        (format!("/okrs/{okr}"), [303, 200, 200, 200]),
        ("/okrs/424242".to_owned(), [303, 404, 404, 404]),
        (format!("/okrs/{okr}/edit"), [303, 200, 200, 200]),
        // Asking before a delete: others see why they may not (disabled).
        (format!("/okrs/{okr}/delete"), [303, 200, 200, 200]),
        (format!("/okrs/{linked}/link"), [303, 200, 200, 200]),
        ("/connections".to_owned(), [303, 200, 200, 200]),
        (format!("/connections/{private}"), [303, 404, 200, 200]),
        (format!("/connections/{shared}"), [303, 200, 200, 200]),
        (
            format!("/connections/{private}/delete"),
            [303, 404, 200, 200],
        ),
        (
            format!("/connections/{shared}/delete"),
            [303, 200, 200, 200],
        ),
        ("/tokens".to_owned(), [303, 200, 200, 200]),
        // A period's dashboard is everyone's to read.
        (format!("/dashboard?period={period}"), [303, 200, 200, 200]),
        // One's own week; nobody here is connected to GitLab.
        ("/my-work?day=2026-12-01".to_owned(), [303, 200, 200, 200]),
        // The catalog is everyone's to read.
        ("/admin/integrations".to_owned(), [303, 200, 200, 200]),
        ("/admin/users".to_owned(), [303, 403, 403, 200]),
        (
            format!("/admin/users/{other_id}/disable"),
            [303, 403, 403, 200],
        ),
        (
            "/admin/users/424242/disable".to_owned(),
            [303, 403, 403, 404],
        ),
        ("/admin/teams".to_owned(), [303, 403, 403, 200]),
        (format!("/admin/teams/{team}/delete"), [303, 403, 403, 200]),
        (
            "/admin/teams/424242/delete".to_owned(),
            [303, 403, 403, 404],
        ),
        // The tree's filters; one naming nothing is refused.
        (
            format!("/?view=all&period={period}&team={team}&status=at_risk"),
            [303, 200, 200, 200],
        ),
        ("/?team=424242".to_owned(), [303, 422, 422, 422]),
        ("/?owner=someone".to_owned(), [303, 422, 422, 422]),
        ("/admin/notifications".to_owned(), [303, 403, 403, 200]),
        (
            format!("/admin/notifications/{channel}"),
            [303, 403, 403, 200],
        ),
        (
            format!("/admin/notifications/{channel}/delete"),
            [303, 403, 403, 200],
        ),
        ("/admin/hooks".to_owned(), [303, 403, 403, 200]),
        ("/admin/time".to_owned(), [303, 403, 403, 200]),
        ("/admin/time/disconnect".to_owned(), [303, 403, 403, 200]),
        // A pair is its owner's and the admins'; others learn nothing of it.
        ("/sync-pairs".to_owned(), [303, 200, 200, 200]),
        (format!("/sync-pairs/{pair}"), [303, 404, 200, 200]),
        // The wizard: anyone may start a pair; a draft's steps are its
        // owner's and the admins'.
        ("/sync-pairs/new".to_owned(), [303, 200, 200, 200]),
        (
            format!(
                "/sync-pairs/new/projects?name=wizard&left.connection_id={shared}&right.connection_id={jira}"
            ),
            [303, 200, 200, 200],
        ),
        (
            format!("/sync-pairs/{pair}/setup/scope"),
            [303, 404, 200, 200],
        ),
        (
            format!("/sync-pairs/{pair}/setup/fields"),
            [303, 404, 200, 200],
        ),
        (
            format!("/sync-pairs/{pair}/setup/statuses"),
            [303, 404, 200, 200],
        ),
        (
            format!("/sync-pairs/{pair}/setup/people"),
            [303, 404, 200, 200],
        ),
        (
            format!("/sync-pairs/{pair}/setup/preview"),
            [303, 404, 200, 200],
        ),
        (
            format!("/sync-pairs/{pair}/setup/cancel"),
            [303, 404, 200, 200],
        ),
        (format!("/sync-pairs/{pair}/delete"), [303, 404, 200, 200]),
        (
            format!("/sync-pairs/{pair}/conflicts/424242/keep?side=left"),
            [303, 404, 404, 404],
        ),
        (
            format!("/sync-pairs/{pair}/releases/424242/remove"),
            [303, 404, 404, 404],
        ),
        (
            format!("/admin/time/people/{other_id}/disconnect"),
            [303, 403, 403, 404],
        ),
    ];
    for (path, expect) in &gets {
        m.row("GET", path, &[], *expect).await;
    }
    m.stream_row("/live", [401, 200, 200, 200]).await;

    // Writing, with the caller's CSRF token. A refusal by the rules of
    // access comes back as the form again with the message, as 422; a page
    // for admins only answers 403.
    let posts: Vec<(String, Fields, [u16; 4])> = vec![
        (
            "/periods".to_owned(),
            vec![
                ("name", "Later"),
                ("starts_on", "2031-01-01"),
                ("ends_on", "2031-03-31"),
            ],
            [303, 422, 422, 303],
        ),
        (
            "/okrs".to_owned(),
            okr_fields.to_vec(),
            [303, 303, 303, 303],
        ),
        (
            format!("/okrs/{okr}"),
            okr_fields.to_vec(),
            [303, 422, 303, 303],
        ),
        (
            format!("/okrs/{okr}/check-ins"),
            vec![("value", "30")],
            [303, 422, 303, 303],
        ),
        // Anyone who sees an OKR may have its numbers read again.
        (
            format!("/okrs/{linked}/refresh"),
            vec![],
            [303, 303, 303, 303],
        ),
        (
            format!("/okrs/{linked}/link/gitlab"),
            vec![("connection_id", shared_s.as_str()), ("project", PROJECT)],
            [303, 422, 303, 303],
        ),
        (
            format!("/okrs/{linked}/link/jira"),
            vec![
                ("connection_id", jira_s.as_str()),
                ("jql", "project = OPS"),
                ("metric", "count"),
            ],
            [303, 422, 303, 303],
        ),
        (
            format!("/connections/{private}"),
            vec![
                ("name", "owner's private"),
                ("base_url", gitlab_url.as_str()),
                ("auth_kind", "private_token"),
            ],
            [303, 404, 303, 303],
        ),
        (
            format!("/connections/{shared}"),
            vec![
                ("name", "owner's shared"),
                ("base_url", gitlab_url.as_str()),
                ("auth_kind", "private_token"),
                ("shared", "on"),
            ],
            [303, 422, 303, 303],
        ),
        (
            format!("/connections/{private}/test"),
            vec![],
            [303, 404, 200, 200],
        ),
        (
            format!("/connections/{shared}/test"),
            vec![],
            [303, 200, 200, 200],
        ),
        (
            format!("/connections/{shared}/share"),
            vec![("shared", "on")],
            [303, 422, 303, 303],
        ),
        (
            "/tokens".to_owned(),
            vec![("name", "laptop")],
            [303, 200, 200, 200],
        ),
        // Deciding a suggestion of one's own: nobody is connected here.
        (
            "/my-work/accept".to_owned(),
            vec![("key", "2026-12-01/OPS-1/1"), ("day", "2026-12-01")],
            [303, 404, 404, 404],
        ),
        (
            "/my-work/dismiss".to_owned(),
            vec![("key", "2026-12-01/OPS-1/1"), ("day", "2026-12-01")],
            [303, 404, 404, 404],
        ),
        (
            "/admin/integrations/slack".to_owned(),
            vec![("enabled", "true")],
            [303, 403, 403, 303],
        ),
        (
            "/admin/users".to_owned(),
            vec![
                ("email", "made@example.com"),
                ("name", "Made"),
                ("role", "member"),
                ("password", PASSWORD),
            ],
            [303, 403, 403, 303],
        ),
        (
            format!("/admin/users/{other_id}"),
            vec![("role", "member")],
            [303, 403, 403, 303],
        ),
        (
            "/admin/teams".to_owned(),
            vec![("name", "Made"), ("lead_id", "")],
            [303, 403, 403, 303],
        ),
        (
            format!("/admin/teams/{team}"),
            vec![("name", "Platform"), ("lead_id", other_s.as_str())],
            [303, 403, 403, 303],
        ),
        // The lead is a member already: added twice, refused on the page.
        (
            format!("/admin/teams/{team}/members"),
            vec![("user_id", other_s.as_str())],
            [303, 403, 403, 422],
        ),
        (
            format!("/admin/teams/{team}/members/{other_id}/remove"),
            vec![],
            [303, 403, 403, 303],
        ),
        (
            format!("/admin/teams/{doomed_team}/delete"),
            vec![("reassign_to", "")],
            [303, 403, 403, 303],
        ),
        (
            "/admin/notifications".to_owned(),
            vec![
                ("name", "made"),
                ("kind", "slack"),
                ("url", "https://hooks.invalid/made"),
            ],
            [303, 403, 403, 303],
        ),
        (
            format!("/admin/notifications/{channel}/edit"),
            vec![("name", "pages"), ("url", "https://hooks.invalid/pages")],
            [303, 403, 403, 303],
        ),
        // The outcome of a test is shown on the channel's page.
        (
            format!("/admin/notifications/{channel}/test"),
            vec![],
            [303, 403, 403, 200],
        ),
        (
            format!("/admin/notifications/{channel}/enabled"),
            vec![("enabled", "true")],
            [303, 403, 403, 303],
        ),
        (
            format!("/admin/notifications/{signed}/secret"),
            vec![],
            [303, 403, 403, 200],
        ),
        (
            format!("/admin/notifications/{channel}/subscriptions"),
            vec![("okr_id", ""), ("include_subtree", "true")],
            [303, 403, 403, 303],
        ),
        (
            "/admin/notices/424242/dismiss".to_owned(),
            vec![("back", "/")],
            [303, 403, 403, 404],
        ),
        // Hook setup is an admin page; a new secret is shown once, on it,
        // and so is what enabling did.
        (
            format!("/admin/hooks/{private}/enable"),
            vec![("projects", PROJECT)],
            [303, 403, 403, 200],
        ),
        (
            format!("/admin/hooks/{private}/secret"),
            vec![],
            [303, 403, 403, 200],
        ),
        (
            format!("/sync-pairs/{pair}/items/424242/retry"),
            vec![],
            [303, 404, 404, 404],
        ),
        // The wizard's steps: refused input comes back with its error.
        (
            "/sync-pairs/new/projects".to_owned(),
            vec![
                ("name", "wizard"),
                ("left.connection_id", shared_s.as_str()),
                ("right.connection_id", jira_s.as_str()),
                ("left.project", PROJECT),
                ("right.project", "NOPE"),
            ],
            [303, 422, 422, 422],
        ),
        (
            format!("/sync-pairs/{pair}/setup/scope"),
            vec![("created_after", "soon")],
            [303, 404, 422, 422],
        ),
        (
            format!("/sync-pairs/{pair}/setup/fields"),
            vec![("fields.title.direction", "sideways")],
            [303, 404, 422, 422],
        ),
        // No status marked primary.
        (
            format!("/sync-pairs/{pair}/setup/statuses"),
            vec![],
            [303, 404, 422, 422],
        ),
        // The people step saves the option and goes on to the preview.
        (
            format!("/sync-pairs/{pair}/setup/people"),
            vec![("auto_map_people", "on")],
            [303, 404, 303, 303],
        ),
        (
            format!("/sync-pairs/{pair}/conflicts/424242/keep"),
            vec![("side", "left")],
            [303, 404, 404, 404],
        ),
        (
            format!("/sync-pairs/{pair}/activate"),
            vec![],
            [303, 404, 303, 303],
        ),
        // Once active, a pair is no draft to cancel.
        (
            format!("/sync-pairs/{pair}/setup/cancel"),
            vec![],
            [303, 404, 409, 409],
        ),
        // Paused and resumed from its page (it ends active).
        (
            format!("/sync-pairs/{pair}/pause"),
            vec![],
            [303, 404, 303, 303],
        ),
        (
            format!("/sync-pairs/{pair}/resume"),
            vec![],
            [303, 404, 303, 303],
        ),
        (
            "/sync-pairs/424242/delete".to_owned(),
            vec![],
            [303, 404, 404, 404],
        ),
        // Someone not of the side: shown on the form, nothing saved.
        (
            format!("/sync-pairs/{pair}/people"),
            vec![("left_id", "999999"), ("right_id", "nobody")],
            [303, 404, 422, 422],
        ),
        (
            format!("/sync-pairs/{pair}/people/424242/delete"),
            vec![],
            [303, 404, 404, 404],
        ),
        // The initial sync: a preview shows counts; a malformed date is
        // refused next to its field; nothing runs to pause or resume.
        (
            format!("/sync-pairs/{pair}/initial-sync/preview"),
            vec![("since", "2020-01-01")],
            [303, 404, 200, 200],
        ),
        (
            format!("/sync-pairs/{pair}/initial-sync"),
            vec![("since", "soon")],
            [303, 404, 422, 422],
        ),
        (
            format!("/sync-pairs/{pair}/initial-sync/pause"),
            vec![],
            [303, 404, 422, 422],
        ),
        (
            format!("/sync-pairs/{pair}/initial-sync/resume"),
            vec![],
            [303, 404, 422, 422],
        ),
        // A release not of the side: shown on the form, nothing saved.
        (
            format!("/sync-pairs/{pair}/releases"),
            vec![("left_id", "999999"), ("right_id", "nobody")],
            [303, 404, 422, 422],
        ),
        (
            format!("/sync-pairs/{pair}/releases/424242/remove"),
            vec![],
            [303, 404, 404, 404],
        ),
        // Time tracking is an admin page; matches are shown before anything
        // is saved, and connecting none is refused on the form.
        (
            "/admin/time/source".to_owned(),
            vec![
                ("connection_id", shared_s.as_str()),
                ("projects", PROJECT),
                ("session_gap_minutes", "90"),
                ("lead_in_minutes", "30"),
                ("rounding_minutes", "15"),
                ("daily_target_minutes", "480"),
            ],
            [303, 403, 403, 303],
        ),
        (
            "/admin/time/match".to_owned(),
            vec![("user", other_s.as_str())],
            [303, 403, 403, 200],
        ),
        (
            "/admin/time/people".to_owned(),
            vec![("time_zone", "UTC")],
            [303, 403, 403, 422],
        ),
        (
            format!("/admin/time/people/{other_id}/disconnect"),
            vec![],
            [303, 403, 403, 404],
        ),
        (
            "/admin/time/dev-links".to_owned(),
            vec![
                ("gitlab_connection_id", shared_s.as_str()),
                ("jira_connection_id", jira_s.as_str()),
            ],
            [303, 403, 403, 303],
        ),
        (
            "/admin/time/dev-links/424242/delete".to_owned(),
            vec![],
            [303, 403, 403, 404],
        ),
        (
            "/admin/time/disconnect".to_owned(),
            vec![],
            [303, 403, 403, 303],
        ),
    ];
    for (path, fields, expect) in &posts {
        m.row("POST", path, fields, *expect).await;
    }

    // Creating and deleting: fresh names and subjects for each caller.
    for who in 0..4 {
        let name = format!("made by {who}");
        let fields = [
            ("kind", "gitlab"),
            ("name", name.as_str()),
            ("base_url", "https://gitlab.example.com"),
            ("auth_kind", "private_token"),
            ("secret", "glpat-x"),
        ];
        m.check(who, "POST", "/connections", &fields, 303).await;
        let doomed = new_okr(&h, &h.owner.token, "objective", "Doomed", period, "roll_up").await;
        m.check(
            who,
            "POST",
            &format!("/okrs/{doomed}/delete"),
            &[],
            [303, 403, 303, 303][who],
        )
        .await;
        let doomed = owners_connection(&h, &format!("doomed {who}"), false).await;
        m.check(
            who,
            "POST",
            &format!("/connections/{doomed}/delete"),
            &[],
            [303, 404, 303, 303][who],
        )
        .await;
        // Tokens are their user's own, admins included.
        let doomed = owners_token(&h).await;
        m.check(
            who,
            "POST",
            &format!("/tokens/{doomed}/revoke"),
            &[],
            [303, 404, 303, 404][who],
        )
        .await;
        let doomed = admins_channel(&h, &format!("doomed {who}")).await;
        m.check(
            who,
            "POST",
            &format!("/admin/notifications/{doomed}/delete"),
            &[],
            [303, 403, 403, 303][who],
        )
        .await;
    }
    let unsubscribe = format!("/admin/notifications/{channel}/subscriptions/{subscription}/delete");
    m.row("POST", &unsubscribe, &[], [303, 403, 403, 303]).await;

    // Signing in needs the sign-in page's own cookie; signing out ends the
    // session (last).
    let sign_in = [("email", "owner@example.com"), ("password", PASSWORD)];
    let mut anonymous = sign_in.to_vec();
    anonymous.push(("csrf_token", "x"));
    m.check(0, "POST", "/login", &anonymous, 403).await;
    for who in 1..4 {
        m.check(who, "POST", "/login", &sign_in, 403).await;
    }
    m.row("POST", "/logout", &[], [303, 303, 303, 303]).await;
    m.assert_every_route_covered();
}

/// The pair wizard without JavaScript: each step refused next to its field
/// with nothing saved, the status mapping held to one primary per state,
/// the preview writing nothing, Activate, and Cancel deleting a draft
/// after asking.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pair_wizard_works_without_javascript() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let g = h.gitlab_connection(&h.owner, "sim gitlab", false).await;
    let j = h.jira_connection(&h.owner, "sim jira", false).await;
    let (g_s, j_s) = (g.to_string(), j.to_string());
    h.control(
        "gitlab/issues",
        json!({"project": PROJECT, "title": "Previewed in the wizard"}),
    )
    .await;
    let b = Browser::sign_in(&h, &h.owner.email).await;
    let list = b.get("/sync-pairs").await;
    assert!(
        list.text.contains("href=\"/sync-pairs/new\""),
        "{}",
        list.text
    );
    let start = b.get("/sync-pairs/new").await;
    assert_eq!(start.status, StatusCode::OK, "{}", start.text);
    assert!(start.text.contains("sim gitlab (GitLab)") && start.text.contains("sim jira (Jira)"));

    // Connections, then projects listed from them.
    let sides = [
        ("left.connection_id", g_s.as_str()),
        ("right.connection_id", j_s.as_str()),
    ];
    let step_two = |name: &str| {
        format!(
            "/sync-pairs/new/projects?{}",
            serde_urlencoded::to_string([("name", name), sides[0], sides[1]]).expect("query")
        )
    };
    let refused = b.get(&step_two(" ")).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.text.contains("id=\"name-error\""),
        "{}",
        refused.text
    );
    let mut named = sides.to_vec();
    named.push(("name", "checkout <-> OPS"));
    let projects = b.get(&step_two("checkout <-> OPS")).await;
    assert_eq!(projects.status, StatusCode::OK, "{}", projects.text);
    assert!(
        projects.text.contains("value=\"northwind/checkout\""),
        "{}",
        projects.text
    );
    assert!(projects.text.contains("value=\"OPS\""), "{}", projects.text);
    let mut same = named.clone();
    same.extend([("left.project", PROJECT), ("right.project", "NOPE")]);
    let refused = b.post("/sync-pairs/new/projects", &same).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.text.contains("id=\"right.project-error\""),
        "{}",
        refused.text
    );
    let pairs = || async {
        h.call("GET", "/api/v1/sync-pairs", Some(&h.owner.token), None)
            .await
            .body
            .as_array()
            .map_or(0, Vec::len)
    };
    assert_eq!(pairs().await, 0, "nothing saved");
    let mut chosen = named.clone();
    chosen.extend([("left.project", PROJECT), ("right.project", "OPS")]);
    let draft = b.post("/sync-pairs/new/projects", &chosen).await;
    assert_eq!(draft.status, StatusCode::SEE_OTHER, "{}", draft.text);
    let scope = draft.headers["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let id: i64 = scope
        .trim_start_matches("/sync-pairs/")
        .trim_end_matches("/setup/scope")
        .parse()
        .expect("the draft's id");
    let pair_path = format!("/api/v1/sync-pairs/{id}");
    let pair = || async {
        h.call("GET", &pair_path, Some(&h.owner.token), None)
            .await
            .body
    };
    assert_eq!(pair().await["active"], false, "a draft is inactive");

    // Scope: Jira's refusal of the JQL next to it; then from yesterday.
    let yesterday = (chrono::Utc::now() - chrono::Duration::days(1))
        .date_naive()
        .to_string();
    let refused = b
        .post(
            &scope,
            &[
                ("left.labels", ""),
                ("right.jql", "status = = Done"),
                ("created_after", &yesterday),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.text.contains("id=\"right.jql-error\""),
        "{}",
        refused.text
    );
    assert_eq!(
        pair().await["right"]["jql"],
        serde_json::Value::Null,
        "nothing saved"
    );
    // The seed's time offset: refused out of range, next to its field.
    let refused = b
        .post(
            &scope,
            &[
                ("left.labels", ""),
                ("right.jql", ""),
                ("created_after", &yesterday),
                ("scan_overlap_secs", "90000"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.text.contains("id=\"scan_overlap_secs-error\"")
            && refused.text.contains("between 0 and 86400 seconds"),
        "{}",
        refused.text
    );
    assert_eq!(pair().await["scan_overlap_secs"], 120, "nothing saved");
    let fields = b
        .post(
            &scope,
            &[
                ("left.labels", ""),
                ("right.jql", ""),
                ("created_after", &yesterday),
                ("scan_overlap_secs", "300"),
            ],
        )
        .await;
    assert_eq!(fields.status, StatusCode::SEE_OTHER, "{}", fields.text);
    assert_eq!(pair().await["scan_overlap_secs"], 300);
    assert_eq!(
        fields.headers["location"],
        format!("/sync-pairs/{id}/setup/fields")
    );

    // Fields and directions.
    let statuses = b
        .post(
            &format!("/sync-pairs/{id}/setup/fields"),
            &[
                ("fields.title.direction", "both"),
                ("fields.title.conflict", "left_wins"),
            ],
        )
        .await;
    assert_eq!(statuses.status, StatusCode::SEE_OTHER, "{}", statuses.text);
    assert_eq!(pair().await["fields"]["title"]["conflict"], "left_wins");

    // The status mapping: every opened status primary, then none of them,
    // refused next to the mapping naming the problem; then the seed's way.
    let path = format!("/sync-pairs/{id}/setup/statuses");
    let page = b.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let mapping = pair().await["status_mapping"].clone();
    let entries = mapping.as_array().expect("a suggested mapping");
    let form = |primaries: &dyn Fn(&serde_json::Value) -> bool| -> Vec<(String, String)> {
        let mut form = Vec::new();
        for e in entries {
            let id = e["status_id"].as_str().expect("id");
            form.push((
                format!("state.{id}"),
                e["state"].as_str().expect("state").to_owned(),
            ));
            if primaries(e) {
                form.push((format!("primary.{id}"), "1".to_owned()));
            }
        }
        form
    };
    let cases = [
        (
            form(&|e: &serde_json::Value| e["primary"] == true || e["state"] == "opened"),
            "are all primary",
        ),
        (
            form(&|e: &serde_json::Value| e["primary"] == true && e["state"] == "closed"),
            "none of its statuses is primary",
        ),
    ];
    for (fields, problem) in cases {
        let fields: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let refused = b.post(&path, &fields).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            refused.text
        );
        let error = refused
            .text
            .split("id=\"status_mapping-error\">")
            .nth(1)
            .expect("the error next to the mapping");
        assert!(error.contains(problem), "{error}");
        assert_eq!(pair().await["status_mapping"], mapping, "nothing saved");
    }
    let kept = form(&|e: &serde_json::Value| e["primary"] == true);
    let kept: Vec<(&str, &str)> = kept.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let people = b.post(&path, &kept).await;
    assert_eq!(people.status, StatusCode::SEE_OTHER, "{}", people.text);
    assert_eq!(
        people.headers["location"],
        format!("/sync-pairs/{id}/setup/people")
    );

    // People: both sides listed; two mapped by hand come back to the step
    // and say so; a person mapped twice on a side is refused next to the
    // field with nothing saved; the option is saved on the way on.
    let step = b.get(&format!("/sync-pairs/{id}/setup/people")).await;
    assert_eq!(step.status, StatusCode::OK, "{}", step.text);
    assert!(
        step.text.contains("id=\"auto_map_people\""),
        "{}",
        step.text
    );
    assert!(
        step.text.contains("Map two people by hand"),
        "{}",
        step.text
    );
    let listed = h.api_get(&format!("/api/v1/sync-pairs/{id}/people")).await;
    let ids = |side: &str| -> Vec<String> {
        listed["people"]
            .as_array()
            .expect("people")
            .iter()
            .filter(|p| p["side"] == side)
            .filter_map(|p| p["id"].as_str().map(str::to_owned))
            .collect()
    };
    let (left, right) = (ids("left"), ids("right"));
    assert!(!left.is_empty() && right.len() >= 2, "{listed}");
    let mapped = b
        .post(
            &format!("/sync-pairs/{id}/people"),
            &[
                ("left_id", &left[0]),
                ("right_id", &right[0]),
                ("back", "setup"),
            ],
        )
        .await;
    assert_eq!(mapped.status, StatusCode::SEE_OTHER, "{}", mapped.text);
    let back = mapped.headers["location"].to_str().expect("location");
    assert!(
        back.starts_with(&format!("/sync-pairs/{id}/setup/people?people=mapped")),
        "{back}"
    );
    let shown = b.get(back).await;
    assert!(shown.text.contains("mapped by hand now"), "{}", shown.text);
    let twice = b
        .post(
            &format!("/sync-pairs/{id}/people"),
            &[
                ("left_id", &left[0]),
                ("right_id", &right[1]),
                ("back", "setup"),
            ],
        )
        .await;
    assert_eq!(
        twice.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        twice.text
    );
    assert!(
        twice.text.contains("People on both sides"),
        "the wizard's step: {}",
        twice.text
    );
    assert!(
        twice.text.contains("id=\"left_id-error\""),
        "{}",
        twice.text
    );
    let manual = h.api_get(&format!("/api/v1/sync-pairs/{id}/people")).await["manual"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(manual, 1, "nothing saved by the refusal");
    let preview = b
        .post(
            &format!("/sync-pairs/{id}/setup/people"),
            &[("auto_map_people", "on")],
        )
        .await;
    assert_eq!(preview.status, StatusCode::SEE_OTHER, "{}", preview.text);
    assert_eq!(
        preview.headers["location"],
        format!("/sync-pairs/{id}/setup/preview")
    );
    assert_eq!(pair().await["auto_map_people"], true);

    // The preview writes nothing; Activate does.
    h.sim.clear_requests();
    let preview = b.get(&format!("/sync-pairs/{id}/setup/preview")).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.text);
    assert!(
        preview.text.contains("Previewed in the wizard"),
        "{}",
        preview.text
    );
    assert!(preview.text.contains("create its twin"), "{}", preview.text);
    h.assert_sim_unwritten("the preview");
    let active = b.post(&format!("/sync-pairs/{id}/activate"), &[]).await;
    assert_eq!(active.status, StatusCode::SEE_OTHER, "{}", active.text);
    assert_eq!(pair().await["active"], true);
    let shown = b
        .get(active.headers["location"].to_str().expect("location"))
        .await;
    assert!(shown.text.contains("The pair is active"), "{}", shown.text);

    // Paused and resumed from its page, each saying so.
    let resume_form = format!("action=\"/sync-pairs/{id}/resume\"");
    assert!(
        shown
            .text
            .contains(&format!("action=\"/sync-pairs/{id}/pause\""))
            && !shown.text.contains(&resume_form),
        "{}",
        shown.text
    );
    let paused = b.post(&format!("/sync-pairs/{id}/pause"), &[]).await;
    assert_eq!(paused.status, StatusCode::SEE_OTHER, "{}", paused.text);
    assert_eq!(pair().await["active"], false);
    let shown = b
        .get(paused.headers["location"].to_str().expect("location"))
        .await;
    assert!(shown.text.contains("The pair is paused"), "{}", shown.text);
    assert!(shown.text.contains(&resume_form), "{}", shown.text);
    let resumed = b.post(&format!("/sync-pairs/{id}/resume"), &[]).await;
    assert_eq!(resumed.status, StatusCode::SEE_OTHER, "{}", resumed.text);
    assert_eq!(pair().await["active"], true);
    let shown = b
        .get(resumed.headers["location"].to_str().expect("location"))
        .await;
    assert!(
        shown.text.contains("The pair is active again"),
        "{}",
        shown.text
    );

    // Cancel asks first, then deletes a draft.
    let draft = b.post("/sync-pairs/new/projects", &chosen).await;
    assert_eq!(draft.status, StatusCode::SEE_OTHER, "{}", draft.text);
    let other: i64 = draft.headers["location"]
        .to_str()
        .expect("location")
        .trim_start_matches("/sync-pairs/")
        .trim_end_matches("/setup/scope")
        .parse()
        .expect("id");
    let cancel = format!("/sync-pairs/{other}/setup/cancel");
    let ask = b.get(&cancel).await;
    assert!(ask.text.contains("Delete the draft pair"), "{}", ask.text);
    assert_eq!(pairs().await, 2, "asking deletes nothing");
    let gone = b.post(&cancel, &[]).await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER, "{}", gone.text);
    assert_eq!(pairs().await, 1);
    let said = b
        .get(gone.headers["location"].to_str().expect("location"))
        .await;
    assert!(
        said.text.contains("The draft pair is deleted"),
        "{}",
        said.text
    );

    // An active pair is deleted from its page, after asking what goes.
    let delete = format!("/sync-pairs/{id}/delete");
    let ask = b.get(&delete).await;
    assert!(
        ask.text.contains("Delete the sync pair") && ask.text.contains("pause the pair"),
        "{}",
        ask.text
    );
    assert_eq!(pairs().await, 1, "asking deletes nothing");
    let gone = b.post(&delete, &[]).await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER, "{}", gone.text);
    assert_eq!(pairs().await, 0);
    let said = b
        .get(gone.headers["location"].to_str().expect("location"))
        .await;
    assert!(
        said.text.contains("The sync pair is deleted"),
        "{}",
        said.text
    );
}

/// "Keep left / keep right" from the pair's page: the link asks first,
/// showing both values; confirming writes the overruled value and the page
/// says so, with who chose.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_is_overturned_from_the_pairs_page_after_asking() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let running = Running::worker(&h).await;
    let TitleConflict { pair, conflict, .. } = h.title_conflict().await;
    let id = conflict["id"].as_i64().expect("id");
    let (loser, lost) = if conflict["winner"] == "left" {
        ("right", "Jira&#39;s title")
    } else {
        ("left", "GitLab&#39;s title")
    };
    let b = Browser::sign_in(&h, &h.owner.email).await;
    let page = b.get(&format!("/sync-pairs/{pair}")).await;
    let ask = format!("/sync-pairs/{pair}/conflicts/{id}/keep?side={loser}");
    assert!(page.text.contains(&ask), "{}", page.text);
    let asked = b.get(&ask).await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.text);
    assert!(
        asked.text.contains(&format!("Keep the {loser} side")),
        "{}",
        asked.text
    );
    assert!(asked.text.contains(lost), "{}", asked.text);
    let listed = h
        .api_get(&format!("/api/v1/sync-pairs/{pair}/conflicts"))
        .await;
    assert_eq!(
        listed[0]["chosen"],
        serde_json::Value::Null,
        "asking writes nothing"
    );
    let kept = b
        .post(
            &format!("/sync-pairs/{pair}/conflicts/{id}/keep"),
            &[("side", loser)],
        )
        .await;
    assert_eq!(kept.status, StatusCode::SEE_OTHER, "{}", kept.text);
    let shown = b
        .get(kept.headers["location"].to_str().expect("location"))
        .await;
    assert!(
        shown
            .text
            .contains("the value you chose is written on both sides"),
        "{}",
        shown.text
    );
    assert!(
        shown
            .text
            .contains(&format!("{loser} kept by {}", h.owner.email)),
        "{}",
        shown.text
    );
    running.stop().await;
}

/// The initial sync from the pair's page: Preview says how many items
/// each side would bring, Start (shown after the preview) starts it, Pause
/// and Resume say they worked, the progress bar reaches the total, and a
/// refused action says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_initial_sync_is_previewed_started_paused_and_resumed_from_the_pairs_page() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let g = h.gitlab_connection(&h.owner, "sim gitlab", false).await;
    let j = h.jira_connection(&h.owner, "sim jira", false).await;
    let since = (chrono::Utc::now() - chrono::Duration::seconds(5)).to_rfc3339();
    for i in 0..3 {
        h.control(
            "gitlab/issues",
            json!({"project": PROJECT, "title": format!("history {i}")}),
        )
        .await;
    }
    let reply = h
        .call(
            "POST",
            "/api/v1/sync-pairs",
            Some(&h.owner.token),
            Some(
                json!({"name": "history", "left": {"connection_id": g, "project": PROJECT},
                "right": {"connection_id": j, "project": "OPS"}, "active": true}),
            ),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let pair = reply.body["id"].as_i64().expect("pair");
    let b = Browser::sign_in(&h, &h.owner.email).await;
    let shown = b.get(&format!("/sync-pairs/{pair}")).await;
    assert!(
        shown.text.contains("Initial sync of history")
            && shown
                .text
                .contains(&format!("/sync-pairs/{pair}/initial-sync/preview")),
        "{}",
        shown.text
    );

    let refused = b
        .post(
            &format!("/sync-pairs/{pair}/initial-sync/preview"),
            &[("since", "2999-01-01")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.text.contains("id=\"since-error\"") && refused.text.contains("in the future"),
        "{}",
        refused.text
    );
    let preview = b
        .post(
            &format!("/sync-pairs/{pair}/initial-sync/preview"),
            &[("since", since.as_str())],
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.text);
    assert!(
        preview
            .text
            .contains("<strong>3</strong> items on the left")
            && preview.text.contains("Start the initial sync"),
        "{}",
        preview.text
    );

    // No worker yet: it stays planning until resumed.
    let started = b
        .post(
            &format!("/sync-pairs/{pair}/initial-sync"),
            &[("since", since.as_str())],
        )
        .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.text);
    let shown = b
        .get(started.headers["location"].to_str().expect("location"))
        .await;
    assert!(
        shown.text.contains("The initial sync has started") && shown.text.contains("<progress"),
        "{}",
        shown.text
    );
    let paused = b
        .post(&format!("/sync-pairs/{pair}/initial-sync/pause"), &[])
        .await;
    assert_eq!(paused.status, StatusCode::SEE_OTHER, "{}", paused.text);
    let shown = b
        .get(paused.headers["location"].to_str().expect("location"))
        .await;
    assert!(
        shown.text.contains("The initial sync is paused")
            && shown.text.contains("Resume the initial sync"),
        "{}",
        shown.text
    );
    let again = b
        .post(&format!("/sync-pairs/{pair}/initial-sync/pause"), &[])
        .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        again
            .text
            .contains("the initial sync is paused, not running"),
        "{}",
        again.text
    );

    let running = Running::worker(&h).await;
    let resumed = b
        .post(&format!("/sync-pairs/{pair}/initial-sync/resume"), &[])
        .await;
    assert_eq!(resumed.status, StatusCode::SEE_OTHER, "{}", resumed.text);
    let shown = b
        .get(resumed.headers["location"].to_str().expect("location"))
        .await;
    assert!(
        shown.text.contains("goes on where it stopped"),
        "{}",
        shown.text
    );
    common::eventually("the page shows it done", || async {
        b.get(&format!("/sync-pairs/{pair}"))
            .await
            .text
            .contains("3 of 3 items (100%)")
    })
    .await;
    running.stop().await;
}

/// The pair's Releases section: what the pair would create is listed, two
/// releases are linked by hand from the form (it says it worked), a
/// milestone linked to a second version is refused next to its field
/// with nothing saved, and Remove asks first, then says it worked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn releases_are_linked_by_hand_on_the_pairs_page_and_removed_after_asking() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let gitlab = h.gitlab_connection(&h.owner, "sim gitlab", false).await;
    let jira = h.jira_connection(&h.owner, "sim jira", false).await;
    let reply = h
        .call(
            "POST",
            "/api/v1/sync-pairs",
            Some(&h.owner.token),
            Some(json!({"name": "checkout <-> OPS", "left": {"connection_id": gitlab, "project": PROJECT},
                "right": {"connection_id": jira, "project": "OPS"}, "active": false})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let pair = reply.body["id"].as_i64().expect("pair");
    let releases = h
        .api_get(&format!("/api/v1/sync-pairs/{pair}/release-links"))
        .await;
    let id_of = |side: &str, name: &str| -> String {
        releases[side]
            .as_array()
            .expect("releases")
            .iter()
            .find(|r| r["name"] == name)
            .and_then(|r| r["id"].as_str())
            .expect("release")
            .to_owned()
    };
    let (q1, v1, v2) = (
        id_of("left", "Q1 2026"),
        id_of("right", "2026.1"),
        id_of("right", "2026.2"),
    );
    let b = Browser::sign_in(&h, &h.owner.email).await;
    let page = b.get(&format!("/sync-pairs/{pair}")).await;
    assert!(
        page.text.contains("id=\"releases-heading\""),
        "{}",
        page.text
    );
    assert!(page.text.contains("Would be created on the other side"));
    assert!(page.text.contains("No releases are linked yet."));

    let linked = b
        .post(
            &format!("/sync-pairs/{pair}/releases"),
            &[("left_id", q1.as_str()), ("right_id", v1.as_str())],
        )
        .await;
    assert_eq!(linked.status, StatusCode::SEE_OTHER, "{}", linked.text);
    let shown = b
        .get(linked.headers["location"].to_str().expect("location"))
        .await;
    assert!(
        shown
            .text
            .contains("The two releases are linked by hand now"),
        "{}",
        shown.text
    );
    assert!(shown.text.contains("by hand"));
    let remove = {
        let link = h
            .api_get(&format!("/api/v1/sync-pairs/{pair}/release-links"))
            .await["links"][0]["id"]
            .as_i64()
            .expect("link");
        format!("/sync-pairs/{pair}/releases/{link}/remove")
    };
    assert!(shown.text.contains(&remove), "{}", shown.text);

    // The milestone linked to a second version: refused next to the field.
    let refused = b
        .post(
            &format!("/sync-pairs/{pair}/releases"),
            &[("left_id", q1.as_str()), ("right_id", v2.as_str())],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    assert!(
        refused.text.contains("id=\"release_left_id-error\""),
        "{}",
        refused.text
    );
    assert!(refused.text.contains("already linked"), "{}", refused.text);
    let links = h
        .api_get(&format!("/api/v1/sync-pairs/{pair}/release-links"))
        .await;
    assert_eq!(links["links"].as_array().map(Vec::len), Some(1));

    // Remove asks first, writing nothing, then removes.
    let asked = b.get(&remove).await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.text);
    assert!(
        asked
            .text
            .contains("Remove the link of Q1 2026 and 2026.1?"),
        "{}",
        asked.text
    );
    let links = h
        .api_get(&format!("/api/v1/sync-pairs/{pair}/release-links"))
        .await;
    assert_eq!(links["links"].as_array().map(Vec::len), Some(1));
    let removed = b.post(&remove, &[]).await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.text);
    let shown = b
        .get(removed.headers["location"].to_str().expect("location"))
        .await;
    assert!(shown.text.contains("The link is removed"), "{}", shown.text);
    let links = h
        .api_get(&format!("/api/v1/sync-pairs/{pair}/release-links"))
        .await;
    assert_eq!(links["links"], json!([]));
}

/// Where a form's redirect goes: it must be a 303.
fn see_other_to(reply: &Reply) -> String {
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text);
    reply.headers["location"]
        .to_str()
        .expect("location")
        .to_owned()
}

/// The page's success message (`role="status"` at the top of the main
/// content), if any.
fn status_message(html: &str) -> Option<String> {
    let main = html.split("<main id=\"main\">").nth(1)?;
    let rest = main
        .trim_start()
        .strip_prefix("<p class=\"success\" role=\"status\">")?;
    rest.split("</p>").next().map(str::to_owned)
}

/// After a form worked: redirected with `code`, and the page it leads to
/// says `message` at the top.
async fn says_done(b: &Browser<'_>, reply: &Reply, code: &str, message: &str) -> String {
    let to = see_other_to(reply);
    assert!(to.contains(&format!("done={code}")), "{to}");
    let page = b.get(&to).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert_eq!(
        status_message(&page.text).as_deref(),
        Some(message),
        "{to}: {}",
        page.text
    );
    to
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_asks_first_saying_what_goes_with_it_and_each_action_says_it_worked() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let period = period(&h).await;
    let period_s = period.to_string();
    let owner = Browser::sign_in(&h, &h.owner.email).await;
    let other = Browser::sign_in(&h, &h.other.email).await;
    let admin = Browser::sign_in(&h, &h.admin.email).await;

    // Create, save and check in through the forms: each says it worked.
    let created = owner
        .post(
            "/okrs",
            &[
                ("kind", "objective"),
                ("title", "Parent"),
                ("period_id", &period_s),
                ("measure", "percent_complete"),
                ("progress_source", "check_in"),
                ("weight", "1"),
            ],
        )
        .await;
    let to = says_done(&owner, &created, "okr_created", "The OKR is created.").await;
    let parent: i64 = to
        .trim_start_matches("/okrs/")
        .split('?')
        .next()
        .and_then(|id| id.parse().ok())
        .expect("the new OKR's id");
    let saved = owner
        .post(
            &format!("/okrs/{parent}"),
            &[
                ("kind", "objective"),
                ("title", "Parent, renamed"),
                ("period_id", &period_s),
                ("measure", "percent_complete"),
                ("progress_source", "check_in"),
                ("weight", "1"),
            ],
        )
        .await;
    says_done(&owner, &saved, "okr_saved", "Your changes are saved.").await;
    let checked = owner
        .post(&format!("/okrs/{parent}/check-ins"), &[("value", "40")])
        .await;
    says_done(&owner, &checked, "checked_in", "The check-in is recorded.").await;
    let child = h
        .call(
            "POST",
            "/api/v1/okrs",
            Some(&h.owner.token),
            Some(json!({"kind": "key_result", "title": "Child", "period_id": period, "parent_id": parent,
                "measure": {"mode": "percent_complete"}, "progress_source": "check_in"})),
        )
        .await;
    assert_eq!(child.status, StatusCode::CREATED, "{}", child.text);
    let child = child.body["id"].as_i64().expect("child");

    // Link and refresh a key result through the forms.
    let gitlab = h.gitlab_connection(&h.owner, "owner's gitlab", true).await;
    let linked = new_okr(
        &h,
        &h.owner.token,
        "key_result",
        "Linked",
        period,
        "data_link",
    )
    .await;
    let link = owner
        .post(
            &format!("/okrs/{linked}/link/gitlab"),
            &[("connection_id", &gitlab.to_string()), ("project", PROJECT)],
        )
        .await;
    says_done(
        &owner,
        &link,
        "linked",
        "The data link is saved; its number is read from the tracker now.",
    )
    .await;
    let refreshed = owner.post(&format!("/okrs/{linked}/refresh"), &[]).await;
    says_done(
        &owner,
        &refreshed,
        "refreshed",
        "The number is refreshed from its data link.",
    )
    .await;

    // A code that is not one of ours says nothing; query text is never shown.
    let home = owner.get("/?done=%3Cscript%3Ealert(1)%3C/script%3E").await;
    assert_eq!(status_message(&home.text), None);
    assert!(!home.text.contains("alert(1)"));

    // The OKR's page leads to the question instead of deleting at once.
    let shown = owner.get(&format!("/okrs/{parent}")).await;
    assert!(
        shown
            .text
            .contains(&format!("href=\"/okrs/{parent}/delete\""))
    );
    assert!(
        !shown
            .text
            .contains(&format!("action=\"/okrs/{parent}/delete\""))
    );
    let asked = owner.get(&format!("/okrs/{parent}/delete")).await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.text);
    for said in [
        "Delete the objective “Parent, renamed”?",
        "Its 1 check-in.",
        "Its progress history and the notification subscriptions to it.",
        "No data link.",
        "The 1 OKR aligned to it stays and moves to the top level",
        "Key result: Child",
    ] {
        assert!(asked.text.contains(said), "{said}: {}", asked.text);
    }
    assert!(
        asked
            .text
            .contains(&format!("method=\"post\" action=\"/okrs/{parent}/delete\""))
    );
    assert!(
        asked
            .text
            .contains(&format!("href=\"/okrs/{parent}\">Cancel"))
    );
    let linked_asked = owner.get(&format!("/okrs/{linked}/delete")).await;
    assert!(
        linked_asked
            .text
            .contains("Its data link: GitLab (owner&#39;s gitlab): northwind/checkout."),
        "{}",
        linked_asked.text
    );
    let still = h
        .call(
            "GET",
            &format!("/api/v1/okrs/{parent}"),
            Some(&h.owner.token),
            None,
        )
        .await;
    assert_eq!(still.status, StatusCode::OK, "asking deletes nothing");

    // Someone the engine would refuse sees Delete disabled, with why.
    for path in [format!("/okrs/{parent}"), format!("/okrs/{parent}/delete")] {
        let page = other.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        assert!(
            page.text
                .contains("disabled aria-describedby=\"delete-refused\"")
        );
        assert!(
            page.text
                .contains("Only its owner or an admin may delete it.")
        );
        assert!(
            !page
                .text
                .contains(&format!("action=\"/okrs/{parent}/delete\""))
        );
        assert!(
            !page
                .text
                .contains(&format!("href=\"/okrs/{parent}/delete\""))
        );
    }

    // The POST deletes; the child stays, at the top level.
    let deleted = owner.post(&format!("/okrs/{parent}/delete"), &[]).await;
    let to = says_done(&owner, &deleted, "okr_deleted", "The OKR is deleted.").await;
    assert!(to.starts_with(&format!("/?period={period}&")), "{to}");
    let gone = h
        .call(
            "GET",
            &format!("/api/v1/okrs/{parent}"),
            Some(&h.owner.token),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    let kept = h
        .call(
            "GET",
            &format!("/api/v1/okrs/{child}"),
            Some(&h.owner.token),
            None,
        )
        .await;
    assert_eq!(kept.status, StatusCode::OK, "{}", kept.text);
    assert!(kept.body["parent_id"].is_null(), "{}", kept.text);

    // A connection in use: the question lists what uses it and Delete is
    // disabled with the engine's reason; the POST is refused the same way.
    let jira = shared_jira(&h, &h.owner.token, "owner's jira").await;
    let pair = h
        .call(
            "POST",
            "/api/v1/sync-pairs",
            Some(&h.owner.token),
            Some(json!({"name": "checkout <-> OPS", "left": {"connection_id": gitlab, "project": PROJECT},
                "right": {"connection_id": jira, "project": "OPS"}, "active": false})),
        )
        .await;
    assert_eq!(pair.status, StatusCode::CREATED, "{}", pair.text);
    let reason = "1 key result(s) read their progress through this connection and 1 sync pair(s) have a side on it; unlink them and delete those pairs first.";
    for path in [
        format!("/connections/{gitlab}"),
        format!("/connections/{gitlab}/delete"),
    ] {
        let page = owner.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        assert!(page.text.contains(reason), "{path}: {}", page.text);
        assert!(
            page.text
                .contains("disabled aria-describedby=\"delete-refused\"")
        );
        assert!(
            !page
                .text
                .contains(&format!("action=\"/connections/{gitlab}/delete\""))
        );
    }
    let asked = owner.get(&format!("/connections/{gitlab}/delete")).await;
    for said in [
        "Delete the connection “owner&#39;s gitlab”?",
        "1 key result reads its progress through it.",
        "1 sync pair has a side on it.",
        "No webhook is set up for it.",
    ] {
        assert!(asked.text.contains(said), "{said}: {}", asked.text);
    }
    let refused = owner
        .post(&format!("/connections/{gitlab}/delete"), &[])
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
    assert!(
        refused
            .text
            .contains("unlink them and delete those pairs first")
    );
    // Others who see a shared connection may not delete it: disabled too.
    let page = other.get(&format!("/connections/{jira}/delete")).await;
    assert!(
        page.text
            .contains("Only its owner or an admin may delete it.")
    );

    // A connection nothing uses: asked, then deleted by the POST only.
    let spare = h.gitlab_connection(&h.owner, "spare", false).await;
    let shown = owner.get(&format!("/connections/{spare}")).await;
    assert!(
        shown
            .text
            .contains(&format!("href=\"/connections/{spare}/delete\""))
    );
    let asked = owner.get(&format!("/connections/{spare}/delete")).await;
    for said in [
        "0 key results read their progress through it.",
        "0 sync pairs have a side on it.",
        "The items read through it",
    ] {
        assert!(asked.text.contains(said), "{said}: {}", asked.text);
    }
    let still = h
        .call(
            "GET",
            &format!("/api/v1/connections/{spare}"),
            Some(&h.owner.token),
            None,
        )
        .await;
    assert_eq!(still.status, StatusCode::OK, "asking deletes nothing");
    let deleted = owner
        .post(&format!("/connections/{spare}/delete"), &[])
        .await;
    says_done(
        &owner,
        &deleted,
        "connection_deleted",
        "The connection is deleted.",
    )
    .await;
    let gone = h
        .call(
            "GET",
            &format!("/api/v1/connections/{spare}"),
            Some(&h.owner.token),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);

    // Users are disabled, never deleted: asked first, with what stops and
    // what stays; one's own account is refused there, with why.
    new_okr(
        &h,
        &h.other.token,
        "objective",
        "Theirs",
        period,
        "check_in",
    )
    .await;
    let users = admin.get("/admin/users").await;
    assert!(
        users
            .text
            .contains(&format!("href=\"/admin/users/{}/disable\"", h.other.id))
    );
    let asked = admin
        .get(&format!("/admin/users/{}/disable", h.other.id))
        .await;
    for said in [
        "can no longer sign in; their open sessions and their API tokens stop working",
        "The 1 OKR they own keeps them as its owner",
    ] {
        assert!(asked.text.contains(said), "{said}: {}", asked.text);
    }
    let me = h
        .call("GET", "/api/v1/me", Some(&h.other.token), None)
        .await;
    assert_eq!(me.status, StatusCode::OK, "asking disables nothing");
    let own = admin
        .get(&format!("/admin/users/{}/disable", h.admin.id))
        .await;
    assert!(
        own.text
            .contains("You cannot disable yourself; ask another admin.")
    );
    assert!(
        own.text
            .contains("disabled aria-describedby=\"disable-refused\"")
    );
    let disabled = admin
        .post(
            &format!("/admin/users/{}", h.other.id),
            &[("disabled", "true")],
        )
        .await;
    says_done(
        &admin,
        &disabled,
        "user_disabled",
        "The user is disabled: they can no longer sign in.",
    )
    .await;
    let me = h
        .call("GET", "/api/v1/me", Some(&h.other.token), None)
        .await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);

    // A channel's question says what goes with it; deleting says it worked.
    let channel = admins_channel(&h, "doomed").await;
    let asked = admin
        .get(&format!("/admin/notifications/{channel}/delete"))
        .await;
    assert!(
        asked
            .text
            .contains("subscription(s) and its delivery history go with it")
    );
    let deleted = admin
        .post(&format!("/admin/notifications/{channel}/delete"), &[])
        .await;
    says_done(
        &admin,
        &deleted,
        "channel_deleted",
        "The channel is deleted.",
    )
    .await;
}

/// The summary of a refused form: first in the main content, focusable,
/// with every problem linked to its field.
fn summary_of(html: &str) -> Vec<String> {
    let main = html
        .split("<main id=\"main\">")
        .nth(1)
        .expect("a main element")
        .trim_start();
    assert!(
        main.starts_with(
            "<div class=\"error-summary\" id=\"error-summary\" role=\"alert\" tabindex=\"-1\""
        ),
        "the summary comes first: {main}"
    );
    let summary = main.split("</div>").next().expect("the summary ends");
    summary
        .split("<a href=\"#")
        .skip(1)
        .map(|a| a.split('"').next().expect("field").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_form_lists_every_problem_in_a_summary_at_the_top() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let period = period(&h).await.to_string();
    let b = Browser::sign_in(&h, &h.owner.email).await;

    // Four things wrong at once: all four are listed and marked.
    let reply = b
        .post(
            "/okrs",
            &[
                ("kind", "key_result"),
                ("title", " "),
                ("period_id", &period),
                ("starts_on", "soon"),
                ("measure", "kpi"),
                ("unit", "bugs"),
                ("start_value", "many"),
                ("target_value", "0"),
                ("weight", "heavy"),
                ("progress_source", "check_in"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        summary_of(&reply.text),
        ["title", "start_value", "weight", "starts_on"]
    );
    assert!(reply.text.contains("Nothing was saved: 4 things to fix"));
    assert!(
        reply
            .text
            .contains("<a href=\"#title\">Title: is required</a>")
    );
    assert!(
        reply
            .text
            .contains("<a href=\"#starts_on\">Start date: must be a date (YYYY-MM-DD)</a>")
    );
    for field in ["title", "start_value", "weight", "starts_on"] {
        refused_at(&reply, field);
        assert!(
            reply
                .text
                .contains(&format!("id=\"{field}\" name=\"{field}\""))
        );
    }
    assert_eq!(count(&h, "/api/v1/okrs").await, 0, "nothing saved");

    // The engine's refusal (one at a time) is listed the same way.
    let reply = b
        .post(
            "/okrs",
            &[
                ("kind", "objective"),
                ("title", "Backwards"),
                ("period_id", &period),
                ("starts_on", "2026-03-01"),
                ("due_on", "2026-02-01"),
                ("measure", "percent_complete"),
                ("progress_source", "check_in"),
            ],
        )
        .await;
    assert_eq!(summary_of(&reply.text), ["due_on"]);
    assert!(reply.text.contains("Nothing was saved: 1 thing to fix"));

    // The period form, the check-in form and the connection form too.
    let reply = b
        .post(
            "/periods",
            &[("name", ""), ("starts_on", "x"), ("ends_on", "")],
        )
        .await;
    assert_eq!(summary_of(&reply.text), ["name", "starts_on", "ends_on"]);
    let okr = new_okr(
        &h,
        &h.owner.token,
        "key_result",
        "By hand",
        period.parse().expect("id"),
        "check_in",
    )
    .await;
    let reply = b
        .post(
            &format!("/okrs/{okr}/check-ins"),
            &[("value", "lots"), ("status_override", "sideways")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(summary_of(&reply.text), ["value", "status_override"]);
    let reply = b
        .post(
            "/connections",
            &[
                ("kind", "gitlab"),
                ("name", "my gitlab"),
                ("base_url", "not a url"),
                ("auth_kind", "private_token"),
                ("secret", "glpat-secret-value"),
            ],
        )
        .await;
    assert_eq!(summary_of(&reply.text), ["base_url"]);

    // A form that is not refused has no summary.
    let form = b.get(&format!("/okrs/new?period={period}")).await;
    assert!(!form.text.contains("error-summary"));
}

/// The text of the summary strip's item for `status`.
fn summary_count(html: &str, status: &str) -> Option<u32> {
    let start = html.find(&format!(
        "<li class=\"summary-{status}\" data-summary-status="
    ))?;
    let rest = &html[start..];
    let strong = rest.find("<strong>")? + "<strong>".len();
    let end = rest[strong..].find("</strong>")? + strong;
    rest[strong..end].parse().ok()
}

/// Issue 18 item 4 without JavaScript: the teams page (a name taken, a
/// member added twice, deleting a team that owns OKRs), the tree's
/// filters, its summary strip, and "My OKRs" as a member's default.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teams_and_the_tree_filters_work_without_javascript() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let period = period(&h).await;
    let admin = Browser::sign_in(&h, &h.admin.email).await;
    let owner_s = h.owner.id.to_string();

    let reply = admin
        .post(
            "/admin/teams",
            &[("name", "Platform"), ("lead_id", &owner_s)],
        )
        .await;
    says_done(&admin, &reply, "team_created", "The team is created.").await;
    let teams = h
        .call("GET", "/api/v1/teams", Some(&h.admin.token), None)
        .await;
    let team = teams.body[0]["id"].as_i64().expect("team");
    assert_eq!(
        teams.body[0]["member_ids"],
        json!([h.owner.id]),
        "the lead is a member"
    );

    // A name taken and a member added twice come back on the page, next
    // to their field, nothing saved.
    let reply = admin.post("/admin/teams", &[("name", "platform")]).await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text
    );
    assert!(reply.text.contains("id=\"name-error\""), "{}", reply.text);
    assert!(reply.text.contains("exists already"), "{}", reply.text);
    let reply = admin
        .post(
            &format!("/admin/teams/{team}/members"),
            &[("user_id", &owner_s)],
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text
    );
    assert!(
        reply.text.contains(&format!("id=\"user_id-{team}-error\"")),
        "{}",
        reply.text
    );
    let teams = h
        .call("GET", "/api/v1/teams", Some(&h.admin.token), None)
        .await;
    assert_eq!(teams.body.as_array().map(Vec::len), Some(1));
    assert_eq!(teams.body[0]["member_ids"], json!([h.owner.id]));

    // The owner's objective with a key result of the team's, and another
    // member's key result.
    let objective = new_okr(
        &h,
        &h.owner.token,
        "objective",
        "Owner objective",
        period,
        "roll_up",
    )
    .await;
    let reply = h
        .call(
            "POST",
            "/api/v1/okrs",
            Some(&h.owner.token),
            Some(
                json!({"kind": "key_result", "title": "Team result", "period_id": period,
                "parent_id": objective, "owner_team_id": team,
                "measure": {"mode": "percent_complete"}, "progress_source": "check_in"}),
            ),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let teams_kr = reply.body["id"].as_i64().expect("okr");
    let others = new_okr(
        &h,
        &h.other.token,
        "key_result",
        "Other result",
        period,
        "check_in",
    )
    .await;
    for (okr, token, value) in [
        (teams_kr, &h.owner.token, 100.0),
        (others, &h.other.token, 100.0),
    ] {
        let reply = h
            .call(
                "POST",
                &format!("/api/v1/okrs/{okr}/check-ins"),
                Some(token),
                Some(json!({"value": value})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    }

    // A member lands on their own OKRs, grouped under their objective.
    let member = Browser::sign_in(&h, &h.owner.email).await;
    let tree = member.get("/").await;
    assert_eq!(tree.status, StatusCode::OK, "{}", tree.text);
    assert!(
        tree.text.contains("aria-current=\"page\">My OKRs"),
        "{}",
        tree.text
    );
    assert!(tree.text.contains("Team result") && tree.text.contains("Owner objective"));
    assert!(
        !tree.text.contains("Other result"),
        "only mine: {}",
        tree.text
    );
    assert!(
        tree.text.contains("<details class=\"children\" open>"),
        "{}",
        tree.text
    );
    assert!(tree.text.contains("Team: Platform"), "{}", tree.text);
    assert_eq!(
        summary_count(&tree.text, "done"),
        Some(2),
        "the result and its objective: {}",
        tree.text
    );
    assert_eq!(summary_count(&tree.text, "at_risk"), Some(0));
    assert!(
        tree.text.contains("class=\"legend"),
        "a legend of the colours"
    );
    assert!(
        tree.text.contains("data-autosubmit"),
        "selects submit on change with JavaScript"
    );
    // The link to everything, and the filters in a GET form.
    let all = member.get(&format!("/?view=all&period={period}")).await;
    assert!(all.text.contains("Other result"), "{}", all.text);
    assert_eq!(summary_count(&all.text, "done"), Some(3));
    let by_team = member
        .get(&format!("/?view=all&period={period}&team={team}"))
        .await;
    assert!(by_team.text.contains("Team result") && !by_team.text.contains("Other result"));
    assert!(
        by_team.text.contains(&format!(
            "<option value=\"{team}\" selected>Platform</option>"
        )),
        "the filter shows what it is set to: {}",
        by_team.text
    );
    let by_owner = member
        .get(&format!("/?view=all&period={period}&owner={}", h.other.id))
        .await;
    assert!(by_owner.text.contains("Other result") && !by_owner.text.contains("Team result"));
    let none = member
        .get(&format!("/?view=all&period={period}&status=at_risk"))
        .await;
    assert!(none.text.contains("No OKRs match"), "{}", none.text);
    let bad = member.get("/?status=late").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    // An admin lands on everything.
    let tree = admin.get("/").await;
    assert!(
        tree.text.contains("aria-current=\"page\">All OKRs"),
        "{}",
        tree.text
    );
    assert!(tree.text.contains("Other result"));

    // Deleting the team asks first with how many OKRs it owns; without
    // saying whom to give them to it is refused and nothing changes.
    let ask = admin.get(&format!("/admin/teams/{team}/delete")).await;
    assert_eq!(ask.status, StatusCode::OK, "{}", ask.text);
    assert!(ask.text.contains("owns 1 OKR."), "{}", ask.text);
    assert!(ask.text.contains("value=\"people\""), "{}", ask.text);
    let reply = admin
        .post(
            &format!("/admin/teams/{team}/delete"),
            &[("reassign_to", "")],
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text
    );
    assert!(reply.text.contains("owns 1 OKR"), "{}", reply.text);
    let kr = h
        .call(
            "GET",
            &format!("/api/v1/okrs/{teams_kr}"),
            Some(&h.admin.token),
            None,
        )
        .await;
    assert_eq!(kr.body["owner_team_id"], team, "unchanged");
    let reply = admin
        .post(
            &format!("/admin/teams/{team}/delete"),
            &[("reassign_to", "people")],
        )
        .await;
    says_done(&admin, &reply, "team_deleted", "The team is deleted.").await;
    let kr = h
        .call(
            "GET",
            &format!("/api/v1/okrs/{teams_kr}"),
            Some(&h.admin.token),
            None,
        )
        .await;
    assert_eq!(kr.body["owner_team_id"], Value::Null);
    assert_eq!(kr.body["owner_id"], h.owner.id);
    let teams = h
        .call("GET", "/api/v1/teams", Some(&h.admin.token), None)
        .await;
    assert_eq!(teams.body, json!([]));

    // A filter naming nothing is refused on the tree itself: its summary
    // names the filter and links to it; the filters stay to fix it.
    for (query, field, said) in [
        ("team=424242", "team", "Team: there is no team 424242"),
        (
            "owner=someone",
            "owner",
            "Owner: `someone` is not one of the choices",
        ),
    ] {
        let refused = admin
            .get(&format!("/?view=all&period={period}&{query}"))
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            refused.text
        );
        assert!(
            refused
                .text
                .contains(&format!("<a href=\"#{field}\">{said}")),
            "{said} in {}",
            refused.text
        );
        assert!(
            refused.text.contains("class=\"filters\""),
            "{}",
            refused.text
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_connection_is_tested_on_save_and_the_catalog_says_so() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let b = Browser::sign_in(&h, &h.admin.email).await;
    let gitlab_url = h.sim.gitlab_url();
    let create = |name: &'static str, secret: &'static str| {
        let url = gitlab_url.clone();
        let b = &b;
        async move {
            let reply = b
                .post(
                    "/connections",
                    &[
                        ("kind", "gitlab"),
                        ("name", name),
                        ("base_url", &url),
                        ("auth_kind", "private_token"),
                        ("secret", secret),
                    ],
                )
                .await;
            assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text);
            let location = reply.headers["location"]
                .to_str()
                .expect("location")
                .to_owned();
            assert!(location.ends_with("?done=connection_created"), "{location}");
            b.get(&location).await
        }
    };
    let good = create("works", cairn_sim::DEFAULT_GITLAB_TOKEN).await;
    assert_eq!(good.status, StatusCode::OK);
    assert!(
        good.text.contains("Tested on save: connected as") && good.text.contains("(GitLab "),
        "{}",
        good.text
    );
    assert!(good.text.contains("<span class=\"pill ok\">ok</span>"));

    let bad = create("wrong token", "glpat-not-a-real-token").await;
    assert_eq!(bad.status, StatusCode::OK);
    assert!(
        bad.text.contains("Tested on save, and it failed")
            && bad.text.contains("The connection is saved anyway"),
        "{}",
        bad.text
    );
    assert!(
        bad.text
            .contains("<span class=\"pill failing\">failing</span>")
    );
    assert!(
        !bad.text.contains("glpat-not-a-real-token"),
        "never the token"
    );

    // The catalog counts them by that health, and links channels plainly.
    let catalog = b.get("/admin/integrations").await;
    assert!(
        catalog.text.contains("2 connections")
            && catalog
                .text
                .contains("1 healthy, 1 failing: last failure just now (wrong token: "),
        "{}",
        catalog.text
    );
    assert!(catalog.text.contains("No channel yet"));
    assert!(catalog.text.contains(">Channels</a>"));
    assert!(!catalog.text.contains("TODO"));
}

/// The registration rows of the hook setup page's card of `connection`.
fn registration_rows(html: &str, connection: i64) -> String {
    let card = format!("id=\"hook-{connection}\"");
    let start = html
        .find(&card)
        .unwrap_or_else(|| panic!("no card: {html}"));
    let rest = &html[start..];
    let end = rest.find("</section>").unwrap_or(rest.len());
    rest[..end].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hook_setup_shows_per_project_whether_the_hook_is_registered() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let gitlab = h.gitlab_connection(&h.admin, "sim gitlab", true).await;
    let jira = shared_jira(&h, &h.admin.token, "sim jira").await;
    let period = period(&h).await;
    let okr = new_okr(
        &h,
        &h.admin.token,
        "key_result",
        "Hooked",
        period,
        "data_link",
    )
    .await;
    let reply = h
        .call(
            "PUT",
            &format!("/api/v1/okrs/{okr}/link"),
            Some(&h.admin.token),
            Some(json!({"tracker": "gitlab", "connection_id": gitlab, "project": PROJECT})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let b = Browser::sign_in(&h, &h.admin.email).await;

    // Before "Enable real-time": the project it reads and the Jira site
    // have no hook of Cairn's.
    let page = b.get("/admin/hooks").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let card = registration_rows(&page.text, gitlab);
    assert!(
        card.contains(&format!("<th scope=\"row\">{PROJECT}</th>"))
            && card.contains("class=\"registration not_registered\"")
            && card.contains("Not registered"),
        "{card}"
    );
    let jira_card = registration_rows(&page.text, jira);
    assert!(
        jira_card.contains("<th scope=\"row\">Jira</th>") && jira_card.contains("Not registered"),
        "{jira_card}"
    );
    let status = |id: i64| {
        let h = &h;
        async move {
            h.send(
                Request::get(format!("/api/v1/connections/{id}/hooks"))
                    .header("authorization", format!("Bearer {}", h.admin.token))
                    .header("host", HOST)
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
        }
    };
    let api = status(gitlab).await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.text);
    assert_eq!(api.body["registrations"][0]["target"], PROJECT);
    assert_eq!(api.body["registrations"][0]["state"], "not_registered");

    // "Enable real-time" with no project named hooks the ones it reads.
    for id in [gitlab, jira] {
        let reply = b
            .post(&format!("/admin/hooks/{id}/enable"), &[("projects", "")])
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }
    let page = b.get("/admin/hooks").await;
    let card = registration_rows(&page.text, gitlab);
    assert!(
        card.contains("class=\"registration registered\"")
            && card.contains("Registered</span> (hook #")
            && card.contains("events: issues"),
        "{card}"
    );
    let jira_card = registration_rows(&page.text, jira);
    assert!(
        jira_card.contains("Registered</span> (hook #"),
        "{jira_card}"
    );
    let api = status(gitlab).await;
    assert_eq!(
        api.body["registrations"][0]["state"], "registered",
        "{}",
        api.text
    );
    assert!(api.body["registrations"][0]["hook_id"].is_string());
    let api = status(jira).await;
    assert_eq!(api.body["registrations"][0]["target"], "jira");
    assert_eq!(
        api.body["registrations"][0]["state"], "registered",
        "{}",
        api.text
    );

    // The token no longer works: the page says it cannot check, and why.
    h.sim.inject(&cairn_sim::FaultSpec::new(
        cairn_sim::Service::Gitlab,
        cairn_sim::FaultKind::RevokeToken,
    ));
    let page = b.get("/admin/hooks").await;
    let card = registration_rows(&page.text, gitlab);
    assert!(card.contains("Cannot check</span>: "), "{card}");
}
