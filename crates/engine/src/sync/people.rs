//! People across a pair: each side's people (a GitLab project's members,
//! including inherited ones; the Jira users assignable in the project),
//! the pair's mapping of them (`cairn_core::sync::people`: manual
//! mappings, then, on the pair's option, email and unique names), and its
//! use when an item is carried: assignees are placed through it before
//! deciding, and a mapped comment author's copy carries no name.
//!
//! Cairn holds one token per connection, so whatever it writes (copies,
//! assignee changes) is written by the connection's account, mapped or
//! not; the mapping decides what is written, never who writes it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cairn_connect::ConnectError;
use cairn_core::sync::{
    CommentAuthor, FieldValue, ManualMapping, PeopleMap, Person, PersonMapping, Side, SyncField,
    check_manual, map_people,
};
use cairn_store::sync::SyncPair;
use cairn_store::sync_people::{NewSyncPersonMapping, SyncPersonMapping};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use super::SyncEngine;
use super::pairs::audit;
use super::side::{Failure, RemoteItem, SideClient};
use crate::accounts::Authenticated;
use crate::error::EngineError;

/// How long a pair's lists of people are reused by sync before they are
/// read again (people join a project rarely; every item would otherwise
/// cost two more calls).
const PEOPLE_FRESH_FOR: Duration = Duration::from_secs(300);

type Lists = Arc<(Vec<Person>, Vec<Person>)>;

/// Both sides' people per pair, as last read by sync.
#[derive(Default)]
pub(crate) struct PeopleLists(Mutex<HashMap<i64, (Instant, Lists)>>);

impl PeopleLists {
    fn fresh(&self, pair_id: i64) -> Option<Lists> {
        let lists = self.0.lock().unwrap_or_else(|e| e.into_inner());
        lists
            .get(&pair_id)
            .filter(|(at, _)| at.elapsed() < PEOPLE_FRESH_FOR)
            .map(|(_, l)| l.clone())
    }

    fn keep(&self, pair_id: i64, lists: Lists) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(pair_id, (Instant::now(), lists));
    }
}

impl SideClient {
    /// The side's people: a GitLab project's members (the email where
    /// GitLab shows one: to admins, or the person's public email), or the
    /// Jira users assignable in the project (Cloud hides emails unless
    /// the person shows theirs).
    pub async fn people(&self) -> Result<Vec<Person>, ConnectError> {
        match self {
            SideClient::GitLab(g) => {
                let mut pages = g.client.members(&g.project);
                let mut people = Vec::new();
                while let Some(page) = pages.next_page().await? {
                    people.extend(page.into_iter().map(|u| Person {
                        id: u.id.to_string(),
                        name: u.name,
                        email: u.email.or(u.public_email),
                    }));
                }
                Ok(people)
            }
            SideClient::Jira(j) => Ok(j
                .client
                .assignable_users(&j.project_key)
                .await?
                .into_iter()
                .filter_map(|u| {
                    Some(Person {
                        id: u.id()?.to_owned(),
                        name: u.display_name.clone().unwrap_or_default(),
                        email: u.email_address.clone(),
                    })
                })
                .collect()),
        }
    }
}

/// A side's people for sync: a failure to list them is the item's.
async fn side_people(side: Side, client: &SideClient) -> Result<Vec<Person>, Failure> {
    client.people().await.map_err(|e| {
        Failure::from_connect(
            client.tracker(),
            &format!("listing the {side} side's people"),
            &e,
        )
    })
}

/// One person of a side and how they are mapped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonView {
    pub side: Side,
    /// The tracker's id: GitLab's user id, Jira's account id (user name
    /// on Data Center).
    pub id: String,
    pub name: String,
    pub mapping: PersonMapping,
    /// The person on the other side, when mapped.
    pub mapped_to: Option<String>,
    /// The manual mapping that maps them, to delete it.
    pub manual_mapping_id: Option<i64>,
}

/// A pair's people: both sides, how each is mapped, and the manual
/// mappings.
#[derive(Debug, Clone, Serialize)]
pub struct PeopleView {
    pub auto_map_people: bool,
    pub people: Vec<PersonView>,
    pub manual: Vec<SyncPersonMapping>,
}

fn upstream(side: Side, error: &ConnectError) -> EngineError {
    let mut d = error.diagnosis();
    d.summary = format!("reading the {side} side's people: {}", d.summary);
    EngineError::Upstream(d)
}

fn manual_of(stored: &[SyncPersonMapping]) -> Vec<ManualMapping> {
    stored
        .iter()
        .map(|m| ManualMapping {
            left_id: m.left_id.clone(),
            right_id: m.right_id.clone(),
        })
        .collect()
}

impl SyncEngine {
    /// Both sides' people, read now.
    async fn read_people(
        &self,
        pair: &SyncPair,
    ) -> Result<(SideClient, SideClient, Vec<Person>, Vec<Person>), EngineError> {
        let left = self.side_client(pair, Side::Left).await?;
        let right = self.side_client(pair, Side::Right).await?;
        let left_people = left.people().await.map_err(|e| upstream(Side::Left, &e))?;
        let right_people = right
            .people()
            .await
            .map_err(|e| upstream(Side::Right, &e))?;
        Ok((left, right, left_people, right_people))
    }

    /// The pair's mapping as sync uses it: manual mappings always, read
    /// from the store each time (so a change counts at once on every
    /// instance); both sides' people only when the pair maps
    /// automatically, reused for a while.
    pub(crate) async fn people_map(
        &self,
        pair: &SyncPair,
        left: &SideClient,
        right: &SideClient,
    ) -> Result<PeopleMap, super::item::CarryError> {
        let manual = manual_of(&self.store.list_sync_person_mappings(pair.id).await?);
        if !pair.settings.auto_map_people {
            return Ok(map_people(&[], &[], &manual, false));
        }
        let lists = match self.people_lists.fresh(pair.id) {
            Some(lists) => lists,
            None => {
                let lists = Arc::new((
                    side_people(Side::Left, left).await?,
                    side_people(Side::Right, right).await?,
                ));
                self.people_lists.keep(pair.id, lists.clone());
                lists
            }
        };
        Ok(map_people(&lists.0, &lists.1, &manual, true))
    }

    /// The pair's people on both sides with how each is mapped, read from
    /// the trackers now.
    pub async fn list_people(
        &self,
        by: &Authenticated,
        pair_id: i64,
    ) -> Result<PeopleView, EngineError> {
        let pair = self.pair_for(by, pair_id).await?;
        let (_, _, left, right) = self.read_people(&pair).await?;
        let manual = self.store.list_sync_person_mappings(pair.id).await?;
        let map = map_people(
            &left,
            &right,
            &manual_of(&manual),
            pair.settings.auto_map_people,
        );
        let mut people = Vec::new();
        for (side, list) in [(Side::Left, &left), (Side::Right, &right)] {
            for p in list {
                let mapped_to = map.counterpart(side, &p.id).map(str::to_owned);
                let manual_mapping_id = manual
                    .iter()
                    .find(|m| match side {
                        Side::Left => m.left_id == p.id,
                        Side::Right => m.right_id == p.id,
                    })
                    .map(|m| m.id);
                people.push(PersonView {
                    side,
                    id: p.id.clone(),
                    name: p.name.clone(),
                    mapping: map.mapping_of(side, &p.id),
                    mapped_to,
                    manual_mapping_id,
                });
            }
        }
        Ok(PeopleView {
            auto_map_people: pair.settings.auto_map_people,
            people,
            manual,
        })
    }

    /// Maps a person on the left to one on the right by hand. Refused
    /// (422, naming `left_id` or `right_id`, nothing saved) when either is
    /// not one of their side's people or is mapped by hand already.
    pub async fn map_person(
        &self,
        by: &Authenticated,
        pair_id: i64,
        left_id: &str,
        right_id: &str,
        now: DateTime<Utc>,
    ) -> Result<SyncPersonMapping, EngineError> {
        let pair = self.pair_for(by, pair_id).await?;
        let (left_id, right_id) = (left_id.trim(), right_id.trim());
        let mut manual = manual_of(&self.store.list_sync_person_mappings(pair.id).await?);
        manual.push(ManualMapping {
            left_id: left_id.to_owned(),
            right_id: right_id.to_owned(),
        });
        check_manual(&manual).map_err(|e| {
            EngineError::invalid(
                e.field(),
                format!("{e}; delete that person's mapping first"),
            )
        })?;
        let (left, right, left_people, right_people) = self.read_people(&pair).await?;
        let name = |side: Side, client: &SideClient, people: &[Person], id: &str| {
            people
                .iter()
                .find(|p| p.id == id)
                .map(|p| p.name.clone())
                .ok_or_else(|| {
                    let field = match side {
                        Side::Left => "left_id",
                        Side::Right => "right_id",
                    };
                    EngineError::invalid(
                        field,
                        format!(
                            "`{id}` is not one of the {} project's people",
                            client.tracker()
                        ),
                    )
                })
        };
        let left_name = name(Side::Left, &left, &left_people, left_id)?;
        let right_name = name(Side::Right, &right, &right_people, right_id)?;
        let mut tx = self.store.begin().await?;
        let id = tx
            .insert_sync_person_mapping(
                &NewSyncPersonMapping {
                    pair_id: pair.id,
                    left_id: left_id.to_owned(),
                    left_name,
                    right_id: right_id.to_owned(),
                    right_name,
                },
                now,
            )
            .await
            .map_err(|e| match e {
                // Someone mapped one of them meanwhile.
                cairn_store::StoreError::Conflict { .. } => EngineError::invalid(
                    "left_id",
                    "one of these people was mapped meanwhile; reload and try again",
                ),
                other => other.into(),
            })?;
        tx.append_audit(
            &audit(
                by,
                "sync_pair.map_person",
                pair.id,
                json!({ "left_id": left_id, "right_id": right_id }),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        self.store
            .list_sync_person_mappings(pair.id)
            .await?
            .into_iter()
            .find(|m| m.id == id)
            .ok_or_else(|| EngineError::NotFound(format!("no people mapping {id}")))
    }

    /// Deletes a manual mapping; the people fall back to the automatic
    /// mapping, if the pair has it.
    pub async fn unmap_person(
        &self,
        by: &Authenticated,
        pair_id: i64,
        mapping_id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let pair = self.pair_for(by, pair_id).await?;
        let mut tx = self.store.begin().await?;
        if !tx.delete_sync_person_mapping(pair.id, mapping_id).await? {
            return Err(EngineError::NotFound(format!(
                "no people mapping {mapping_id} in sync pair {pair_id}"
            )));
        }
        tx.append_audit(
            &audit(
                by,
                "sync_pair.unmap_person",
                pair.id,
                json!({ "mapping_id": mapping_id }),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Marks a comment's author, who wrote on `side`, as mapped or not.
pub(crate) fn mark_author(map: &PeopleMap, side: Side, author: &mut CommentAuthor) {
    author.mapped = !author.id.is_empty() && map.counterpart(side, &author.id).is_some();
}

/// Places an item's assignee, as read on `side`, through the mapping.
pub(crate) fn place_assignee(map: &PeopleMap, side: Side, item: &mut RemoteItem) {
    let values = &mut item.observed.values;
    values.assignee = map.place(side, &values.assignee);
}

/// Writes for `side` as its tracker is to be given them: an assignee and
/// a milestone as that side's id.
pub(crate) fn for_side(
    side: Side,
    writes: &BTreeMap<SyncField, FieldValue>,
) -> BTreeMap<SyncField, FieldValue> {
    writes
        .iter()
        .map(|(field, value)| {
            let value = match value {
                FieldValue::Person(a) => FieldValue::Person(a.for_side(side)),
                FieldValue::Release(r) => FieldValue::Release(r.for_side(side)),
                other => other.clone(),
            };
            (*field, value)
        })
        .collect()
}
