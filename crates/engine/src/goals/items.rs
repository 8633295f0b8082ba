//! The items behind a key result's number, with what each contributes: the
//! explain view joined with the stored snapshots (title, state, URL), for
//! pages that list them.

use std::collections::HashMap;

use cairn_core::authz::Action;
use cairn_core::goals::{Contribution, ItemSnapshot};
use cairn_store::goals::DataLink;

use super::{Explain, Goals};
use crate::accounts::Authenticated;
use crate::error::{EngineError, authorize};

/// One linked item and its part in the number.
#[derive(Debug, Clone)]
pub struct LinkedItem {
    pub item: ItemSnapshot,
    /// Absent when the item is stored but the explanation does not name it.
    pub contribution: Option<Contribution>,
}

impl Goals {
    /// A key result's data link with its refresh state (last success, last
    /// error, failures), if it has one.
    pub async fn data_link(
        &self,
        by: &Authenticated,
        okr_id: i64,
    ) -> Result<Option<DataLink>, EngineError> {
        authorize(Some(by.actor()), Action::ViewGoals)?;
        Ok(self.store.link_for_okr(okr_id).await?)
    }

    /// The links of a period's OKRs, by OKR: one read for a list.
    pub async fn data_links_in_period(
        &self,
        by: &Authenticated,
        period_id: i64,
    ) -> Result<HashMap<i64, DataLink>, EngineError> {
        authorize(Some(by.actor()), Action::ViewGoals)?;
        Ok(self
            .store
            .links_in_period(period_id)
            .await?
            .into_iter()
            .map(|link| (link.okr_id, link))
            .collect())
    }

    /// The items of a key result's data link, in the link's order, each with
    /// its contribution; empty for OKRs without a link.
    pub async fn linked_items(
        &self,
        by: &Authenticated,
        okr_id: i64,
    ) -> Result<Vec<LinkedItem>, EngineError> {
        authorize(Some(by.actor()), Action::ViewGoals)?;
        self.load(okr_id).await?;
        let Some(link) = self.store.link_for_okr(okr_id).await? else {
            return Ok(Vec::new());
        };
        let items = self.store.link_items(link.id).await?;
        let mut contributions: HashMap<String, Contribution> =
            match self.explain(by, okr_id).await? {
                Explain::DataLink { explanation } => explanation
                    .contributions
                    .into_iter()
                    .map(|c| (c.key.clone(), c))
                    .collect(),
                _ => HashMap::new(),
            };
        Ok(items
            .into_iter()
            .map(|item| {
                let contribution = contributions.remove(&item.key);
                LinkedItem { item, contribution }
            })
            .collect())
    }
}
