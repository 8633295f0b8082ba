//! Every real webhook capture in testdata/ parses, with its
//! meaningful fields read correctly.

use std::collections::BTreeSet;
use std::path::Path;

use cairn_connect::webhook::gitlab::GitLabWebhook;
use cairn_connect::webhook::jira::JiraEventKind;
use cairn_connect::webhook::{WebhookError, parse_gitlab_webhook, parse_jira_webhook};

const GITLAB_DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../testdata/gitlab-webhooks"
);
const JIRA_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/jira-webhooks");

fn json_files(dir: &str) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .expect("fixture folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect()
}

fn read(dir: &str, name: &str) -> Vec<u8> {
    std::fs::read(Path::new(dir).join(name)).expect("fixture")
}

/// Expected facts of an issue event: iid, state, action, type, assignees, a changed field.
type IssueFacts = (
    u64,
    &'static str,
    &'static str,
    Option<&'static str>,
    usize,
    Option<&'static str>,
);

#[test]
fn every_gitlab_capture_parses_with_its_fields() {
    let issues: &[(&str, IssueFacts)] = &[
        (
            "confidential_issue_hook__issue_created_without_assignee.json",
            (1, "opened", "open", None, 0, Some("total_time_spent")),
        ),
        (
            "confidential_issue_hook__task_created.json",
            (12, "opened", "open", Some("Task"), 0, Some("confidential")),
        ),
        (
            "issue_hook__epic_created.json",
            (3, "opened", "open", Some("Epic"), 0, Some("id")),
        ),
        (
            "issue_hook__incident_closed.json",
            (6, "closed", "close", Some("Incident"), 1, Some("closed_at")),
        ),
        (
            "issue_hook__incident_created.json",
            (
                2,
                "opened",
                "open",
                Some("Incident"),
                0,
                Some("description"),
            ),
        ),
        (
            "issue_hook__incident_reopen.json",
            (6, "opened", "reopen", Some("Incident"), 1, Some("state_id")),
        ),
        (
            "issue_hook__issue_closed.json",
            (1, "closed", "close", None, 0, None),
        ),
        (
            "issue_hook__issue_created_with_hidden_comment_in_description.json",
            (3, "opened", "open", None, 0, Some("total_time_spent")),
        ),
        (
            "issue_hook__issue_created_with_two_assignees.json",
            (2, "opened", "open", None, 2, Some("assignees")),
        ),
        (
            "issue_hook__issue_reopened.json",
            (1, "reopened", "reopen", None, 0, None),
        ),
        (
            "issue_hook__issue_updated.json",
            (1, "opened", "update", None, 0, None),
        ),
        (
            "issue_hook__key_result_closed.json",
            (
                4,
                "closed",
                "close",
                Some("Key Result"),
                1,
                Some("closed_at"),
            ),
        ),
        (
            "issue_hook__key_result_created.json",
            (
                3,
                "opened",
                "open",
                Some("Key Result"),
                0,
                Some("author_id"),
            ),
        ),
        (
            "issue_hook__objective_created.json",
            (
                1,
                "opened",
                "open",
                Some("Objective"),
                0,
                Some("created_at"),
            ),
        ),
        (
            "issue_hook__objective_reopened.json",
            (
                2,
                "opened",
                "reopen",
                Some("Objective"),
                1,
                Some("closed_at"),
            ),
        ),
        (
            "issue_hook__objective_updated.json",
            (
                2,
                "opened",
                "update",
                Some("Objective"),
                1,
                Some("updated_by_id"),
            ),
        ),
        (
            "issue_hook__task_closed.json",
            (8, "closed", "close", Some("Task"), 1, Some("state_id")),
        ),
        (
            "issue_hook__task_created.json",
            (7, "opened", "open", Some("Task"), 0, Some("id")),
        ),
        (
            "issue_hook__task_updated.json",
            (8, "closed", "update", Some("Task"), 1, Some("status")),
        ),
    ];
    let mut seen = BTreeSet::new();
    for (name, (iid, state, action, kind, assignees, changed)) in issues {
        seen.insert(name.to_string());
        let parsed = parse_gitlab_webhook(&read(GITLAB_DIR, name)).expect(name);
        let GitLabWebhook::Issue(hook) = parsed else {
            panic!("{name}: not an issue event: {parsed:?}");
        };
        let a = &hook.object_attributes;
        assert_eq!(a.iid, *iid, "{name}");
        assert_eq!(a.state, *state, "{name}");
        assert_eq!(a.action.as_deref(), Some(*action), "{name}");
        assert_eq!(a.kind.as_deref(), *kind, "{name}");
        assert_eq!(hook.assignees.len(), *assignees, "{name}");
        assert!(
            a.created_at.is_some() && a.updated_at.is_some(),
            "{name}: dates"
        );
        assert_eq!(a.is_closed(), *state == "closed", "{name}");
        if *state == "closed" && a.kind.is_some() {
            assert!(a.closed_at.is_some(), "{name}: closed_at");
        }
        if let Some(field) = changed {
            assert!(hook.changes.contains_key(*field), "{name}: changes.{field}");
        }
        let work_item = matches!(*kind, Some("Task" | "Epic" | "Objective" | "Key Result"));
        if work_item {
            assert_eq!(hook.object_kind, "work_item", "{name}");
        }
        if *kind == Some("Epic") {
            assert!(hook.project.is_none(), "{name}: group-level epic");
        } else {
            assert!(hook.project_id().is_some(), "{name}: project id");
        }
    }

    // A few fields read in detail.
    let GitLabWebhook::Issue(task) =
        parse_gitlab_webhook(&read(GITLAB_DIR, "issue_hook__task_updated.json")).expect("task")
    else {
        panic!("task_updated is an issue event");
    };
    let status = task
        .object_attributes
        .status
        .clone()
        .expect("work item status");
    assert_eq!(status.category.as_deref(), Some("done"));
    assert_eq!(task.changes["status"].previous["category"], "to_do");
    assert_eq!(task.object_attributes.assignee_ids, [34850171]);
    let GitLabWebhook::Issue(old) =
        parse_gitlab_webhook(&read(GITLAB_DIR, "issue_hook__issue_updated.json")).expect("old")
    else {
        panic!("issue_updated is an issue event");
    };
    assert_eq!(old.object_attributes.weight, Some(3));
    assert_eq!(old.object_attributes.project_id, Some(1534233));
    assert_eq!(
        old.object_attributes.updated_at.map(|t| t.to_rfc3339()),
        Some("2016-08-18T17:56:30+00:00".to_string()),
        "the `... UTC` date format"
    );

    for (name, kind, iid, state, action) in [
        (
            "merge_request_hook__merge_request_approved.json",
            "mr",
            1,
            "opened",
            "approved",
        ),
        (
            "merge_request_hook__merge_request_updated.json",
            "mr",
            3,
            "opened",
            "update",
        ),
        ("merge_request_merged.json", "mr", 3, "merged", "merge"),
    ] {
        seen.insert(name.to_string());
        let GitLabWebhook::MergeRequest(mr) =
            parse_gitlab_webhook(&read(GITLAB_DIR, name)).expect(name)
        else {
            panic!("{name}: not a {kind}");
        };
        assert_eq!(mr.object_attributes.iid, iid, "{name}");
        assert_eq!(mr.object_attributes.state, state, "{name}");
        assert_eq!(
            mr.object_attributes.action.as_deref(),
            Some(action),
            "{name}"
        );
        if state == "merged" {
            assert!(mr.object_attributes.merge_commit_sha.is_some());
        }
    }

    for (name, noteable, issue_iid, mr_iid) in [
        ("note_hook__commit_note.json", "Commit", None, None),
        ("note_hook__issue_note.json", "Issue", Some(1), None),
        (
            "note_hook__merge_request_note.json",
            "MergeRequest",
            None,
            Some(1),
        ),
    ] {
        seen.insert(name.to_string());
        let GitLabWebhook::Note(note) = parse_gitlab_webhook(&read(GITLAB_DIR, name)).expect(name)
        else {
            panic!("{name}: not a note");
        };
        assert_eq!(note.object_attributes.noteable_type, noteable, "{name}");
        assert!(!note.object_attributes.note.is_empty(), "{name}");
        assert_eq!(note.issue.as_ref().and_then(|i| i.iid), issue_iid, "{name}");
        assert_eq!(
            note.merge_request.as_ref().and_then(|m| m.iid),
            mr_iid,
            "{name}"
        );
    }
    let GitLabWebhook::Note(note) =
        parse_gitlab_webhook(&read(GITLAB_DIR, "note_hook__issue_note.json")).expect("note")
    else {
        panic!("issue note");
    };
    assert_eq!(
        note.object_attributes.note,
        "This is again a random comment."
    );
    assert_eq!(note.object_attributes.system, Some(false));

    for (name, tag, short, commits, deletion) in [
        ("push_hook.json", false, "tomek", 2, false),
        ("push_hook__remove_branch.json", false, "tomek", 0, true),
        ("tag_push_hook__add_tag.json", true, "xyz", 0, false),
    ] {
        seen.insert(name.to_string());
        let push = match parse_gitlab_webhook(&read(GITLAB_DIR, name)).expect(name) {
            GitLabWebhook::Push(p) if !tag => p,
            GitLabWebhook::TagPush(p) if tag => p,
            other => panic!("{name}: {other:?}"),
        };
        assert_eq!(push.short_ref(), short, "{name}");
        assert_eq!(push.commits.len(), commits, "{name}");
        assert_eq!(push.is_deletion(), deletion, "{name}");
        assert!(push.commits.iter().all(|c| c.timestamp.is_some()), "{name}");
    }

    assert_eq!(
        seen,
        json_files(GITLAB_DIR),
        "every capture has expectations, and every expectation a capture"
    );
}

#[test]
fn every_jira_capture_parses_with_its_fields() {
    use JiraEventKind as K;
    // file, kind, key, status category, changelog items, comment id, worklog seconds
    type Facts = (
        K,
        Option<&'static str>,
        Option<&'static str>,
        usize,
        Option<&'static str>,
        Option<i64>,
    );
    let cases: &[(&str, Facts)] = &[
        (
            "attachment_created.json",
            (K::Other, Some("BUG-15"), None, 0, None, None),
        ),
        (
            "change_status_v2.json",
            (
                K::IssueUpdated,
                Some("TEST-1"),
                Some("indeterminate"),
                1,
                None,
                None,
            ),
        ),
        (
            "comment_created.json",
            (
                K::CommentCreated,
                Some("ZUL-1"),
                Some("new"),
                0,
                Some("10000"),
                None,
            ),
        ),
        (
            "comment_updated.json",
            (
                K::CommentUpdated,
                Some("SP-1"),
                Some("new"),
                0,
                Some("10000"),
                None,
            ),
        ),
        (
            "commented_markup_v1.json",
            (
                K::IssueUpdated,
                Some("TEST-7"),
                None,
                0,
                Some("10002"),
                None,
            ),
        ),
        (
            "commented_v1.json",
            (
                K::IssueUpdated,
                Some("BUG-15"),
                None,
                0,
                Some("10400"),
                None,
            ),
        ),
        (
            "created_v1.json",
            (K::IssueCreated, Some("BUG-15"), None, 0, None, None),
        ),
        (
            "created_v2.json",
            (K::IssueCreated, Some("BUG-15"), None, 0, None, None),
        ),
        (
            "created_with_unicode_v2.json",
            (K::IssueCreated, Some("BUG-15"), None, 0, None, None),
        ),
        (
            "deleted_v2.json",
            (K::IssueDeleted, Some("BUG-15"), None, 0, None, None),
        ),
        (
            "issue_created.json",
            (K::IssueCreated, Some("BUG-15"), None, 0, None, None),
        ),
        (
            "issue_created_with_custom_fields.json",
            (K::IssueCreated, Some("KAN-3"), Some("new"), 6, None, None),
        ),
        (
            "issue_created_with_unicode.json",
            (K::IssueCreated, Some("BUG-15"), None, 0, None, None),
        ),
        (
            "issue_deleted.json",
            (K::IssueDeleted, Some("BUG-15"), None, 0, None, None),
        ),
        (
            "issue_updated__status.json",
            (
                K::IssueUpdated,
                Some("TEST-1"),
                Some("indeterminate"),
                1,
                None,
                None,
            ),
        ),
        (
            "unknown_v1.json",
            (K::Other, Some("BUG-15"), None, 0, Some("10400"), None),
        ),
        (
            "worklog_created.json",
            (K::WorklogCreated, None, None, 0, None, Some(144000)),
        ),
        (
            "worklog_updated__edited.json",
            (K::WorklogUpdated, Some("SCRUM-23"), None, 2, None, None),
        ),
    ];
    let mut seen = BTreeSet::new();
    for (name, (kind, key, category, items, comment, worklog)) in cases {
        seen.insert(name.to_string());
        let hook = parse_jira_webhook(&read(JIRA_DIR, name)).expect(name);
        assert_eq!(hook.kind(), *kind, "{name}");
        assert!(hook.timestamp.is_some(), "{name}");
        assert_eq!(hook.issue_key(), *key, "{name}");
        let cat = hook
            .issue
            .as_ref()
            .and_then(|i| i.fields.status.as_ref())
            .and_then(|s| s.status_category.as_ref())
            .map(|c| c.key.as_str());
        assert_eq!(cat, *category, "{name}");
        assert_eq!(
            hook.changelog.as_ref().map_or(0, |c| c.items.len()),
            *items,
            "{name}"
        );
        assert_eq!(
            hook.comment.as_ref().and_then(|c| c.id.as_deref()),
            *comment,
            "{name}"
        );
        assert_eq!(
            hook.worklog.as_ref().and_then(|w| w.time_spent_seconds),
            *worklog,
            "{name}"
        );
    }

    let status = parse_jira_webhook(&read(JIRA_DIR, "issue_updated__status.json")).expect("status");
    let change = status.change("status").expect("status change");
    assert_eq!(change.from_string.as_deref(), Some("To Do"));
    assert_eq!(change.to_string.as_deref(), Some("In Progress"));
    assert_eq!(change.to.as_deref(), Some("3"));
    let issue = status.issue.as_ref().expect("issue");
    assert!(!issue.is_done());
    assert_eq!(
        issue.fields.issuetype.as_ref().map(|t| t.name.as_str()),
        Some("Task")
    );
    assert_eq!(issue.fields.progress.as_ref().map(|p| p.total), Some(0));
    assert!(
        status
            .user
            .as_ref()
            .and_then(|u| u.account_id.as_deref())
            .is_some()
    );

    let worklog =
        parse_jira_webhook(&read(JIRA_DIR, "worklog_updated__edited.json")).expect("worklog");
    let spent = worklog.change("timespent").expect("timespent change");
    assert_eq!(
        (spent.from.as_deref(), spent.to.as_deref()),
        (Some("19500"), Some("21060"))
    );
    let fields = &worklog.issue.as_ref().expect("issue").fields;
    assert_eq!(fields.timespent, Some(21060));
    assert_eq!(fields.timeoriginalestimate, Some(21600));
    assert_eq!(fields.timeestimate, Some(540));

    let created = parse_jira_webhook(&read(JIRA_DIR, "worklog_created.json")).expect("worklog");
    let w = created.worklog.as_ref().expect("worklog");
    assert_eq!(w.issue_id.as_deref(), Some("10014"));
    assert_eq!(w.time_spent.as_deref(), Some("1w"));
    assert!(w.started.is_some());

    let custom = parse_jira_webhook(&read(JIRA_DIR, "issue_created_with_custom_fields.json"))
        .expect("custom");
    let fields = &custom.issue.as_ref().expect("issue").fields;
    assert!(
        fields.custom_numbers.0.is_empty(),
        "text and option custom fields are not numbers: {:?}",
        fields.custom_numbers
    );

    let comment = parse_jira_webhook(&read(JIRA_DIR, "comment_created.json")).expect("comment");
    assert!(
        comment
            .comment
            .as_ref()
            .and_then(|c| c.body_text())
            .is_some_and(|b| !b.is_empty())
    );

    seen.insert("example_anomalous_payload.json".to_string());
    let err = parse_jira_webhook(&read(JIRA_DIR, "example_anomalous_payload.json"))
        .expect_err("anomalous payload");
    assert!(
        matches!(err, WebhookError::Missing("webhookEvent")),
        "{err}"
    );

    assert_eq!(seen, json_files(JIRA_DIR));
}

#[test]
fn numeric_custom_fields_and_broken_bodies() {
    let body = br#"{"timestamp":1,"webhookEvent":"jira:issue_updated","issue":{"id":"1","key":"A-1","fields":{"customfield_10016":5,"customfield_10020":2.5,"customfield_10030":"text","customfield_10040":null,"timespent":null}}}"#;
    let hook = parse_jira_webhook(body).expect("parse");
    let fields = &hook.issue.expect("issue").fields;
    assert_eq!(fields.custom_numbers.get("customfield_10016"), Some(5.0));
    assert_eq!(fields.custom_numbers.get("customfield_10020"), Some(2.5));
    assert_eq!(fields.custom_numbers.0.len(), 2);
    assert_eq!(fields.timespent, None);

    assert!(matches!(
        parse_gitlab_webhook(b"<html>"),
        Err(WebhookError::NotJson(_))
    ));
    assert!(matches!(
        parse_gitlab_webhook(b"{}"),
        Err(WebhookError::Missing("object_kind"))
    ));
    assert!(matches!(
        parse_gitlab_webhook(br#"{"object_kind":"issue","object_attributes":{"iid":"x"}}"#),
        Err(WebhookError::Shape { .. })
    ));
    assert!(matches!(
        parse_gitlab_webhook(br#"{"object_kind":"pipeline"}"#),
        Ok(GitLabWebhook::Other { .. })
    ));
}
