//! Fresh, empty databases for tests: a temporary SQLite file, or a new
//! database on the local PostgreSQL server (dropped afterwards). PostgreSQL
//! tests fail loudly when the server is missing; they never skip.

use std::sync::Arc;

use crate::{Backend, OpenOptions, Store};

/// Where the PostgreSQL test server is; override with `CAIRN_TEST_POSTGRES_URL`.
pub fn postgres_admin_url() -> String {
    std::env::var("CAIRN_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A database that exists for one test.
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => TestDb::sqlite(),
            Backend::Postgres => TestDb::postgres().await,
        }
    }

    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temporary directory for a test database");
        let url = format!("sqlite://{}/cairn.db", dir.path().display());
        TestDb {
            url,
            backend: Backend::Sqlite,
            _dir: Some(dir),
            pg_name: None,
        }
    }

    pub async fn postgres() -> TestDb {
        let admin = postgres_admin_url();
        let name = format!("cairn_test_{}", uuid::Uuid::new_v4().simple());
        let pool = sqlx::PgPool::connect(&admin).await.unwrap_or_else(|e| {
            panic!("PostgreSQL tests need a server at {admin} (set CAIRN_TEST_POSTGRES_URL): {e}")
        });
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&pool)
            .await
            .expect("create a test database");
        pool.close().await;
        let mut url = url::Url::parse(&admin).expect("CAIRN_TEST_POSTGRES_URL is a URL");
        url.set_path(&name);
        TestDb {
            url: url.to_string(),
            backend: Backend::Postgres,
            _dir: None,
            pg_name: Some(name),
        }
    }

    /// Opens the database without migrating it.
    pub async fn open(&self) -> Arc<dyn Store> {
        crate::open(&self.url, &OpenOptions::default())
            .await
            .expect("open the test database")
    }

    /// Opens and migrates.
    pub async fn store(&self) -> Arc<dyn Store> {
        let store = self.open().await;
        store.migrate().await.expect("migrate the test database");
        store
    }

    /// Runs SQL (one or more statements) on a connection of its own: for
    /// tests that inject faults (a trigger that fails a write) and remove
    /// them again.
    pub async fn execute(&self, sql: &str) {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self.backend {
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&self.url)
                    .await
                    .expect("connect to the test database");
                sqlx::raw_sql(sql).execute(&pool).await.expect("run SQL");
                pool.close().await;
            }
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&self.url)
                    .await
                    .expect("connect to the test database");
                sqlx::raw_sql(sql).execute(&pool).await.expect("run SQL");
                pool.close().await;
            }
        }
    }

    /// The SQLite file, for tests that corrupt it.
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        self._dir.as_ref().map(|d| d.path().join("cairn.db"))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        let admin = postgres_admin_url();
        // Drop may run inside a runtime; use a thread with its own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(pool) = sqlx::PgPool::connect(&admin).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&pool)
                    .await;
                    pool.close().await;
                }
            });
        })
        .join();
    }
}
