//! Relay connections paginated by keyset, never by offset.
//!
//! A cursor is the sort key of a row (for example `[name, id]`), encoded opaquely. A page asks
//! the database for `WHERE (key) > (cursor) ORDER BY key LIMIT n + 1`: the extra row says
//! whether another page follows, and the cost does not grow with how deep the page is.
//! `totalCount` runs its `COUNT(*)` only when a client selects it.

use std::borrow::Cow;
use std::sync::Mutex;

use async_graphql::futures_util::future::BoxFuture;
use async_graphql::{Object, OutputType, SimpleObject, TypeName};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::error::Error;

/// The largest page a client may ask for.
pub const MAX_PAGE_SIZE: i32 = 100;
/// The page size when the client gives neither `first` nor `last`.
pub const DEFAULT_PAGE_SIZE: i32 = 20;

/// The pagination arguments of a connection field.
#[derive(Debug, Clone, Default)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

impl PageArgs {
    pub fn new(
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Self {
        Self {
            first,
            after,
            last,
            before,
        }
    }

    /// Checks the arguments and decodes the cursors.
    pub fn page(&self) -> Result<Page, Error> {
        let check = |name: &str, n: i32| {
            if (0..=MAX_PAGE_SIZE).contains(&n) {
                Ok(n)
            } else {
                Err(Error::bad_input(
                    name,
                    format!("`{name}` must be between 0 and {MAX_PAGE_SIZE}, got {n}"),
                ))
            }
        };
        let (size, backward) = match (self.first, self.last) {
            (Some(_), Some(_)) => {
                return Err(Error::bad_input(
                    "last",
                    "give either `first` or `last`, not both",
                ));
            }
            (Some(first), None) => (check("first", first)?, false),
            (None, Some(last)) => (check("last", last)?, true),
            (None, None) => (DEFAULT_PAGE_SIZE, false),
        };
        let decode = |name: &str, cursor: &Option<String>| {
            cursor
                .as_deref()
                .map(|c| {
                    Cursor::decode(c).ok_or_else(|| {
                        Error::bad_input(name, format!("`{name}` is not a cursor of this list"))
                    })
                })
                .transpose()
        };
        Ok(Page {
            size: size as i64,
            after: decode("after", &self.after)?,
            before: decode("before", &self.before)?,
            backward,
        })
    }
}

/// The complexity of a connection field: its page size times the cost of one node, so that
/// `first: 100` of a deep selection counts a hundred times. Use as
/// `#[graphql(complexity = "switchyard_kernel::connection::cost(first, last, child_complexity)")]`.
pub fn cost(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
    let size = first
        .or(last)
        .unwrap_or(DEFAULT_PAGE_SIZE)
        .clamp(1, MAX_PAGE_SIZE) as usize;
    1 + size * child_complexity
}

/// Validated pagination: how many rows, from where, in which direction.
#[derive(Debug, Clone)]
pub struct Page {
    /// Rows the client asked for (fetch `size + 1`).
    pub size: i64,
    pub after: Option<Cursor>,
    pub before: Option<Cursor>,
    /// `last`/`before` paging: fetch in reverse order, then flip.
    pub backward: bool,
}

impl Page {
    /// The `LIMIT` to use: one more than the page, to learn whether more follow.
    pub fn limit(&self) -> i64 {
        self.size + 1
    }

    /// The cursors as `arity` string key values each, or BAD_USER_INPUT if a cursor belongs to
    /// another ordering.
    pub fn bounds(&self, arity: usize) -> Result<Bounds, Error> {
        let values = |name: &str, cursor: &Option<Cursor>| -> Result<Option<Vec<String>>, Error> {
            let Some(cursor) = cursor else {
                return Ok(None);
            };
            let values: Option<Vec<String>> = cursor
                .0
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect();
            match values {
                Some(values) if values.len() == arity => Ok(Some(values)),
                _ => Err(Error::bad_input(
                    name,
                    format!("`{name}` is not a cursor of this list and ordering"),
                )),
            }
        };
        Ok(Bounds {
            after: values("after", &self.after)?,
            before: values("before", &self.before)?,
            backward: self.backward,
            limit: self.limit(),
        })
    }
}

/// Decoded cursor bounds (see [`crate::read::Listing`]).
#[derive(Debug, Clone)]
pub struct Bounds {
    pub after: Option<Vec<String>>,
    pub before: Option<Vec<String>>,
    pub backward: bool,
    pub limit: i64,
}

impl Bounds {
    /// No cursors and a limit no list reaches: every row (small lists, such as a quote's
    /// revisions).
    pub fn all() -> Bounds {
        Bounds {
            after: None,
            before: None,
            backward: false,
            limit: 10_000,
        }
    }
}

/// Sort direction of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, async_graphql::Enum)]
pub enum SortDirection {
    #[default]
    Asc,
    Desc,
}

impl SortDirection {
    pub fn is_desc(&self) -> bool {
        matches!(self, SortDirection::Desc)
    }
}

/// A row's position in a keyset order: its sort key values, last one the row's ID.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cursor(pub Vec<Json>);

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&self.0).unwrap_or_default())
    }

    pub fn decode(s: &str) -> Option<Cursor> {
        let bytes = URL_SAFE_NO_PAD.decode(s).ok()?;
        serde_json::from_slice::<Vec<Json>>(&bytes)
            .ok()
            .filter(|v| !v.is_empty())
            .map(Cursor)
    }

    /// The key value at `index` as a string.
    pub fn str(&self, index: usize) -> Option<&str> {
        self.0.get(index)?.as_str()
    }

    /// The key value at `index` as an integer.
    pub fn i64(&self, index: usize) -> Option<i64> {
        self.0.get(index)?.as_i64()
    }

    /// The last key value (the row's ID), parsed.
    pub fn id<T: std::str::FromStr>(&self) -> Option<T> {
        self.0.last()?.as_str()?.parse().ok()
    }
}

/// Counts the rows of a connection when `totalCount` is selected.
pub type CountFn = Box<dyn FnOnce() -> BoxFuture<'static, Result<i64, Error>> + Send>;

/// Information about the page.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(directive = crate::policy::Inherit::apply())]
pub struct PageInfo {
    /// More rows follow the last edge.
    pub has_next_page: bool,
    /// Rows precede the first edge.
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

/// An edge: a node and its cursor.
pub struct Edge<T> {
    pub cursor: String,
    pub node: T,
}

impl<T: OutputType> TypeName for Edge<T> {
    fn type_name() -> Cow<'static, str> {
        format!("{}Edge", T::type_name()).into()
    }
}

#[Object(name_type, directive = crate::policy::Inherit::apply())]
impl<T: OutputType> Edge<T> {
    /// Where this edge sits, for `after`/`before`.
    async fn cursor(&self) -> &str {
        &self.cursor
    }

    async fn node(&self) -> &T {
        &self.node
    }
}

/// A page of `T`.
pub struct Connection<T> {
    edges: Vec<Edge<T>>,
    page_info: PageInfo,
    count: Mutex<Option<CountFn>>,
    /// The count's outcome, once run: `totalCount` may be selected more than once (aliases,
    /// fragments composed by a client), and every selection answers the one count.
    total: tokio::sync::OnceCell<Result<i64, Error>>,
}

impl<T: OutputType> TypeName for Connection<T> {
    fn type_name() -> Cow<'static, str> {
        format!("{}Connection", T::type_name()).into()
    }
}

impl<T> Connection<T> {
    /// Builds a page from rows fetched with `LIMIT page.limit()` in the page's direction.
    /// `key` gives each row's cursor; `count` runs only if `totalCount` is selected.
    pub fn from_rows<R>(
        page: &Page,
        rows: Vec<R>,
        key: impl Fn(&R) -> Cursor,
        node: impl Fn(R) -> T,
        count: Option<CountFn>,
    ) -> Self {
        Self::from_batch(
            page,
            rows,
            key,
            |rows| rows.into_iter().map(&node).collect(),
            count,
        )
    }

    /// Like [`Connection::from_rows`], but builds all nodes of the page at once (so that they
    /// can share a [`Siblings`](crate::batch::Siblings) set).
    pub fn from_batch<R>(
        page: &Page,
        mut rows: Vec<R>,
        key: impl Fn(&R) -> Cursor,
        nodes: impl FnOnce(Vec<R>) -> Vec<T>,
        count: Option<CountFn>,
    ) -> Self {
        let more = rows.len() as i64 > page.size;
        rows.truncate(page.size.max(0) as usize);
        if page.backward {
            rows.reverse();
        }
        let cursors: Vec<String> = rows.iter().map(|r| key(r).encode()).collect();
        let edges: Vec<Edge<T>> = cursors
            .into_iter()
            .zip(nodes(rows))
            .map(|(cursor, node)| Edge { cursor, node })
            .collect();
        let (has_next_page, has_previous_page) = if page.backward {
            (page.before.is_some(), more)
        } else {
            (more, page.after.is_some())
        };
        let page_info = PageInfo {
            has_next_page,
            has_previous_page,
            start_cursor: edges.first().map(|e| e.cursor.clone()),
            end_cursor: edges.last().map(|e| e.cursor.clone()),
        };
        Connection {
            edges,
            page_info,
            count: Mutex::new(count),
            total: tokio::sync::OnceCell::new(),
        }
    }

    /// Pages through an in-memory list already sorted by `key` (small, bounded lists such as
    /// roles), with the same cursor rules as a database page.
    pub fn from_sorted(
        page: &Page,
        items: Vec<T>,
        key: impl Fn(&T) -> Cursor,
        compare: impl Fn(&Cursor, &Cursor) -> std::cmp::Ordering,
    ) -> Self {
        let total = items.len() as i64;
        let mut window: Vec<T> = items
            .into_iter()
            .filter(|item| {
                let k = key(item);
                page.after
                    .as_ref()
                    .is_none_or(|a| compare(&k, a) == std::cmp::Ordering::Greater)
                    && page
                        .before
                        .as_ref()
                        .is_none_or(|b| compare(&k, b) == std::cmp::Ordering::Less)
            })
            .collect();
        if page.backward {
            window.reverse();
        }
        window.truncate(page.limit() as usize);
        let connection = Connection::from_rows(page, window, &key, |t| t, None);
        let _ = connection.total.set(Ok(total));
        connection
    }

    /// The nodes of this page.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.edges.iter().map(|e| &e.node)
    }
}

#[Object(name_type, directive = crate::policy::Inherit::apply())]
impl<T: OutputType> Connection<T> {
    async fn edges(&self) -> &[Edge<T>] {
        &self.edges
    }

    /// The nodes of the edges, for clients that do not need cursors.
    async fn nodes(&self) -> Vec<&T> {
        self.edges.iter().map(|e| &e.node).collect()
    }

    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }

    /// How many rows match, across all pages (costs one `COUNT`).
    async fn total_count(&self) -> async_graphql::Result<i64> {
        let total = self
            .total
            .get_or_init(|| async {
                let count = self
                    .count
                    .lock()
                    .map_err(|_| Error::internal(anyhow::anyhow!("count lock poisoned")))?
                    .take();
                match count {
                    Some(count) => count().await,
                    None => Err(Error::internal(anyhow::anyhow!(
                        "this connection was built without a count"
                    ))),
                }
            })
            .await;
        Ok(total.clone()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(first: Option<i32>, last: Option<i32>) -> Result<Page, Error> {
        PageArgs::new(first, None, last, None).page()
    }

    #[test]
    fn page_size_is_bounded() {
        assert_eq!(page(Some(100), None).unwrap().size, 100);
        assert_eq!(page(None, None).unwrap().size, DEFAULT_PAGE_SIZE as i64);
        let err = page(Some(101), None).unwrap_err();
        assert_eq!(err.code(), "BAD_USER_INPUT");
        assert!(err.message().contains("first"));
        assert_eq!(page(Some(-1), None).unwrap_err().code(), "BAD_USER_INPUT");
        assert_eq!(page(Some(1), Some(1)).unwrap_err().code(), "BAD_USER_INPUT");
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let cursor = Cursor(vec![Json::from("Smith"), Json::from("0190-id")]);
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        assert_eq!(Cursor::decode("%%%"), None);
        let args = PageArgs::new(Some(5), Some("bm9wZQ".into()), None, None);
        assert_eq!(args.page().unwrap_err().code(), "BAD_USER_INPUT");
    }

    #[test]
    fn forward_page_reports_more_rows() {
        let page = page(Some(2), None).unwrap();
        let conn = Connection::from_rows(
            &page,
            vec![1, 2, 3],
            |n| Cursor(vec![Json::from(*n)]),
            |n| n,
            None,
        );
        assert_eq!(conn.iter().copied().collect::<Vec<_>>(), vec![1, 2]);
        assert!(conn.page_info.has_next_page);
        assert!(!conn.page_info.has_previous_page);
    }

    #[test]
    fn backward_page_is_flipped_into_ascending_order() {
        let page = page(None, Some(2)).unwrap();
        // fetched in descending order, as a backward query does
        let conn = Connection::from_rows(
            &page,
            vec![9, 8, 7],
            |n| Cursor(vec![Json::from(*n)]),
            |n| n,
            None,
        );
        assert_eq!(conn.iter().copied().collect::<Vec<_>>(), vec![8, 9]);
        assert!(conn.page_info.has_previous_page);
    }
}
