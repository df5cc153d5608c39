//! Cursor paging: query parameters per list endpoint, a stream over all
//! pages, and the seed's offset/limit paging emulated over cursors.

use std::future::Future;

use futures_util::{Stream, TryStreamExt, stream};

use super::error::Error;
use super::wire::Page;

/// Query parameters of a list endpoint that pages with `limit` + `token`.
pub trait PagedQuery: Clone {
    /// The largest `limit` the endpoint accepts.
    const MAX_LIMIT: u32;
    /// Sets the page size.
    fn set_limit(&mut self, limit: u32);
    /// Sets the cursor.
    fn set_token(&mut self, token: Option<String>);
}

macro_rules! query {
    ($(#[$m:meta])* $name:ident, max = $max:literal { $($(#[$fm:meta])* $field:ident : $wire:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct $name {
            /// Page size.
            pub limit: Option<u32>,
            /// Cursor from the previous page's `next_token`.
            pub token: Option<String>,
            $( $(#[$fm])* pub $field: Option<String>, )*
        }

        impl $name {
            /// The query string pairs, in a stable order.
            pub fn pairs(&self) -> Vec<(&'static str, String)> {
                let mut out = Vec::new();
                $( if let Some(v) = &self.$field { out.push(($wire, v.clone())); } )*
                if let Some(l) = self.limit { out.push(("limit", l.to_string())); }
                if let Some(t) = &self.token { out.push(("token", t.clone())); }
                out
            }
        }

        impl PagedQuery for $name {
            const MAX_LIMIT: u32 = $max;
            fn set_limit(&mut self, limit: u32) { self.limit = Some(limit); }
            fn set_token(&mut self, token: Option<String>) { self.token = token; }
        }
    };
}

query!(
    /// `GET /v3/videos` (limit 1–100, default 10).
    VideoListQuery, max = 100 {
        /// Only videos in this folder.
        folder_id: "folder_id",
        /// Only videos whose title contains this.
        title: "title",
    }
);
query!(
    /// `GET /v3/avatars` (limit 1–50, default 20).
    AvatarGroupQuery, max = 50 {
        /// `public` or `private`; both when omitted.
        ownership: "ownership",
    }
);
query!(
    /// `GET /v3/avatars/looks` (limit 1–50, default 20).
    LookQuery, max = 50 {
        /// Only looks of this group.
        group_id: "group_id",
        /// `studio_avatar`, `digital_twin` or `photo_avatar`.
        avatar_type: "avatar_type",
        /// `public` or `private`; both when omitted.
        ownership: "ownership",
    }
);
query!(
    /// `GET /v3/voices` (limit 1–100, default 20).
    VoiceQuery, max = 100 {
        /// `public` (the API's default) or `private`.
        kind: "type",
        /// Only voices of this engine, e.g. `starfish`.
        engine: "engine",
        /// Only voices of this language, e.g. `English`.
        language: "language",
        /// `male` or `female`.
        gender: "gender",
    }
);
query!(
    /// `GET /v3/templates` (limit 1–100, default 10).
    TemplateQuery, max = 100 {}
);

/// Every page of a list, in order, as a stream. `fetch` gets the query for
/// each page. Stops when `has_more` is false or no cursor comes back.
pub fn pages<Q, T, F, Fut>(query: Q, fetch: F) -> impl Stream<Item = Result<Page<T>, Error>>
where
    Q: PagedQuery,
    F: FnMut(Q) -> Fut,
    Fut: Future<Output = Result<Page<T>, Error>>,
{
    stream::try_unfold((Some(query), fetch), |(next, mut fetch)| async move {
        let Some(q) = next else { return Ok(None) };
        let page = fetch(q.clone()).await?;
        let follow = match (&page.has_more, &page.next_token) {
            (true, Some(token)) if !token.is_empty() => {
                let mut q = q;
                q.set_token(Some(token.clone()));
                Some(q)
            }
            _ => None,
        };
        Ok(Some((page, (follow, fetch))))
    })
}

/// All items of a list, fetched with the largest page size.
pub async fn collect_all<Q, T, F, Fut>(mut query: Q, fetch: F) -> Result<Vec<T>, Error>
where
    Q: PagedQuery,
    F: FnMut(Q) -> Fut,
    Fut: Future<Output = Result<Page<T>, Error>>,
{
    query.set_limit(Q::MAX_LIMIT);
    query.set_token(None);
    let pages: Vec<Page<T>> = pages(query, fetch).try_collect().await?;
    Ok(pages.into_iter().flat_map(|p| p.data).collect())
}

/// A window of a list by offset and limit, as the seed functions page.
#[derive(Debug, Clone, PartialEq)]
pub struct Window<T> {
    /// The items at `offset..offset+limit`.
    pub items: Vec<T>,
    /// Whether items follow the window.
    pub has_more: bool,
}

/// Emulates offset/limit paging over cursors: walks pages, skipping
/// `offset` items, until `limit` are collected.
pub async fn window<Q, T, F, Fut>(
    mut query: Q,
    offset: u64,
    limit: u64,
    fetch: F,
) -> Result<Window<T>, Error>
where
    Q: PagedQuery,
    F: FnMut(Q) -> Fut,
    Fut: Future<Output = Result<Page<T>, Error>>,
{
    // One page covers a small window whole; larger ones use full pages.
    let page = (offset + limit).clamp(1, u64::from(Q::MAX_LIMIT));
    query.set_limit(page as u32);
    query.set_token(None);
    let mut skip = offset;
    let mut items = Vec::new();
    let stream = pages(query, fetch);
    futures_util::pin_mut!(stream);
    while let Some(page) = stream.try_next().await? {
        let more_pages = page.has_more;
        let mut rest = page.data.into_iter();
        let n_skip = skip.min(rest.len() as u64);
        skip -= n_skip;
        rest.by_ref().take(n_skip as usize).for_each(drop);
        while (items.len() as u64) < limit {
            match rest.next() {
                Some(item) => items.push(item),
                None => break,
            }
        }
        if items.len() as u64 == limit {
            let has_more = rest.next().is_some() || more_pages;
            return Ok(Window { items, has_more });
        }
    }
    Ok(Window { items, has_more: false })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake list of `n` numbers served in pages of the requested size.
    async fn serve(q: TemplateQuery, n: u32) -> Result<Page<u32>, Error> {
        let start: u32 = q.token.as_deref().map(|t| t.parse().unwrap()).unwrap_or(0);
        let size = q.limit.unwrap_or(10);
        let end = (start + size).min(n);
        Ok(Page {
            data: (start..end).collect(),
            has_more: end < n,
            next_token: (end < n).then(|| end.to_string()),
        })
    }

    #[tokio::test]
    async fn collects_every_page_and_windows_by_offset() {
        let all = collect_all(TemplateQuery::default(), |q| serve(q, 250)).await.unwrap();
        assert_eq!(all, (0..250).collect::<Vec<_>>());

        let w = window(TemplateQuery::default(), 95, 10, |q| serve(q, 250)).await.unwrap();
        assert_eq!(w.items, (95..105).collect::<Vec<_>>());
        assert!(w.has_more);

        let tail = window(TemplateQuery::default(), 245, 10, |q| serve(q, 250)).await.unwrap();
        assert_eq!((tail.items, tail.has_more), ((245..250).collect(), false));

        let exact = window(TemplateQuery::default(), 240, 10, |q| serve(q, 250)).await.unwrap();
        assert_eq!((exact.items.len(), exact.has_more), (10, false));

        let beyond = window(TemplateQuery::default(), 900, 10, |q| serve(q, 250)).await.unwrap();
        assert!(beyond.items.is_empty() && !beyond.has_more);
    }
}
