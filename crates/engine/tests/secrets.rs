//! Secrets at rest on both backends: sealed before they reach the store,
//! opened to talk to the simulator, re-sealed by key rotation while in use.

use std::sync::Arc;

use cairn_core::authz::Role;
use cairn_core::secret::Secret;
use cairn_engine::accounts::{Accounts, Authenticated};
use cairn_engine::connections::{ConnectionInput, Connections};
use cairn_engine::hooks::{HookError, Ingested};
use cairn_engine::keyring::Keyring;
use cairn_store::Backend;
use cairn_store::testing::TestDb;
use chrono::Utc;

async fn round_trip_and_rotation(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let sim = cairn_sim::start(cairn_sim::SimConfig::default())
        .await
        .expect("simulator");
    let keys = tempfile::tempdir().expect("tempdir");
    let key_file = keys.path().join("master.key");
    let server_keyring = Arc::new(Keyring::load(None, &key_file).expect("keyring"));
    let connections = Connections::new(store.clone(), server_keyring.clone());
    let user = Accounts::new(store.clone())
        .create_user(
            None,
            "ops@example.com",
            "Ops",
            Role::Admin,
            "a long enough password",
            Utc::now(),
        )
        .await
        .expect("user");
    let by = Authenticated {
        user,
        session: None,
    };
    let token = cairn_sim::DEFAULT_GITLAB_TOKEN;
    let created = connections
        .create(
            &by,
            ConnectionInput {
                kind: "gitlab".into(),
                name: "sim".into(),
                base_url: Some(sim.gitlab_url()),
                auth_kind: "private_token".into(),
                username: None,
                secret: Secret::new(token),
                shared: false,
            },
            Utc::now(),
        )
        .await
        .expect("create");

    // At rest: ciphertext under the current key, never the token.
    let stored = store
        .get_connection(created.id)
        .await
        .expect("get")
        .expect("stored");
    let first_key = server_keyring.current_key_id();
    assert_eq!(stored.secret.key_id, first_key);
    assert!(
        !stored
            .secret
            .bytes
            .windows(token.len())
            .any(|w| w == token.as_bytes())
    );
    assert!(
        connections
            .test(&by, created.id, Utc::now())
            .await
            .expect("test")
            .ok,
        "opened to call GitLab"
    );

    // A hook secret is sealed the same way, and shown only once.
    let goals = Arc::new(cairn_engine::goals::Goals::new(
        store.clone(),
        server_keyring.clone(),
        Default::default(),
    ));
    let hooks = cairn_engine::hooks::Hooks::new(
        store.clone(),
        server_keyring.clone(),
        goals,
        Default::default(),
    );
    let issued = hooks
        .rotate_secret(&by, created.id, Utc::now())
        .await
        .expect("hook secret");
    let hook_token = issued.secret.expose().to_owned();
    let sealed = store
        .hook_secret(created.id)
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(sealed.secret.key_id, first_key);
    assert!(
        !sealed
            .secret
            .bytes
            .windows(hook_token.len())
            .any(|w| w == hook_token.as_bytes())
    );
    let deliver = |token: String| {
        let hooks = &hooks;
        async move {
            hooks
                .ingest(
                    cairn_core::integrations::IntegrationKind::Gitlab,
                    created.id,
                    cairn_engine::hooks::HookHeaders {
                        token: Some(&token),
                        ..Default::default()
                    },
                    br#"{"object_kind":"push","ref":"refs/heads/main"}"#,
                    Utc::now(),
                )
                .await
        }
    };
    // Verified and stored (a push: kept, not acted on).
    let first = deliver(hook_token.clone()).await;
    let Ok(Ingested::Ignored {
        delivery: first_delivery,
        reason,
    }) = &first
    else {
        panic!("{first:?}")
    };
    assert_eq!(reason, "pushes are not read yet");

    // Rotation by another process (the admin CLI) while this one serves.
    let admin_keyring = Arc::new(Keyring::load(None, &key_file).expect("admin keyring"));
    let new_key = admin_keyring.add_new_current_key().expect("new key");
    let resealed = Connections::new(store.clone(), admin_keyring.clone())
        .reseal_all()
        .await
        .expect("reseal");
    assert_eq!(resealed, 2, "the connection's secret and its hook secret");
    assert_eq!(
        admin_keyring.retire_old_keys().expect("retire"),
        vec![first_key.clone()]
    );
    let stored = store
        .get_connection(created.id)
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(stored.secret.key_id, new_key);
    // The running server meets a key it has not loaded and re-reads the file.
    let outcome = connections
        .test(&by, created.id, Utc::now())
        .await
        .expect("test after rotation");
    assert!(outcome.ok, "{outcome:?}");
    assert_eq!(
        store
            .hook_secret(created.id)
            .await
            .expect("get")
            .expect("stored")
            .secret
            .key_id,
        new_key
    );
    // The hook secret still verifies: stored as a new delivery.
    let again = deliver(hook_token).await;
    assert!(
        matches!(&again, Ok(Ingested::Ignored { delivery, .. }) if delivery > first_delivery),
        "{again:?}"
    );
    // A wrong token is refused for that reason, not another.
    let wrong = deliver("wrong".into()).await;
    assert!(
        matches!(
            wrong,
            Err(HookError::Unauthorized(
                "missing or wrong X-Gitlab-Token for this connection"
            ))
        ),
        "{wrong:?}"
    );
    assert!(
        !std::fs::read_to_string(&key_file)
            .expect("key file")
            .contains(&first_key),
        "old key gone"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_round_trip_and_rotation() {
    round_trip_and_rotation(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_round_trip_and_rotation() {
    round_trip_and_rotation(Backend::Postgres).await;
}
