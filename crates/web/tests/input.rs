//! Bad input is refused with a 4xx naming the field, in words for people,
//! and changes nothing: control characters in any text, invisible
//! formatting in names and titles, a JSON array for an object, a body that
//! is not declared JSON. Integral floats are integers.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{Harness, Reply};
use serde_json::{Value, json};

async fn periods(h: &Harness) -> usize {
    h.call("GET", "/api/v1/periods", Some(&h.admin.token), None)
        .await
        .body
        .as_array()
        .map_or(0, Vec::len)
}

fn refused(reply: &Reply, field: &str) {
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text
    );
    let named = reply.body["error"]["field"].as_str().unwrap_or_default();
    // The field, or a place inside it (`measure[0]`).
    assert!(
        named == field || named.starts_with(&format!("{field}[")),
        "{field}: {}",
        reply.text
    );
}

/// No Rust or serde internals in a message meant for people.
fn for_people(reply: &Reply) {
    let message = reply.body["error"]["message"].as_str().unwrap_or_default();
    for internal in [
        "struct ",
        "enum ",
        "i64",
        "u64",
        "JiraMetric",
        "OkrRequest",
        "OkrKind",
        "line 1 column",
        "identifier",
    ] {
        assert!(!message.contains(internal), "{message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_are_refused_in_every_text_field() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let admin = Some(h.admin.token.as_str());
    let user = |email: &str, name: &str| json!({"email": email, "name": name, "role": "member", "password": common::PASSWORD});
    let reply = h
        .call(
            "POST",
            "/api/v1/users",
            admin,
            Some(user("nul\u{0}@example.com", "Nul")),
        )
        .await;
    refused(&reply, "email");
    let reply = h
        .call(
            "POST",
            "/api/v1/users",
            admin,
            Some(user("bell@example.com", "Bell\u{7}")),
        )
        .await;
    refused(&reply, "name");
    // Bidi overrides and zero-width characters in names and titles.
    for name in ["ad\u{202E}nimda", "Ad\u{200B}min", "\u{2066}x\u{2069}"] {
        let reply = h
            .call(
                "POST",
                "/api/v1/users",
                admin,
                Some(user("sneaky@example.com", name)),
            )
            .await;
        refused(&reply, "name");
        let reply = h
            .call(
                "POST",
                "/api/v1/periods",
                admin,
                Some(json!({"name": name, "starts_on": "2027-04-01", "ends_on": "2027-06-30"})),
            )
            .await;
        refused(&reply, "name");
    }
    let period = common::period(&h).await;
    let okr = |title: &str, description: &str| {
        json!({"kind": "objective", "title": title, "description": description, "period_id": period,
               "measure": {"mode": "percent_complete"}, "progress_source": "roll_up"})
    };
    let owner = Some(h.owner.token.as_str());
    let reply = h
        .call(
            "POST",
            "/api/v1/okrs",
            owner,
            Some(okr("Faster\u{FEFF}", "")),
        )
        .await;
    refused(&reply, "title");
    let reply = h
        .call(
            "POST",
            "/api/v1/okrs",
            owner,
            Some(okr("Faster", "ok\u{0}")),
        )
        .await;
    refused(&reply, "description");
    // Line breaks and tabs are fine in a description.
    let reply = h
        .call(
            "POST",
            "/api/v1/okrs",
            owner,
            Some(okr("Faster", "one\n\ttwo")),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    // Nothing was created by the refused requests.
    let users = h.call("GET", "/api/v1/users", admin, None).await;
    assert_eq!(
        users.body.as_array().map(Vec::len),
        Some(3),
        "{}",
        users.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_array_is_not_an_object() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let before = periods(&h).await;
    let reply = h
        .call(
            "POST",
            "/api/v1/periods",
            Some(&h.admin.token),
            Some(json!(["p", "2027-04-01", "2027-06-30"])),
        )
        .await;
    refused(&reply, "body");
    for_people(&reply);
    for body in [json!("text"), json!(5), Value::Null] {
        let reply = h
            .call("POST", "/api/v1/periods", Some(&h.admin.token), Some(body))
            .await;
        refused(&reply, "body");
    }
    assert_eq!(periods(&h).await, before, "nothing created");
}

async fn with_content_type(h: &Harness, content_type: Option<&str>, name: &str) -> Reply {
    let mut request = Request::post("/api/v1/periods")
        .header("authorization", format!("Bearer {}", h.admin.token));
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let body = json!({"name": name, "starts_on": "2027-04-01", "ends_on": "2027-06-30"});
    h.send(request.body(Body::from(body.to_string())).expect("request"))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_json_is_read_as_json() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    for (i, content_type) in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/jsonx"),
        Some("application/json; charset=latin1"),
    ]
    .into_iter()
    .enumerate()
    {
        let reply = with_content_type(&h, content_type, &format!("refused {i}")).await;
        assert_eq!(
            reply.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type:?}: {}",
            reply.text
        );
        assert_eq!(reply.body["error"]["code"], "unsupported_media_type");
    }
    assert_eq!(periods(&h).await, 0);
    for (i, content_type) in [
        "application/json",
        "Application/JSON",
        "application/json; charset=utf-8",
        "APPLICATION/JSON;CHARSET=UTF-8",
    ]
    .into_iter()
    .enumerate()
    {
        let reply = with_content_type(&h, Some(content_type), &format!("accepted {i}")).await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "{content_type}: {}",
            reply.text
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integers_may_be_written_as_integral_floats_and_errors_are_in_words() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let period = common::period(&h).await;
    let owner = Some(h.owner.token.as_str());
    let reply = h
        .call(
            "POST",
            "/api/v1/okrs",
            owner,
            Some(
                json!({"kind": "objective", "title": "Float id", "period_id": period as f64,
                        "measure": {"mode": "percent_complete"}, "progress_source": "roll_up"}),
            ),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["period_id"], period);

    // A fraction is not an integer; an unknown name lists the known ones;
    // an array is not an object: each named, in words.
    let cases = [
        (json!({"period_id": 1.5}), "period_id", "integer"),
        (json!({"kind": "objectiv"}), "kind", "objective"),
        (json!({"measure": [1, 2]}), "measure", "allowed names"),
        (json!({"colour": "blue"}), "colour", "field"),
    ];
    for (change, field, word) in cases {
        let mut body = json!({"kind": "objective", "title": "x", "period_id": period,
                              "measure": {"mode": "percent_complete"}, "progress_source": "roll_up"});
        if let (Some(body), Some(change)) = (body.as_object_mut(), change.as_object()) {
            body.extend(change.clone());
        }
        let reply = h.call("POST", "/api/v1/okrs", owner, Some(body)).await;
        refused(&reply, field);
        for_people(&reply);
        let message = reply.body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(word), "{field}: {message}");
    }
}
