//! Preflight's rules, network by network: text limits, threads, media counts, sizes, formats,
//! durations, alt text and shapes.

use jiff::Timestamp;

use super::*;

fn types(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}
use crate::domain::AssetId;

fn rules(network: Network) -> Rules {
    Rules::for_network(network)
}

fn asset(kind: MediaKind, content_type: &str, size: u64) -> Asset {
    Asset {
        id: AssetId::new(),
        kind,
        content_type: content_type.into(),
        size,
        width: None,
        height: None,
        duration_ms: None,
        alt_text: None,
        object_key: "library/brand/asset".into(),
        status: AssetStatus::Ready,
        version: 1,
        created_at: Timestamp::UNIX_EPOCH,
        updated_at: Timestamp::UNIX_EPOCH,
        details: Default::default(),
    }
}

fn photo(size: u64) -> Asset {
    asset(MediaKind::Image, "image/jpeg", size)
}

fn video(size: u64, duration_ms: u64) -> Asset {
    Asset {
        duration_ms: Some(duration_ms),
        ..asset(MediaKind::Video, "video/mp4", size)
    }
}

fn gif(size: u64) -> Asset {
    asset(MediaKind::Gif, "image/gif", size)
}

fn no_thread() -> Vec<String> {
    Vec::new()
}

#[test]
fn telegram_allows_1024_with_media_and_4096_without() {
    let telegram = rules(Network::Telegram);
    let caption = "a".repeat(1_025);
    // without media the same text is fine
    assert!(telegram.check(&caption, &no_thread(), &[]).is_empty());
    // with a photo it is over the caption limit
    assert_eq!(
        telegram.check(&caption, &no_thread(), &[photo(100_000)]),
        vec![
            "the caption is 1,025 characters long; Telegram allows 1,024 with media \
             attached (4,096 without)"
        ]
    );
    assert!(
        telegram
            .check(&"a".repeat(1_024), &no_thread(), &[photo(1)])
            .is_empty()
    );
    assert_eq!(
        telegram.check(&"a".repeat(4_097), &no_thread(), &[]),
        vec!["the text is 4,097 characters long; Telegram allows 4,096"]
    );
    assert_eq!(telegram.text_limit(true), 1_024);
    assert_eq!(telegram.text_limit(false), 4_096);
}

#[test]
fn every_follow_up_of_a_thread_is_checked() {
    let bluesky = rules(Network::Bluesky);
    let thread = vec![
        "fine".to_owned(),
        "b".repeat(301),
        " ".to_owned(),
        "c".repeat(320),
    ];
    assert_eq!(
        bluesky.check("first", &thread, &[]),
        vec![
            "follow-up 2 is 301 characters long; Bluesky allows 300",
            "follow-up 3 is empty",
            "follow-up 4 is 320 characters long; Bluesky allows 300",
        ]
    );
}

#[test]
fn a_post_needs_text_or_media() {
    assert_eq!(
        rules(Network::Mastodon).check("  \n", &no_thread(), &[]),
        vec!["the post has no text and no media"]
    );
    assert!(
        rules(Network::Mastodon)
            .check("", &no_thread(), &[photo(10)])
            .is_empty()
    );
}

#[test]
fn instagram_needs_media_and_at_most_30_hashtags() {
    let instagram = rules(Network::Instagram);
    assert_eq!(
        instagram.check("hello", &no_thread(), &[]),
        vec!["Instagram needs at least one photo or video"]
    );
    let tags: Vec<String> = (0..31).map(|i| format!("#tag{i}")).collect();
    assert_eq!(
        instagram.check(&tags.join(" "), &no_thread(), &[photo(1_000)]),
        vec!["the text has 31 hashtags; Instagram allows 30"]
    );
    // a link's fragment and an HTML-ish entity are not hashtags
    assert_eq!(count_hashtags("https://example.com/#top &#39; a#b #ok"), 1);
}

#[test]
fn threads_refuses_more_than_5_distinct_links() {
    let threads = rules(Network::Threads);
    let links: Vec<String> = (0..6).map(|i| format!("https://example.com/{i}")).collect();
    assert_eq!(
        threads.check(&links.join(" "), &no_thread(), &[]),
        vec!["the text has 6 links; Threads allows 5"]
    );
    // the same link repeated counts once
    let same = "https://example.com/a ".repeat(6);
    assert!(threads.check(&same, &no_thread(), &[]).is_empty());
}

// --- media ---

#[test]
fn bluesky_refuses_a_photo_over_1_mb() {
    let problems =
        rules(Network::Bluesky).check("hi", &no_thread(), &[photo(900_000), photo(1_200_000)]);
    assert_eq!(
        problems,
        vec!["photo 2 (1.2 MB) is over Bluesky's 1 MB limit per image"]
    );
}

#[test]
fn a_size_just_over_the_limit_never_reads_as_equal_to_it() {
    let problems = rules(Network::Bluesky).check("hi", &no_thread(), &[photo(1_000_001)]);
    assert_eq!(
        problems,
        vec!["photo 1 (1,000,001 bytes) is over Bluesky's 1,000,000 bytes limit per image"]
    );
    let problems = rules(Network::Mastodon).check("hi", &no_thread(), &[photo(17_000_000)]);
    assert_eq!(
        problems,
        vec!["photo 1 (17 MB) is over Mastodon's 16.8 MB limit per image"]
    );
}

#[test]
fn instagram_takes_jpeg_only() {
    let heic = asset(MediaKind::Image, "image/heic", 1_000);
    assert_eq!(
        rules(Network::Instagram).check("hi", &no_thread(), &[heic, gif(1_000)]),
        vec![
            "photo 1 is a HEIC image; Instagram takes JPEG only",
            "GIF 1 is a GIF image; Instagram takes JPEG only",
        ]
    );
}

#[test]
fn bluesky_takes_mp4_only_and_up_to_50_mb() {
    let webm = Asset {
        content_type: "video/webm".into(),
        ..video(1_000, 10_000)
    };
    assert_eq!(
        rules(Network::Bluesky).check("hi", &no_thread(), &[webm]),
        vec!["video 1 is a WebM video; Bluesky takes MP4 only"]
    );
    assert_eq!(
        rules(Network::Bluesky).check("hi", &no_thread(), &[video(60 * MB, 10_000)]),
        vec!["video 1 (60 MB) is over Bluesky's 50 MB limit per video"]
    );
}

#[test]
fn mastodon_lists_every_format_it_takes() {
    let avi = Asset {
        content_type: "video/x-msvideo".into(),
        ..video(1_000, 1_000)
    };
    assert_eq!(
        rules(Network::Mastodon).check("hi", &no_thread(), &[avi]),
        vec!["video 1 is an AVI video; Mastodon takes WebM, MP4, MOV or Ogg"]
    );
}

#[test]
fn x_takes_4_photos_or_1_video_never_both() {
    let x = rules(Network::X);
    assert!(
        x.check("hi", &no_thread(), &vec![photo(1_000); 4])
            .is_empty()
    );
    assert_eq!(
        x.check("hi", &no_thread(), &vec![photo(1_000); 5]),
        vec!["the post has 5 photos; X takes at most 4 per post"]
    );
    assert_eq!(
        x.check("hi", &no_thread(), &[video(1_000, 1_000), photo(1_000)]),
        vec!["X can't combine photos with a video in one post"]
    );
    assert_eq!(
        x.check("hi", &no_thread(), &[video(1_000, 1_000), gif(1_000)]),
        vec!["the post has 2 videos and GIFs; X takes at most 1 per post"]
    );
    assert_eq!(
        x.check("hi", &no_thread(), &[gif(16 * MB)]),
        vec!["GIF 1 (16 MB) is over X's 15 MB limit per GIF"]
    );
}

#[test]
fn x_refuses_a_video_over_140_seconds() {
    let x = rules(Network::X);
    assert!(
        x.check("hi", &no_thread(), &[video(1_000, 140_000)])
            .is_empty()
    );
    assert_eq!(
        x.check("hi", &no_thread(), &[video(1_000, 140_001)]),
        vec!["video 1 is 2 min 21 s long; X takes videos up to 2 min 20 s"]
    );
}

#[test]
fn telegram_takes_10_items_in_any_mix() {
    let telegram = rules(Network::Telegram);
    let mut media = vec![photo(1_000); 5];
    media.extend(vec![video(1_000, 1_000); 5]);
    assert!(telegram.check("hi", &no_thread(), &media).is_empty());
    media.push(photo(1_000));
    assert_eq!(
        telegram.check("hi", &no_thread(), &media),
        vec!["the post has 11 photos and videos; Telegram takes at most 10 per post"]
    );
}

#[test]
fn alt_text_is_checked_per_network_and_kind() {
    let long_alt = |n: usize, a: Asset| Asset {
        alt_text: Some("a".repeat(n)),
        ..a
    };
    assert_eq!(
        rules(Network::Mastodon).check("hi", &no_thread(), &[long_alt(1_501, photo(1))]),
        vec!["the alt text of photo 1 is 1,501 characters long; Mastodon allows 1,500"]
    );
    assert!(
        rules(Network::Mastodon)
            .check("hi", &no_thread(), &[long_alt(1_500, photo(1))])
            .is_empty()
    );
    // Bluesky: videos have a lower alt text limit than photos
    assert!(
        rules(Network::Bluesky)
            .check("hi", &no_thread(), &[long_alt(1_500, photo(1))])
            .is_empty()
    );
    assert_eq!(
        rules(Network::Bluesky).check("hi", &no_thread(), &[long_alt(1_001, video(1, 1_000))]),
        vec!["the alt text of video 1 is 1,001 characters long; Bluesky allows 1,000"]
    );
}

#[test]
fn media_that_is_not_ready_is_named() {
    let processing = Asset {
        status: AssetStatus::Processing,
        ..photo(1_000)
    };
    let rejected = Asset {
        status: AssetStatus::Rejected,
        ..photo(1_000)
    };
    assert_eq!(
        rules(Network::Mastodon).check("hi", &no_thread(), &[processing, rejected]),
        vec![
            "photo 1 is still being processed; wait until it is ready",
            "photo 2 was rejected by the media library; choose another file",
        ]
    );
}

#[test]
fn instagram_takes_photos_from_4_5_to_1_91_1() {
    let sized = |w: u32, h: u32| Asset {
        width: Some(w),
        height: Some(h),
        ..photo(1_000)
    };
    let instagram = rules(Network::Instagram);
    assert!(
        instagram
            .check("hi", &no_thread(), &[sized(1080, 1350)])
            .is_empty()
    );
    assert!(
        instagram
            .check("hi", &no_thread(), &[sized(1910, 1000)])
            .is_empty()
    );
    assert_eq!(
        instagram.check("hi", &no_thread(), &[sized(1080, 1920)]),
        vec![
            "photo 1 (1080×1920) is too tall; Instagram takes photos from 4:5 portrait to 1.91:1 landscape"
        ]
    );
    assert_eq!(
        instagram
            .check("hi", &no_thread(), &[sized(2000, 1000)])
            .len(),
        1
    );
}

#[test]
fn every_problem_is_returned_not_just_the_first() {
    let heic = asset(MediaKind::Image, "image/heic", 1_000);
    let mut media = vec![photo(6 * MB), heic];
    media.extend(vec![photo(1_000); 3]);
    let problems = rules(Network::X).check(&"a".repeat(300), &["b".repeat(281)], &media);
    assert_eq!(problems.len(), 5, "{problems:#?}");
    assert!(problems[0].starts_with("the text is 300 characters long"));
    assert!(problems[1].starts_with("follow-up 1 is 281 characters long"));
    assert_eq!(
        problems[2],
        "the post has 5 photos; X takes at most 4 per post"
    );
    assert_eq!(
        problems[3],
        "photo 1 (6 MB) is over X's 5 MB limit per image"
    );
    assert_eq!(
        problems[4],
        "photo 2 is a HEIC image; X takes JPEG, PNG, GIF or WebP"
    );
}

// --- Mastodon instances ---

#[test]
fn a_mastodon_instance_replaces_the_defaults_it_reports() {
    // given a server with larger posts, costlier links and no WebM
    let rules = Rules::mastodon_instance(InstanceLimits {
        max_characters: Some(1_000),
        characters_reserved_per_url: Some(30),
        max_media_attachments: Some(6),
        supported_mime_types: Some(types(&[
            "image/jpeg",
            "image/png",
            "video/mp4",
            "audio/mpeg",
        ])),
        image_size_limit: Some(10 * MB),
        video_size_limit: Some(40 * MB),
        description_limit: Some(500),
    });
    // then its figures apply
    assert!(
        rules
            .check(&"a".repeat(1_000), &no_thread(), &[])
            .is_empty()
    );
    assert_eq!(rules.count("https://example.com"), 30);
    assert!(
        rules
            .check("hi", &no_thread(), &vec![photo(1_000); 6])
            .is_empty()
    );
    assert_eq!(
        rules.check("hi", &no_thread(), &vec![photo(1_000); 7]),
        vec!["the post has 7 photos; Mastodon takes at most 6 per post"]
    );
    let webm = Asset {
        content_type: "video/webm".into(),
        ..video(1_000, 1_000)
    };
    assert_eq!(
        rules.check("hi", &no_thread(), &[webm]),
        vec!["video 1 is a WebM video; Mastodon takes MP4 only"]
    );
    assert_eq!(
        rules.check("hi", &no_thread(), &[photo(12 * MB)]),
        vec!["photo 1 (12 MB) is over Mastodon's 10 MB limit per image"]
    );
    assert_eq!(rules.max_video_bytes, 40 * MB);
    assert_eq!(rules.max_alt_text, Some(500));
    // and a video is still one per post
    assert_eq!(rules.max_videos, 1);
}

#[test]
fn a_mastodon_instance_reporting_nothing_or_zeros_keeps_the_defaults() {
    let defaults = rules(Network::Mastodon);
    assert_eq!(
        Rules::mastodon_instance(InstanceLimits::default()),
        defaults
    );
    let zeros = Rules::mastodon_instance(InstanceLimits {
        max_characters: Some(0),
        max_media_attachments: Some(0),
        supported_mime_types: Some(Vec::new()),
        image_size_limit: Some(0),
        video_size_limit: Some(0),
        description_limit: Some(0),
        ..InstanceLimits::default()
    });
    assert_eq!(zeros, defaults);
}

// --- consistency and wording ---

#[test]
fn every_network_takes_a_short_text_post_but_instagram() {
    for network in Network::ALL {
        let r = rules(network);
        // where photos and videos mix, a total bounds them, and no kind exceeds it
        assert!(!r.mix_media || r.max_media.is_some(), "{network:?}");
        if let Some(total) = r.max_media {
            assert!(
                r.max_images <= total && r.max_videos <= total,
                "{network:?}"
            );
        }
        let problems = r.check("Buongiorno!", &no_thread(), &[]);
        if network == Network::Instagram {
            assert_eq!(problems.len(), 1);
        } else {
            assert!(problems.is_empty(), "{network:?}: {problems:?}");
        }
        assert!(
            r.check("Buongiorno!", &no_thread(), &[photo(1_000)])
                .is_empty(),
            "{network:?}"
        );
    }
}
