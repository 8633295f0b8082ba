//! Users, passwords, sign-in sessions and API tokens.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cairn_core::authz::{Action, Actor, Role};
use cairn_core::secret::Secret;
use cairn_store::{ApiToken, NewAuditEntry, NewUser, Session, Store, User, UserUpdate};
use chrono::{DateTime, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::error::{EngineError, authorize, conflicts};

/// Prefix of API tokens, so leaked ones are recognisable by secret scanners.
pub const API_TOKEN_PREFIX: &str = "cairn_";

/// A fresh random token: 32 bytes, URL-safe base64.
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// What is stored in place of a token.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn hash_password(password: &str) -> Result<String, EngineError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| EngineError::invalid("password", format!("cannot be hashed: {e}")))
}

pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Checks an email address enough to catch typos; the mail server decides.
pub fn validate_email(email: &str) -> Result<String, EngineError> {
    let email = email.trim().to_lowercase();
    validate_line("email", &email)?;
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !email.chars().any(char::is_whitespace);
    if valid {
        Ok(email)
    } else {
        Err(EngineError::invalid("email", "is not an email address"))
    }
}

pub fn validate_password(password: &str) -> Result<(), EngineError> {
    validate_line("password", password)?;
    let length = password.chars().count();
    if length < 12 {
        return Err(EngineError::invalid(
            "password",
            "must be at least 12 characters",
        ));
    }
    if length > 1024 {
        return Err(EngineError::invalid(
            "password",
            "must be at most 1024 characters",
        ));
    }
    Ok(())
}

/// Checks a name or title by `core::text`'s rule for names: 1 to 100
/// characters after trimming, one line, nothing invisible.
pub fn validate_name(field: &str, name: &str) -> Result<String, EngineError> {
    cairn_core::text::check_name(name, cairn_core::text::MAX_NAME)
        .map_err(|e| EngineError::invalid(field, e.to_string()))
}

/// Checks any other text field by `core::text`'s rule: no control
/// characters but tab and line breaks.
pub fn validate_text(field: &str, value: &str) -> Result<(), EngineError> {
    cairn_core::text::check_text(value).map_err(|e| EngineError::invalid(field, e.to_string()))
}

/// Checks a single-line value (an email, a password, a token): no control
/// characters at all.
pub fn validate_line(field: &str, value: &str) -> Result<(), EngineError> {
    cairn_core::text::check_line(value).map_err(|e| EngineError::invalid(field, e.to_string()))
}

/// Failed sign-ins in a sliding window, counted per key.
struct FailureWindow<K> {
    max_failures: usize,
    window: Duration,
    failures: Mutex<HashMap<K, VecDeque<Instant>>>,
}

impl<K: std::hash::Hash + Eq> FailureWindow<K> {
    fn new(max_failures: usize, window: Duration) -> Self {
        FailureWindow {
            max_failures,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Seconds to wait when the limit is reached, else `None`.
    fn blocked_for(&self, key: &K, now: Instant) -> Option<u64> {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let entries = failures.get_mut(key)?;
        while entries
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            entries.pop_front();
        }
        if entries.len() < self.max_failures {
            return None;
        }
        let oldest = *entries.front()?;
        let wait = self.window.saturating_sub(now.duration_since(oldest));
        Some(wait.as_secs().max(1))
    }

    fn record_failure(&self, key: K, now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() > 100_000 {
            // Bounded memory under a spray of addresses: forget the oldest state.
            failures.clear();
        }
        failures.entry(key).or_default().push_back(now);
    }

    fn clear(&self, key: &K) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(key);
    }
}

/// Sign-in throttling. Failures count per (account, address), so one
/// account tried from one place is slowed, and per address, so one place
/// trying many accounts is slowed too. Never per account alone: that would
/// let anyone lock a person out from elsewhere.
pub struct LoginLimiter {
    per_account: FailureWindow<(String, IpAddr)>,
    per_address: FailureWindow<IpAddr>,
}

impl LoginLimiter {
    /// At most `per_account` failures for an account from one address and
    /// `per_address` failures from one address, in `window`.
    pub fn new(per_account: usize, per_address: usize, window: Duration) -> Self {
        LoginLimiter {
            per_account: FailureWindow::new(per_account, window),
            per_address: FailureWindow::new(per_address, window),
        }
    }

    /// Seconds to wait when either limit is reached, else `None`.
    fn blocked_for(&self, key: &(String, IpAddr), now: Instant) -> Option<u64> {
        let account = self.per_account.blocked_for(key, now);
        let address = self.per_address.blocked_for(&key.1, now);
        account.max(address)
    }

    fn record_failure(&self, key: (String, IpAddr), now: Instant) {
        self.per_address.record_failure(key.1, now);
        self.per_account.record_failure(key, now);
    }

    /// A success clears the account's failures from that address; the
    /// address's count stays (one good password does not excuse a spray).
    fn clear(&self, key: &(String, IpAddr)) {
        self.per_account.clear(key);
    }
}

/// What an admin asks to change about a user; `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub password: Option<Secret>,
    pub disabled: Option<bool>,
}

/// A new sign-in: the cookie value (shown once to the browser) and its CSRF token.
pub struct NewSession {
    pub cookie_value: Secret,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

/// Who a request acts for, and through what.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub user: User,
    /// Present when signed in through the UI: state-changing requests must
    /// then carry this CSRF token.
    pub session: Option<Session>,
}

impl Authenticated {
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.user.id,
            role: self.user.role,
        }
    }
}

/// The account use cases.
pub struct Accounts {
    store: Arc<dyn Store>,
    limiter: LoginLimiter,
    /// A session lasts at most this long...
    pub session_lifetime: chrono::Duration,
    /// ...and ends earlier after this long unused.
    pub session_idle: chrono::Duration,
    dummy_hash: String,
}

fn audit(actor: &str, action: &str, subject: String, detail: serde_json::Value) -> NewAuditEntry {
    NewAuditEntry {
        actor: actor.to_owned(),
        action: action.to_owned(),
        subject,
        detail,
    }
}

impl Accounts {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Accounts {
            store,
            limiter: LoginLimiter::new(10, 30, Duration::from_secs(60)),
            session_lifetime: chrono::Duration::days(7),
            session_idle: chrono::Duration::hours(12),
            // Verifying against this when the email is unknown keeps the
            // answer time the same, so timing does not reveal accounts.
            dummy_hash: hash_password("not-a-real-password-at-all").unwrap_or_default(),
        }
    }

    pub fn with_limiter(mut self, limiter: LoginLimiter) -> Self {
        self.limiter = limiter;
        self
    }

    /// Creates a user; `by` is the acting admin (None for the CLI or the
    /// first-start bootstrap).
    pub async fn create_user(
        &self,
        by: Option<&Authenticated>,
        email: &str,
        name: &str,
        role: Role,
        password: &str,
        now: DateTime<Utc>,
    ) -> Result<User, EngineError> {
        if let Some(by) = by {
            authorize(Some(by.actor()), Action::ManageUsers)?;
        }
        let email = validate_email(email)?;
        let name = validate_name("name", name)?;
        validate_password(password)?;
        let password_hash = hash_password(password)?;
        let actor = by
            .map(|a| a.user.email.clone())
            .unwrap_or_else(|| "cli".to_owned());
        let mut tx = self.store.begin().await?;
        let id = tx
            .create_user(
                &NewUser {
                    email: email.clone(),
                    name,
                    role,
                    password_hash,
                },
                now,
            )
            .await
            .map_err(conflicts)?;
        tx.append_audit(
            &audit(
                &actor,
                "user.created",
                format!("user:{id}"),
                json!({"email": email, "role": role.as_str()}),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        self.store
            .get_user(id)
            .await?
            .ok_or_else(|| EngineError::NotFound("user vanished".to_owned()))
    }

    /// On a fresh database, creates the first admin from the environment.
    pub async fn bootstrap_admin(
        &self,
        email: &str,
        password: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<User>, EngineError> {
        if self.store.count_users().await? > 0 {
            return Ok(None);
        }
        let name = email.split('@').next().unwrap_or("admin").to_owned();
        self.create_user(None, email, &name, Role::Admin, password, now)
            .await
            .map(Some)
    }

    pub async fn update_user(
        &self,
        by: &Authenticated,
        id: i64,
        changes: UserChanges,
        now: DateTime<Utc>,
    ) -> Result<User, EngineError> {
        authorize(Some(by.actor()), Action::ManageUsers)?;
        let name = changes
            .name
            .as_deref()
            .map(|n| validate_name("name", n))
            .transpose()?;
        let password_hash = match &changes.password {
            Some(password) => {
                validate_password(password.expose())?;
                Some(hash_password(password.expose())?)
            }
            None => None,
        };
        let update = UserUpdate {
            name,
            role: changes.role,
            password_hash,
            disabled: changes.disabled,
        };
        if id == by.user.id && (update.disabled == Some(true) || update.role == Some(Role::Member))
        {
            return Err(EngineError::Conflict {
                field: None,
                message: "you cannot disable or demote yourself; ask another admin".to_owned(),
            });
        }
        let mut tx = self.store.begin().await?;
        if !tx.update_user(id, &update, now).await? {
            return Err(EngineError::NotFound(format!("no user {id}")));
        }
        let detail = json!({
            "name": update.name,
            "role": update.role.map(Role::as_str),
            "disabled": update.disabled,
            "password_changed": update.password_hash.is_some(),
        });
        tx.append_audit(
            &audit(&by.user.email, "user.updated", format!("user:{id}"), detail),
            now,
        )
        .await?;
        tx.commit().await?;
        self.store
            .get_user(id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("no user {id}")))
    }

    pub async fn list_users(&self, by: &Authenticated) -> Result<Vec<User>, EngineError> {
        authorize(Some(by.actor()), Action::ManageUsers)?;
        Ok(self.store.list_users().await?)
    }

    /// Every enabled user's id and name, for showing OKR owners and picking
    /// one: open to whoever may see goals (no emails, no roles).
    pub async fn people(&self, by: &Authenticated) -> Result<Vec<(i64, String)>, EngineError> {
        authorize(Some(by.actor()), Action::ViewGoals)?;
        Ok(self
            .store
            .list_users()
            .await?
            .into_iter()
            .filter(|u| u.disabled_at.is_none())
            .map(|u| (u.id, u.name))
            .collect())
    }

    /// Password sign-in. Failures are rate limited per (account, address) and
    /// per address (see [`LoginLimiter`]).
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        address: IpAddr,
        now: DateTime<Utc>,
    ) -> Result<NewSession, EngineError> {
        let email = email.trim().to_lowercase();
        let key = (email.clone(), address);
        if let Some(retry_after_secs) = self.limiter.blocked_for(&key, Instant::now()) {
            return Err(EngineError::RateLimited { retry_after_secs });
        }
        let user = self.store.get_user_by_email(&email).await?;
        let valid = match &user {
            Some(user) => {
                verify_password(&user.password_hash, password) && user.disabled_at.is_none()
            }
            None => {
                verify_password(&self.dummy_hash, password);
                false
            }
        };
        let Some(user) = user.filter(|_| valid) else {
            self.limiter.record_failure(key, Instant::now());
            let mut tx = self.store.begin().await?;
            tx.append_audit(
                &audit(
                    &email,
                    "session.failed",
                    format!("address:{address}"),
                    json!({}),
                ),
                now,
            )
            .await?;
            tx.commit().await?;
            return Err(EngineError::Unauthenticated(
                "wrong email or password".to_owned(),
            ));
        };
        self.limiter.clear(&key);
        let cookie_value = Secret::new(random_token());
        let csrf_token = random_token();
        let expires_at = now + self.session_lifetime;
        let session = Session {
            id: token_hash(cookie_value.expose()),
            user_id: user.id,
            csrf_token: csrf_token.clone(),
            created_at: now,
            expires_at,
            last_seen_at: now,
        };
        let mut tx = self.store.begin().await?;
        tx.create_session(&session).await?;
        tx.append_audit(
            &audit(
                &user.email,
                "session.created",
                format!("user:{}", user.id),
                json!({"address": address.to_string()}),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(NewSession {
            cookie_value,
            csrf_token,
            expires_at,
            user,
        })
    }

    pub async fn logout(&self, cookie_value: &str) -> Result<(), EngineError> {
        Ok(self.store.delete_session(&token_hash(cookie_value)).await?)
    }

    /// The user behind a session cookie, if it is live and not idle too long.
    pub async fn authenticate_session(
        &self,
        cookie_value: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Authenticated>, EngineError> {
        let id = token_hash(cookie_value);
        let Some(previous) = self
            .store
            .touch_session(&id, now, now - self.session_idle)
            .await?
        else {
            return Ok(None);
        };
        let Some(user) = self.store.get_user(previous.user_id).await? else {
            return Ok(None);
        };
        if user.disabled_at.is_some() {
            return Ok(None);
        }
        Ok(Some(Authenticated {
            user,
            session: Some(previous),
        }))
    }

    /// The user behind an API token.
    pub async fn authenticate_token(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Authenticated>, EngineError> {
        if !token.starts_with(API_TOKEN_PREFIX) {
            return Ok(None);
        }
        let Some(record) = self.store.use_api_token(&token_hash(token), now).await? else {
            return Ok(None);
        };
        let Some(user) = self.store.get_user(record.user_id).await? else {
            return Ok(None);
        };
        if user.disabled_at.is_some() {
            return Ok(None);
        }
        Ok(Some(Authenticated {
            user,
            session: None,
        }))
    }

    /// Creates a personal API token; its value is returned once, never stored.
    pub async fn create_api_token(
        &self,
        by: &Authenticated,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<(ApiToken, Secret), EngineError> {
        authorize(Some(by.actor()), Action::OwnAccount)?;
        let name = validate_name("name", name)?;
        let value = Secret::new(format!("{API_TOKEN_PREFIX}{}", random_token()));
        let prefix: String = value
            .expose()
            .chars()
            .take(API_TOKEN_PREFIX.len() + 4)
            .collect();
        let mut tx = self.store.begin().await?;
        let token = tx
            .create_api_token(by.user.id, &name, &token_hash(value.expose()), &prefix, now)
            .await?;
        tx.append_audit(
            &audit(
                &by.user.email,
                "api_token.created",
                format!("api_token:{}", token.id),
                json!({"name": name}),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok((token, value))
    }

    pub async fn list_api_tokens(&self, by: &Authenticated) -> Result<Vec<ApiToken>, EngineError> {
        authorize(Some(by.actor()), Action::OwnAccount)?;
        Ok(self.store.list_api_tokens(by.user.id).await?)
    }

    pub async fn revoke_api_token(
        &self,
        by: &Authenticated,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        authorize(Some(by.actor()), Action::OwnAccount)?;
        let mut tx = self.store.begin().await?;
        if !tx.revoke_api_token(by.user.id, id, now).await? {
            return Err(EngineError::NotFound(format!("no live API token {id}")));
        }
        tx.append_audit(
            &audit(
                &by.user.email,
                "api_token.revoked",
                format!("api_token:{id}"),
                json!({}),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
