//! Seeding: a dataset file format, a deterministic generator and the sample
//! dataset used by `cairn demo`.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::SimError;
use crate::model::*;
use crate::util::{Rng, parse_duration};

/// Token of the generated GitLab administrator (`root`).
pub const DEFAULT_GITLAB_TOKEN: &str = "glpat-sim-root";
/// Login email of the generated Jira administrator.
pub const DEFAULT_JIRA_EMAIL: &str = "admin@example.com";
/// Cloud API token of the generated Jira administrator.
pub const DEFAULT_JIRA_API_TOKEN: &str = "jira-sim-token";
/// Data Center personal access token of the generated Jira administrator.
pub const DEFAULT_JIRA_PAT: &str = "jira-sim-pat";

/// The hand-written sample dataset (JSON), used by `cairn demo`.
pub const SAMPLE_DATASET: &str = include_str!("../data/sample.json");

/// A dataset file: the compact, human-writable description of a world.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Dataset {
    /// GitLab part.
    pub gitlab: GitLabSpec,
    /// Jira part.
    pub jira: JiraSpec,
}

/// GitLab part of a dataset.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GitLabSpec {
    /// Users; the first admin (or the first user) owns everything by default.
    pub users: Vec<GlUserSpec>,
    /// Groups.
    pub groups: Vec<GroupSpec>,
    /// Projects.
    pub projects: Vec<ProjectSpec>,
}

/// A GitLab user in a dataset.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GlUserSpec {
    /// Login.
    pub username: String,
    /// Display name.
    pub name: String,
    /// Email (defaults to `<username>@example.com`).
    pub email: Option<String>,
    /// Administrator.
    pub admin: bool,
    /// Access tokens.
    pub tokens: Vec<String>,
}

/// A group in a dataset.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GroupSpec {
    /// Path.
    pub path: String,
    /// Name.
    pub name: String,
}

/// A project in a dataset.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProjectSpec {
    /// `group/project`; the group is created when missing.
    pub path: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// `private` (default), `internal` or `public`.
    pub visibility: Option<String>,
    /// Member usernames (developer access).
    pub members: Vec<String>,
    /// Labels.
    pub labels: Vec<LabelSpec>,
    /// Milestones.
    pub milestones: Vec<MilestoneSpec>,
    /// Issues, iids assigned in order.
    pub issues: Vec<IssueSpec>,
    /// Merge requests.
    pub merge_requests: Vec<MrSpec>,
    /// Commit messages pushed to the default branch.
    pub commits: Vec<String>,
}

/// A label in a dataset.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LabelSpec {
    /// Name.
    pub name: String,
    /// Colour.
    pub color: Option<String>,
    /// Description.
    pub description: Option<String>,
}

/// A milestone in a dataset.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MilestoneSpec {
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// `active` (default) or `closed`.
    pub state: Option<String>,
    /// Start.
    pub start_date: Option<NaiveDate>,
    /// Due.
    pub due_date: Option<NaiveDate>,
}

/// A task list item.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TaskSpec {
    /// Text.
    pub title: String,
    /// Checked.
    pub done: bool,
}

/// A note in a dataset.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NoteSpec {
    /// Author username.
    pub author: Option<String>,
    /// Body.
    pub body: String,
}

/// A GitLab issue in a dataset.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IssueSpec {
    /// Title.
    pub title: String,
    /// Description (tasks are appended as a task list).
    pub description: String,
    /// Task list.
    pub tasks: Vec<TaskSpec>,
    /// `opened` (default) or `closed`.
    pub state: Option<String>,
    /// Label names (created on the project when missing).
    pub labels: Vec<String>,
    /// Milestone title.
    pub milestone: Option<String>,
    /// Assignee usernames.
    pub assignees: Vec<String>,
    /// Author username.
    pub author: Option<String>,
    /// `issue` (default), `incident` or `task`.
    pub issue_type: Option<String>,
    /// Weight.
    pub weight: Option<i64>,
    /// Estimate such as `4h`.
    pub time_estimate: Option<String>,
    /// Time spent such as `1h30m`.
    pub time_spent: Option<String>,
    /// Due date.
    pub due_date: Option<NaiveDate>,
    /// Creation time (defaults to a fixed base time plus the iid in hours).
    pub created_at: Option<DateTime<Utc>>,
    /// Closing time for closed issues.
    pub closed_at: Option<DateTime<Utc>>,
    /// Notes.
    pub notes: Vec<NoteSpec>,
}

/// A merge request in a dataset.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MrSpec {
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// `opened`, `closed` or `merged`.
    pub state: Option<String>,
    /// Source branch.
    pub source_branch: String,
    /// Target branch (default `main`).
    pub target_branch: Option<String>,
    /// Author username.
    pub author: Option<String>,
}

/// Jira part of a dataset.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JiraSpec {
    /// Users.
    pub users: Vec<JiraUserSpec>,
    /// Projects.
    pub projects: Vec<JiraProjectSpec>,
    /// Extra numeric custom fields (story points is always defined).
    pub custom_fields: Vec<CustomFieldSpec>,
    /// Issues.
    pub issues: Vec<JiraIssueSpec>,
}

/// A Jira user in a dataset.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JiraUserSpec {
    /// Data Center user name.
    pub name: String,
    /// Display name.
    pub display_name: String,
    /// Email (Cloud login).
    pub email: Option<String>,
    /// Cloud account id (generated when missing).
    pub account_id: Option<String>,
    /// Cloud API token.
    pub api_token: Option<String>,
    /// Data Center PAT.
    pub pat: Option<String>,
    /// Cloud privacy setting: others do not see the email.
    pub email_hidden: bool,
}

/// A Jira project in a dataset.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JiraProjectSpec {
    /// Key.
    pub key: String,
    /// Name.
    pub name: String,
    /// Lead user name.
    pub lead: Option<String>,
    /// Versions.
    pub versions: Vec<VersionSpec>,
    /// The number of the project's first issue (1 by default), so a dataset
    /// can hold keys like AE-786 without 785 issues before it.
    pub first_number: Option<u64>,
}

/// A version in a dataset.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VersionSpec {
    /// Name.
    pub name: String,
    /// Released.
    pub released: bool,
    /// Release date.
    pub release_date: Option<NaiveDate>,
}

/// A numeric custom field in a dataset.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CustomFieldSpec {
    /// Id such as `customfield_10020` (generated when missing).
    pub id: Option<String>,
    /// Name.
    pub name: String,
}

/// A Jira issue in a dataset.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JiraIssueSpec {
    /// Project key.
    pub project: String,
    /// Summary.
    pub summary: String,
    /// Description.
    pub description: Option<String>,
    /// Type name (`Story` by default; `Epic`, `Task`, `Bug`, `Sub-task`).
    pub issue_type: Option<String>,
    /// Status name (`To Do` by default).
    pub status: Option<String>,
    /// Priority name.
    pub priority: Option<String>,
    /// Assignee user name.
    pub assignee: Option<String>,
    /// Reporter user name.
    pub reporter: Option<String>,
    /// Labels.
    pub labels: Vec<String>,
    /// Fix version names.
    pub fix_versions: Vec<String>,
    /// Parent key (for sub-tasks, or an epic).
    pub parent: Option<String>,
    /// Epic link key.
    pub epic: Option<String>,
    /// Story points.
    pub story_points: Option<f64>,
    /// Other custom values by field name or id.
    pub custom: BTreeMap<String, serde_json::Value>,
    /// Original estimate such as `2d`.
    pub original_estimate: Option<String>,
    /// Remaining estimate.
    pub remaining_estimate: Option<String>,
    /// Creation time.
    pub created: Option<DateTime<Utc>>,
    /// Comments.
    pub comments: Vec<NoteSpec>,
    /// Worklogs.
    pub worklogs: Vec<WorklogSpec>,
}

/// A worklog in a dataset.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorklogSpec {
    /// Author user name.
    pub author: Option<String>,
    /// Duration such as `2h`.
    pub time_spent: String,
    /// Start time.
    pub started: Option<DateTime<Utc>>,
    /// Comment.
    pub comment: Option<String>,
}

/// Parameters of the deterministic generator, written as
/// `projects=3,issues=10000,users=20,jira_projects=2,jira_issues=5000,seed=42`.
/// `issues` and `jira_issues` count per project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenSpec {
    /// GitLab projects.
    pub projects: u64,
    /// Issues per GitLab project.
    pub issues: u64,
    /// Users (in both services).
    pub users: u64,
    /// Jira projects.
    pub jira_projects: u64,
    /// Issues per Jira project.
    pub jira_issues: u64,
    /// PRNG seed.
    pub seed: u64,
}

impl Default for GenSpec {
    fn default() -> Self {
        GenSpec {
            projects: 2,
            issues: 50,
            users: 8,
            jira_projects: 1,
            jira_issues: 50,
            seed: 42,
        }
    }
}

impl FromStr for GenSpec {
    type Err = SimError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut spec = GenSpec::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| SimError::Spec(format!("expected key=value, got `{part}`")))?;
            let n: u64 = v
                .trim()
                .parse()
                .map_err(|_| SimError::Spec(format!("`{k}` needs a number, got `{v}`")))?;
            match k.trim() {
                "projects" => spec.projects = n,
                "issues" => spec.issues = n,
                "users" => spec.users = n,
                "jira_projects" => spec.jira_projects = n,
                "jira_issues" => spec.jira_issues = n,
                "seed" => spec.seed = n,
                other => return Err(SimError::Spec(format!("unknown key `{other}`"))),
            }
        }
        if spec.users == 0 {
            return Err(SimError::Spec("`users` must be at least 1".into()));
        }
        if spec.issues > 5_000_000 || spec.jira_issues > 1_000_000 || spec.projects > 1000 {
            return Err(SimError::Spec("too many objects requested".into()));
        }
        Ok(spec)
    }
}

/// Base time of generated data: fixed, so a seed always gives the same world.
pub fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0)
        .single()
        .unwrap_or_default()
}

const FIRST: &[&str] = &[
    "Alice", "Bruno", "Chiara", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ingrid", "Jonas",
    "Kemi", "Lucas", "Maya", "Nikolai", "Olivia", "Priya", "Quentin", "Rosa", "Sven", "Tariq",
];
const LAST: &[&str] = &[
    "Martin", "Okafor", "Rossi", "Petrov", "Garcia", "Haddad", "Hopper", "Tanaka", "Berg", "Weber",
    "Adeyemi", "Silva", "Cohen", "Ivanov", "Brown", "Sharma", "Dubois", "Lopez",
];
const VERBS: &[&str] = &[
    "Fix", "Add", "Refactor", "Document", "Migrate", "Speed up", "Remove", "Support", "Test",
    "Harden",
];
const NOUNS: &[&str] = &[
    "login flow",
    "billing export",
    "search index",
    "webhook retries",
    "CSV import",
    "audit log",
    "dark mode",
    "rate limiter",
    "onboarding email",
    "API pagination",
    "cache invalidation",
    "SSO settings",
    "mobile layout",
    "release notes",
    "error page",
];
const LABELS: &[(&str, &str)] = &[
    ("bug", "#d9534f"),
    ("feature", "#428bca"),
    ("backend", "#5cb85c"),
    ("frontend", "#f0ad4e"),
    ("security", "#cc338b"),
    ("tech-debt", "#8fbc8f"),
];

fn title(rng: &mut Rng) -> String {
    let v = rng.pick(VERBS).copied().unwrap_or("Fix");
    let n = rng.pick(NOUNS).copied().unwrap_or("bug");
    format!("{v} {n}")
}

/// Builds a dataset from a generator spec.
pub fn generate(spec: &GenSpec) -> Dataset {
    let mut rng = Rng::new(spec.seed);
    let mut ds = Dataset::default();
    ds.gitlab.users.push(GlUserSpec {
        username: "root".into(),
        name: "Administrator".into(),
        admin: true,
        tokens: vec![DEFAULT_GITLAB_TOKEN.into()],
        ..Default::default()
    });
    let mut usernames = Vec::new();
    for i in 0..spec.users {
        let first = FIRST[(i as usize) % FIRST.len()];
        let last = LAST[(i as usize * 7 + 3) % LAST.len()];
        let username = format!("{}.{}{}", first.to_lowercase(), last.to_lowercase(), i + 1);
        ds.gitlab.users.push(GlUserSpec {
            username: username.clone(),
            name: format!("{first} {last}"),
            tokens: vec![format!("glpat-sim-{username}")],
            ..Default::default()
        });
        ds.jira.users.push(JiraUserSpec {
            name: username.clone(),
            display_name: format!("{first} {last}"),
            email: Some(format!("{username}@example.com")),
            api_token: Some(format!("jira-sim-{username}")),
            pat: Some(format!("jira-pat-{username}")),
            ..Default::default()
        });
        usernames.push(username);
    }
    ds.gitlab.groups.push(GroupSpec {
        path: "acme".into(),
        name: "Acme".into(),
    });
    let base = base_time();
    for p in 0..spec.projects {
        let mut project = ProjectSpec {
            path: format!("acme/project-{}", p + 1),
            name: format!("Project {}", p + 1),
            description: "Generated project".into(),
            members: usernames.clone(),
            labels: LABELS
                .iter()
                .map(|(n, c)| LabelSpec {
                    name: (*n).into(),
                    color: Some((*c).into()),
                    description: None,
                })
                .collect(),
            milestones: (1..=4)
                .map(|q| MilestoneSpec {
                    title: format!("2026 Q{q}"),
                    start_date: NaiveDate::from_ymd_opt(2026, q * 3 - 2, 1),
                    due_date: NaiveDate::from_ymd_opt(2026, q * 3, 28),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        for i in 0..spec.issues {
            let n_tasks = if rng.chance(40) { rng.below(5) + 1 } else { 0 };
            let closed = rng.chance(35);
            let tasks = (0..n_tasks)
                .map(|t| TaskSpec {
                    title: format!("Step {}", t + 1),
                    done: closed || rng.chance(50),
                })
                .collect();
            let created = base + Duration::minutes(i as i64 * 7 + p as i64);
            let mut labels = Vec::new();
            for (name, _) in LABELS {
                if rng.chance(20) {
                    labels.push((*name).to_string());
                }
            }
            let assignees = match rng.below(10) {
                0..=2 => vec![],
                9 => {
                    let a = rng.pick(&usernames).cloned().unwrap_or_default();
                    let b = rng.pick(&usernames).cloned().unwrap_or_default();
                    if a == b { vec![a] } else { vec![a, b] }
                }
                _ => rng.pick(&usernames).cloned().into_iter().collect(),
            };
            project.issues.push(IssueSpec {
                title: title(&mut rng),
                description: "Generated issue.".into(),
                tasks,
                state: Some(if closed { "closed" } else { "opened" }.into()),
                labels,
                milestone: if rng.chance(70) {
                    Some(format!("2026 Q{}", rng.below(4) + 1))
                } else {
                    None
                },
                assignees,
                author: rng.pick(&usernames).cloned(),
                weight: if rng.chance(50) {
                    Some(rng.below(8) as i64 + 1)
                } else {
                    None
                },
                time_estimate: if rng.chance(40) {
                    Some(format!("{}h", rng.below(16) + 1))
                } else {
                    None
                },
                time_spent: if rng.chance(30) {
                    Some(format!("{}h{}m", rng.below(8), rng.below(4) * 15))
                } else {
                    None
                },
                created_at: Some(created),
                closed_at: closed.then(|| created + Duration::hours(rng.below(200) as i64 + 1)),
                ..Default::default()
            });
        }
        for c in 0..3 {
            project
                .commits
                .push(format!("{} (#{})", title(&mut rng), c + 1));
        }
        project.merge_requests.push(MrSpec {
            title: title(&mut rng),
            source_branch: "feature/generated".into(),
            author: usernames.first().cloned(),
            ..Default::default()
        });
        ds.gitlab.projects.push(project);
    }

    ds.jira.custom_fields.push(CustomFieldSpec {
        id: Some("customfield_10020".into()),
        name: "Business Value".into(),
    });
    let statuses = ["To Do", "In Progress", "In Review", "Done"];
    for p in 0..spec.jira_projects {
        let key = jira_project_key(p);
        ds.jira.projects.push(JiraProjectSpec {
            key: key.clone(),
            name: format!("Jira Project {}", p + 1),
            lead: usernames.first().cloned(),
            first_number: None,
            versions: vec![
                VersionSpec {
                    name: "1.0".into(),
                    released: true,
                    release_date: NaiveDate::from_ymd_opt(2026, 2, 1),
                },
                VersionSpec {
                    name: "2.0".into(),
                    released: false,
                    release_date: NaiveDate::from_ymd_opt(2026, 6, 1),
                },
            ],
        });
        let mut epic_keys: Vec<String> = Vec::new();
        let mut story_keys: Vec<String> = Vec::new();
        for i in 0..spec.jira_issues {
            let number = i + 1;
            let this_key = format!("{key}-{number}");
            let kind = if i % 25 == 0 {
                "Epic"
            } else if !story_keys.is_empty() && rng.chance(15) {
                "Sub-task"
            } else {
                match rng.below(3) {
                    0 => "Story",
                    1 => "Task",
                    _ => "Bug",
                }
            };
            let status = statuses[rng.below(4) as usize];
            let mut issue = JiraIssueSpec {
                project: key.clone(),
                summary: title(&mut rng),
                description: Some("Generated issue.".into()),
                issue_type: Some(kind.into()),
                status: Some(status.into()),
                priority: Some(["High", "Medium", "Low"][rng.below(3) as usize].into()),
                assignee: if rng.chance(80) {
                    rng.pick(&usernames).cloned()
                } else {
                    None
                },
                reporter: rng.pick(&usernames).cloned(),
                created: Some(base + Duration::minutes(i as i64 * 11 + p as i64)),
                ..Default::default()
            };
            if rng.chance(20) {
                issue
                    .labels
                    .push(["backend", "frontend", "customer"][rng.below(3) as usize].into());
            }
            if rng.chance(50) {
                issue
                    .fix_versions
                    .push(if rng.chance(50) { "1.0" } else { "2.0" }.into());
            }
            match kind {
                "Sub-task" => issue.parent = rng.pick(&story_keys).cloned(),
                "Epic" => {}
                _ => {
                    if rng.chance(60) {
                        issue.epic = rng.pick(&epic_keys).cloned();
                    }
                    issue.story_points = Some([1.0, 2.0, 3.0, 5.0, 8.0][rng.below(5) as usize]);
                    if rng.chance(30) {
                        issue
                            .custom
                            .insert("customfield_10020".into(), (rng.below(100) as i64).into());
                    }
                }
            }
            if kind != "Epic" && rng.chance(50) {
                let est = rng.below(16) + 1;
                issue.original_estimate = Some(format!("{est}h"));
                if rng.chance(60) {
                    let spent = rng.below(est) + 1;
                    issue.worklogs.push(WorklogSpec {
                        author: issue.assignee.clone(),
                        time_spent: format!("{spent}h"),
                        ..Default::default()
                    });
                    issue.remaining_estimate = Some(format!("{}h", est.saturating_sub(spent)));
                }
            }
            match kind {
                "Epic" => epic_keys.push(this_key),
                "Story" | "Task" | "Bug" => story_keys.push(this_key),
                _ => {}
            }
            ds.jira.issues.push(issue);
        }
    }
    ds
}

fn jira_project_key(p: u64) -> String {
    let letters = ["OPS", "WEB", "API", "DATA", "MOB", "INF", "SEC", "QA"];
    match letters.get(p as usize) {
        Some(k) => (*k).to_string(),
        None => format!("P{p}"),
    }
}

fn user_id(map: &HashMap<String, u64>, name: &str, what: &str) -> Result<u64, SimError> {
    map.get(name)
        .copied()
        .ok_or_else(|| SimError::Dataset(format!("{what}: unknown user `{name}`")))
}

/// Builds the in-memory world from a dataset, checking references.
pub fn build(ds: &Dataset) -> Result<World, SimError> {
    let mut world = World::default();
    build_gitlab(&mut world.gitlab, &ds.gitlab)?;
    build_jira(&mut world.jira, &ds.jira)?;
    Ok(world)
}

fn build_gitlab(gl: &mut GitLab, spec: &GitLabSpec) -> Result<(), SimError> {
    let base = base_time();
    let mut by_name = HashMap::new();
    for u in &spec.users {
        if u.username.is_empty() {
            return Err(SimError::Dataset("gitlab user without username".into()));
        }
        let id = gl.alloc_id();
        by_name.insert(u.username.clone(), id);
        for t in &u.tokens {
            gl.tokens.insert(t.clone(), id);
        }
        gl.users.push(GlUser {
            id,
            username: u.username.clone(),
            name: if u.name.is_empty() {
                u.username.clone()
            } else {
                u.name.clone()
            },
            email: u
                .email
                .clone()
                .unwrap_or_else(|| format!("{}@example.com", u.username)),
            admin: u.admin,
            state: "active".into(),
        });
    }
    let owner = spec
        .users
        .iter()
        .find(|u| u.admin)
        .or(spec.users.first())
        .and_then(|u| by_name.get(&u.username).copied());
    for g in &spec.groups {
        let id = gl.alloc_id();
        gl.groups.push(GlGroup {
            id,
            name: if g.name.is_empty() {
                g.path.clone()
            } else {
                g.name.clone()
            },
            path: g.path.clone(),
            description: String::new(),
            created_at: base - Duration::days(60),
        });
    }
    for p in &spec.projects {
        let (group_path, path) = p
            .path
            .rsplit_once('/')
            .ok_or_else(|| SimError::Dataset(format!("project path `{}` needs a group", p.path)))?;
        let group_id = match gl.groups.iter().find(|g| g.path == group_path) {
            Some(g) => g.id,
            None => {
                let id = gl.alloc_id();
                gl.groups.push(GlGroup {
                    id,
                    name: group_path.to_string(),
                    path: group_path.to_string(),
                    description: String::new(),
                    created_at: base - Duration::days(60),
                });
                id
            }
        };
        let pid = gl.alloc_id();
        let mut project = GlProject {
            id: pid,
            name: if p.name.is_empty() {
                path.to_string()
            } else {
                p.name.clone()
            },
            path: path.to_string(),
            group_id,
            path_with_namespace: p.path.clone(),
            description: p.description.clone(),
            visibility: p.visibility.clone().unwrap_or_else(|| "private".into()),
            created_at: base - Duration::days(30),
            last_activity_at: base,
            updated_at: base,
            members: Vec::new(),
            labels: Vec::new(),
            milestones: Vec::new(),
            issues: Vec::with_capacity(p.issues.len()),
            merge_requests: Vec::new(),
            hooks: Vec::new(),
            commits: Vec::new(),
            commit_index: HashMap::new(),
            branches: BTreeMap::new(),
            commit_notes: Vec::new(),
        };
        if let Some(o) = owner {
            project.members.push((o, 50));
        }
        for m in &p.members {
            let id = user_id(&by_name, m, &p.path)?;
            if !project.members.iter().any(|(u, _)| *u == id) {
                project.members.push((id, 30));
            }
        }
        for l in &p.labels {
            let id = gl.alloc_id();
            project.labels.push(GlLabel {
                id,
                name: l.name.clone(),
                color: l.color.clone().unwrap_or_else(|| "#6699cc".into()),
                description: l.description.clone(),
            });
        }
        for (i, m) in p.milestones.iter().enumerate() {
            let id = gl.alloc_id();
            project.milestones.push(GlMilestone {
                id,
                iid: i as u64 + 1,
                title: m.title.clone(),
                description: m.description.clone(),
                state: m.state.clone().unwrap_or_else(|| "active".into()),
                start_date: m.start_date,
                due_date: m.due_date,
                created_at: base - Duration::days(20),
                updated_at: base - Duration::days(20),
            });
        }
        let mut label_names: std::collections::HashSet<String> =
            project.labels.iter().map(|l| l.name.clone()).collect();
        for (i, is) in p.issues.iter().enumerate() {
            let iid = i as u64 + 1;
            let created = is
                .created_at
                .unwrap_or_else(|| base + Duration::hours(iid as i64));
            let author = match &is.author {
                Some(a) => user_id(&by_name, a, &p.path)?,
                None => owner.ok_or_else(|| SimError::Dataset("issues need a user".into()))?,
            };
            let mut description = is.description.clone();
            if !is.tasks.is_empty() {
                if !description.is_empty() {
                    description.push_str("\n\n");
                }
                for t in &is.tasks {
                    description.push_str(if t.done { "- [x] " } else { "- [ ] " });
                    description.push_str(&t.title);
                    description.push('\n');
                }
            }
            for l in &is.labels {
                if label_names.insert(l.clone()) {
                    let id = gl.alloc_id();
                    project.labels.push(GlLabel {
                        id,
                        name: l.clone(),
                        color: "#6699cc".into(),
                        description: None,
                    });
                }
            }
            let milestone_id = match &is.milestone {
                Some(t) => Some(
                    project
                        .milestones
                        .iter()
                        .find(|m| &m.title == t)
                        .map(|m| m.id)
                        .ok_or_else(|| {
                            SimError::Dataset(format!("{}: unknown milestone `{t}`", p.path))
                        })?,
                ),
                None => None,
            };
            let mut assignee_ids = Vec::new();
            for a in &is.assignees {
                assignee_ids.push(user_id(&by_name, a, &p.path)?);
            }
            let closed = is.state.as_deref() == Some("closed");
            let closed_at = closed.then(|| is.closed_at.unwrap_or(created + Duration::hours(4)));
            let dur = |s: &Option<String>| -> Result<i64, SimError> {
                match s {
                    Some(s) => parse_duration(s)
                        .ok_or_else(|| SimError::Dataset(format!("bad duration `{s}`"))),
                    None => Ok(0),
                }
            };
            let mut notes = Vec::new();
            for n in &is.notes {
                let a = match &n.author {
                    Some(a) => user_id(&by_name, a, &p.path)?,
                    None => author,
                };
                notes.push(GlNote {
                    id: gl.alloc_id(),
                    body: n.body.clone(),
                    author_id: a,
                    system: false,
                    created_at: created + Duration::minutes(30),
                    updated_at: created + Duration::minutes(30),
                    internal: false,
                });
            }
            let mut issue = GlIssue {
                id: gl.alloc_id(),
                iid,
                title: is.title.clone(),
                description,
                state: if closed { "closed" } else { "opened" }.into(),
                created_at: created,
                updated_at: closed_at.unwrap_or(created),
                closed_at,
                closed_by: closed.then_some(author),
                labels: is.labels.clone(),
                milestone_id,
                assignee_ids,
                author_id: author,
                issue_type: is.issue_type.clone().unwrap_or_else(|| "issue".into()),
                weight: is.weight,
                time_estimate: dur(&is.time_estimate)?,
                total_time_spent: dur(&is.time_spent)?,
                due_date: is.due_date,
                confidential: false,
                notes,
                tasks: (0, 0),
            };
            issue.refresh_tasks();
            project.issues.push(issue);
        }
        for (i, mr) in p.merge_requests.iter().enumerate() {
            let author = match &mr.author {
                Some(a) => user_id(&by_name, a, &p.path)?,
                None => owner.unwrap_or(0),
            };
            project.merge_requests.push(GlMergeRequest {
                id: gl.alloc_id(),
                iid: i as u64 + 1,
                title: mr.title.clone(),
                description: mr.description.clone(),
                state: mr.state.clone().unwrap_or_else(|| "opened".into()),
                source_branch: mr.source_branch.clone(),
                target_branch: mr.target_branch.clone().unwrap_or_else(|| "main".into()),
                author_id: author,
                created_at: base,
                updated_at: base,
                sha: Rng::new(i as u64 ^ 0x6d72).sha(),
                merged: None,
                closed: None,
                approved_by: Vec::new(),
                notes: Vec::new(),
            });
        }
        let mut rng = Rng::new(pid);
        let mut prev = "0000000000000000000000000000000000000000".to_string();
        let pusher = owner.and_then(|o| gl.user(o)).cloned();
        for (i, msg) in p.commits.iter().enumerate() {
            let sha = rng.sha();
            let at = base + Duration::hours(i as i64);
            let (name, email) = pusher
                .as_ref()
                .map(|u| (u.name.clone(), u.email.clone()))
                .unwrap_or_default();
            let parent_ids = project
                .commits
                .last()
                .map(|c| vec![c.id.clone()])
                .unwrap_or_default();
            project.push_commit(GlCommit {
                id: sha.clone(),
                parent_ids,
                message: msg.clone(),
                author_name: name.clone(),
                author_email: email.clone(),
                authored_date: at,
                committer_name: name,
                committer_email: email,
                committed_date: at,
            });
            project.branches.insert(DEFAULT_BRANCH.into(), sha.clone());
            let eid = gl.alloc_id();
            gl.events.push(GlEvent {
                id: eid,
                project_id: pid,
                action_name: "pushed to".into(),
                target_type: None,
                target_id: None,
                target_iid: None,
                target_title: None,
                author_id: owner.unwrap_or(0),
                created_at: base + Duration::hours(i as i64),
                push: Some(GlPush {
                    commit_count: 1,
                    ref_name: "main".into(),
                    commit_from: prev.clone(),
                    commit_to: sha.clone(),
                    commit_title: msg.clone(),
                }),
                note_body: None,
                noteable_type: None,
            });
            prev = sha;
        }
        gl.projects.push(project);
    }
    Ok(())
}

/// The workflow every simulated Jira project gets: a graph, not "any status
/// from any". In Review is reachable only through In Progress (two steps
/// from To Do), and the transition out of In Review to Done has a screen
/// that requires the Resolution field; the quick "Done" transitions from To
/// Do and In Progress set the resolution themselves, as Jira's simplified
/// workflows do.
pub fn default_workflow() -> Vec<JiraTransitionDef> {
    let t = |id: &str, name: &str, from: &[&str], to: &str, requires_resolution: bool| {
        JiraTransitionDef {
            id: id.into(),
            name: name.into(),
            from: from.iter().map(|x| x.to_string()).collect(),
            to: to.into(),
            requires_resolution,
        }
    };
    vec![
        t("11", "Start progress", &["10000"], "3", false),
        t("21", "Done", &["10000"], "10001", false),
        t("31", "Stop progress", &["3"], "10000", false),
        t("41", "Request review", &["3"], "10002", false),
        t("51", "Done", &["3"], "10001", false),
        t("61", "Back to progress", &["10002"], "3", false),
        t("71", "Resolve", &["10002"], "10001", true),
        t("81", "Reopen", &["10001"], "10000", false),
    ]
}

/// Default workflow and metadata every simulated Jira has.
fn jira_defaults(jira: &mut Jira) {
    let st = |id: &str, name: &str, cat: &str| JiraStatus {
        id: id.into(),
        name: name.into(),
        category: cat.into(),
    };
    jira.statuses = vec![
        st("10000", "To Do", "new"),
        st("3", "In Progress", "indeterminate"),
        st("10002", "In Review", "indeterminate"),
        st("10001", "Done", "done"),
    ];
    let it = |id: &str, name: &str, subtask: bool, level: i32| JiraIssueType {
        id: id.into(),
        name: name.into(),
        subtask,
        hierarchy_level: level,
    };
    jira.issue_types = vec![
        it("10001", "Epic", false, 1),
        it("10002", "Story", false, 0),
        it("10003", "Task", false, 0),
        it("10004", "Bug", false, 0),
        it("10005", "Sub-task", true, -1),
    ];
    jira.priorities = ["Highest", "High", "Medium", "Low", "Lowest"]
        .iter()
        .enumerate()
        .map(|(i, n)| ((i + 1).to_string(), (*n).to_string()))
        .collect();
    jira.custom_fields = vec![
        JiraCustomField {
            id: "customfield_10016".into(),
            name: "Story point estimate".into(),
            custom_type: STORY_POINTS_TYPE.into(),
            schema_type: "number".into(),
        },
        JiraCustomField {
            id: "customfield_10014".into(),
            name: "Epic Link".into(),
            custom_type: "com.pyxis.greenhopper.jira:gh-epic-link".into(),
            schema_type: "any".into(),
        },
    ];
    jira.next_id = 10_000;
}

fn build_jira(jira: &mut Jira, spec: &JiraSpec) -> Result<(), SimError> {
    jira_defaults(jira);
    let base = base_time();
    jira.users.push(JiraUser {
        account_id: "5b10a2844c20165700ede21g".into(),
        name: "admin".into(),
        display_name: "Jira Admin".into(),
        email: DEFAULT_JIRA_EMAIL.into(),
        api_token: DEFAULT_JIRA_API_TOKEN.into(),
        pat: DEFAULT_JIRA_PAT.into(),
        active: true,
        email_visible: true,
    });
    for (i, u) in spec.users.iter().enumerate() {
        if u.name.is_empty() {
            return Err(SimError::Dataset("jira user without name".into()));
        }
        jira.users.push(JiraUser {
            account_id: u
                .account_id
                .clone()
                .unwrap_or_else(|| format!("5b10ac8d82e05b22cc7d{:04x}", i + 1)),
            name: u.name.clone(),
            display_name: if u.display_name.is_empty() {
                u.name.clone()
            } else {
                u.display_name.clone()
            },
            email: u
                .email
                .clone()
                .unwrap_or_else(|| format!("{}@example.com", u.name)),
            api_token: u.api_token.clone().unwrap_or_default(),
            pat: u.pat.clone().unwrap_or_default(),
            active: true,
            email_visible: !u.email_hidden,
        });
    }
    for cf in &spec.custom_fields {
        let id = match &cf.id {
            Some(id) => id.clone(),
            None => format!("customfield_{}", 10100 + jira.custom_fields.len()),
        };
        jira.custom_fields.push(JiraCustomField {
            id,
            name: cf.name.clone(),
            custom_type: FLOAT_TYPE.into(),
            schema_type: "number".into(),
        });
    }
    let account = |jira: &Jira, name: &str| -> Result<String, SimError> {
        jira.user(name)
            .map(|u| u.account_id.clone())
            .ok_or_else(|| SimError::Dataset(format!("jira: unknown user `{name}`")))
    };
    for p in &spec.projects {
        let id = jira.alloc_id();
        let lead = match &p.lead {
            Some(l) => account(jira, l)?,
            None => jira.users[0].account_id.clone(),
        };
        let mut versions = Vec::new();
        for v in &p.versions {
            versions.push(JiraVersion {
                id: jira.alloc_id(),
                name: v.name.clone(),
                description: None,
                released: v.released,
                archived: false,
                release_date: v.release_date,
                start_date: None,
            });
        }
        jira.projects.push(JiraProject {
            id,
            key: p.key.to_ascii_uppercase(),
            name: p.name.clone(),
            lead,
            versions,
            next_number: p.first_number.unwrap_or(1).max(1),
            workflow: default_workflow(),
        });
    }
    let story_points = jira.story_points_field().map(str::to_string);
    for (i, is) in spec.issues.iter().enumerate() {
        let pidx = jira
            .projects
            .iter()
            .position(|p| p.key.eq_ignore_ascii_case(&is.project))
            .ok_or_else(|| SimError::Dataset(format!("jira: unknown project `{}`", is.project)))?;
        let number = jira.projects[pidx].next_number;
        jira.projects[pidx].next_number += 1;
        let key = format!("{}-{}", jira.projects[pidx].key, number);
        let type_name = is.issue_type.as_deref().unwrap_or("Story");
        let itype = jira
            .issue_types
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(type_name))
            .ok_or_else(|| SimError::Dataset(format!("{key}: unknown issue type `{type_name}`")))?
            .clone();
        let status_name = is.status.as_deref().unwrap_or("To Do");
        let status = jira
            .statuses
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(status_name))
            .ok_or_else(|| SimError::Dataset(format!("{key}: unknown status `{status_name}`")))?
            .clone();
        let prio_name = is.priority.as_deref().unwrap_or("Medium");
        let priority = jira
            .priorities
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(prio_name))
            .map(|(id, _)| id.clone())
            .ok_or_else(|| SimError::Dataset(format!("{key}: unknown priority `{prio_name}`")))?;
        for r in is.parent.iter().chain(is.epic.iter()) {
            if !jira.key_index.contains_key(&r.to_ascii_uppercase()) {
                return Err(SimError::Dataset(format!(
                    "{key}: parent or epic `{r}` must be an earlier issue"
                )));
            }
        }
        if itype.subtask && is.parent.is_none() {
            return Err(SimError::Dataset(format!(
                "{key}: a sub-task needs a parent"
            )));
        }
        let created = is
            .created
            .unwrap_or_else(|| base + Duration::hours(i as i64));
        let assignee = match &is.assignee {
            Some(a) => Some(account(jira, a)?),
            None => None,
        };
        let reporter = match &is.reporter {
            Some(r) => account(jira, r)?,
            None => jira.users[0].account_id.clone(),
        };
        let mut fix_versions = Vec::new();
        for v in &is.fix_versions {
            let ver = jira.projects[pidx]
                .versions
                .iter()
                .find(|x| &x.name == v)
                .ok_or_else(|| SimError::Dataset(format!("{key}: unknown version `{v}`")))?;
            fix_versions.push(ver.id);
        }
        let mut custom = BTreeMap::new();
        if let (Some(sp), Some(f)) = (is.story_points, &story_points) {
            custom.insert(f.clone(), serde_json::json!(sp));
        }
        for (k, v) in &is.custom {
            let field = jira
                .custom_fields
                .iter()
                .find(|f| &f.id == k || f.name.eq_ignore_ascii_case(k))
                .ok_or_else(|| SimError::Dataset(format!("{key}: unknown custom field `{k}`")))?;
            custom.insert(field.id.clone(), v.clone());
        }
        let dur = |s: &Option<String>| -> Result<Option<i64>, SimError> {
            match s {
                Some(s) => parse_duration(s)
                    .map(Some)
                    .ok_or_else(|| SimError::Dataset(format!("{key}: bad duration `{s}`"))),
                None => Ok(None),
            }
        };
        let original = dur(&is.original_estimate)?;
        let mut remaining = dur(&is.remaining_estimate)?;
        let mut worklogs = Vec::new();
        let mut spent = None;
        for w in &is.worklogs {
            let secs = parse_duration(&w.time_spent)
                .ok_or_else(|| SimError::Dataset(format!("{key}: bad worklog duration")))?;
            let author = match &w.author {
                Some(a) => account(jira, a)?,
                None => reporter.clone(),
            };
            let started = w.started.unwrap_or(created + Duration::hours(2));
            worklogs.push(JiraWorklog {
                id: jira.alloc_id(),
                author,
                comment: w.comment.clone(),
                started,
                time_spent_seconds: secs,
                created: started,
                updated: started,
            });
            spent = Some(spent.unwrap_or(0) + secs);
        }
        if remaining.is_none() {
            remaining = original.map(|o| (o - spent.unwrap_or(0)).max(0));
        }
        let mut comments = Vec::new();
        for c in &is.comments {
            let author = match &c.author {
                Some(a) => account(jira, a)?,
                None => reporter.clone(),
            };
            comments.push(JiraComment {
                id: jira.alloc_id(),
                author,
                body: c.body.clone(),
                body_adf: None,
                created: created + Duration::hours(1),
                updated: created + Duration::hours(1),
            });
        }
        let done = status.category == "done";
        let resolved = done.then(|| created + Duration::hours(24));
        let issue = JiraIssue {
            id: jira.alloc_id(),
            key: key.clone(),
            project: jira.projects[pidx].key.clone(),
            summary: is.summary.clone(),
            description: is.description.clone(),
            description_adf: None,
            issue_type: itype.id.clone(),
            status: status.id.clone(),
            priority,
            resolution: done.then(|| "Done".to_string()),
            assignee,
            reporter,
            labels: is.labels.clone(),
            fix_versions,
            parent: is
                .parent
                .clone()
                .map(|p| p.to_ascii_uppercase())
                .or_else(|| is.epic.clone().map(|e| e.to_ascii_uppercase())),
            epic_link: is.epic.clone().map(|e| e.to_ascii_uppercase()),
            created,
            updated: resolved.unwrap_or(created),
            resolved,
            due_date: None,
            time_spent: spent,
            original_estimate: original,
            remaining_estimate: remaining,
            custom,
            comments,
            worklogs,
            properties: BTreeMap::new(),
            remote_links: Vec::new(),
        };
        jira.key_index
            .insert(key.to_ascii_uppercase(), jira.issues.len());
        jira.issues.push(issue);
    }
    Ok(())
}

/// Moves the dates of every issue and ticket into `from..until`, so a
/// sample read today has a history: each is created in the first third of
/// the span (in its order); those closed or done, and the open ones with
/// completed tasks or logged work, last changed one after another over the
/// rest of it (in the same order, evenly apart), and their comments and
/// worklogs follow their creation. Deterministic. Nothing changes when
/// `until` is not after `from`. No webhooks are sent: this is how the
/// world was before anyone looked.
pub fn spread_dates(world: &mut World, from: DateTime<Utc>, until: DateTime<Utc>) {
    let span = until - from;
    if span <= Duration::zero() {
        return;
    }
    let at =
        |fraction: f64| from + Duration::seconds((span.num_seconds() as f64 * fraction) as i64);
    // The k-th of `count`: created within the first third; changed after
    // a third, evenly apart, the last shortly before `until`.
    let created_at = |k: usize, count: usize| at(k as f64 / count.max(1) as f64 / 3.0);
    let changed_at =
        |k: usize, count: usize| at(0.36 + 0.6 * (k as f64 + 0.5) / count.max(1) as f64);
    for project in &mut world.gitlab.projects {
        let count = project.issues.len();
        let changing = project
            .issues
            .iter()
            .filter(|i| i.closed_at.is_some() || i.tasks.1 > 0)
            .count();
        let mut k = 0;
        for (index, issue) in project.issues.iter_mut().enumerate() {
            let created = created_at(index, count);
            issue.created_at = created;
            issue.updated_at = created;
            if issue.closed_at.is_some() || issue.tasks.1 > 0 {
                let changed = changed_at(k, changing);
                k += 1;
                issue.updated_at = changed;
                if issue.closed_at.is_some() {
                    issue.closed_at = Some(changed);
                }
            }
            let note_at = (created + Duration::minutes(30)).min(issue.updated_at);
            for note in &mut issue.notes {
                note.created_at = note_at;
                note.updated_at = note_at;
            }
        }
    }
    let done: std::collections::HashSet<String> = world
        .jira
        .statuses
        .iter()
        .filter(|status| status.category == "done")
        .map(|status| status.id.clone())
        .collect();
    let count = world.jira.issues.len();
    let changing = world
        .jira
        .issues
        .iter()
        .filter(|i| done.contains(&i.status) || !i.worklogs.is_empty())
        .count();
    let mut k = 0;
    for (index, issue) in world.jira.issues.iter_mut().enumerate() {
        let created = created_at(index, count);
        issue.created = created;
        issue.updated = created;
        let is_done = done.contains(&issue.status);
        if is_done || !issue.worklogs.is_empty() {
            issue.updated = changed_at(k, changing);
            k += 1;
        }
        issue.resolved = is_done.then_some(issue.updated);
        let early = (created + Duration::hours(1)).min(issue.updated);
        for comment in &mut issue.comments {
            comment.created = early;
            comment.updated = early;
        }
        for worklog in &mut issue.worklogs {
            worklog.started = early;
            worklog.created = early;
            worklog.updated = early;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_parses() {
        let s: GenSpec = "projects=3,issues=10,users=4,jira_projects=2,jira_issues=7,seed=9"
            .parse()
            .expect("valid spec");
        assert_eq!(s.projects, 3);
        assert_eq!(s.jira_issues, 7);
        assert!("projects=x".parse::<GenSpec>().is_err());
        assert!("bogus=1".parse::<GenSpec>().is_err());
        assert!("users=0".parse::<GenSpec>().is_err());
    }

    #[test]
    fn generator_is_deterministic() {
        let spec: GenSpec = "projects=2,issues=30,users=5,jira_projects=1,jira_issues=40,seed=7"
            .parse()
            .expect("valid");
        let a = serde_json::to_string(&build(&generate(&spec)).expect("builds").gitlab.projects)
            .expect("json");
        let b = serde_json::to_string(&build(&generate(&spec)).expect("builds").gitlab.projects)
            .expect("json");
        assert_eq!(a, b);
        let w = build(&generate(&spec)).expect("builds");
        assert_eq!(w.gitlab.projects.len(), 2);
        assert_eq!(w.gitlab.projects[0].issues.len(), 30);
        assert_eq!(w.jira.issues.len(), 40);
        assert!(w.jira.issues.iter().any(|i| i.parent.is_some()));
        let other: GenSpec = "projects=2,issues=30,users=5,seed=8"
            .parse()
            .expect("valid");
        let c = serde_json::to_string(&build(&generate(&other)).expect("b").gitlab.projects)
            .expect("json");
        assert_ne!(a, c);
    }

    #[test]
    fn sample_dataset_builds() {
        let ds: Dataset = serde_json::from_str(SAMPLE_DATASET).expect("sample parses");
        let w = build(&ds).expect("sample builds");
        assert!(!w.gitlab.projects.is_empty());
        assert!(
            w.gitlab
                .projects
                .iter()
                .any(|p| p.issues.iter().any(|i| i.tasks.0 > 0))
        );
        assert!(w.jira.issues.iter().any(|i| i.issue_type == "10001"));
    }

    #[test]
    fn spread_dates_put_the_sample_in_the_span_in_order() {
        let ds: Dataset = serde_json::from_str(SAMPLE_DATASET).expect("sample parses");
        let mut w = build(&ds).expect("sample builds");
        let from = Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap();
        let until = Utc.with_ymd_and_hms(2026, 12, 7, 2, 0, 0).unwrap();
        spread_dates(&mut w, from, until);
        let mut closes = std::collections::BTreeSet::new();
        for issue in w.gitlab.projects.iter().flat_map(|p| &p.issues) {
            assert!(issue.created_at >= from && issue.created_at < until);
            assert!(issue.updated_at >= issue.created_at && issue.updated_at < until);
            if let Some(closed) = issue.closed_at {
                assert!(closed >= issue.created_at && closed < until);
                assert_eq!(issue.updated_at, closed);
                closes.insert(closed.date_naive());
            }
        }
        for issue in &w.jira.issues {
            assert!(issue.created >= from && issue.updated < until);
            if let Some(resolved) = issue.resolved {
                assert!(resolved >= issue.created);
                closes.insert(resolved.date_naive());
            }
        }
        assert!(closes.len() > 3, "closes spread over many days: {closes:?}");
        assert!(
            closes
                .last()
                .is_some_and(|d| *d > (until - Duration::days(14)).date_naive()),
            "the last close is recent: {closes:?}"
        );
        // An empty span changes nothing.
        let before = serde_json::to_string(&w.gitlab.projects).expect("json");
        spread_dates(&mut w, until, from);
        assert_eq!(
            serde_json::to_string(&w.gitlab.projects).expect("json"),
            before
        );
    }

    #[test]
    fn bad_references_are_reported() {
        let ds: Dataset = serde_json::from_str(
            r#"{"gitlab":{"users":[{"username":"a"}],"projects":[{"path":"g/p","issues":[{"title":"x","assignees":["ghost"]}]}]}}"#,
        )
        .expect("parses");
        let err = build(&ds).expect_err("unknown user");
        assert!(err.to_string().contains("ghost"));
    }
}
