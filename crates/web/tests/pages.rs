//! The sign-in page, the signed-in page and sign-out: forms carry CSRF
//! tokens, names are escaped, security headers are set.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::Utc;
use common::{Harness, PASSWORD};

fn form(path: &str, cookie: &str, fields: &[(&str, &str)]) -> Request<Body> {
    let body = serde_urlencoded::to_string(fields).expect("form");
    Request::post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", cookie)
        .body(Body::from(body))
        .expect("request")
}

fn hidden_token(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("a csrf_token field") + marker.len();
    html[start..].split('"').next().expect("value").to_owned()
}

fn cookie_pair(reply: &common::Reply) -> String {
    reply.headers["set-cookie"]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("pair")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_and_out_through_the_forms() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    // A name that would run as script if it were not escaped.
    h.state
        .accounts
        .create_user(
            None,
            "xss@example.com",
            "<script>alert(1)</script>",
            cairn_core::authz::Role::Member,
            PASSWORD,
            Utc::now(),
        )
        .await
        .expect("user");

    let home = h.call("GET", "/", None, None).await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert_eq!(home.headers["location"], "/login");

    let page = h.call("GET", "/login", None, None).await;
    assert_eq!(page.status, StatusCode::OK);
    let csp = page.headers["content-security-policy"]
        .to_str()
        .expect("csp");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(page.headers["x-content-type-options"], "nosniff");
    assert!(
        page.text.contains("<label for=\"email\">")
            && page.text.contains("<label for=\"password\">")
    );
    let login_cookie = cookie_pair(&page);
    assert!(login_cookie.starts_with("cairn_login_csrf="));
    let token = hidden_token(&page.text);

    // A forged form (no matching cookie) is refused, with the email kept.
    let forged = h
        .send(form(
            "/login",
            "",
            &[
                ("email", "xss@example.com"),
                ("password", PASSWORD),
                ("csrf_token", &token),
            ],
        ))
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(
        forged.text.contains("value=\"xss@example.com\""),
        "{}",
        forged.text
    );
    assert!(
        forged
            .headers
            .get_all("set-cookie")
            .iter()
            .all(|c| !c.to_str().unwrap_or("").starts_with("cairn_session="))
    );

    let wrong = h
        .send(form(
            "/login",
            &login_cookie,
            &[
                ("email", "xss@example.com"),
                ("password", "not it at all"),
                ("csrf_token", &token),
            ],
        ))
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.text.contains("Wrong email or password."));

    let signed_in = h
        .send(form(
            "/login",
            &login_cookie,
            &[
                ("email", "xss@example.com"),
                ("password", PASSWORD),
                ("csrf_token", &token),
            ],
        ))
        .await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.text
    );
    let session = cookie_pair(&signed_in);
    assert!(session.starts_with("cairn_session="));

    let home = h
        .send(
            Request::get("/")
                .header("cookie", &session)
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(
        home.text
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "escaped: {}",
        home.text
    );
    assert!(!home.text.contains("<script>alert(1)</script>"));
    let csrf = hidden_token(&home.text);

    let refused = h
        .send(form("/logout", &session, &[("csrf_token", "forged")]))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let still = h
        .send(
            Request::get("/api/v1/me")
                .header("cookie", &session)
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(
        still.status,
        StatusCode::OK,
        "a refused sign-out changes nothing"
    );

    let out = h
        .send(form("/logout", &session, &[("csrf_token", &csrf)]))
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let gone = h
        .send(
            Request::get("/api/v1/me")
                .header("cookie", &session)
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(gone.status, StatusCode::UNAUTHORIZED);
}
