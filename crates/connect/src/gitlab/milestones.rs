//! Creating project milestones, for carrying Jira versions (or another
//! project's milestones) across a sync pair.

use chrono::NaiveDate;
use reqwest::Method;
use serde_json::{Map, Value, json};

use super::{GitLabClient, Milestone, ProjectRef};
use crate::error::ConnectError;
use crate::http::Req;

/// A milestone to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMilestone {
    pub title: String,
    pub description: Option<String>,
    pub due_date: Option<NaiveDate>,
}

impl GitLabClient {
    /// `POST /projects/:id/milestones`: creates an active milestone
    /// (titles are unique per project, so a second create is refused).
    pub async fn create_milestone(
        &self,
        project: &ProjectRef,
        milestone: &NewMilestone,
    ) -> Result<Milestone, ConnectError> {
        if milestone.title.trim().is_empty() {
            return Err(ConnectError::InvalidInput(
                "a new milestone needs a title".into(),
            ));
        }
        let mut body = Map::new();
        body.insert("title".into(), json!(milestone.title));
        if let Some(d) = &milestone.description {
            body.insert("description".into(), json!(d));
        }
        if let Some(d) = milestone.due_date {
            body.insert("due_date".into(), json!(d.format("%Y-%m-%d").to_string()));
        }
        let url = self.project_url(project, &["milestones"]);
        self.http
            .json(Req::with_body(Method::POST, url, Value::Object(body)))
            .await
    }

    /// `PUT /projects/:id/milestones/:milestone_id` with a new `title`: a
    /// linked version's rename, carried.
    pub async fn rename_milestone(
        &self,
        project: &ProjectRef,
        milestone_id: u64,
        title: &str,
    ) -> Result<Milestone, ConnectError> {
        if title.trim().is_empty() {
            return Err(ConnectError::InvalidInput(
                "a milestone needs a title".into(),
            ));
        }
        let id = milestone_id.to_string();
        let url = self.project_url(project, &["milestones", &id]);
        self.http
            .json(Req::with_body(Method::PUT, url, json!({ "title": title })))
            .await
    }

    /// `PUT /projects/:id/milestones/:milestone_id` with
    /// `state_event=close`: a released version's milestone is closed.
    pub async fn close_milestone(
        &self,
        project: &ProjectRef,
        milestone_id: u64,
    ) -> Result<Milestone, ConnectError> {
        let id = milestone_id.to_string();
        let url = self.project_url(project, &["milestones", &id]);
        self.http
            .json(Req::with_body(
                Method::PUT,
                url,
                json!({ "state_event": "close" }),
            ))
            .await
    }
}
