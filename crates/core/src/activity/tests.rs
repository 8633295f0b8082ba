//! Activity kinds, counting instants, references per kind, closing rules
//! and deduplication.

use chrono::{DateTime, TimeZone, Utc};

use super::*;

fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, h, m, s).unwrap()
}

fn project() -> ActivityProject {
    ActivityProject {
        id: 7,
        path: "northwind/checkout".into(),
    }
}

fn commit(sha: &str, message: &str, branch: &str, authored: DateTime<Utc>) -> Activity {
    Activity {
        person: ActivityPerson {
            gitlab_user_id: None,
            email: Some("Ana@Northwind.example".into()),
        },
        project: project(),
        detail: ActivityDetail::Commit(CommitActivity {
            sha: sha.into(),
            author_name: "Ana".into(),
            author_email: "Ana@Northwind.example".into(),
            authored_at: authored,
            committed_at: authored,
            message: message.into(),
            branch: Some(branch.into()),
        }),
    }
}

fn merge_request(action: MergeRequestAction, at: DateTime<Utc>) -> Activity {
    Activity {
        person: ActivityPerson {
            gitlab_user_id: Some(5),
            email: None,
        },
        project: project(),
        detail: ActivityDetail::MergeRequest(MergeRequestActivity {
            action,
            iid: 42,
            title: "AE-12 Login form".into(),
            description: "Fixes AE-13 and closes #4\n\nSee OPS-1".into(),
            source_branch: "feature/AE-12-login".into(),
            target_branch: "main".into(),
            linked_issues: vec![4, 9],
            at,
        }),
    }
}

fn comment(note_id: u64, on: CommentOn, body: &str) -> Activity {
    Activity {
        person: ActivityPerson {
            gitlab_user_id: Some(5),
            email: None,
        },
        project: project(),
        detail: ActivityDetail::Comment(CommentActivity {
            note_id,
            on,
            body: body.into(),
            at: at(10, 0, 0),
        }),
    }
}

fn issue(action: IssueAction, title: &str, at: DateTime<Utc>) -> Activity {
    Activity {
        person: ActivityPerson {
            gitlab_user_id: Some(5),
            email: None,
        },
        project: project(),
        detail: ActivityDetail::Issue(IssueActivity {
            action,
            iid: 3,
            title: title.into(),
            at,
        }),
    }
}

fn rebased(activity: &Activity, sha: &str, committed: DateTime<Utc>, branch: &str) -> Activity {
    let mut copy = activity.clone();
    if let ActivityDetail::Commit(c) = &mut copy.detail {
        c.sha = sha.into();
        c.committed_at = committed;
        c.branch = Some(branch.into());
    }
    copy
}

#[test]
fn a_commit_counts_at_its_author_date_and_events_at_their_time() {
    let original = commit("aaa", "AE-12 form", "feature/AE-12", at(9, 40, 0));
    let copy = rebased(&original, "bbb", at(16, 0, 0), "feature/AE-12");
    assert_eq!(original.counts_at(), at(9, 40, 0));
    assert_eq!(copy.counts_at(), at(9, 40, 0));
    assert_eq!(
        merge_request(MergeRequestAction::Approved, at(11, 0, 0)).counts_at(),
        at(11, 0, 0)
    );
    assert_eq!(
        issue(IssueAction::Closed, "x", at(12, 0, 0)).counts_at(),
        at(12, 0, 0)
    );
}

#[test]
fn kinds_have_one_stable_name_each() {
    let kinds = [
        commit("a", "m", "b", at(9, 0, 0)).kind(),
        merge_request(MergeRequestAction::Opened, at(9, 0, 0)).kind(),
        merge_request(MergeRequestAction::Updated, at(9, 0, 0)).kind(),
        merge_request(MergeRequestAction::Approved, at(9, 0, 0)).kind(),
        merge_request(MergeRequestAction::Merged, at(9, 0, 0)).kind(),
        comment(1, CommentOn::Issue { iid: 3 }, "x").kind(),
        issue(IssueAction::Opened, "x", at(9, 0, 0)).kind(),
        issue(IssueAction::Closed, "x", at(9, 0, 0)).kind(),
        issue(IssueAction::Reopened, "x", at(9, 0, 0)).kind(),
        issue(IssueAction::Edited, "x", at(9, 0, 0)).kind(),
    ];
    assert_eq!(kinds.as_slice(), ActivityKind::ALL);
    for kind in ActivityKind::ALL {
        assert_eq!(kind.as_str().parse::<ActivityKind>(), Ok(*kind));
    }
    assert_eq!(
        "push".parse::<ActivityKind>(),
        Err(ActivityError::UnknownName {
            what: ActivityKind::NAMES,
            name: "push".into()
        })
    );
}

fn target_text(activity: &Activity) -> Option<String> {
    activity.target().map(|t| t.to_string())
}

#[test]
fn each_kind_refers_to_work_through_its_own_texts() {
    // Commit: the message first, then the branch.
    assert_eq!(
        target_text(&commit("a", "AE-7: config", "feature/AE-12", at(9, 0, 0))),
        Some("AE-7".into())
    );
    assert_eq!(
        target_text(&commit("a", "typo", "feature/AE-12", at(9, 0, 0))),
        Some("AE-12".into())
    );
    assert_eq!(
        target_text(&commit("a", "Closes #8", "main", at(9, 0, 0))),
        Some("northwind/checkout#8".into())
    );
    assert_eq!(target_text(&commit("a", "wip", "main", at(9, 0, 0))), None);

    // Merge request: title, branch, description, linked issues.
    let mr = merge_request(MergeRequestAction::Opened, at(9, 0, 0));
    let scan = mr.references();
    let keys: Vec<&str> = scan.jira_keys().map(JiraKey::as_str).collect();
    assert_eq!(keys, ["AE-12", "AE-13", "OPS-1"]);
    let issues: Vec<u64> = scan.gitlab_issues().map(|r| r.iid).collect();
    assert_eq!(issues, [4, 9]);
    assert_eq!(target_text(&mr), Some("AE-12".into()));

    // Comment: its body, else what it is on.
    let on_mr = CommentOn::MergeRequest {
        iid: 42,
        title: "Login".into(),
        source_branch: "AE-12-login".into(),
    };
    assert_eq!(
        target_text(&comment(1, on_mr.clone(), "LGTM")),
        Some("AE-12".into())
    );
    assert_eq!(
        target_text(&comment(1, on_mr, "see OPS-2")),
        Some("OPS-2".into())
    );
    assert_eq!(
        target_text(&comment(1, CommentOn::Issue { iid: 3 }, "done")),
        Some("northwind/checkout#3".into())
    );
    assert_eq!(
        target_text(&comment(1, CommentOn::Commit { sha: "abc".into() }, "nit")),
        None
    );

    // Issue: its title's key, else the issue itself.
    assert_eq!(
        target_text(&issue(IssueAction::Edited, "[AE-5] sync", at(9, 0, 0))),
        Some("AE-5".into())
    );
    assert_eq!(
        target_text(&issue(IssueAction::Opened, "Crash", at(9, 0, 0))),
        Some("northwind/checkout#3".into())
    );
}

#[test]
fn only_closing_phrases_landing_on_the_default_branch_close_jira_issues() {
    let fixes = commit("a", "Fixes AE-12", "main", at(9, 0, 0));
    assert_eq!(
        fixes.closes_jira_issues("main"),
        [JiraKey::parse("AE-12").unwrap()]
    );
    let elsewhere = commit("a", "Fixes AE-12", "feature/x", at(9, 0, 0));
    assert!(elsewhere.closes_jira_issues("main").is_empty());
    // A key only in the branch name closes nothing.
    let branch_only = commit("a", "work", "main", at(9, 0, 0));
    assert!(branch_only.closes_jira_issues("main").is_empty());

    let merged = merge_request(MergeRequestAction::Merged, at(9, 0, 0));
    assert_eq!(
        merged.closes_jira_issues("main"),
        [JiraKey::parse("AE-13").unwrap()]
    );
    assert!(merged.closes_jira_issues("develop").is_empty());
    let opened = merge_request(MergeRequestAction::Opened, at(9, 0, 0));
    assert!(opened.closes_jira_issues("main").is_empty());
    let note = comment(1, CommentOn::Issue { iid: 3 }, "Fixes AE-12");
    assert!(note.closes_jira_issues("main").is_empty());
}

#[test]
fn link_titles_name_the_gitlab_object() {
    assert_eq!(
        merge_request(MergeRequestAction::Opened, at(9, 0, 0)).link_title(),
        "GitLab MR !42: AE-12 Login form"
    );
    assert_eq!(
        commit("0123456789abcdef", "AE-12 form\n\nbody", "b", at(9, 0, 0)).link_title(),
        "GitLab commit 01234567: AE-12 form"
    );
}

#[test]
fn a_rebased_or_cherry_picked_commit_is_the_same_work() {
    let original = commit("aaa", "AE-12 form\n", "feature/AE-12", at(9, 40, 0));
    let copy = rebased(&original, "bbb", at(16, 0, 0), "main");
    assert_eq!(original.fingerprint(), copy.fingerprint());
    // Case of the email and line endings do not matter.
    let mut crlf = copy.clone();
    if let ActivityDetail::Commit(c) = &mut crlf.detail {
        c.author_email = "ana@northwind.example".into();
        c.message = "AE-12 form\r\n".into();
    }
    assert_eq!(original.fingerprint(), crlf.fingerprint());
    // Other work: another author date, message or author.
    let later = commit("ccc", "AE-12 form", "feature/AE-12", at(9, 40, 1));
    let reworded = commit("ddd", "AE-12 form v2", "feature/AE-12", at(9, 40, 0));
    let mut other_author = original.clone();
    if let ActivityDetail::Commit(c) = &mut other_author.detail {
        c.author_email = "ben@northwind.example".into();
    }
    for other in [later, reworded, other_author] {
        assert_ne!(original.fingerprint(), other.fingerprint());
    }
    assert_eq!(original.fingerprint().as_str().len(), 32);
}

#[test]
fn a_commit_without_an_author_email_is_identified_by_name() {
    let mut a = commit("a", "m", "b", at(9, 0, 0));
    let mut b = a.clone();
    for (activity, name) in [(&mut a, "Ana"), (&mut b, "Ben")] {
        if let ActivityDetail::Commit(c) = &mut activity.detail {
            c.author_email = String::new();
            c.author_name = name.into();
        }
        activity.person.email = None;
    }
    assert_ne!(a.fingerprint(), b.fingerprint());
    assert!(!a.person.is_identified());
}

#[test]
fn the_same_event_from_a_hook_and_the_events_api_is_one() {
    // The Events API reports the same note id; the body may be cut.
    let hook = comment(77, CommentOn::Issue { iid: 3 }, "full body");
    let backstop = comment(77, CommentOn::Issue { iid: 3 }, "full…");
    assert_eq!(hook.fingerprint(), backstop.fingerprint());
    assert_ne!(
        hook.fingerprint(),
        comment(78, CommentOn::Issue { iid: 3 }, "full body").fingerprint()
    );

    // Opened and merged happen once per merge request, whatever time each
    // source gives.
    let opened = merge_request(MergeRequestAction::Opened, at(9, 0, 0));
    assert_eq!(
        opened.fingerprint(),
        merge_request(MergeRequestAction::Opened, at(9, 0, 2)).fingerprint()
    );
    assert_ne!(
        opened.fingerprint(),
        merge_request(MergeRequestAction::Merged, at(9, 0, 0)).fingerprint()
    );
    // Approvals and updates repeat: one per person and second.
    let approved = merge_request(MergeRequestAction::Approved, at(11, 0, 0));
    assert_eq!(
        approved.fingerprint(),
        merge_request(MergeRequestAction::Approved, at(11, 0, 0)).fingerprint()
    );
    assert_ne!(
        approved.fingerprint(),
        merge_request(MergeRequestAction::Approved, at(11, 30, 0)).fingerprint()
    );
    let closed = issue(IssueAction::Closed, "x", at(12, 0, 0));
    assert_ne!(
        closed.fingerprint(),
        issue(IssueAction::Closed, "x", at(13, 0, 0)).fingerprint()
    );
    assert_eq!(
        issue(IssueAction::Opened, "x", at(12, 0, 0)).fingerprint(),
        issue(IssueAction::Opened, "x (edited)", at(12, 0, 1)).fingerprint()
    );
}

#[test]
fn deduplication_keeps_the_first_report() {
    let a = commit("aaa", "AE-12 one", "feature/AE-12", at(9, 0, 0));
    let b = commit("bbb", "AE-12 two", "feature/AE-12", at(9, 5, 0));
    let a2 = rebased(&a, "a2", at(15, 0, 0), "feature/AE-12");
    let b2 = rebased(&b, "b2", at(15, 0, 0), "feature/AE-12");
    let out = deduplicate([a.clone(), b.clone(), a2, b2, a.clone()]);
    assert_eq!(out.kept, [a, b]);
    assert_eq!(out.repeats, 3);
}

#[test]
fn branches_come_from_heads_refs_only() {
    assert_eq!(
        branch_from_ref("refs/heads/feature/AE-12"),
        Some("feature/AE-12")
    );
    assert_eq!(branch_from_ref("refs/tags/v1"), None);
    assert_eq!(branch_from_ref("refs/heads/"), None);
    assert_eq!(branch_from_ref("main"), None);
}

#[test]
fn activities_round_trip_through_json() {
    for activity in [
        commit("a", "m", "b", at(9, 0, 0)),
        merge_request(MergeRequestAction::Merged, at(9, 0, 0)),
        comment(1, CommentOn::Commit { sha: "abc".into() }, "x"),
        issue(IssueAction::Edited, "t", at(9, 0, 0)),
    ] {
        let json = serde_json::to_string(&activity).unwrap();
        assert_eq!(serde_json::from_str::<Activity>(&json).unwrap(), activity);
    }
    let json = serde_json::to_value(comment(1, CommentOn::Issue { iid: 3 }, "x")).unwrap();
    assert_eq!(json["detail"]["type"], "comment");
    assert_eq!(
        json["detail"]["on"],
        serde_json::json!({"type": "issue", "iid": 3})
    );
}
