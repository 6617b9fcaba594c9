//! Walking a list endpoint page by page with `from` and `count`.

use std::future::Future;

use futures::Stream;
use tripletex_webhooks_types::ListResponse;

use crate::error::Result;

/// Tripletex's default (and usual maximum) page size.
pub(crate) const DEFAULT_PAGE_SIZE: i64 = 1000;

/// Where the page after `page` starts, or `None` when `page` was the last.
///
/// `fullResultSize` is documented as inexact, so a full page always asks for
/// one more (an empty page ends the walk), and a short page ends it unless
/// `fullResultSize` says more follow (a server that caps `count`).
pub(crate) fn next_from<T>(from: i64, count: i64, page: &ListResponse<T>) -> Option<i64> {
    let received = i64::try_from(page.values.len()).unwrap_or(i64::MAX);
    if received == 0 {
        return None;
    }
    let next = from.saturating_add(received);
    (received >= count || next < page.full_result_size).then_some(next)
}

/// The pages of a list, starting at `from`, fetched with `fetch(from)`.
/// The stream ends after the first error.
pub(crate) fn pages<T, F, Fut>(
    from: i64,
    count: i64,
    fetch: F,
) -> impl Stream<Item = Result<ListResponse<T>>>
where
    F: FnMut(i64) -> Fut,
    Fut: Future<Output = Result<ListResponse<T>>>,
{
    futures::stream::try_unfold((Some(from), fetch), move |(next, mut fetch)| async move {
        let Some(from) = next else {
            return Ok(None);
        };
        let page = fetch(from).await?;
        let after = next_from(from, count, &page);
        Ok(Some((page, (after, fetch))))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(values: usize, from: i64, total: i64) -> ListResponse<u8> {
        let mut page = ListResponse::page(vec![0; values], from, total);
        page.full_result_size = total;
        page
    }

    #[test]
    fn full_pages_ask_for_more_and_short_or_empty_pages_end() {
        assert_eq!(next_from(0, 2, &page(2, 0, 5)), Some(2));
        assert_eq!(next_from(4, 2, &page(1, 4, 5)), None);
        assert_eq!(next_from(4, 2, &page(2, 4, 6)), Some(6));
        assert_eq!(next_from(6, 2, &page(0, 6, 6)), None);
        // A server that caps count below what was asked: trust fullResultSize.
        assert_eq!(next_from(0, 5000, &page(1000, 0, 1500)), Some(1000));
    }

    #[tokio::test]
    async fn pages_stream_until_the_last() {
        use futures::TryStreamExt;
        let total = 5;
        let fetched: Vec<_> = pages(0, 2, |from| async move {
            let len = usize::try_from((total - from).min(2)).unwrap_or(0);
            Ok(page(len, from, total))
        })
        .map_ok(|page| page.from)
        .try_collect()
        .await
        .unwrap_or_default();
        assert_eq!(fetched, [0, 2, 4]);
    }
}
