//! The store's posts: reads, writes, listings, due posts and the published targets reports read.

use jiff::Timestamp;

use super::{ListError, MAX_EXAMINED_PER_LISTING, Store, decode, encode, next_version};
use crate::domain::report_build::PublishedTarget;
use crate::domain::{BrandId, ChannelId, Post, PostId, PostStatus};
use crate::store::keys::{self, POST_PREFIX};
use crate::store::{Condition, Cursor, Index, IndexKey, Item, KeyRange, Query, StoreError, Write};

#[derive(Debug, Clone, Default)]
pub struct PostFilter {
    pub status: Option<PostStatus>,
    pub channel: Option<ChannelId>,
    pub label: Option<String>,
    /// Publish time range `[from, to)`; when either is set, only posts with a publish time are listed,
    /// in publish-time order. Otherwise posts are listed newest first.
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

impl PostFilter {
    fn matches(&self, post: &Post) -> bool {
        self.status.is_none_or(|s| post.status() == s)
            && self
                .channel
                .is_none_or(|c| post.targets.iter().any(|t| t.channel_id == c))
            && self.label.as_ref().is_none_or(|l| post.labels.contains(l))
    }
}

#[derive(Debug, Clone)]
pub struct PostPage {
    pub posts: Vec<Post>,
    pub next: Option<Cursor>,
}

impl Store {
    /// Up to `limit` scheduled posts of any brand whose next due time is at or before `now`, in
    /// due order, from one shard of the due index.
    pub async fn due_posts(
        &self,
        shard: u32,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<(BrandId, Post)>, StoreError> {
        self.due_entries(keys::due_pk(shard), now, limit)
            .await?
            .into_iter()
            .map(|(brand, item)| Ok((brand, decode_post(item)?)))
            .collect()
    }

    pub async fn get_post(&self, brand: &BrandId, id: &PostId) -> Result<Option<Post>, StoreError> {
        let item = self
            .items
            .get(&keys::brand_pk(brand), &keys::post_sk(id))
            .await?;
        item.map(decode_post).transpose()
    }

    /// Creates the post (`expected: None`) or replaces the version the caller read.
    pub async fn put_post(
        &self,
        brand: &BrandId,
        post: &Post,
        expected: Option<u64>,
    ) -> Result<Post, StoreError> {
        self.put(
            post,
            post_item(brand, post, next_version(expected))?,
            expected,
        )
        .await
    }

    /// Replaces the version of the post the caller read and, in the same atomic write, `also`
    /// (for example: start following a target that was just published).
    pub async fn put_post_with(
        &self,
        brand: &BrandId,
        post: &Post,
        expected: u64,
        also: Vec<Write>,
    ) -> Result<Post, StoreError> {
        let version = expected + 1;
        let mut writes = vec![Write::Put {
            item: post_item(brand, post, version)?,
            condition: Condition::Version(expected),
        }];
        writes.extend(also);
        self.items.write(writes).await?;
        let mut saved = post.clone();
        saved.version = version;
        Ok(saved)
    }

    pub async fn delete_post(
        &self,
        brand: &BrandId,
        id: &PostId,
        expected: u64,
    ) -> Result<(), StoreError> {
        self.items
            .write(vec![Write::Delete {
                pk: keys::brand_pk(brand),
                sk: keys::post_sk(id),
                condition: Condition::Version(expected),
            }])
            .await
    }

    pub async fn list_posts(
        &self,
        brand: &BrandId,
        filter: &PostFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<PostPage, ListError> {
        let by_time = filter.from.is_some() || filter.to.is_some();
        let after = cursor
            .map(|c| Cursor::decode(c, POST_PREFIX))
            .transpose()
            .map_err(ListError::BadCursor)?;
        if after
            .as_ref()
            .is_some_and(|a| a.index_sk.is_some() != by_time)
        {
            return Err(ListError::BadCursor(
                "the cursor belongs to a listing with different filters: start again without it"
                    .into(),
            ));
        }
        let query = if by_time {
            let from = filter.from.unwrap_or(Timestamp::MIN);
            let to = filter.to.unwrap_or(Timestamp::MAX);
            let (lo, hi) = keys::posts_by_time_range(from, to);
            Query {
                pk: keys::brand_pk(brand),
                index: Some((Index::PostsByTime, keys::posts_by_time_pk(brand))),
                range: KeyRange::Between(lo, hi),
                after,
                limit: 0,
                descending: false,
            }
        } else {
            Query {
                pk: keys::brand_pk(brand),
                index: None,
                range: KeyRange::Prefix(POST_PREFIX.into()),
                after,
                limit: 0,
                descending: true,
            }
        };
        let (posts, next) = self
            .collect(query, limit, MAX_EXAMINED_PER_LISTING, decode_post, |p| {
                filter.matches(p)
            })
            .await?;
        Ok(PostPage {
            posts,
            next: next.map(|a| Cursor::encode(&a)),
        })
    }

    /// Every post with a publish time in `[from, to)`, in time order, up to `max` posts.
    /// Returns whether there were more than `max`.
    pub async fn posts_between(
        &self,
        brand: &BrandId,
        from: Timestamp,
        to: Timestamp,
        max: usize,
    ) -> Result<(Vec<Post>, bool), StoreError> {
        let (lo, hi) = keys::posts_by_time_range(from, to);
        let query = Query {
            pk: keys::brand_pk(brand),
            index: Some((Index::PostsByTime, keys::posts_by_time_pk(brand))),
            range: KeyRange::Between(lo, hi),
            after: None,
            limit: 0,
            descending: false,
        };
        let (posts, next) = self
            .collect(query, max, usize::MAX, decode_post, |_| true)
            .await?;
        Ok((posts, next.is_some()))
    }

    /// The targets that went out in `published` among the posts planned in `planned` (a report's
    /// read). Posts are read a page at a time and only a few words of each published target are
    /// kept, so memory stays bounded by what went out, however many posts and drafts the brand
    /// has; there is no cap that would cut the counts short.
    pub async fn published_targets(
        &self,
        brand: &BrandId,
        planned: (Timestamp, Timestamp),
        published: (Timestamp, Timestamp),
    ) -> Result<Vec<PublishedTarget>, StoreError> {
        const PAGE: usize = 100;
        let (lo, hi) = keys::posts_by_time_range(planned.0, planned.1);
        let mut query = Query {
            pk: keys::brand_pk(brand),
            index: Some((Index::PostsByTime, keys::posts_by_time_pk(brand))),
            range: KeyRange::Between(lo, hi),
            after: None,
            limit: PAGE,
            descending: false,
        };
        let mut targets = Vec::new();
        loop {
            let page = self.items.query(&query).await?;
            for item in page.items {
                let post = decode_post(item)?;
                targets.extend(PublishedTarget::of(&post, published.0, published.1));
            }
            match page.next {
                Some(next) => query.after = Some(next),
                None => return Ok(targets),
            }
        }
    }
}

fn post_item(brand: &BrandId, post: &Post, version: u64) -> Result<Item, StoreError> {
    let by_time = post.publish_at.map(|at| {
        (
            Index::PostsByTime,
            IndexKey {
                pk: keys::posts_by_time_pk(brand),
                sk: keys::posts_by_time_sk(at, &post.id),
            },
        )
    });
    let due = post.next_due().map(|at| {
        (
            Index::Due,
            IndexKey {
                pk: keys::due_pk(keys::due_shard(&post.id)),
                sk: keys::due_sk(at, brand, &post.id),
            },
        )
    });
    let indexes = by_time.into_iter().chain(due).collect();
    encode(
        keys::brand_pk(brand),
        keys::post_sk(&post.id),
        version,
        indexes,
        post,
    )
}

fn decode_post(item: Item) -> Result<Post, StoreError> {
    decode(item, |p: &mut Post, v| p.version = v)
}
