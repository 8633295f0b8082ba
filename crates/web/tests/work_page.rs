//! The "My work" page: a signed-in person's week with suggestions (and the
//! rule behind each length), accepted and dismissed through plain forms
//! carrying the session's CSRF token; someone else sees only their own
//! week (here: not connected).

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::Utc;
use common::{Harness, PASSWORD, Running, eventually};
use serde_json::json;

const PROJECT: &str = "northwind/checkout";

fn form(path: &str, cookie: &str, fields: &[(&str, &str)]) -> Request<Body> {
    let body = serde_urlencoded::to_string(fields).expect("form");
    Request::post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", cookie)
        .body(Body::from(body))
        .expect("request")
}

fn get(path: &str, cookie: &str) -> Request<Body> {
    Request::get(path)
        .header("cookie", cookie)
        .body(Body::empty())
        .expect("request")
}

fn hidden(html: &str, name: &str) -> Vec<String> {
    let marker = format!("name=\"{name}\" value=\"");
    html.match_indices(&marker)
        .filter_map(|(at, _)| {
            html[at + marker.len()..]
                .split('"')
                .next()
                .map(str::to_owned)
        })
        .collect()
}

/// Signs in through the form; the session cookie.
async fn sign_in(h: &Harness, email: &str) -> String {
    let page = h.call("GET", "/login", None, None).await;
    let login_cookie = page.headers["set-cookie"]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("pair")
        .to_owned();
    let token = hidden(&page.text, "csrf_token").remove(0);
    let reply = h
        .send(form(
            "/login",
            &login_cookie,
            &[
                ("email", email),
                ("password", PASSWORD),
                ("csrf_token", &token),
            ],
        ))
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text);
    reply.headers["set-cookie"]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("pair")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn my_work_shows_the_week_and_accepts_and_dismisses() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let running = Running::server_and_worker(&h).await;
    let address = running.address.expect("address");
    let gitlab = h.gitlab_connection(&h.admin, "sim gitlab", true).await;
    let reply = h
        .call(
            "POST",
            "/api/v1/connections",
            Some(&h.admin.token),
            Some(json!({"kind": "jira", "name": "sim jira", "base_url": h.sim.jira_url(), "auth_kind": "basic",
                "username": cairn_sim::DEFAULT_JIRA_EMAIL, "secret": cairn_sim::DEFAULT_JIRA_API_TOKEN, "shared": true})),
        )
        .await;
    let jira = reply.body["id"].as_i64().expect("id");
    let request = Request::builder()
        .method("PUT")
        .uri("/api/v1/time/source")
        .header("authorization", format!("Bearer {}", h.admin.token))
        .header("content-type", "application/json")
        .header("host", address.to_string())
        .body(Body::from(
            json!({"connection_id": gitlab, "jira_connection_id": jira, "enabled": true, "projects": [PROJECT]})
                .to_string(),
        ))
        .expect("request");
    let reply = h.send(request).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let (amartin, email) = h.sim.with_world(|w| {
        w.gitlab
            .user_by_name("amartin")
            .map(|u| (u.id, u.email.clone()))
            .expect("user")
    });
    let reply = h
        .call(
            "PUT",
            "/api/v1/time/people/me",
            Some(&h.owner.token),
            Some(json!({"gitlab_user_id": amartin, "gitlab_username": "amartin", "gitlab_email": email,
                "time_zone": "America/Los_Angeles"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    for (branch, message, at) in [
        (
            "feature/OPS-1-login",
            "Add <b>login</b> form",
            "2026-12-01T17:00:00Z",
        ),
        ("fix/OPS-2", "Fix rounding", "2026-12-01T21:00:00Z"),
    ] {
        h.control(
            "gitlab/push",
            json!({"project": PROJECT, "as": "amartin", "branch": branch, "messages": [message],
                   "authored_at": at}),
        )
        .await;
    }
    let session = sign_in(&h, &h.owner.email).await;
    eventually("two suggestions on the page", || async {
        let page = h.send(get("/my-work?day=2026-12-01", &session)).await;
        page.text.matches("Accept OPS-").count() == 2
    })
    .await;
    let page = h.send(get("/my-work?day=2026-12-01", &session)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("America/Los_Angeles"));
    assert!(
        page.text
            .contains("08:30-09:00 session (first activity 09:00, lead-in 30 min)"),
        "the rule behind the length is shown"
    );
    assert!(
        page.text.contains("login") && !page.text.contains("<b>login</b>"),
        "escaped"
    );
    assert!(
        page.text
            .contains("<label for=\"minutes-1\">Minutes</label>")
    );
    let csrf = hidden(&page.text, "csrf_token").remove(0);
    let keys = hidden(&page.text, "key");
    assert_eq!(keys.len(), 4, "accept and dismiss per suggestion");

    // A forged form is refused.
    let forged = h
        .send(form(
            "/my-work/accept",
            &session,
            &[
                ("csrf_token", "forged"),
                ("key", &keys[0]),
                ("day", "2026-12-01"),
            ],
        ))
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // A bad length is refused with the message on the page.
    let bad = h
        .send(form(
            "/my-work/accept",
            &session,
            &[
                ("csrf_token", &csrf),
                ("key", &keys[0]),
                ("day", "2026-12-01"),
                ("minutes", "0"),
            ],
        ))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    assert!(bad.text.contains("role=\"alert\""));
    let accepted = h
        .send(form(
            "/my-work/accept",
            &session,
            &[
                ("csrf_token", &csrf),
                ("key", &keys[0]),
                ("day", "2026-12-01"),
                ("minutes", "45"),
                ("description", "Login form"),
            ],
        ))
        .await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER, "{}", accepted.text);
    let dismissed = h
        .send(form(
            "/my-work/dismiss",
            &session,
            &[
                ("csrf_token", &csrf),
                ("key", &keys[2]),
                ("day", "2026-12-01"),
            ],
        ))
        .await;
    assert_eq!(
        dismissed.status,
        StatusCode::SEE_OTHER,
        "{}",
        dismissed.text
    );
    let page = h.send(get("/my-work?day=2026-12-01", &session)).await;
    assert_eq!(page.text.matches("Accept OPS-").count(), 0);
    assert!(
        page.text.contains("<strong>edited</strong>")
            && page.text.contains("<strong>dismissed</strong>")
    );
    assert!(page.text.contains("0:45"), "45 minutes logged that day");

    // Someone else sees their own week only.
    let other = sign_in(&h, &h.other.email).await;
    let page = h.send(get("/my-work?day=2026-12-01", &other)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("not connected"));
    assert!(!page.text.contains("login"));
    let _ = Utc::now();
    running.stop().await;
}
