//! The brand's inbox rules: conditions on what arrives (keywords folded for case and
//! diacritics, a question, the author's tag, a competitor named) and actions (tag, assign,
//! priority, an event), run in their listed order on each new interaction. The first
//! assignment wins; tags and priority accumulate (the highest priority stays); each action
//! taken is recorded on the interaction.

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use super::error::{DomainError, Validation};
use super::inbox::{Interaction, MAX_TAGS, Priority};

/// What a rule looks for. All of a rule's conditions must hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RuleCondition {
    /// Any of these words or phrases, compared without case or accents.
    Keywords { any: Vec<String> },
    /// A sentence ending with a question mark.
    Question,
    /// The author's person record has this tag.
    AuthorTag { tag: String },
    /// The text names one of the brand's watched competitors (`@handle`).
    MentionsCompetitor,
}

/// What a rule does when it matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RuleAction {
    Tag {
        tag: String,
    },
    Assign {
        to: String,
    },
    Priority {
        priority: Priority,
    },
    /// Sends `interaction.rule_matched` to the brand's webhooks.
    Event,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InboxRule {
    pub name: String,
    pub when: Vec<RuleCondition>,
    pub then: Vec<RuleAction>,
}

/// At most this many rules per brand.
pub const MAX_RULES: usize = 50;

/// The brand's rules, in order, checked.
pub fn parse_rules(rules: Vec<InboxRule>) -> Result<Vec<InboxRule>, DomainError> {
    let mut v = Validation::new();
    if rules.len() > MAX_RULES {
        v.add("rules", format!("at most {MAX_RULES} rules"));
    }
    let mut clean = Vec::with_capacity(rules.len());
    for (i, mut rule) in rules.into_iter().enumerate() {
        let at = |f: &str| format!("rules.{i}.{f}");
        rule.name = rule.name.trim().to_owned();
        if rule.name.is_empty() || rule.name.chars().count() > 100 {
            v.add(at("name"), "must be 1 to 100 characters");
        }
        if rule.when.is_empty() {
            v.add(at("when"), "a rule needs at least one condition");
        }
        if rule.then.is_empty() {
            v.add(at("then"), "a rule needs at least one action");
        }
        for (j, c) in rule.when.iter_mut().enumerate() {
            match c {
                RuleCondition::Keywords { any } => {
                    any.retain(|k| !k.trim().is_empty());
                    if any.is_empty() || any.len() > 50 {
                        v.add(at(&format!("when.{j}.any")), "give 1 to 50 keywords");
                    }
                    if any.iter().any(|k| k.chars().count() > 100) {
                        v.add(
                            at(&format!("when.{j}.any")),
                            "a keyword is at most 100 characters",
                        );
                    }
                }
                RuleCondition::AuthorTag { tag } => {
                    *tag = tag.trim().to_lowercase();
                    if tag.is_empty() || tag.chars().count() > 40 {
                        v.add(at(&format!("when.{j}.tag")), "must be 1 to 40 characters");
                    }
                }
                RuleCondition::Question | RuleCondition::MentionsCompetitor => {}
            }
        }
        for (j, a) in rule.then.iter_mut().enumerate() {
            match a {
                RuleAction::Tag { tag } => {
                    *tag = tag.trim().to_lowercase();
                    if tag.is_empty() || tag.chars().count() > 40 {
                        v.add(at(&format!("then.{j}.tag")), "must be 1 to 40 characters");
                    }
                }
                RuleAction::Assign { to } => {
                    *to = to.trim().to_owned();
                    if to.is_empty() || to.chars().count() > 200 {
                        v.add(at(&format!("then.{j}.to")), "must be 1 to 200 characters");
                    }
                }
                RuleAction::Priority { .. } | RuleAction::Event => {}
            }
        }
        clean.push(rule);
    }
    v.finish()?;
    Ok(clean)
}

/// `text` without case or accents, for comparing keywords ("Café" and "cafe" match).
pub fn fold(text: &str) -> String {
    text.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether `keyword` occurs in `folded_text` as whole words.
fn has_phrase(folded_text: &str, keyword: &str) -> bool {
    let keyword = fold(keyword.trim());
    folded_text.match_indices(&keyword).any(|(at, _)| {
        let before = folded_text[..at].chars().next_back();
        let after = folded_text[at + keyword.len()..].chars().next();
        before.is_none_or(|c| !c.is_alphanumeric()) && after.is_none_or(|c| !c.is_alphanumeric())
    })
}

/// Whether a sentence of `text` ends with a question mark (`?`, or the full-width and Arabic
/// ones), not one inside a link.
pub fn asks(text: &str) -> bool {
    text.split_whitespace()
        .filter(|w| !w.contains("://"))
        .any(|w| {
            w.trim_end_matches(['"', '\'', ')', '»', '”'])
                .ends_with(['?', '？', '؟'])
        })
}

/// What the rules know besides the interaction.
#[derive(Debug, Clone, Copy, Default)]
pub struct RuleFacts<'a> {
    /// The tags of the author's person record.
    pub author_tags: &'a [String],
    /// The handles of the brand's watched competitors.
    pub competitor_handles: &'a [String],
}

fn holds(c: &RuleCondition, folded: &str, i: &Interaction, facts: RuleFacts<'_>) -> bool {
    match c {
        RuleCondition::Keywords { any } => any.iter().any(|k| has_phrase(folded, k)),
        RuleCondition::Question => asks(&i.text),
        RuleCondition::AuthorTag { tag } => facts.author_tags.iter().any(|t| t == tag),
        RuleCondition::MentionsCompetitor => facts.competitor_handles.iter().any(|h| {
            let h = h.trim_start_matches('@');
            // Mastodon handles are user@server: people write @user or @user@server.
            let short = h.split('@').next().unwrap_or(h);
            has_phrase(folded, &format!("@{h}")) || has_phrase(folded, &format!("@{short}"))
        }),
    }
}

/// Runs `rules` in order on a new interaction; returns the names of the rules whose action is
/// an event.
pub fn apply(rules: &[InboxRule], i: &mut Interaction, facts: RuleFacts<'_>) -> Vec<String> {
    let folded = fold(&i.text);
    let mut events = Vec::new();
    for rule in rules {
        if !rule.when.iter().all(|c| holds(c, &folded, i, facts)) {
            continue;
        }
        for action in &rule.then {
            let done = match action {
                RuleAction::Tag { tag } => {
                    if i.tags.contains(tag) || i.tags.len() >= MAX_TAGS {
                        continue;
                    }
                    i.tags.push(tag.clone());
                    format!("tag {tag}")
                }
                RuleAction::Assign { to } => {
                    if i.assignee.is_some() {
                        continue;
                    }
                    i.assignee = Some(to.clone());
                    format!("assign {to}")
                }
                RuleAction::Priority { priority } => {
                    if rank(*priority) <= rank(i.priority) {
                        continue;
                    }
                    i.priority = *priority;
                    format!("priority {}", priority_name(*priority))
                }
                RuleAction::Event => {
                    events.push(rule.name.clone());
                    "event".to_owned()
                }
            };
            i.rule_actions.push(format!("{}: {done}", rule.name));
        }
    }
    events
}

fn rank(p: Priority) -> u8 {
    match p {
        Priority::Low => 0,
        Priority::Normal => 1,
        Priority::High => 2,
        Priority::Urgent => 3,
    }
}

fn priority_name(p: Priority) -> &'static str {
    match p {
        Priority::Low => "low",
        Priority::Normal => "normal",
        Priority::High => "high",
        Priority::Urgent => "urgent",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::channel::Network;
    use crate::domain::ids::ChannelId;
    use crate::domain::inbox::{Author, Incoming, InteractionKind, ReplyTarget};

    fn said(text: &str) -> Interaction {
        Interaction::received(
            Incoming {
                external_id: "1".into(),
                kind: InteractionKind::Reply,
                permalink: None,
                parent: None,
                root: None,
                author: Author {
                    id: "p".into(),
                    handle: "ada".into(),
                    name: "Ada".into(),
                    followers: None,
                },
                text: text.into(),
                raw: serde_json::Value::Null,
                target: ReplyTarget {
                    id: "1".into(),
                    cid: None,
                    root_id: None,
                    root_cid: None,
                    visibility: None,
                    chat: None,
                },
                created_at: "2027-03-01T10:00:00Z".parse().unwrap(),
            },
            ChannelId::new(),
            Network::Mastodon,
            None,
            "2027-03-01T10:00:00Z".parse().unwrap(),
        )
    }

    fn rule(name: &str, when: Vec<RuleCondition>, then: Vec<RuleAction>) -> InboxRule {
        InboxRule {
            name: name.into(),
            when,
            then,
        }
    }

    #[test]
    fn keywords_match_whole_words_without_case_or_accents() {
        let f = fold("Le CAFÉ était froid; Crème brûlée!");
        assert!(has_phrase(&f, "cafe"));
        assert!(has_phrase(&f, "creme brulee"));
        assert!(!has_phrase(&f, "caf"));
        assert!(asks("Is it vegan? Thanks"));
        assert!(asks("¿Dónde está?"));
        assert!(!asks("see https://shop.example/?id=1"));
        assert!(!asks("Lovely."));
    }

    #[test]
    fn rules_run_in_order_first_assignment_wins_tags_and_priority_accumulate() {
        let rules = vec![
            rule(
                "complaints",
                vec![RuleCondition::Keywords {
                    any: vec!["refund".into(), "broken".into()],
                }],
                vec![
                    RuleAction::Tag {
                        tag: "complaint".into(),
                    },
                    RuleAction::Assign { to: "care".into() },
                    RuleAction::Priority {
                        priority: Priority::High,
                    },
                ],
            ),
            rule(
                "questions",
                vec![RuleCondition::Question],
                vec![
                    RuleAction::Tag {
                        tag: "question".into(),
                    },
                    RuleAction::Assign { to: "sales".into() },
                    RuleAction::Priority {
                        priority: Priority::Low,
                    },
                    RuleAction::Event,
                ],
            ),
            rule(
                "vip",
                vec![RuleCondition::AuthorTag { tag: "vip".into() }],
                vec![RuleAction::Priority {
                    priority: Priority::Urgent,
                }],
            ),
        ];
        let rules = parse_rules(rules).unwrap();
        let mut i = said("My order arrived BROKEN, can I get a refund?");
        let events = apply(&rules, &mut i, RuleFacts::default());
        assert_eq!(i.tags, ["complaint", "question"]);
        assert_eq!(i.assignee.as_deref(), Some("care"));
        assert_eq!(i.priority, Priority::High);
        assert_eq!(events, ["questions"]);
        assert_eq!(
            i.rule_actions,
            [
                "complaints: tag complaint",
                "complaints: assign care",
                "complaints: priority high",
                "questions: tag question",
                "questions: event"
            ]
        );
        let tags = ["vip".to_owned()];
        let mut j = said("hello");
        apply(
            &rules,
            &mut j,
            RuleFacts {
                author_tags: &tags,
                competitor_handles: &[],
            },
        );
        assert_eq!(j.priority, Priority::Urgent);
    }

    #[test]
    fn a_competitor_named_by_its_handle_matches() {
        let rules = parse_rules(vec![rule(
            "competitor",
            vec![RuleCondition::MentionsCompetitor],
            vec![RuleAction::Tag { tag: "vs".into() }],
        )])
        .unwrap();
        let handles = ["rival@social.example".to_owned()];
        let facts = RuleFacts {
            author_tags: &[],
            competitor_handles: &handles,
        };
        let mut i = said("better than @Rival honestly");
        apply(&rules, &mut i, facts);
        assert_eq!(i.tags, ["vs"]);
        let mut j = said("better than @rivalry");
        apply(&rules, &mut j, facts);
        assert!(j.tags.is_empty());
    }

    #[test]
    fn bad_rules_are_refused_with_their_place() {
        let err = parse_rules(vec![rule("", vec![], vec![])]).unwrap_err();
        let DomainError::Invalid(errors) = err else {
            panic!()
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["rules.0.name", "rules.0.when", "rules.0.then"]);
    }
}
