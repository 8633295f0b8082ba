//! Issue 18 item 4 through the API: teams, OKRs owned by a team, the OKR
//! list's filters, and the bad input they refuse (422 naming the field,
//! nothing saved), on both backends.

mod common;

use axum::http::StatusCode;
use common::{Harness, Reply};
use serde_json::{Value, json};

fn okr_body(period: i64, title: &str, team: Option<i64>) -> Value {
    let mut body = json!({"kind": "key_result", "title": title, "period_id": period,
        "measure": {"mode": "percent_complete"}, "progress_source": "check_in"});
    if let Some(team) = team {
        body["owner_team_id"] = json!(team);
    }
    body
}

async fn create_okr(h: &Harness, token: &str, body: Value) -> Reply {
    h.call("POST", "/api/v1/okrs", Some(token), Some(body))
        .await
}

fn ids(reply: &Reply) -> Vec<i64> {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply
        .body
        .as_array()
        .expect("a list")
        .iter()
        .map(|o| o["id"].as_i64().expect("id"))
        .collect()
}

fn assert_invalid(reply: &Reply, field: &str) {
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text
    );
    assert_eq!(reply.body["error"]["field"], field, "{}", reply.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teams_own_okrs_and_the_list_filters_on_sqlite() {
    teams_own_okrs_and_the_list_filters(cairn_store::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teams_own_okrs_and_the_list_filters_on_postgres() {
    teams_own_okrs_and_the_list_filters(cairn_store::Backend::Postgres).await;
}

async fn teams_own_okrs_and_the_list_filters(backend: cairn_store::Backend) {
    let h = Harness::new(backend).await;
    let admin = h.admin.token.clone();
    let period = common::period(&h).await;

    // A team with the owner as its lead: the lead is a member.
    let reply = h
        .call(
            "POST",
            "/api/v1/teams",
            Some(&admin),
            Some(json!({"name": "Platform", "lead_id": h.owner.id})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let team = reply.body["id"].as_i64().expect("team");
    assert_eq!(reply.body["member_ids"], json!([h.owner.id]));
    assert_eq!(reply.body["lead_id"], h.owner.id);

    // A name taken (in any case), a member added twice, a user who does
    // not exist: 422 naming the field, nothing saved.
    let reply = h
        .call(
            "POST",
            "/api/v1/teams",
            Some(&admin),
            Some(json!({"name": "PLATFORM"})),
        )
        .await;
    assert_invalid(&reply, "name");
    let members = format!("/api/v1/teams/{team}/members");
    let reply = h
        .call(
            "POST",
            &members,
            Some(&admin),
            Some(json!({"user_id": h.owner.id})),
        )
        .await;
    assert_invalid(&reply, "user_id");
    let reply = h
        .call(
            "POST",
            &members,
            Some(&admin),
            Some(json!({"user_id": 424242})),
        )
        .await;
    assert_invalid(&reply, "user_id");
    let teams = h
        .call("GET", "/api/v1/teams", Some(&h.other.token), None)
        .await;
    assert_eq!(teams.status, StatusCode::OK, "{}", teams.text);
    assert_eq!(
        teams.body,
        json!([{"id": team, "name": "Platform", "lead_id": h.owner.id,
            "member_ids": [h.owner.id], "okr_count": 0,
            "created_at": teams.body[0]["created_at"]}]),
        "one team, one member"
    );

    // A member gives OKRs to their own team only.
    let reply = create_okr(&h, &h.owner.token, okr_body(period, "Team's", Some(team))).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["owner_team_id"], team);
    let teams_okr = reply.body["id"].as_i64().expect("okr");
    let reply = create_okr(
        &h,
        &h.other.token,
        okr_body(period, "Not theirs", Some(team)),
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text);
    let reply = create_okr(
        &h,
        &h.owner.token,
        okr_body(period, "Nowhere", Some(424242)),
    )
    .await;
    assert_invalid(&reply, "owner_team_id");
    let reply = create_okr(&h, &h.other.token, okr_body(period, "Other's", None)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let others_okr = reply.body["id"].as_i64().expect("okr");
    let reply = create_okr(&h, &h.owner.token, okr_body(period, "Owner's", None)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let owners_okr = reply.body["id"].as_i64().expect("okr");
    // The owner's own is done.
    let reply = h
        .call(
            "POST",
            &format!("/api/v1/okrs/{owners_okr}/check-ins"),
            Some(&h.owner.token),
            Some(json!({"value": 100.0})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let all = ids(&h.call("GET", "/api/v1/okrs", Some(&admin), None).await);
    assert_eq!(
        all,
        vec![teams_okr, others_okr, owners_okr],
        "nothing refused was saved"
    );

    // The filters, alone and together.
    let list = |token: &str, query: &str| {
        let path = format!("/api/v1/okrs?{query}");
        let token = token.to_owned();
        let h = &h;
        async move { h.call("GET", &path, Some(&token), None).await }
    };
    assert_eq!(
        ids(&list(&admin, &format!("team_id={team}")).await),
        vec![teams_okr]
    );
    assert_eq!(
        ids(&list(&admin, &format!("owner_id={}", h.owner.id)).await),
        vec![teams_okr, owners_okr]
    );
    assert_eq!(ids(&list(&admin, "status=done").await), vec![owners_okr]);
    assert_eq!(
        ids(&list(
            &admin,
            &format!("status=done&owner_id={}&period_id={period}", h.other.id)
        )
        .await),
        Vec::<i64>::new()
    );
    assert_eq!(
        ids(&list(&h.other.token, "mine=true").await),
        vec![others_okr]
    );
    // Joining the team makes its OKRs theirs too.
    let reply = h
        .call(
            "POST",
            &members,
            Some(&admin),
            Some(json!({"user_id": h.other.id})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        ids(&list(&h.other.token, "mine=true").await),
        vec![teams_okr, others_okr]
    );

    // A filter value that does not exist, or is no id: 422 naming it.
    for (query, field) in [
        ("team_id=424242", "team_id"),
        ("team_id=abc", "team_id"),
        ("owner_id=424242", "owner_id"),
        ("period_id=424242", "period_id"),
        ("status=late", "status"),
        ("mine=maybe", "mine"),
    ] {
        assert_invalid(&list(&admin, query).await, field);
    }

    // An edit without the team keeps it; null removes it.
    let path = format!("/api/v1/okrs/{teams_okr}");
    let mut body = okr_body(period, "Team's, renamed", None);
    let reply = h
        .call("PUT", &path, Some(&h.owner.token), Some(body.clone()))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["owner_team_id"], team);

    // Deleting a team that owns OKRs: refused with how many, the team and
    // its OKR untouched, unless they are given away in the same step.
    let team_path = format!("/api/v1/teams/{team}");
    let reply = h.call("DELETE", &team_path, Some(&admin), None).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
    assert_eq!(reply.body["error"]["field"], "reassign_to");
    assert!(
        reply.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("owns 1 OKR")),
        "{}",
        reply.text
    );
    let reply = h
        .call(
            "DELETE",
            &format!("{team_path}?reassign_to=424242"),
            Some(&admin),
            None,
        )
        .await;
    assert_invalid(&reply, "reassign_to");
    let reply = h.call("GET", &team_path, Some(&admin), None).await;
    assert_eq!(reply.body["okr_count"], 1, "{}", reply.text);

    let reply = h
        .call(
            "POST",
            "/api/v1/teams",
            Some(&admin),
            Some(json!({"name": "Web"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let web = reply.body["id"].as_i64().expect("team");
    let reply = h
        .call(
            "DELETE",
            &format!("{team_path}?reassign_to={web}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["okrs_moved"], 1);
    let reply = h.call("GET", &team_path, Some(&admin), None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text);
    let reply = h.call("GET", &path, Some(&admin), None).await;
    assert_eq!(reply.body["owner_team_id"], web, "given to Web");
    assert_eq!(reply.body["owner_id"], h.owner.id, "the person stays");

    // Null removes the team (the owner is no member of Web: removing is
    // not giving).
    body["owner_team_id"] = Value::Null;
    let reply = h.call("PUT", &path, Some(&admin), Some(body)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["owner_team_id"], Value::Null);
    let reply = h
        .call(
            "DELETE",
            &format!("/api/v1/teams/{web}?reassign_to=people"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["okrs_moved"], 0);
}
