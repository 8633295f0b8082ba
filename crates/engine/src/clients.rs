//! One typed client per connection, built from its sealed secret and cached
//! until the connection changes. Clients of one connection share its rate
//! limit and call counter, so every use case that talks to a tracker goes
//! through here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cairn_connect::{
    ConnectError, GitLabAuth, GitLabClient, GitLabSettings, HttpConfig, JiraAuth, JiraClient,
    JiraDeployment, JiraSettings,
};
use cairn_store::Connection;
use chrono::{DateTime, Utc};

use crate::error::EngineError;
use crate::keyring::Keyring;

/// Cached clients, keyed by connection and its last change.
pub struct Clients {
    keyring: Arc<Keyring>,
    http: HttpConfig,
    gitlab: Mutex<HashMap<i64, (DateTime<Utc>, GitLabClient)>>,
    jira: Mutex<HashMap<i64, (DateTime<Utc>, JiraClient)>>,
}

fn connect_error(error: ConnectError) -> EngineError {
    let d = error.diagnosis();
    EngineError::invalid("connection_id", format!("{} {}", d.summary, d.hint))
}

impl Clients {
    pub fn new(keyring: Arc<Keyring>, http: HttpConfig) -> Self {
        Clients {
            keyring,
            http,
            gitlab: Mutex::default(),
            jira: Mutex::default(),
        }
    }

    /// The GitLab client of a connection.
    pub fn gitlab(&self, connection: &Connection) -> Result<GitLabClient, EngineError> {
        let mut clients = self.gitlab.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((version, client)) = clients.get(&connection.id)
            && *version == connection.updated_at
        {
            return Ok(client.clone());
        }
        let secret = self.keyring.open(&connection.secret)?;
        let auth = match connection.auth_kind.as_str() {
            "oauth" => GitLabAuth::OAuth(secret),
            _ => GitLabAuth::PrivateToken(secret),
        };
        let settings = GitLabSettings {
            base_url: connection.base_url.clone(),
            auth,
            http: self.http.clone(),
        };
        let client = GitLabClient::new(&settings).map_err(connect_error)?;
        clients.insert(connection.id, (connection.updated_at, client.clone()));
        Ok(client)
    }

    /// The Jira client of a connection.
    pub fn jira(&self, connection: &Connection) -> Result<JiraClient, EngineError> {
        let mut clients = self.jira.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((version, client)) = clients.get(&connection.id)
            && *version == connection.updated_at
        {
            return Ok(client.clone());
        }
        let secret = self.keyring.open(&connection.secret)?;
        let auth = match (connection.auth_kind.as_str(), &connection.username) {
            ("basic", Some(email)) => JiraAuth::CloudBasic {
                email: email.clone(),
                api_token: secret,
            },
            _ => JiraAuth::Pat(secret),
        };
        let mut settings = JiraSettings::new(connection.base_url.clone(), auth);
        settings.http = self.http.clone();
        settings.deployment = match connection.flavour.as_deref() {
            Some("cloud") => Some(JiraDeployment::Cloud),
            Some("datacenter") => Some(JiraDeployment::DataCenter),
            _ => None,
        };
        let client = JiraClient::new(&settings).map_err(connect_error)?;
        clients.insert(connection.id, (connection.updated_at, client.clone()));
        Ok(client)
    }
}
