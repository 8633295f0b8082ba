//! A project's versions (Jira's releases), for carrying GitLab milestones
//! across a sync pair.

use chrono::NaiveDate;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::JiraClient;
use crate::error::ConnectError;
use crate::http::Req;

/// A version (release) of a project, as `GET .../project/{key}/versions`
/// and `POST .../version` return it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JiraVersion {
    /// Id (a number in a string).
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub released: bool,
    #[serde(default)]
    pub archived: bool,
    #[serde(default)]
    pub release_date: Option<NaiveDate>,
}

/// A version to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJiraVersion {
    pub name: String,
    pub description: Option<String>,
    pub released: bool,
    pub release_date: Option<NaiveDate>,
}

impl JiraClient {
    /// `GET .../project/{key}/versions`: every version of the project
    /// (one unpaged list).
    pub async fn project_versions(&self, project: &str) -> Result<Vec<JiraVersion>, ConnectError> {
        let url = self.api(&["project", project, "versions"]).await?;
        self.http.json(Req::get(url)).await
    }

    /// `POST .../version`: creates a version in `project` (names are
    /// unique per project, so a second create of one name is refused).
    pub async fn create_version(
        &self,
        project: &str,
        version: &NewJiraVersion,
    ) -> Result<JiraVersion, ConnectError> {
        if version.name.trim().is_empty() {
            return Err(ConnectError::InvalidInput(
                "a new version needs a name".into(),
            ));
        }
        let url = self.api(&["version"]).await?;
        let mut body = Map::new();
        body.insert("project".into(), json!(project));
        body.insert("name".into(), json!(version.name));
        body.insert("released".into(), json!(version.released));
        if let Some(d) = &version.description {
            body.insert("description".into(), json!(d));
        }
        if let Some(d) = version.release_date {
            body.insert(
                "releaseDate".into(),
                json!(d.format("%Y-%m-%d").to_string()),
            );
        }
        self.http
            .json(Req::with_body(Method::POST, url, Value::Object(body)))
            .await
    }

    /// `PUT .../version/{id}` with a new `name`: a linked milestone's
    /// rename, carried.
    pub async fn rename_version(&self, id: &str, name: &str) -> Result<JiraVersion, ConnectError> {
        if name.trim().is_empty() {
            return Err(ConnectError::InvalidInput("a version needs a name".into()));
        }
        let url = self.api(&["version", id]).await?;
        self.http
            .json(Req::with_body(Method::PUT, url, json!({ "name": name })))
            .await
    }
}
