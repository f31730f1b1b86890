//! Counting text the networks' ways, and finding the links they count.

use crate::domain::Network;
use crate::domain::preflight::Rules;

use super::*;

const FAMILY: &str = "👩\u{200D}👩\u{200D}👧\u{200D}👦";

fn rules(network: Network) -> Rules {
    Rules::for_network(network)
}

fn no_thread() -> Vec<String> {
    Vec::new()
}

#[test]
fn bluesky_counts_a_family_emoji_as_one() {
    // given a ZWJ family emoji of seven code points
    assert_eq!(FAMILY.chars().count(), 7);
    // when Bluesky counts it, then it is one grapheme
    assert_eq!(rules(Network::Bluesky).count(FAMILY), 1);
}

#[test]
fn bluesky_takes_300_family_emoji_and_refuses_301() {
    let bluesky = rules(Network::Bluesky);
    // given exactly 300 graphemes, when checked, then no problem
    assert_eq!(
        bluesky.check(&FAMILY.repeat(300), &no_thread(), &[]),
        Vec::<String>::new()
    );
    // given 301, then the count and the limit are said
    assert_eq!(
        bluesky.check(&FAMILY.repeat(301), &no_thread(), &[]),
        vec!["the text is 301 characters long; Bluesky allows 300"]
    );
}

#[test]
fn mastodon_counts_any_link_as_23() {
    let mastodon = rules(Network::Mastodon);
    // given a 200-character link
    let url = format!("https://example.com/{}", "a".repeat(180));
    assert_eq!(url.chars().count(), 200);
    // when counted alone and inside a sentence, then it weighs 23
    assert_eq!(mastodon.count(&url), 23);
    assert_eq!(mastodon.count(&format!("see {url} now")), 4 + 23 + 4);
    // and a short http link weighs 23 too
    assert_eq!(mastodon.count("http://a.co"), 23);
}

#[test]
fn mastodon_counts_a_mention_by_its_local_part() {
    let mastodon = rules(Network::Mastodon);
    // given a remote mention, then only "@alice" counts
    assert_eq!(
        mastodon.count("@alice@example.social hi"),
        "@alice hi".len()
    );
    // given a local mention, then all of it counts
    assert_eq!(mastodon.count("@alice hi"), 9);
    // given an e-mail address, then it is no mention and counts in full
    assert_eq!(mastodon.count("me@example.social"), 17);
}

#[test]
fn mastodon_counts_graphemes_and_leaves_sentence_punctuation_out_of_links() {
    let mastodon = rules(Network::Mastodon);
    assert_eq!(mastodon.count(FAMILY), 1);
    // the full stop ends the sentence, not the link
    assert_eq!(mastodon.count("https://example.com/a."), 24);
    // balanced parentheses belong to the link; the closing one of the sentence does not
    assert_eq!(
        mastodon.count("https://en.wikipedia.org/wiki/Rust_(language)"),
        23
    );
    assert_eq!(mastodon.count("(https://example.com/a)"), 25);
    // a scheme with no real host is plain text
    assert_eq!(mastodon.count("https://"), 8);
}

#[test]
fn x_takes_280_latin_characters_and_refuses_281() {
    let x = rules(Network::X);
    assert_eq!(x.count(&"a".repeat(280)), 280);
    assert!(x.check(&"é".repeat(280), &no_thread(), &[]).is_empty());
    assert_eq!(
        x.check(&"a".repeat(281), &no_thread(), &[]),
        vec![
            "the text is 281 characters long as X counts them (each link counts 23, emoji and \
             CJK characters 2); X allows 280"
        ]
    );
}

#[test]
fn x_counts_141_cjk_characters_as_282() {
    let x = rules(Network::X);
    let text = "漢".repeat(141);
    assert_eq!(x.count(&text), 282);
    assert_eq!(
        x.check(&"漢".repeat(140), &no_thread(), &[]),
        Vec::<String>::new()
    );
    let problems = x.check(&text, &no_thread(), &[]);
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].starts_with("the text is 282 characters long"),
        "{problems:?}"
    );
}

#[test]
fn x_counts_an_emoji_as_2_however_many_code_points() {
    let x = rules(Network::X);
    assert_eq!(x.count("😀"), 2);
    assert_eq!(x.count(FAMILY), 2);
    assert_eq!(x.count("👍🏽"), 2);
    assert_eq!(x.count("🇮🇹"), 2);
    assert_eq!(x.count("1\u{FE0F}\u{20E3}"), 2);
    assert_eq!(x.count("❤\u{FE0F}"), 2);
    // a plain digit stays 1
    assert_eq!(x.count("1"), 1);
}

#[test]
fn x_counts_any_link_as_23() {
    let x = rules(Network::X);
    let url = format!("https://example.com/{}", "b".repeat(100));
    assert_eq!(x.count(&url), 23);
    assert_eq!(x.count(&format!("a {url}")), 25);
    assert_eq!(x.count("https://a.co https://b.co"), 23 + 1 + 23);
}

#[test]
fn x_normalizes_to_nfc_before_counting() {
    // given e followed by a combining acute accent (two code points)
    let decomposed = "e\u{0301}";
    assert_eq!(decomposed.chars().count(), 2);
    // then X counts the composed é: 1
    assert_eq!(rules(Network::X).count(decomposed), 1);
}

#[test]
fn threads_counts_an_emoji_by_its_utf8_bytes() {
    let threads = rules(Network::Threads);
    assert_eq!(threads.count("😀"), 4);
    assert_eq!(threads.count("ciao"), 4);
    assert!(
        threads
            .check(&"a".repeat(500), &no_thread(), &[])
            .is_empty()
    );
    let over = format!("{}😀", "a".repeat(497));
    assert_eq!(over.chars().count(), 498);
    let problems = threads.check(&over, &no_thread(), &[]);
    assert_eq!(problems.len(), 1);
    assert!(problems[0].starts_with("the text is 501 characters long as Threads counts them"));
}

// --- text rules ---

#[test]
fn link_finding_ignores_glued_schemes_and_odd_input() {
    assert!(find_urls("xhttps://example.com").is_empty());
    assert!(find_urls("https://localhost/x").is_empty());
    assert_eq!(find_urls("HTTPS://Example.COM:8080/x?y=1#z!").len(), 1);
    assert_eq!(find_urls("é https://example.com/ü, ok"), vec![3..25]);
    // nothing panics on fragments of schemes or lone separators
    for text in [
        "http",
        "https:/",
        "http://.",
        "http://a.",
        "http://-.b",
        "@",
        "@@a@",
        "#",
    ] {
        let _ = rules(Network::Mastodon).count(text);
        let _ = rules(Network::X).count(text);
    }
}

/// The links `find_urls` finds in `text`, as text.
fn links(text: &str) -> Vec<&str> {
    find_urls(text).into_iter().map(|r| &text[r]).collect()
}

#[test]
fn a_link_keeps_its_balanced_parentheses_and_leaves_the_rest_to_the_sentence() {
    let cases = [
        // nested and balanced: all of it
        (
            "https://example.com/a_(b_(c))",
            "https://example.com/a_(b_(c))",
        ),
        // one closing too many: that one is the sentence's
        (
            "https://example.com/a_(b_(c))).",
            "https://example.com/a_(b_(c))",
        ),
        (
            "(see https://example.com/a_(b))",
            "https://example.com/a_(b)",
        ),
        ("https://example.com/((a))))", "https://example.com/((a))"),
        (
            "https://en.wikipedia.org/wiki/Rust_(language)).",
            "https://en.wikipedia.org/wiki/Rust_(language)",
        ),
        // punctuation between closing parentheses: counted against what is left
        ("https://example.com/a).)", "https://example.com/a"),
        ("https://example.com/(a).)", "https://example.com/(a)"),
        ("https://example.com/(a.))", "https://example.com/(a.)"),
        // an opening parenthesis at the end is trimmed, then no longer balances a closing one
        ("https://example.com/)(", "https://example.com/"),
        ("https://example.com/x)(", "https://example.com/x"),
        ("https://example.com/(x)(", "https://example.com/(x)"),
        ("https://example.com/a(b)c)", "https://example.com/a(b)c"),
        ("https://example.com/a(b(c)", "https://example.com/a(b(c)"),
        // a closing parenthesis is balanced by one anywhere after the host, query included
        (
            "https://example.com/?q=(x&y=z)",
            "https://example.com/?q=(x&y=z)",
        ),
        ("https://example.com/(?q=x)", "https://example.com/(?q=x)"),
        ("https://example.com/a?q=)", "https://example.com/a?q="),
    ];
    for (text, link) in cases {
        assert_eq!(links(text), vec![link], "{text}");
    }
}

#[test]
fn a_link_leaves_trailing_punctuation_to_the_sentence() {
    let cases = [
        ("https://example.com/a.", "https://example.com/a"),
        ("https://example.com/a...", "https://example.com/a"),
        ("https://example.com/a?!", "https://example.com/a"),
        ("https://example.com/?q=x!?", "https://example.com/?q=x"),
        ("https://example.com/a,;:'*~%$", "https://example.com/a"),
        ("https://example.com/a\u{2026}", "https://example.com/a"),
        ("https://example.com/a\u{1F600}", "https://example.com/a"),
        (
            "https://example.com/caff\u{E8}.",
            "https://example.com/caff\u{E8}",
        ),
        // characters that can end a link stay
        ("https://example.com/", "https://example.com/"),
        ("https://example.com/)", "https://example.com/"),
        ("https://example.com/a=", "https://example.com/a="),
        ("https://example.com/a_", "https://example.com/a_"),
        ("https://example.com/a#", "https://example.com/a#"),
        ("https://example.com/a+", "https://example.com/a+"),
        ("https://example.com/a-", "https://example.com/a-"),
        ("https://example.com/a&", "https://example.com/a&"),
        // the path stops at a space, angle brackets, quotes and CJK or full-width punctuation
        ("https://example.com/a b", "https://example.com/a"),
        ("<https://example.com/a>", "https://example.com/a"),
        ("\"https://example.com/a\"", "https://example.com/a"),
        ("https://example.com/a\u{3002}b", "https://example.com/a"),
        ("https://example.com/a\u{FF01}", "https://example.com/a"),
        // only punctuation after the slash: the slash stays
        ("https://example.com/.,;!?)", "https://example.com/"),
    ];
    for (text, link) in cases {
        assert_eq!(links(text), vec![link], "{text}");
    }
}

#[test]
fn a_link_at_the_end_of_the_text_ends_at_its_host_or_port() {
    let cases = [
        ("see https://example.com", "https://example.com"),
        ("see https://example.com.", "https://example.com"),
        ("see https://example.com-.", "https://example.com"),
        ("see https://example.com:8080", "https://example.com:8080"),
        ("see https://example.com:8080.", "https://example.com:8080"),
        ("see https://example.com:", "https://example.com"),
        ("see https://example.com:x/", "https://example.com"),
        ("see https://example.com!", "https://example.com"),
        ("see https://example.com)", "https://example.com"),
    ];
    for (text, link) in cases {
        assert_eq!(links(text), vec![link], "{text}");
    }
}

#[test]
fn links_in_a_row_and_after_trimmed_punctuation_are_each_found() {
    assert_eq!(
        links("https://a.co/x). (https://b.co/y_(z)), http://c.co"),
        vec!["https://a.co/x", "https://b.co/y_(z)", "http://c.co"]
    );
    // a scheme inside a path is part of that link
    assert_eq!(
        links("https://a.co/r?u=https://b.co/x)"),
        vec!["https://a.co/r?u=https://b.co/x"]
    );
    // with no space between them, a second link is the path of the first
    assert_eq!(
        links("https://a.co/x)https://b.co/y"),
        vec!["https://a.co/x)https://b.co/y"]
    );
    assert_eq!(
        links("https://a.co/x.(https://b.co/y"),
        vec!["https://a.co/x.(https://b.co/y"]
    );
    // a host runs until a character no host has
    assert_eq!(
        links("https://a.co.https://b.co"),
        vec!["https://a.co.https"]
    );
}

/// The trimming as it was before it was made linear: every parenthesis recounted at each
/// step. Kept as the reference the linear one must agree with.
fn trim_link_end_by_recounting(text: &str, host_start: usize, path_start: usize) -> usize {
    let mut url = text;
    while url.len() > path_start {
        let Some(last) = url.chars().next_back() else {
            break;
        };
        let balanced_paren = last == ')'
            && url[host_start..].matches('(').count() >= url[host_start..].matches(')').count();
        if last.is_alphanumeric()
            || matches!(last, '/' | '=' | '_' | '#' | '+' | '-' | '&')
            || balanced_paren
        {
            break;
        }
        url = &url[..url.len() - last.len_utf8()];
    }
    url.len()
}

mod trimming_matches_the_recounting_reference {
    use proptest::prelude::*;

    use super::*;

    /// Paths made of what the trimming tells apart: parentheses, characters that end a link,
    /// sentence punctuation, and multi-byte letters and symbols.
    fn path() -> impl Strategy<Value = String> {
        let piece = prop::sample::select(vec![
            "(",
            ")",
            "((",
            "))",
            ".",
            ",",
            "!",
            "?",
            ";",
            ":",
            "'",
            "*",
            "a",
            "Z",
            "9",
            "/",
            "=",
            "_",
            "#",
            "+",
            "-",
            "&",
            "\u{E8}",
            "\u{2026}",
            "\u{1F600}",
            "~",
            "%",
        ]);
        proptest::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn on_random_paths(path in path(), port in any::<bool>()) {
            let head = if port { "https://a.co:8080/" } else { "https://a.co/" };
            let url = format!("{head}{path}");
            let path_start = head.len() - 1;
            prop_assert_eq!(
                trim_link_end(&url, 8, path_start),
                trim_link_end_by_recounting(&url, 8, path_start),
                "{}", url
            );
            // and through the whole link finder, inside a sentence
            let text = format!("({url}). {url}");
            let found: Vec<&str> = find_urls(&text).into_iter().map(|r| &text[r]).collect();
            let expected = &url[..trim_link_end_by_recounting(&url, 8, path_start)];
            prop_assert!(found.len() == 2 && found[1] == expected, "{text}: {found:?}");
        }
    }
}

#[test]
fn long_runs_of_punctuation_after_a_link_are_trimmed_to_the_same_link() {
    // the shapes the preflight benchmark times, at a size a test runs in a moment
    let tail = ")".repeat(3_000);
    let text = format!("http://a.co/x{tail}");
    assert_eq!(links(&text), vec!["http://a.co/x"]);
    let text = format!("http://a.co/{}{}", "(".repeat(1_000), ")".repeat(2_000));
    assert_eq!(
        links(&text),
        vec![format!(
            "http://a.co/{}{}",
            "(".repeat(1_000),
            ")".repeat(1_000)
        )]
    );
    let text = format!("http://a.co/x{}", ").".repeat(1_500));
    assert_eq!(links(&text), vec!["http://a.co/x"]);
    let text = format!("http://a.co/({}", ".)".repeat(1_500));
    assert_eq!(links(&text), vec!["http://a.co/(.)"]);
    let mastodon = rules(Network::Mastodon);
    assert_eq!(mastodon.count(&format!("http://a.co/x{tail}")), 23 + 3_000);
    assert_eq!(
        rules(Network::X).count(&format!("http://a.co/x{tail}")),
        23 + 3_000
    );
}
