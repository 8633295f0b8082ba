//! What a person did in GitLab, in one shape whatever it came from (a
//! project hook or the Events API backstop), with the instant it counts at
//! and the work items it refers to.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::ActivityError;
use super::references::{GitLabIssueRef, JiraKey, Reference, ReferenceScan, Target, TextSource};

stable_names! {
    error: ActivityError;
    /// What kind of thing a person did: one name per row of the activity
    /// feed, the store's column and the API's filter.
    pub enum ActivityKind {
        Commit => "commit",
        MergeRequestOpened => "merge_request_opened",
        MergeRequestUpdated => "merge_request_updated",
        MergeRequestApproved => "merge_request_approved",
        MergeRequestMerged => "merge_request_merged",
        Comment => "comment",
        IssueOpened => "issue_opened",
        IssueClosed => "issue_closed",
        IssueReopened => "issue_reopened",
        IssueEdited => "issue_edited",
    }
}

stable_names! {
    error: ActivityError;
    /// What happened to a merge request.
    pub enum MergeRequestAction {
        Opened => "opened",
        Updated => "updated",
        Approved => "approved",
        Merged => "merged",
    }
}

stable_names! {
    error: ActivityError;
    /// What happened to an issue.
    pub enum IssueAction {
        Opened => "opened",
        Closed => "closed",
        Reopened => "reopened",
        Edited => "edited",
    }
}

/// Who did it, as GitLab tells: a user id (hooks and events carry one) and
/// an email (commits carry only the author's). The engine matches it to a
/// Cairn person; neither known means nobody can be matched (counted, not
/// an error).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityPerson {
    pub gitlab_user_id: Option<u64>,
    pub email: Option<String>,
}

impl ActivityPerson {
    /// Whether there is anything to match a person by.
    pub fn is_identified(&self) -> bool {
        self.gitlab_user_id.is_some() || self.email.as_deref().is_some_and(|e| !e.trim().is_empty())
    }
}

/// The GitLab project an activity happened in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityProject {
    pub id: u64,
    /// Full path, e.g. `northwind/checkout`: what `#12` is resolved against.
    pub path: String,
}

/// A commit as pushed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitActivity {
    pub sha: String,
    pub author_name: String,
    pub author_email: String,
    /// When the author wrote it: kept by rebases and cherry-picks, so it is
    /// when the work counts.
    pub authored_at: DateTime<Utc>,
    /// When it was (re)committed: moved by every rebase; shown, not counted.
    pub committed_at: DateTime<Utc>,
    pub message: String,
    /// The branch it was pushed to (see [`branch_from_ref`]); `None` for a
    /// tag or when unknown.
    pub branch: Option<String>,
}

/// Something done to a merge request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeRequestActivity {
    pub action: MergeRequestAction,
    pub iid: u64,
    pub title: String,
    pub description: String,
    pub source_branch: String,
    pub target_branch: String,
    /// Issues of the same project GitLab lists as closed by it.
    pub linked_issues: Vec<u64>,
    pub at: DateTime<Utc>,
}

/// What a comment is on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CommentOn {
    Issue {
        iid: u64,
    },
    /// With the merge request's title and source branch (the hook carries
    /// them), so a comment counts for the key the merge request is about.
    MergeRequest {
        iid: u64,
        title: String,
        source_branch: String,
    },
    Commit {
        sha: String,
    },
}

/// A comment (GitLab note).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentActivity {
    /// GitLab's note id: the same in the hook and the Events API.
    pub note_id: u64,
    pub on: CommentOn,
    pub body: String,
    pub at: DateTime<Utc>,
}

/// Something done to an issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueActivity {
    pub action: IssueAction,
    pub iid: u64,
    pub title: String,
    pub at: DateTime<Utc>,
}

/// What was done, by kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ActivityDetail {
    Commit(CommitActivity),
    MergeRequest(MergeRequestActivity),
    Comment(CommentActivity),
    Issue(IssueActivity),
}

/// One thing a person did in a GitLab project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    pub person: ActivityPerson,
    pub project: ActivityProject,
    pub detail: ActivityDetail,
}

impl Activity {
    /// Its kind, for the feed and the store.
    pub fn kind(&self) -> ActivityKind {
        match &self.detail {
            ActivityDetail::Commit(_) => ActivityKind::Commit,
            ActivityDetail::MergeRequest(mr) => match mr.action {
                MergeRequestAction::Opened => ActivityKind::MergeRequestOpened,
                MergeRequestAction::Updated => ActivityKind::MergeRequestUpdated,
                MergeRequestAction::Approved => ActivityKind::MergeRequestApproved,
                MergeRequestAction::Merged => ActivityKind::MergeRequestMerged,
            },
            ActivityDetail::Comment(_) => ActivityKind::Comment,
            ActivityDetail::Issue(issue) => match issue.action {
                IssueAction::Opened => ActivityKind::IssueOpened,
                IssueAction::Closed => ActivityKind::IssueClosed,
                IssueAction::Reopened => ActivityKind::IssueReopened,
                IssueAction::Edited => ActivityKind::IssueEdited,
            },
        }
    }

    /// The instant the work counts at: a commit's author date (a rebase or
    /// cherry-pick does not move work to the day it was replayed), every
    /// other activity's event time.
    pub fn counts_at(&self) -> DateTime<Utc> {
        match &self.detail {
            ActivityDetail::Commit(c) => c.authored_at,
            ActivityDetail::MergeRequest(mr) => mr.at,
            ActivityDetail::Comment(c) => c.at,
            ActivityDetail::Issue(i) => i.at,
        }
    }

    /// Every reference in the activity's texts, in this order (the first
    /// Jira key, else the first GitLab issue, is its [`Activity::target`]):
    /// - commit: message, then branch;
    /// - merge request: title, source branch, description, linked issues;
    /// - comment: body, then what it is on (a merge request's title and
    ///   source branch, or the issue itself);
    /// - issue: title, then the issue itself (not the description: it
    ///   mentions related work more often than the work itself).
    pub fn references(&self) -> ReferenceScan {
        let mut scan = ReferenceScan::default();
        let own_issue = |iid| Reference::GitLabIssue(GitLabIssueRef { project: None, iid });
        match &self.detail {
            ActivityDetail::Commit(c) => {
                scan.scan(TextSource::CommitMessage, &c.message);
                if let Some(branch) = &c.branch {
                    scan.scan(TextSource::Branch, branch);
                }
            }
            ActivityDetail::MergeRequest(mr) => {
                scan.scan(TextSource::MergeRequestTitle, &mr.title);
                scan.scan(TextSource::Branch, &mr.source_branch);
                scan.scan(TextSource::MergeRequestDescription, &mr.description);
                scan.add(
                    TextSource::LinkedIssues,
                    mr.linked_issues.iter().map(|iid| own_issue(*iid)),
                );
            }
            ActivityDetail::Comment(c) => {
                scan.scan(TextSource::Comment, &c.body);
                match &c.on {
                    CommentOn::Issue { iid } => scan.add(TextSource::Subject, [own_issue(*iid)]),
                    CommentOn::MergeRequest {
                        title,
                        source_branch,
                        ..
                    } => {
                        scan.scan(TextSource::MergeRequestTitle, title);
                        scan.scan(TextSource::Branch, source_branch);
                    }
                    CommentOn::Commit { .. } => {}
                }
            }
            ActivityDetail::Issue(i) => {
                scan.scan(TextSource::IssueTitle, &i.title);
                scan.add(TextSource::Subject, [own_issue(i.iid)]);
            }
        }
        scan
    }

    /// The work item its time goes to (see [`ReferenceScan::target`]).
    pub fn target(&self) -> Option<Target> {
        self.references().target(&self.project.path)
    }

    /// The Jira issues this activity moves to done: those named by a
    /// closing phrase in a commit pushed to `default_branch`, or in the
    /// title or description of a merge request merged into it. Anything
    /// on another branch closes nothing (GitLab's own rule for issues).
    pub fn closes_jira_issues(&self, default_branch: &str) -> Vec<JiraKey> {
        let lands = match &self.detail {
            ActivityDetail::Commit(c) => c.branch.as_deref() == Some(default_branch),
            ActivityDetail::MergeRequest(mr) => {
                mr.action == MergeRequestAction::Merged && mr.target_branch == default_branch
            }
            ActivityDetail::Comment(_) | ActivityDetail::Issue(_) => false,
        };
        if !lands {
            return Vec::new();
        }
        let scan = self.references();
        scan.found
            .iter()
            .filter(|f| {
                f.closing
                    && matches!(
                        f.source,
                        TextSource::CommitMessage
                            | TextSource::MergeRequestTitle
                            | TextSource::MergeRequestDescription
                    )
            })
            .filter_map(|f| f.reference.jira_key().cloned())
            .collect()
    }

    /// The title of the remote link a mention adds to a Jira issue, e.g.
    /// `GitLab MR !42: Login form` or `GitLab commit 1a2b3c4d: Add form`
    /// (the first line of the message). Links are deduplicated by URL,
    /// which the engine builds; this is only the words.
    pub fn link_title(&self) -> String {
        match &self.detail {
            ActivityDetail::Commit(c) => {
                let short: String = c.sha.chars().take(8).collect();
                let first_line = c.message.lines().next().unwrap_or("").trim();
                format!("GitLab commit {short}: {first_line}")
            }
            ActivityDetail::MergeRequest(mr) => format!("GitLab MR !{}: {}", mr.iid, mr.title),
            ActivityDetail::Comment(c) => match &c.on {
                CommentOn::Issue { iid } => format!("GitLab comment on issue #{iid}"),
                CommentOn::MergeRequest { iid, title, .. } => {
                    format!("GitLab MR !{iid}: {title}")
                }
                CommentOn::Commit { sha } => {
                    let short: String = sha.chars().take(8).collect();
                    format!("GitLab comment on commit {short}")
                }
            },
            ActivityDetail::Issue(i) => format!("GitLab issue #{}: {}", i.iid, i.title),
        }
    }
}

/// The branch a push's `ref` names (`refs/heads/feature/AE-12` ->
/// `feature/AE-12`); `None` for tags and anything else.
pub fn branch_from_ref(git_ref: &str) -> Option<&str> {
    git_ref
        .strip_prefix("refs/heads/")
        .filter(|branch| !branch.is_empty())
}
