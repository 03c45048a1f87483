//! Deterministic batching by siblings.
//!
//! Objects loaded together (the rows of one page) share a [`Siblings`] set. When the first of
//! them resolves a relation (its quotes, its assignee), the whole set's relation is loaded in
//! one statement and memoised in the set; the other siblings await that same load. The number
//! of statements is then fixed by the depth of the query, never by timing. (async-graphql's
//! DataLoader batches by a short time window instead: under load, or in a debug build, the
//! keys of one page arrive over more than the window, and the batch splits.) The memo lives
//! in the set and is dropped with it, so nothing outlives the rows it was loaded for.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use crate::error::Error;

type Cell = Arc<OnceCell<Arc<dyn Any + Send + Sync>>>;

/// Rows loaded together, and what has been loaded for all of them.
pub struct Siblings<R> {
    rows: Vec<R>,
    loaded: Mutex<HashMap<String, Cell>>,
}

impl<R> Siblings<R> {
    pub fn new(rows: Vec<R>) -> Arc<Siblings<R>> {
        Arc::new(Siblings {
            rows,
            loaded: Mutex::new(HashMap::new()),
        })
    }

    pub fn rows(&self) -> &[R] {
        &self.rows
    }

    /// The value `load` computes for all rows, computed once per `key` (name the relation
    /// and its arguments, e.g. `quotes:6`), whichever sibling asks first. `load` reads the
    /// keys it needs from the rows, then returns a future that owns them.
    pub async fn batch<T, F, Fut>(&self, key: &str, load: F) -> Result<Arc<T>, Error>
    where
        T: Send + Sync + 'static,
        F: FnOnce(&[R]) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let cell: Cell = {
            let mut loaded = self
                .loaded
                .lock()
                .map_err(|_| Error::internal(anyhow::anyhow!("batch memo poisoned")))?;
            loaded.entry(key.to_owned()).or_default().clone()
        };
        // The load (a database round trip: a large future) is boxed, so that the futures of
        // the siblings that only wait for it stay small: async-graphql boxes every field's
        // future at the size of its object's largest resolver, once per field and row.
        let value = cell
            .get_or_try_init(|| async {
                Box::pin(load(&self.rows))
                    .await
                    .map(|v| Arc::new(v) as Arc<dyn Any + Send + Sync>)
            })
            .await?;
        value
            .clone()
            .downcast::<T>()
            .map_err(|_| Error::internal(anyhow::anyhow!("batch {key} has another type")))
    }
}

/// One member of a [`Siblings`] set: GraphQL objects hold this instead of a bare row.
pub struct Member<R> {
    set: Arc<Siblings<R>>,
    at: usize,
}

impl<R> Clone for Member<R> {
    fn clone(&self) -> Self {
        Member {
            set: self.set.clone(),
            at: self.at,
        }
    }
}

impl<R> std::ops::Deref for Member<R> {
    type Target = R;

    fn deref(&self) -> &R {
        self.row()
    }
}

impl<R> Member<R> {
    /// A row on its own.
    pub fn one(row: R) -> Member<R> {
        Member {
            set: Siblings::new(vec![row]),
            at: 0,
        }
    }

    /// Rows loaded together.
    pub fn all(rows: Vec<R>) -> Vec<Member<R>> {
        let set = Siblings::new(rows);
        (0..set.rows().len())
            .map(|at| Member {
                set: set.clone(),
                at,
            })
            .collect()
    }

    /// The member at `at` of an existing set.
    pub fn of(set: &Arc<Siblings<R>>, at: usize) -> Member<R> {
        Member {
            set: set.clone(),
            at,
        }
    }

    pub fn row(&self) -> &R {
        &self.set.rows()[self.at]
    }

    pub fn siblings(&self) -> &Siblings<R> {
        &self.set
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn the_first_sibling_loads_for_all_and_the_others_reuse_it() {
        let members = Member::all(vec![1, 2, 3]);
        let calls = Arc::new(AtomicUsize::new(0));
        let mut results = Vec::new();
        for member in &members {
            let calls = calls.clone();
            let doubled: Arc<Vec<i32>> = member
                .siblings()
                .batch("double", |rows| {
                    let keys: Vec<i32> = rows.to_vec();
                    async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        Ok(keys.iter().map(|r| r * 2).collect())
                    }
                })
                .await
                .unwrap();
            results.push(doubled[member.at]);
        }
        assert_eq!(results, vec![2, 4, 6]);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
