//! The Telegram connector against its loopback fake Bot API: messages, photos, videos, albums and
//! threads; every refusal typed and in plain words; the bot token never in an error message.

use std::time::Duration;

use axum::http::Method;
use jiff::{SignedDuration, Timestamp};
use palinsesto::domain::{MediaKind, Network};
use palinsesto::networks::telegram::TelegramConnector;
use palinsesto::networks::{Outgoing, Publish, PublishError, ReadBack, ReadMetrics};
use palinsesto_system_tests::accounts::{TestAccount, impatient_http, outbound, outgoing};
use palinsesto_system_tests::fakes::Fault;
use palinsesto_system_tests::fakes::telegram::{
    BotAccess, FakeTelegram, PRIVATE_CHANNEL, PUBLIC_CHANNEL, PUBLIC_CHANNEL_ID, TOKEN,
};
use serde_json::json;

async fn given_a_channel(chat: &str) -> (FakeTelegram, TestAccount) {
    let fake = FakeTelegram::start().await;
    let account = TestAccount::new(
        Network::Telegram,
        FakeTelegram::settings(chat),
        FakeTelegram::credentials(),
    )
    .await;
    (fake, account)
}

fn connector(fake: &FakeTelegram) -> TelegramConnector {
    TelegramConnector::new(outbound(), fake.base())
}

fn photo(account: &TestAccount, alt: Option<&str>) -> palinsesto::domain::Asset {
    account
        .media
        .add(MediaKind::Image, "image/jpeg", vec![0xFF; 3000], alt)
}

fn video(account: &TestAccount) -> palinsesto::domain::Asset {
    account
        .media
        .add(MediaKind::Video, "video/mp4", vec![0; 5000], None)
}

fn assert_no_token(e: &PublishError) {
    let message = e.to_string();
    assert!(!message.contains(TOKEN), "the token leaked: {message}");
    assert!(
        !message.contains("AAH-test-token"),
        "the token leaked: {message}"
    );
    assert!(!format!("{e:?}").contains(TOKEN), "the token leaked: {e:?}");
}

#[tokio::test]
async fn sends_a_text_message_to_a_public_channel_with_its_link() {
    let (fake, account) = given_a_channel(PUBLIC_CHANNEL).await;

    let published = connector(&fake)
        .publish(&account.context(), &outgoing("Buongiorno, canale!"))
        .await
        .unwrap();

    let messages = fake.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].kind, "text");
    assert_eq!(messages[0].chat_id, PUBLIC_CHANNEL_ID);
    assert_eq!(messages[0].text.as_deref(), Some("Buongiorno, canale!"));
    assert_eq!(published.remote_id, messages[0].message_id.to_string());
    assert_eq!(
        published.url,
        Some(format!(
            "https://t.me/palinsesto_test/{}",
            messages[0].message_id
        ))
    );
}

#[tokio::test]
async fn a_private_channel_known_by_its_id_has_no_public_link() {
    let (fake, account) = given_a_channel(PRIVATE_CHANNEL).await;

    let published = connector(&fake)
        .publish(&account.context(), &outgoing("Solo per gli iscritti"))
        .await
        .unwrap();

    assert_eq!(fake.count_messages_with_text("Solo per gli iscritti"), 1);
    assert_eq!(published.url, None);
}

#[tokio::test]
async fn a_chat_id_stored_as_a_number_works_too() {
    let fake = FakeTelegram::start().await;
    let account = TestAccount::new(
        Network::Telegram,
        json!({"chat_id": PRIVATE_CHANNEL.parse::<i64>().unwrap()}),
        FakeTelegram::credentials(),
    )
    .await;

    connector(&fake)
        .publish(&account.context(), &outgoing("Numerico"))
        .await
        .unwrap();

    assert_eq!(fake.count_messages_with_text("Numerico"), 1);
}

#[tokio::test]
async fn sends_one_photo_with_the_text_as_its_caption() {
    let (fake, account) = given_a_channel(PUBLIC_CHANNEL).await;
    let post = Outgoing {
        media: vec![photo(&account, Some("Un cornetto"))],
        ..outgoing("Colazione pronta")
    };

    let published = connector(&fake)
        .publish(&account.context(), &post)
        .await
        .unwrap();

    assert_eq!(fake.requests("sendPhoto"), 1);
    let messages = fake.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].kind, "photo");
    assert_eq!(messages[0].text.as_deref(), Some("Colazione pronta"));
    assert_eq!(messages[0].file_size, 3000);
    assert_eq!(published.remote_id, messages[0].message_id.to_string());
}

#[tokio::test]
async fn sends_one_video() {
    let (fake, account) = given_a_channel(PUBLIC_CHANNEL).await;
    let post = Outgoing {
        media: vec![video(&account)],
        ..outgoing("Il nuovo spot")
    };

    connector(&fake)
        .publish(&account.context(), &post)
        .await
        .unwrap();

    assert_eq!(fake.requests("sendVideo"), 1);
    let messages = fake.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].kind, "video");
    assert_eq!(messages[0].file_size, 5000);
    assert!(messages[0].file_name.as_deref().unwrap().ends_with(".mp4"));
}

#[tokio::test]
async fn sends_several_media_as_one_album_with_the_caption_on_the_first() {
    let (fake, account) = given_a_channel(PUBLIC_CHANNEL).await;
    let post = Outgoing {
        media: vec![
            photo(&account, None),
            video(&account),
            photo(&account, None),
        ],
        ..outgoing("La settimana in tre scatti")
    };

    let published = connector(&fake)
        .publish(&account.context(), &post)
        .await
        .unwrap();

    assert_eq!(fake.requests("sendMediaGroup"), 1);
    let messages = fake.messages();
    assert_eq!(messages.len(), 3);
    let kinds: Vec<_> = messages.iter().map(|m| m.kind.as_str()).collect();
    assert_eq!(kinds, ["photo", "video", "photo"]);
    assert!(messages[0].media_group_id.is_some());
    assert!(
        messages
            .iter()
            .all(|m| m.media_group_id == messages[0].media_group_id)
    );
    assert_eq!(
        messages[0].text.as_deref(),
        Some("La settimana in tre scatti")
    );
    assert_eq!(messages[1].text, None);
    assert_eq!(published.remote_id, messages[0].message_id.to_string());
}

#[tokio::test]
async fn sends_a_thread_as_a_chain_of_replies() {
    let (fake, account) = given_a_channel(PUBLIC_CHANNEL).await;
    let post = Outgoing {
        thread: vec!["Seconda parte".into(), "Terza parte".into()],
        ..outgoing("Prima parte")
    };

    let published = connector(&fake)
        .publish(&account.context(), &post)
        .await
        .unwrap();

    let messages = fake.messages();
    assert_eq!(messages.len(), 3);
    assert_eq!(messages[0].message_id.to_string(), published.remote_id);
    assert_eq!(messages[1].reply_to, Some(messages[0].message_id));
    assert_eq!(messages[2].reply_to, Some(messages[1].message_id));
    assert_eq!(messages[2].text.as_deref(), Some("Terza parte"));
    assert!(published.notes.is_empty());
}

#[tokio::test]
async fn a_refused_follow_up_becomes_a_note() {
    let (fake, account) = given_a_channel(PUBLIC_CHANNEL).await;
    let post = Outgoing {
        thread: vec!["x".repeat(5000), "Dopo".into()],
        ..outgoing("Il post")
    };

    let published = connector(&fake)
        .publish(&account.context(), &post)
        .await
        .unwrap();

    assert_eq!(fake.messages().len(), 1);
    let notes = published.notes.join(" | ");
    assert!(notes.contains("follow-up 1 of 2 was not sent"), "{notes}");
    assert!(notes.contains("message is too long"), "{notes}");
}

#[tokio::test]
async fn flood_control_is_rate_limited_for_telegrams_retry_after() {
    let (fake, account) = given_a_channel(PUBLIC_CHANNEL).await;
    fake.flood_wait(35);
    let before = Timestamp::now();

    let err = connector(&fake)
        .publish(&account.context(), &outgoing("Piano piano"))
        .await
        .unwrap_err();

    let PublishError::RateLimited { retry_at, message } = &err else {
        panic!("expected RateLimited, got {err:?}");
    };
    let wait = retry_at.expect("retry_after").duration_since(before);
    assert!(
        wait >= SignedDuration::from_secs(35) && wait < SignedDuration::from_secs(40),
        "{wait:?}"
    );
    assert!(
        message.contains("Too Many Requests: retry after 35"),
        "{message}"
    );
    assert!(fake.messages().is_empty());
}

#[tokio::test]
async fn an_unknown_bot_token_is_auth_expired_and_never_shown() {
    let fake = FakeTelegram::start().await;
    let wrong = "7000000001:AAH-wrong-token-also-secret";
    let account = TestAccount::new(
        Network::Telegram,
        FakeTelegram::settings(PUBLIC_CHANNEL),
        json!({"bot_token": wrong}),
    )
    .await;

    let err = connector(&fake)
        .publish(&account.context(), &outgoing("Chi sono?"))
        .await
        .unwrap_err();

    assert!(matches!(err, PublishError::AuthExpired(_)), "{err:?}");
    assert!(err.to_string().contains("Unauthorized"), "{err}");
    assert!(!err.to_string().contains(wrong), "{err}");
    assert!(fake.messages().is_empty());
}

#[tokio::test]
async fn a_bot_removed_from_the_channel_is_auth_expired() {
    let (fake, account) = given_a_channel(PUBLIC_CHANNEL).await;
    fake.set_bot_access(PUBLIC_CHANNEL, BotAccess::Removed);

    let err = connector(&fake)
        .publish(&account.context(), &outgoing("Ci sei?"))
        .await
        .unwrap_err();

    assert!(matches!(err, PublishError::AuthExpired(_)), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("bot is not a member"), "{message}");
    assert!(message.contains("administrator"), "{message}");
}

#[tokio::test]
async fn a_bot_that_is_not_an_admin_is_auth_expired() {
    let (fake, account) = given_a_channel(PUBLIC_CHANNEL).await;
    fake.set_bot_access(PUBLIC_CHANNEL, BotAccess::Member);

    let err = connector(&fake)
        .publish(&account.context(), &outgoing("Posso?"))
        .await
        .unwrap_err();

    assert!(matches!(err, PublishError::AuthExpired(_)), "{err:?}");
    assert!(
        err.to_string().contains("need administrator rights"),
        "{err}"
    );
}

#[tokio::test]
async fn an_unknown_chat_is_misconfigured() {
    let (fake, account) = given_a_channel("@nobody_here").await;

    let err = connector(&fake)
        .publish(&account.context(), &outgoing("Dove?"))
        .await
        .unwrap_err();

    assert!(matches!(err, PublishError::Misconfigured(_)), "{err:?}");
    assert!(err.to_string().contains("settings.chat_id"), "{err}");
}

#[tokio::test]
async fn a_too_long_caption_is_invalid_content() {
    let (fake, account) = given_a_channel(PUBLIC_CHANNEL).await;
    let post = Outgoing {
        media: vec![photo(&account, None)],
        ..outgoing(&"parola ".repeat(200))
    };

    let err = connector(&fake)
        .publish(&account.context(), &post)
        .await
        .unwrap_err();

    assert!(matches!(err, PublishError::InvalidContent(_)), "{err:?}");
    assert!(err.to_string().contains("caption is too long"), "{err}");
}

#[tokio::test]
async fn a_file_telegram_cannot_use_is_invalid_media() {
    let (fake, account) = given_a_channel(PUBLIC_CHANNEL).await;
    let not_a_photo = account
        .media
        .add(MediaKind::Image, "application/pdf", vec![1; 100], None);
    let post = Outgoing {
        media: vec![not_a_photo],
        ..outgoing("Volantino")
    };

    let err = connector(&fake)
        .publish(&account.context(), &post)
        .await
        .unwrap_err();

    assert!(matches!(err, PublishError::InvalidMedia(_)), "{err:?}");
    assert!(err.to_string().contains("IMAGE_PROCESS_FAILED"), "{err}");
}

#[tokio::test]
async fn a_server_error_is_transient() {
    let (fake, account) = given_a_channel(PUBLIC_CHANNEL).await;
    fake.faults().inject(
        Method::POST,
        &FakeTelegram::path("sendMessage"),
        1,
        Fault::status(
            500,
            r#"{"ok":false,"error_code":500,"description":"Internal Server Error"}"#,
        ),
    );

    let err = connector(&fake)
        .publish(&account.context(), &outgoing("Riprova"))
        .await
        .unwrap_err();

    assert!(matches!(err, PublishError::Transient(_)), "{err:?}");
    assert!(err.to_string().contains("Internal Server Error"), "{err}");
    assert!(fake.messages().is_empty());
}

#[tokio::test]
async fn a_connection_dropped_after_the_message_was_sent_is_unknown_and_hides_the_token() {
    let (fake, account) = given_a_channel(PUBLIC_CHANNEL).await;
    fake.faults().inject(
        Method::POST,
        &FakeTelegram::path("sendMessage"),
        1,
        Fault::DropAfterReceive,
    );

    let err = connector(&fake)
        .publish(&account.context(), &outgoing("Arrivato?"))
        .await
        .unwrap_err();

    assert!(matches!(err, PublishError::UnknownOutcome(_)), "{err:?}");
    assert_eq!(
        fake.count_messages_with_text("Arrivato?"),
        1,
        "the fake sent it"
    );
    assert_no_token(&err);
}

#[tokio::test]
async fn a_late_answer_is_unknown_and_hides_the_token() {
    let (fake, account) = given_a_channel(PUBLIC_CHANNEL).await;
    fake.faults().inject(
        Method::POST,
        &FakeTelegram::path("sendPhoto"),
        1,
        Fault::AnswerLate(Duration::from_secs(3)),
    );
    let post = Outgoing {
        media: vec![photo(&account, None)],
        ..outgoing("In ritardo")
    };

    let err = TelegramConnector::new(impatient_http(), fake.base())
        .publish(&account.context(), &post)
        .await
        .unwrap_err();

    assert!(matches!(err, PublishError::UnknownOutcome(_)), "{err:?}");
    assert_eq!(
        fake.count_messages_with_text("In ritardo"),
        1,
        "the fake sent it"
    );
    assert_no_token(&err);
}

#[tokio::test]
async fn an_unreachable_api_is_transient_and_hides_the_token() {
    let account = TestAccount::new(
        Network::Telegram,
        FakeTelegram::settings(PUBLIC_CHANNEL),
        FakeTelegram::credentials(),
    )
    .await;
    // A port nothing listens on: bind one, then let it go.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };

    let err = TelegramConnector::new(outbound(), closed)
        .publish(&account.context(), &outgoing("Nessuno?"))
        .await
        .unwrap_err();

    assert!(matches!(err, PublishError::Transient(_)), "{err:?}");
    assert_no_token(&err);
}

#[tokio::test]
async fn the_read_back_cannot_tell_and_says_what_to_check() {
    let (fake, account) = given_a_channel(PUBLIC_CHANNEL).await;

    let answer = connector(&fake)
        .find_published(&account.context(), &outgoing("Offerta del giorno"))
        .await
        .unwrap();

    let ReadBack::CannotTell(explanation) = answer else {
        panic!("expected CannotTell, got {answer:?}");
    };
    assert!(
        explanation.starts_with("Telegram bots cannot look up what was posted"),
        "{explanation}"
    );
    assert!(explanation.contains(PUBLIC_CHANNEL), "{explanation}");
    assert!(explanation.contains("Offerta del giorno"), "{explanation}");
    assert!(!explanation.contains(TOKEN));
    assert_eq!(fake.requests("sendMessage"), 0, "a read-back never sends");
}

// Metrics: bots see no views; the channel's subscribers are read with getChatMemberCount.

#[tokio::test]
async fn a_posts_metrics_are_all_unavailable_and_cost_no_call() {
    let (fake, account) = given_a_channel(PUBLIC_CHANNEL).await;
    let published = connector(&fake)
        .publish(&account.context(), &outgoing("Quante visite?"))
        .await
        .unwrap();
    let calls_before = fake.faults().requests();

    let reading = connector(&fake)
        .post_metrics(&account.account(), &published.remote_id)
        .await
        .unwrap();

    assert!(reading.counters.is_empty(), "{:?}", reading.counters);
    assert_eq!(reading.counters.views, None);
    let note = reading.raw["note"].as_str().expect("a note saying why");
    assert!(note.contains("Bot API"), "{note}");
    assert!(note.contains("viewed"), "{note}");
    assert_eq!(
        fake.faults().requests(),
        calls_before,
        "no call to Telegram"
    );
}

#[tokio::test]
async fn the_channels_subscribers_are_read_and_follow_the_channel() {
    let (fake, account) = given_a_channel(PUBLIC_CHANNEL).await;
    let telegram = connector(&fake);

    let first = telegram.account_metrics(&account.account()).await.unwrap();
    fake.set_subscribers(PUBLIC_CHANNEL, 275);
    let second = telegram.account_metrics(&account.account()).await.unwrap();

    assert_eq!(first.counters.followers, Some(250));
    assert_eq!(second.counters.followers, Some(275));
    assert_eq!(second.counters.likes, None);
    assert_eq!(second.raw["getChatMemberCount"], json!(275));
    assert_eq!(fake.requests("getChatMemberCount"), 2);
}

#[tokio::test]
async fn a_private_channel_known_by_its_id_has_its_subscribers_read_too() {
    let (fake, account) = given_a_channel(PRIVATE_CHANNEL).await;
    fake.set_subscribers(PRIVATE_CHANNEL, 41);

    let reading = connector(&fake)
        .account_metrics(&account.account())
        .await
        .unwrap();

    assert_eq!(reading.counters.followers, Some(41));
}

#[tokio::test]
async fn flood_control_on_the_subscriber_count_is_rate_limited() {
    let (fake, account) = given_a_channel(PUBLIC_CHANNEL).await;
    fake.faults().inject(
        Method::POST,
        &FakeTelegram::path("getChatMemberCount"),
        1,
        Fault::status(
            429,
            r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 20","parameters":{"retry_after":20}}"#,
        ),
    );
    let before = Timestamp::now();

    let err = connector(&fake)
        .account_metrics(&account.account())
        .await
        .unwrap_err();

    let PublishError::RateLimited { retry_at, .. } = &err else {
        panic!("expected RateLimited, got {err:?}");
    };
    let wait = retry_at.expect("retry_after").duration_since(before);
    assert!(
        wait >= SignedDuration::from_secs(20) && wait < SignedDuration::from_secs(25),
        "{wait:?}"
    );
}

#[tokio::test]
async fn an_unknown_bot_token_on_the_subscriber_count_is_auth_expired_and_never_shown() {
    let fake = FakeTelegram::start().await;
    let wrong = "7000000001:AAH-wrong-token-also-secret";
    let account = TestAccount::new(
        Network::Telegram,
        FakeTelegram::settings(PUBLIC_CHANNEL),
        json!({"bot_token": wrong}),
    )
    .await;

    let err = connector(&fake)
        .account_metrics(&account.account())
        .await
        .unwrap_err();

    assert!(matches!(err, PublishError::AuthExpired(_)), "{err:?}");
    assert!(!err.to_string().contains(wrong), "{err}");
}

#[tokio::test]
async fn a_removed_bot_or_an_unknown_chat_cannot_count_subscribers() {
    let (fake, account) = given_a_channel(PUBLIC_CHANNEL).await;
    fake.set_bot_access(PUBLIC_CHANNEL, BotAccess::Removed);
    let removed = connector(&fake)
        .account_metrics(&account.account())
        .await
        .unwrap_err();

    let (fake, account) = given_a_channel("@nobody_here").await;
    let unknown = connector(&fake)
        .account_metrics(&account.account())
        .await
        .unwrap_err();

    assert!(
        matches!(removed, PublishError::AuthExpired(_)),
        "{removed:?}"
    );
    assert!(
        removed.to_string().contains("does not let the bot read"),
        "{removed}"
    );
    assert!(
        matches!(unknown, PublishError::Misconfigured(_)),
        "{unknown:?}"
    );
    assert!(unknown.to_string().contains("chat not found"), "{unknown}");
}

#[tokio::test]
async fn a_lost_answer_to_the_subscriber_count_is_transient_not_unknown() {
    // A read creates nothing: a dropped connection is a plain retry, not a read-back.
    let (fake, account) = given_a_channel(PUBLIC_CHANNEL).await;
    fake.faults().inject(
        Method::POST,
        &FakeTelegram::path("getChatMemberCount"),
        1,
        Fault::DropAfterReceive,
    );

    let err = connector(&fake)
        .account_metrics(&account.account())
        .await
        .unwrap_err();

    assert!(matches!(err, PublishError::Transient(_)), "{err:?}");
    assert_no_token(&err);
}

// The community inbox: the bot's updates, answers, moderation and webhook deliveries.

mod inbox {
    use palinsesto::domain::inbox::{InteractionKind, StreamKind};
    use palinsesto::domain::moderation::ModerationAction;
    use palinsesto::networks::{InboxRead, Moderate, ParsePush, ReadInbox, ReplyTo};
    use palinsesto_system_tests::fakes::telegram::DISCUSSION_GROUP_ID;

    use super::*;

    const ADA: i64 = 4_200_001;
    const BOB: i64 = 4_200_002;

    /// A public channel with one published post, and two people.
    async fn given_a_post() -> (FakeTelegram, TestAccount, i64) {
        let (fake, account) = given_a_channel(PUBLIC_CHANNEL).await;
        let published = connector(&fake)
            .publish(&account.context(), &outgoing("Il nuovo menu"))
            .await
            .unwrap();
        fake.add_person(ADA, "Ada", "ada");
        fake.add_person(BOB, "Bob", "bob");
        (fake, account, published.remote_id.parse().unwrap())
    }

    async fn read(fake: &FakeTelegram, account: &TestAccount, cursor: Option<&str>) -> InboxRead {
        connector(fake)
            .read(&account.account(), StreamKind::Messages, cursor, &[])
            .await
            .unwrap()
    }

    fn found<'r>(read: &'r InboxRead, id: &str) -> &'r palinsesto::domain::inbox::Incoming {
        read.found
            .iter()
            .find(|f| f.external_id == id)
            .unwrap_or_else(|| panic!("{id} not in {:?}", read.found))
    }

    #[tokio::test]
    async fn the_bots_updates_become_comments_replies_mentions_and_messages_once() {
        let (fake, account, post) = given_a_post().await;
        let comment = fake.comment(ADA, post, "Che bello!");
        let comment_id: i64 = comment.split(':').nth(1).unwrap().parse().unwrap();
        let reply = fake.reply_in_group(BOB, comment_id, "Vero!");
        let mention = fake.say_in_group(BOB, "@palinsesto_bot a che ora aprite?");
        let chatter = fake.say_in_group(BOB, "ciao a tutti");
        let dm = fake.direct_message(ADA, "Avete tavoli liberi?");
        let native = fake.channel_answers(comment_id, "Grazie Ada!");

        let first = read(&fake, &account, None).await;
        assert_eq!(first.found.len(), 4, "{:?}", first.found);
        assert!(first.found.iter().all(|f| f.external_id != chatter));
        let c = found(&first, &comment);
        assert_eq!(c.kind, InteractionKind::Comment);
        assert_eq!(c.root.as_deref(), Some(post.to_string().as_str()));
        assert_eq!(c.author.handle, "@ada");
        assert_eq!(c.author.name, "Ada");
        assert_eq!(c.text, "Che bello!");
        assert_eq!(c.target.id, comment_id.to_string());
        assert_eq!(
            c.target.chat.as_deref(),
            Some(DISCUSSION_GROUP_ID.to_string().as_str())
        );
        assert_eq!(
            c.permalink.as_deref(),
            Some(format!("https://t.me/c/1000000003/{comment_id}").as_str())
        );
        let r = found(&first, &reply);
        assert_eq!(r.kind, InteractionKind::Reply);
        assert_eq!(r.parent.as_deref(), Some(comment.as_str()));
        assert_eq!(found(&first, &mention).kind, InteractionKind::Mention);
        let d = found(&first, &dm);
        assert_eq!(d.kind, InteractionKind::DirectMessage);
        assert_eq!(d.target.chat.as_deref(), Some(ADA.to_string().as_str()));
        assert_eq!(d.permalink, None, "private chats have no link");
        assert_eq!(first.native.len(), 1);
        assert_eq!(first.native[0].external_id, native);
        assert_eq!(first.native[0].parent, comment);

        // the next read confirms them: Telegram forgets them, nothing comes twice
        let cursor = first.cursor.clone().expect("a cursor");
        let second = read(&fake, &account, Some(&cursor)).await;
        assert!(second.found.is_empty() && second.native.is_empty());
        assert_eq!(fake.pending_updates(), 0, "confirmed updates are gone");
        let later = fake.direct_message(BOB, "Grazie!");
        let third = read(&fake, &account, second.cursor.as_deref().or(Some(&cursor))).await;
        assert_eq!(third.found.len(), 1);
        assert_eq!(third.found[0].external_id, later);
        // other streams are not read on Telegram
        let none = connector(&fake)
            .read(&account.account(), StreamKind::Notifications, None, &[])
            .await
            .unwrap();
        assert!(none.found.is_empty());
    }

    async fn bot_call(fake: &FakeTelegram, method: &str, body: serde_json::Value) {
        let r = reqwest::Client::builder()
            .use_preconfigured_tls(palinsesto::outbound::tls_config(&[]).unwrap())
            .build()
            .unwrap()
            .post(format!("{}{}", fake.base(), FakeTelegram::path(method)))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }

    #[tokio::test]
    async fn polling_while_a_webhook_is_set_is_a_plain_error() {
        let (fake, account, post) = given_a_post().await;
        fake.comment(ADA, post, "Ciao");
        bot_call(
            &fake,
            "setWebhook",
            json!({"url": "https://hooks.example/telegram/abc", "secret_token": "s3cret"}),
        )
        .await;
        assert_eq!(
            fake.webhook(),
            Some((
                "https://hooks.example/telegram/abc".into(),
                Some("s3cret".into())
            ))
        );
        let err = connector(&fake)
            .read(&account.account(), StreamKind::Messages, None, &[])
            .await
            .unwrap_err();
        assert!(matches!(err, PublishError::Misconfigured(_)), "{err:?}");
        assert!(err.to_string().contains("webhook"), "{err}");
        assert_no_token(&err);
        bot_call(&fake, "deleteWebhook", json!({})).await;
        assert_eq!(read(&fake, &account, None).await.found.len(), 1);
    }

    #[tokio::test]
    async fn an_answer_is_sent_once_and_a_lost_one_cannot_be_told() {
        let (fake, account, post) = given_a_post().await;
        let comment = fake.comment(ADA, post, "Che bello!");
        let dm = fake.direct_message(BOB, "Aperti domani?");
        let first = read(&fake, &account, None).await;
        let telegram = connector(&fake);

        let target = &found(&first, &comment).target;
        let sent = telegram
            .reply(&account.context(), target, &outgoing("Grazie Ada!"))
            .await
            .unwrap();
        let comment_id: i64 = target.id.parse().unwrap();
        let replies = fake.bot_replies_to(DISCUSSION_GROUP_ID, comment_id);
        assert_eq!(replies.len(), 1);
        assert_eq!(replies[0].text.as_deref(), Some("Grazie Ada!"));
        assert_eq!(
            sent.remote_id,
            format!("{DISCUSSION_GROUP_ID}:{}", replies[0].message_id)
        );

        // the answer to a private message is lost: it was sent, and nobody can tell
        let target = &found(&first, &dm).target;
        fake.lose_next_message_answer();
        let reply = outgoing("Sì, dalle 9");
        let err = telegram
            .reply(&account.context(), target, &reply)
            .await
            .unwrap_err();
        assert!(matches!(err, PublishError::UnknownOutcome(_)), "{err:?}");
        assert_eq!(
            fake.bot_replies_to(BOB, target.id.parse().unwrap()).len(),
            1
        );
        let ReadBack::CannotTell(why) = telegram
            .find_reply(&account.context(), target, &reply)
            .await
            .unwrap()
        else {
            panic!("bots cannot read history")
        };
        assert!(why.contains("cannot read"), "{why}");

        // flood control: Telegram's retry_after
        fake.flood_wait(7);
        let err = telegram
            .reply(&account.context(), target, &outgoing("again"))
            .await
            .unwrap_err();
        let PublishError::RateLimited { retry_at, .. } = err else {
            panic!("{err:?}")
        };
        assert!(retry_at.is_some());
    }

    #[tokio::test]
    async fn the_bot_deletes_its_own_answer_and_offers_nothing_else() {
        let (fake, account, post) = given_a_post().await;
        let comment = fake.comment(ADA, post, "Che bello!");
        let first = read(&fake, &account, None).await;
        let telegram = connector(&fake);
        assert_eq!(telegram.actions(), [ModerationAction::DeleteReply]);
        let sent = telegram
            .reply(
                &account.context(),
                &found(&first, &comment).target,
                &outgoing("Grazie!"),
            )
            .await
            .unwrap();
        let reply_id: i64 = sent.remote_id.split(':').nth(1).unwrap().parse().unwrap();
        assert!(fake.has_message(DISCUSSION_GROUP_ID, reply_id));
        let mut target = found(&first, &comment).target.clone();
        target.id = sent.remote_id.clone();
        for _ in 0..2 {
            telegram
                .moderate(&account.account(), &target, ModerationAction::DeleteReply)
                .await
                .expect("deleting twice is harmless");
        }
        assert!(!fake.has_message(DISCUSSION_GROUP_ID, reply_id));
        // someone else's message is not the bot's to delete
        let mut theirs = found(&first, &comment).target.clone();
        theirs.id = comment.clone();
        let err = telegram
            .moderate(&account.account(), &theirs, ModerationAction::DeleteReply)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("48 hours"), "{err}");
    }

    #[tokio::test]
    async fn a_webhook_delivery_names_the_same_message_as_the_poll() {
        let (fake, account, post) = given_a_post().await;
        let comment = fake.comment(ADA, post, "Che bello!");
        let dm = fake.direct_message(BOB, "Ciao");
        let polled = read(&fake, &account, None).await;
        bot_call(
            &fake,
            "setWebhook",
            json!({"url": "https://hooks.example/telegram/abc", "secret_token": "s3cret"}),
        )
        .await;
        for key in [&comment, &dm] {
            let (body, header) = fake.webhook_delivery(key);
            assert_eq!(
                header,
                Some(("X-Telegram-Bot-Api-Secret-Token", "s3cret".to_owned()))
            );
            let pushed = connector(&fake).parse(&body).unwrap();
            assert_eq!(pushed.len(), 1);
            assert_eq!(pushed[0].account, "", "the hook layer names the account");
            let from_push = &pushed[0].found[0];
            let from_poll = found(&polled, key);
            assert_eq!(from_push.external_id, from_poll.external_id);
            assert_eq!(from_push.kind, from_poll.kind);
            assert_eq!(from_push.target, from_poll.target);
        }
        assert!(connector(&fake).parse(b"{\"nope\": 1}").is_err());
    }
}
