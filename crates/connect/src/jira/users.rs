//! The people of a project, for mapping them to the other side of a sync
//! pair.

use super::{JiraClient, JiraUser};
use crate::error::ConnectError;
use crate::http::Req;

/// Users per page; Jira returns at most 1000.
const PAGE: usize = 1000;

impl JiraClient {
    /// `GET .../user/assignable/search?project=KEY`: every user who can
    /// be assigned issues of the project, page by page. On Cloud the email
    /// is left out unless the person's privacy setting shows it.
    pub async fn assignable_users(&self, project: &str) -> Result<Vec<JiraUser>, ConnectError> {
        let mut all: Vec<JiraUser> = Vec::new();
        loop {
            let mut url = self.api(&["user", "assignable", "search"]).await?;
            url.query_pairs_mut()
                .append_pair("project", project)
                .append_pair("startAt", &all.len().to_string())
                .append_pair("maxResults", &PAGE.to_string());
            let page: Vec<JiraUser> = self.http.json(Req::get(url)).await?;
            let got = page.len();
            all.extend(page);
            // The page may come back shorter than asked even when more
            // exist (users filtered out after fetching): stop on empty.
            if got == 0 {
                return Ok(all);
            }
        }
    }
}
