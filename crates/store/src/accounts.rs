//! Users, sessions, API tokens, the integration catalog and connections.
//!
//! The SQL is the same on both backends (`$n` placeholders, first used in
//! ascending order, mean the same to SQLite and PostgreSQL); only how times
//! are stored differs. So the implementation is written once, as a macro
//! expanded in each backend's module, where `to_db`, `from_db` and
//! `opt_from_db` convert times.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{
    ApiToken, Connection, ConnectionUpdate, HealthCheck, Integration, IntegrationKind,
    NewConnection, NewUser, Result, SealedSecret, Session, User, UserUpdate,
};

/// Reading accounts and connections.
#[async_trait]
pub trait AccountStore: Send + Sync {
    async fn count_users(&self) -> Result<u64>;
    async fn get_user(&self, id: i64) -> Result<Option<User>>;
    /// By email, case-insensitively.
    async fn get_user_by_email(&self, email: &str) -> Result<Option<User>>;
    async fn list_users(&self) -> Result<Vec<User>>;

    /// The session with this id if it has not expired and was last seen
    /// after `idle_since`; marks it seen now.
    async fn touch_session(
        &self,
        id: &str,
        now: DateTime<Utc>,
        idle_since: DateTime<Utc>,
    ) -> Result<Option<Session>>;
    async fn delete_session(&self, id: &str) -> Result<()>;
    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64>;

    /// The live (unrevoked) token with this hash; records its use.
    async fn use_api_token(&self, token_hash: &str, now: DateTime<Utc>)
    -> Result<Option<ApiToken>>;
    async fn list_api_tokens(&self, user_id: i64) -> Result<Vec<ApiToken>>;

    async fn list_integrations(&self) -> Result<Vec<Integration>>;
    async fn integration_enabled(&self, kind: IntegrationKind) -> Result<bool>;

    async fn get_connection(&self, id: i64) -> Result<Option<Connection>>;
    async fn list_connections(&self) -> Result<Vec<Connection>>;
    /// Connections whose secret is sealed under a key other than `key_id`.
    async fn connections_not_under_key(&self, key_id: &str, limit: u32) -> Result<Vec<Connection>>;
    /// Records the outcome of a connection test as its health.
    async fn record_connection_health(
        &self,
        id: i64,
        check: &HealthCheck,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// Records that a call Cairn made with the connection on its own (a
    /// refresh, a sync, a hook registration) succeeded: `last_ok_at = now`,
    /// written only when it was never set, is older than a minute, or an
    /// error came after it (so a busy connection is not written per call).
    /// Returns whether it wrote.
    async fn record_connection_ok(&self, id: i64, now: DateTime<Utc>) -> Result<bool>;
    /// Replaces a secret only if it is still the one given (rotation racing
    /// an edit never overwrites the edit).
    async fn reseal_connection_secret(
        &self,
        id: i64,
        old: &SealedSecret,
        new: &SealedSecret,
    ) -> Result<bool>;
}

/// Account changes, made inside a [`crate::StoreTx`] with their audit entry.
#[async_trait]
pub trait AccountTx: Send {
    async fn create_user(&mut self, user: &NewUser, now: DateTime<Utc>) -> Result<i64>;
    /// Returns false when there is no such user.
    async fn update_user(
        &mut self,
        id: i64,
        update: &UserUpdate,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    async fn create_session(&mut self, session: &Session) -> Result<()>;
    async fn create_api_token(
        &mut self,
        user_id: i64,
        name: &str,
        token_hash: &str,
        prefix: &str,
        now: DateTime<Utc>,
    ) -> Result<ApiToken>;
    /// Revokes one of `user_id`'s tokens; false when it has none such live.
    async fn revoke_api_token(&mut self, user_id: i64, id: i64, now: DateTime<Utc>)
    -> Result<bool>;
    async fn set_integration_enabled(
        &mut self,
        kind: IntegrationKind,
        enabled: bool,
        now: DateTime<Utc>,
    ) -> Result<()>;
    async fn create_connection(
        &mut self,
        connection: &NewConnection,
        now: DateTime<Utc>,
    ) -> Result<i64>;
    async fn update_connection(
        &mut self,
        id: i64,
        update: &ConnectionUpdate,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    async fn delete_connection(&mut self, id: i64) -> Result<bool>;
}

macro_rules! impl_accounts {
    ($store:ty, $tx:ty) => {
        const USER_COLUMNS: &str =
            "id, email, name, role, password_hash, created_at, updated_at, disabled_at";
        const CONNECTION_COLUMNS: &str = "id, kind, name, base_url, auth_kind, username, secret, \
            secret_key_id, owner_id, shared, flavour, account_name, server_version, last_ok_at, \
            last_error, last_error_code, last_error_at, story_points_field, created_at, updated_at";
        const TOKEN_COLUMNS: &str =
            "id, user_id, name, prefix, created_at, last_used_at, revoked_at";

        fn user_from_row(row: &DbRow) -> Result<crate::User> {
            let role: String = row.try_get("role")?;
            Ok(crate::User {
                id: row.try_get("id")?,
                email: row.try_get("email")?,
                name: row.try_get("name")?,
                role: crate::Role::parse(&role)
                    .ok_or_else(|| StoreError::InvalidData(format!("user role `{role}`")))?,
                password_hash: row.try_get("password_hash")?,
                created_at: from_db(row.try_get("created_at")?)?,
                updated_at: from_db(row.try_get("updated_at")?)?,
                disabled_at: opt_from_db(row.try_get("disabled_at")?)?,
            })
        }

        fn token_from_row(row: &DbRow) -> Result<crate::ApiToken> {
            Ok(crate::ApiToken {
                id: row.try_get("id")?,
                user_id: row.try_get("user_id")?,
                name: row.try_get("name")?,
                prefix: row.try_get("prefix")?,
                created_at: from_db(row.try_get("created_at")?)?,
                last_used_at: opt_from_db(row.try_get("last_used_at")?)?,
                revoked_at: opt_from_db(row.try_get("revoked_at")?)?,
            })
        }

        fn connection_from_row(row: &DbRow) -> Result<crate::Connection> {
            let kind: String = row.try_get("kind")?;
            Ok(crate::Connection {
                id: row.try_get("id")?,
                kind: crate::IntegrationKind::parse(&kind)
                    .ok_or_else(|| StoreError::InvalidData(format!("integration kind `{kind}`")))?,
                name: row.try_get("name")?,
                base_url: row.try_get("base_url")?,
                auth_kind: row.try_get("auth_kind")?,
                username: row.try_get("username")?,
                secret: crate::SealedSecret {
                    key_id: row.try_get("secret_key_id")?,
                    bytes: row.try_get("secret")?,
                },
                owner_id: row.try_get("owner_id")?,
                shared: row.try_get("shared")?,
                flavour: row.try_get("flavour")?,
                account_name: row.try_get("account_name")?,
                server_version: row.try_get("server_version")?,
                last_ok_at: opt_from_db(row.try_get("last_ok_at")?)?,
                last_error: row.try_get("last_error")?,
                last_error_code: row.try_get("last_error_code")?,
                last_error_at: opt_from_db(row.try_get("last_error_at")?)?,
                story_points_field: row.try_get("story_points_field")?,
                created_at: from_db(row.try_get("created_at")?)?,
                updated_at: from_db(row.try_get("updated_at")?)?,
            })
        }

        #[async_trait::async_trait]
        impl crate::accounts::AccountStore for $store {
            async fn count_users(&self) -> Result<u64> {
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
                    .fetch_one(&self.pool)
                    .await?;
                Ok(n.max(0) as u64)
            }

            async fn get_user(&self, id: i64) -> Result<Option<crate::User>> {
                let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.pool).await?;
                row.as_ref().map(user_from_row).transpose()
            }

            async fn get_user_by_email(&self, email: &str) -> Result<Option<crate::User>> {
                let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(email.trim().to_lowercase())
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(user_from_row).transpose()
            }

            async fn list_users(&self) -> Result<Vec<crate::User>> {
                let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY id");
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&self.pool).await?;
                rows.iter().map(user_from_row).collect()
            }

            async fn touch_session(
                &self,
                id: &str,
                now: DateTime<Utc>,
                idle_since: DateTime<Utc>,
            ) -> Result<Option<crate::Session>> {
                let row = sqlx::query(
                    "UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND expires_at > $1 \
                     AND last_seen_at > $3 \
                     RETURNING id, user_id, csrf_token, created_at, expires_at, last_seen_at",
                )
                .bind(to_db(now))
                .bind(id)
                .bind(to_db(idle_since))
                .fetch_optional(&self.writer)
                .await?;
                row.map(|row| {
                    Ok(crate::Session {
                        id: row.try_get("id")?,
                        user_id: row.try_get("user_id")?,
                        csrf_token: row.try_get("csrf_token")?,
                        created_at: from_db(row.try_get("created_at")?)?,
                        expires_at: from_db(row.try_get("expires_at")?)?,
                        last_seen_at: from_db(row.try_get("last_seen_at")?)?,
                    })
                })
                .transpose()
            }

            async fn delete_session(&self, id: &str) -> Result<()> {
                sqlx::query("DELETE FROM sessions WHERE id = $1").bind(id).execute(&self.writer).await?;
                Ok(())
            }

            async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64> {
                let result = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
                    .bind(to_db(now))
                    .execute(&self.writer)
                    .await?;
                Ok(result.rows_affected())
            }

            async fn use_api_token(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<crate::ApiToken>> {
                let sql = format!(
                    "UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL \
                     RETURNING {TOKEN_COLUMNS}"
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(to_db(now))
                    .bind(token_hash)
                    .fetch_optional(&self.writer)
                    .await?;
                row.as_ref().map(token_from_row).transpose()
            }

            async fn list_api_tokens(&self, user_id: i64) -> Result<Vec<crate::ApiToken>> {
                let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY id");
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(user_id).fetch_all(&self.pool).await?;
                rows.iter().map(token_from_row).collect()
            }

            async fn list_integrations(&self) -> Result<Vec<crate::Integration>> {
                let rows = sqlx::query(
                    "SELECT i.kind, i.enabled, i.updated_at, \
                       (SELECT COUNT(*) FROM connections c WHERE c.kind = i.kind) AS connections, \
                       (SELECT COUNT(*) FROM connections c WHERE c.kind = i.kind AND c.last_ok_at IS NOT NULL \
                          AND (c.last_error_at IS NULL OR c.last_error_at < c.last_ok_at)) AS healthy, \
                       (SELECT COUNT(*) FROM connections c WHERE c.kind = i.kind AND c.last_error_at IS NOT NULL \
                          AND (c.last_ok_at IS NULL OR c.last_ok_at < c.last_error_at)) AS failing \
                     FROM integrations i",
                )
                .fetch_all(&self.pool)
                .await?;
                let mut list = rows
                    .iter()
                    .map(|row| {
                        let kind: String = row.try_get("kind")?;
                        Ok(crate::Integration {
                            kind: crate::IntegrationKind::parse(&kind).ok_or_else(|| {
                                StoreError::InvalidData(format!("integration kind `{kind}`"))
                            })?,
                            enabled: row.try_get("enabled")?,
                            updated_at: from_db(row.try_get("updated_at")?)?,
                            connections: row.try_get::<i64, _>("connections")?.max(0) as u64,
                            healthy: row.try_get::<i64, _>("healthy")?.max(0) as u64,
                            failing: row.try_get::<i64, _>("failing")?.max(0) as u64,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                list.sort_by_key(|i| i.kind);
                Ok(list)
            }

            async fn integration_enabled(&self, kind: crate::IntegrationKind) -> Result<bool> {
                let enabled: Option<bool> =
                    sqlx::query_scalar("SELECT enabled FROM integrations WHERE kind = $1")
                        .bind(kind.as_str())
                        .fetch_optional(&self.pool)
                        .await?;
                Ok(enabled.unwrap_or(false))
            }

            async fn get_connection(&self, id: i64) -> Result<Option<crate::Connection>> {
                let sql = format!("SELECT {CONNECTION_COLUMNS} FROM connections WHERE id = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.pool).await?;
                row.as_ref().map(connection_from_row).transpose()
            }

            async fn list_connections(&self) -> Result<Vec<crate::Connection>> {
                let sql = format!("SELECT {CONNECTION_COLUMNS} FROM connections ORDER BY name");
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&self.pool).await?;
                rows.iter().map(connection_from_row).collect()
            }

            async fn connections_not_under_key(&self, key_id: &str, limit: u32) -> Result<Vec<crate::Connection>> {
                let sql = format!(
                    "SELECT {CONNECTION_COLUMNS} FROM connections WHERE secret_key_id <> $1 ORDER BY id LIMIT $2"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(key_id)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(connection_from_row).collect()
            }

            async fn record_connection_health(
                &self,
                id: i64,
                check: &crate::HealthCheck,
                now: DateTime<Utc>,
            ) -> Result<()> {
                match check {
                    crate::HealthCheck::Ok { account_name, server_version, flavour } => {
                        sqlx::query(
                            "UPDATE connections SET last_ok_at = $1, account_name = $2, server_version = $3, \
                             flavour = COALESCE($4, flavour) WHERE id = $5",
                        )
                        .bind(to_db(now))
                        .bind(account_name)
                        .bind(server_version)
                        .bind(flavour)
                        .bind(id)
                        .execute(&self.writer)
                        .await?;
                    }
                    crate::HealthCheck::Failed { code, message } => {
                        sqlx::query(
                            "UPDATE connections SET last_error_at = $1, last_error_code = $2, last_error = $3 \
                             WHERE id = $4",
                        )
                        .bind(to_db(now))
                        .bind(code)
                        .bind(message)
                        .bind(id)
                        .execute(&self.writer)
                        .await?;
                    }
                }
                Ok(())
            }

            async fn record_connection_ok(&self, id: i64, now: DateTime<Utc>) -> Result<bool> {
                let result = sqlx::query(
                    "UPDATE connections SET last_ok_at = $1 WHERE id = $2 \
                     AND (last_ok_at IS NULL OR last_ok_at < $3 \
                          OR (last_error_at IS NOT NULL AND last_error_at >= last_ok_at))",
                )
                .bind(to_db(now))
                .bind(id)
                .bind(to_db(now - chrono::Duration::minutes(1)))
                .execute(&self.writer)
                .await?;
                Ok(result.rows_affected() == 1)
            }

            async fn reseal_connection_secret(
                &self,
                id: i64,
                old: &crate::SealedSecret,
                new: &crate::SealedSecret,
            ) -> Result<bool> {
                let result = sqlx::query(
                    "UPDATE connections SET secret = $1, secret_key_id = $2 \
                     WHERE id = $3 AND secret = $4 AND secret_key_id = $5",
                )
                .bind(&new.bytes)
                .bind(&new.key_id)
                .bind(id)
                .bind(&old.bytes)
                .bind(&old.key_id)
                .execute(&self.writer)
                .await?;
                Ok(result.rows_affected() == 1)
            }
        }

        #[async_trait::async_trait]
        impl crate::accounts::AccountTx for $tx {
            async fn create_user(&mut self, user: &crate::NewUser, now: DateTime<Utc>) -> Result<i64> {
                let id = sqlx::query_scalar(
                    "INSERT INTO users (email, name, role, password_hash, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
                )
                .bind(user.email.trim().to_lowercase())
                .bind(&user.name)
                .bind(user.role.as_str())
                .bind(&user.password_hash)
                .bind(to_db(now))
                .fetch_one(&mut *self.tx)
                .await
                .map_err(crate::error::conflict_on("email"))?;
                Ok(id)
            }

            async fn update_user(&mut self, id: i64, update: &crate::UserUpdate, now: DateTime<Utc>) -> Result<bool> {
                let disabled_at = update.disabled.map(|d| d.then(|| to_db(now)));
                let result = sqlx::query(
                    "UPDATE users SET updated_at = $1, name = COALESCE($2, name), role = COALESCE($3, role), \
                     password_hash = COALESCE($4, password_hash), \
                     disabled_at = CASE WHEN $5 THEN $6 ELSE disabled_at END WHERE id = $7",
                )
                .bind(to_db(now))
                .bind(&update.name)
                .bind(update.role.map(crate::Role::as_str))
                .bind(&update.password_hash)
                .bind(disabled_at.is_some())
                .bind(disabled_at.flatten())
                .bind(id)
                .execute(&mut *self.tx)
                .await?;
                if update.disabled == Some(true) || update.password_hash.is_some() {
                    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                        .bind(id)
                        .execute(&mut *self.tx)
                        .await?;
                }
                Ok(result.rows_affected() == 1)
            }

            async fn create_session(&mut self, session: &crate::Session) -> Result<()> {
                sqlx::query(
                    "INSERT INTO sessions (id, user_id, csrf_token, created_at, expires_at, last_seen_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&session.id)
                .bind(session.user_id)
                .bind(&session.csrf_token)
                .bind(to_db(session.created_at))
                .bind(to_db(session.expires_at))
                .bind(to_db(session.last_seen_at))
                .execute(&mut *self.tx)
                .await?;
                Ok(())
            }

            async fn create_api_token(
                &mut self,
                user_id: i64,
                name: &str,
                token_hash: &str,
                prefix: &str,
                now: DateTime<Utc>,
            ) -> Result<crate::ApiToken> {
                let sql = format!(
                    "INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING {TOKEN_COLUMNS}"
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(user_id)
                    .bind(name)
                    .bind(token_hash)
                    .bind(prefix)
                    .bind(to_db(now))
                    .fetch_one(&mut *self.tx)
                    .await?;
                token_from_row(&row)
            }

            async fn revoke_api_token(&mut self, user_id: i64, id: i64, now: DateTime<Utc>) -> Result<bool> {
                let result = sqlx::query(
                    "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
                )
                .bind(to_db(now))
                .bind(id)
                .bind(user_id)
                .execute(&mut *self.tx)
                .await?;
                Ok(result.rows_affected() == 1)
            }

            async fn set_integration_enabled(
                &mut self,
                kind: crate::IntegrationKind,
                enabled: bool,
                now: DateTime<Utc>,
            ) -> Result<()> {
                sqlx::query("UPDATE integrations SET enabled = $1, updated_at = $2 WHERE kind = $3")
                    .bind(enabled)
                    .bind(to_db(now))
                    .bind(kind.as_str())
                    .execute(&mut *self.tx)
                    .await?;
                Ok(())
            }

            async fn create_connection(&mut self, c: &crate::NewConnection, now: DateTime<Utc>) -> Result<i64> {
                let id = sqlx::query_scalar(
                    "INSERT INTO connections (kind, name, base_url, auth_kind, username, secret, secret_key_id, \
                     owner_id, shared, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
                )
                .bind(c.kind.as_str())
                .bind(&c.name)
                .bind(&c.base_url)
                .bind(&c.auth_kind)
                .bind(&c.username)
                .bind(&c.secret.bytes)
                .bind(&c.secret.key_id)
                .bind(c.owner_id)
                .bind(c.shared)
                .bind(to_db(now))
                .fetch_one(&mut *self.tx)
                .await
                .map_err(crate::error::conflict_on("name"))?;
                Ok(id)
            }

            async fn update_connection(
                &mut self,
                id: i64,
                u: &crate::ConnectionUpdate,
                now: DateTime<Utc>,
            ) -> Result<bool> {
                // A changed URL or secret makes the last health check moot.
                let reset_health = u.base_url.is_some() || u.secret.is_some() || u.auth_kind.is_some();
                let result = sqlx::query(
                    "UPDATE connections SET updated_at = $1, name = COALESCE($2, name), \
                     base_url = COALESCE($3, base_url), auth_kind = COALESCE($4, auth_kind), \
                     username = CASE WHEN $5 THEN $6 ELSE username END, \
                     secret = COALESCE($7, secret), secret_key_id = COALESCE($8, secret_key_id), \
                     shared = COALESCE($9, shared), \
                     last_ok_at = CASE WHEN $10 THEN NULL ELSE last_ok_at END, \
                     last_error_at = CASE WHEN $10 THEN NULL ELSE last_error_at END, \
                     last_error = CASE WHEN $10 THEN NULL ELSE last_error END, \
                     last_error_code = CASE WHEN $10 THEN NULL ELSE last_error_code END, \
                     story_points_field = CASE WHEN $12 THEN $13 ELSE story_points_field END \
                     WHERE id = $11",
                )
                .bind(to_db(now))
                .bind(&u.name)
                .bind(&u.base_url)
                .bind(&u.auth_kind)
                .bind(u.username.is_some())
                .bind(u.username.clone().flatten())
                .bind(u.secret.as_ref().map(|s| s.bytes.clone()))
                .bind(u.secret.as_ref().map(|s| s.key_id.clone()))
                .bind(u.shared)
                .bind(reset_health)
                .bind(id)
                .bind(u.story_points_field.is_some())
                .bind(u.story_points_field.clone().flatten())
                .execute(&mut *self.tx)
                .await
                .map_err(crate::error::conflict_on("name"))?;
                Ok(result.rows_affected() == 1)
            }

            async fn delete_connection(&mut self, id: i64) -> Result<bool> {
                let result = sqlx::query("DELETE FROM connections WHERE id = $1")
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(result.rows_affected() == 1)
            }
        }
    };
}

pub(crate) use impl_accounts;
