//! Unit tests for the post lifecycle: approval, edits, scheduling and the status derived from targets.

use super::*;

fn ctx(approval_required: bool) -> Context<'static> {
    Context {
        actor: "alice",
        now: "2027-01-10T10:00:00Z".parse().unwrap(),
        approval_required,
    }
}

fn rome() -> TimeZoneName {
    TimeZoneName::parse("Europe/Rome").unwrap()
}

fn draft_to(channels: &[ChannelId]) -> PostDraft {
    PostDraft::parse(PostInput {
        text: "Hello".into(),
        channels: channels.iter().map(|c| c.to_string()).collect(),
        publish_at: Some("2027-01-11T09:00:00+01:00".into()),
        ..Default::default()
    })
    .unwrap()
}

#[test]
fn the_approval_workflow_runs_draft_review_approved_scheduled() {
    let c = ctx(true);
    let mut post = Post::create(draft_to(&[ChannelId::new()]), rome(), &c);
    assert_eq!(post.status(), PostStatus::Draft);
    assert!(post.schedule(None, &c).is_err(), "cannot skip approval");
    post.submit(&c).unwrap();
    assert_eq!(post.status(), PostStatus::InReview);
    post.reject(Some("tone it down".into()), &c).unwrap();
    assert_eq!(
        (post.status(), post.review_note.as_deref()),
        (PostStatus::Draft, Some("tone it down"))
    );
    post.submit(&c).unwrap();
    post.approve(&c).unwrap();
    post.schedule(None, &c).unwrap();
    assert_eq!(post.status(), PostStatus::Scheduled);
    post.unschedule(&c).unwrap();
    assert_eq!(post.status(), PostStatus::Approved);
    post.cancel(&c).unwrap();
    assert_eq!(post.status(), PostStatus::Cancelled);
}

#[test]
fn without_required_approval_a_draft_is_scheduled_directly() {
    let c = ctx(false);
    let mut post = Post::create(draft_to(&[ChannelId::new()]), rome(), &c);
    post.schedule(None, &c).unwrap();
    assert_eq!(post.status(), PostStatus::Scheduled);
    post.unschedule(&c).unwrap();
    assert_eq!(post.status(), PostStatus::Draft);
}

#[test]
fn scheduling_needs_a_future_time_and_a_channel() {
    let c = ctx(false);
    let mut post = Post::create(draft_to(&[]), rome(), &c);
    let past = "2027-01-01T00:00:00Z".parse().unwrap();
    let DomainError::Invalid(errors) = post.schedule(Some(past), &c).unwrap_err() else {
        panic!()
    };
    let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["publish_at", "channels"]);
    assert_eq!(
        post.status(),
        PostStatus::Draft,
        "a failed action changes nothing"
    );
}

#[test]
fn editing_approved_copy_withdraws_the_approval() {
    let c = ctx(true);
    let mut post = Post::create(draft_to(&[]), rome(), &c);
    post.submit(&c).unwrap();
    post.approve(&c).unwrap();
    let mut other_copy = draft_to(&[]);
    other_copy.text = "Hello, edited".into();
    post.edit(other_copy, rome(), &c).unwrap();
    assert_eq!(post.status(), PostStatus::Draft);
}

#[test]
fn editing_copy_in_review_sends_it_back_to_draft() {
    for approval_required in [true, false] {
        let c = ctx(approval_required);
        let channel = ChannelId::new();
        let mut post = Post::create(draft_to(&[channel]), rome(), &c);
        post.submit(&c).unwrap();
        let mut other_copy = draft_to(&[channel]);
        other_copy.text = "Hello, edited".into();
        post.edit(other_copy, rome(), &c).unwrap();
        assert_eq!(post.status(), PostStatus::Draft);
        assert!(
            post.approve(&c).is_err(),
            "a draft is not approved, whatever its version"
        );
    }
}

#[test]
fn every_change_to_what_is_published_counts_as_an_edit_and_bookkeeping_does_not() {
    let c = ctx(true);
    let channel = ChannelId::new();
    let base = || draft_to(&[channel]);
    type Change = Box<dyn Fn(&mut PostDraft)>;
    let changes: Vec<(&str, Change)> = vec![
        ("text", Box::new(|d| d.text = "Other".into())),
        ("thread", Box::new(|d| d.thread = vec!["and more".into()])),
        ("media", Box::new(|d| d.media = vec![AssetId::new()])),
        ("channels", Box::new(|d| d.channels.push(ChannelId::new()))),
        (
            "variants",
            Box::new(move |d| {
                d.variants.insert(
                    channel,
                    Variant {
                        text: Some("Only here".into()),
                        ..Variant::default()
                    },
                );
            }),
        ),
    ];
    for (what, change) in changes {
        for approve in [false, true] {
            let mut post = Post::create(base(), rome(), &c);
            post.submit(&c).unwrap();
            if approve {
                post.approve(&c).unwrap();
            }
            let mut edited = base();
            change(&mut edited);
            post.edit(edited, rome(), &c).unwrap();
            assert_eq!(post.status(), PostStatus::Draft, "{what} changed");
        }
    }
    for approve in [false, true] {
        let mut post = Post::create(base(), rome(), &c);
        post.submit(&c).unwrap();
        if approve {
            post.approve(&c).unwrap();
        }
        let before = post.status();
        let mut edited = base();
        edited.labels = vec!["menu".into()];
        edited.campaign = Some("Autumn".into());
        edited.publish_at = Some("2027-01-12T09:00:00Z".parse().unwrap());
        post.edit(edited, rome(), &c).unwrap();
        assert_eq!(
            post.status(),
            before,
            "labels, campaign and time publish nothing"
        );
    }
}

#[test]
fn scheduled_posts_are_neither_edited_nor_deleted() {
    let c = ctx(false);
    let mut post = Post::create(draft_to(&[ChannelId::new()]), rome(), &c);
    post.schedule(None, &c).unwrap();
    assert!(matches!(
        post.edit(draft_to(&[]), rome(), &c),
        Err(DomainError::InvalidState(_))
    ));
    assert!(post.check_deletable().is_err());
}

#[test]
fn content_errors_name_their_fields() {
    let ch = ChannelId::new().to_string();
    let err = PostDraft::parse(PostInput {
        text: " ".into(),
        channels: vec![ch.clone(), ch.clone(), "nope".into()],
        variants: [(ChannelId::new().to_string(), Variant::default())].into(),
        labels: vec!["".into()],
        publish_at: Some("soon".into()),
        ..Default::default()
    })
    .unwrap_err();
    let DomainError::Invalid(errors) = err else {
        panic!()
    };
    let fields: Vec<_> = errors.iter().map(|e| e.field.clone()).collect();
    assert!(fields.contains(&"text".to_string()));
    assert!(fields.contains(&"channels.1".to_string()));
    assert!(fields.contains(&"channels.2".to_string()));
    assert!(fields.iter().any(|f| f.starts_with("variants.")));
    assert!(fields.contains(&"labels.0".to_string()));
    assert!(fields.contains(&"publish_at".to_string()));
}

#[test]
fn status_is_derived_from_targets() {
    let t = |state| Target {
        channel_id: ChannelId::new(),
        state,
        first_attempt_at: None,
    };
    let published = || TargetState::Published {
        remote_id: "1".into(),
        url: None,
        published_at: Timestamp::UNIX_EPOCH,
        notes: vec![],
    };
    let failed = |kind: &str| TargetState::Failed {
        failure: Failure {
            kind: kind.into(),
            retryable: false,
            message: "no".into(),
        },
        attempts: 1,
    };
    assert_eq!(
        derive_publishing_status(&[t(published()), t(published())]),
        PostStatus::Published
    );
    assert_eq!(
        derive_publishing_status(&[t(published()), t(failed("x"))]),
        PostStatus::PartiallyPublished
    );
    assert_eq!(
        derive_publishing_status(&[t(failed("x"))]),
        PostStatus::Failed
    );
    assert_eq!(
        derive_publishing_status(&[t(failed("missed"))]),
        PostStatus::Missed
    );
    assert_eq!(
        derive_publishing_status(&[t(published()), t(TargetState::NEW)]),
        PostStatus::Publishing
    );
}
