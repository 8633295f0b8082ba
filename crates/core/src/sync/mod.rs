//! Two-way sync: the pure decisions. The engine reads both sides of an item
//! into tracker-neutral [`ItemValues`], and these functions decide what to
//! write where, recognise Cairn's own changes coming back, settle
//! conflicts, stop loops, map Jira statuses and plan workflow paths. No
//! I/O, so every decision can be replayed and explained from stored data.
//!
//! - [`settings`]: sides, fields, directions and conflict rules.
//! - [`values`]: the neutral values and their fingerprints.
//! - [`decide`]: the decision for one linked item, and for creating a twin.
//! - [`fuse`]: pausing an item whose field keeps flipping.
//! - [`status_map`]: the seed's status mapping rules.
//! - [`workflow`]: paths through a Jira workflow.
//! - [`comments`]: which comments to copy, edit or delete, and the
//!   copy's text.
//! - [`people`]: who on one side is who on the other, and assignees.
//! - [`releases`]: milestones and Jira versions linked across a pair.
//! - [`marker`]: the mark on items Cairn creates, so a retry never
//!   creates twice.

pub mod comments;
pub mod decide;
pub mod error;
pub mod fuse;
pub mod marker;
pub mod operation;
pub mod people;
pub mod releases;
pub mod settings;
pub mod status_map;
pub mod values;
pub mod workflow;

pub use comments::{
    CommentAuthor, CommentPlan, CopyLink, OriginComment, attribution, backlink_note,
    comment_fingerprint, copy_text, is_backlink_note, plan_comments,
};
pub use decide::{
    Conflict, CreatePlan, Observed, Plan, Readback, Shadow, Verbatim, decide, plan_create,
};
pub use error::SyncError;
pub use fuse::{Fuse, Tripped};
pub use marker::{Marker, normalize_description, split_marker, with_marker};
pub use operation::{OperationKind, OperationState};
pub use people::{
    Assignee, ManualMapping, Match, PeopleMap, Person, PersonMapping, check_manual, map_people,
};
pub use releases::{
    NameChange, NamedLink, Release, ReleaseLink, ReleaseLinkHow, ReleaseValue, check_new_link,
    link_by_name, renames, to_create,
};
pub use settings::{
    ConflictRule, FieldDirection, FieldPolicies, FieldPolicy, Side, SideScope, SyncField,
    SyncItemState,
};
pub use status_map::{JiraStatus, StatusCategory, StatusMapEntry, StatusMapping};
pub use values::{FieldValue, Fingerprint, ItemState, ItemValues};
pub use workflow::{Step, Transition, Workflow};
