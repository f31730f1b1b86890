//! Secrets sealed by the application on the AWS emulator: the KMS keyring opens a sealed value
//! only under its own brand, channel and purpose; credentials saved through the API's service
//! are unreadable in the table and open for the publisher's read; a webhook secret sealed by the
//! API signs the relay's delivery; without a key nothing is stored.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use palinsesto::adapters::kms::KmsKeyring;
use palinsesto::clock::ManualClock;
use palinsesto::domain::{Actor, BrandId, ChannelId, Role, WebhookId};
use palinsesto::lambda_env::{AwsDeployment, ResourceNames};
use palinsesto::sealing::{Keyring, SealContext, SealError};
use palinsesto::services::brands::NewProfile;
use palinsesto::services::channels::NewChannel;
use palinsesto::services::webhooks::{NewWebhook, WebhookService};
use palinsesto::services::{BrandService, ChannelService};
use palinsesto::store::ItemStore;
use palinsesto::webhook_signature::{SIGNATURE_HEADER, TOLERANCE, verify};
use palinsesto_system_tests::aws::{kms_key, sdk_config, unique};
use palinsesto_system_tests::dynamodb::fresh_table;
use palinsesto_system_tests::stream::StreamReader;
use serde_json::json;

fn acme() -> BrandId {
    BrandId::parse("acme").unwrap()
}

fn manager() -> Actor {
    Actor {
        subject: "manager@acme".into(),
        brand: acme(),
        role: Role::Owner,
        route: None,
    }
}

async fn deployment(
    config: &aws_config::SdkConfig,
    table: String,
    key: Option<String>,
) -> AwsDeployment {
    let events = aws_sdk_eventbridge::Client::new(config);
    let bus = unique("palinsesto-bus");
    events.create_event_bus().name(&bus).send().await.unwrap();
    AwsDeployment::on(
        config,
        ResourceNames {
            table,
            bucket: None,
            bus: Some(bus),
            key,
        },
        Arc::new(ManualClock::new("2027-01-15T10:00:00Z".parse().unwrap())),
        palinsesto_system_tests::accounts::loopback_networks(),
    )
}

async fn brand_with_channel(d: &AwsDeployment) -> ChannelId {
    let ports = d.wiring().ports();
    BrandService::new(ports.clone())
        .put(
            &manager(),
            NewProfile {
                name: "Acme",
                time_zone: "Europe/Rome",
                ..NewProfile::default()
            },
            None,
        )
        .await
        .unwrap();
    let settings = json!({"instance_url": "https://mastodon.example"});
    ChannelService::new(ports)
        .create(
            &manager(),
            NewChannel {
                network: "mastodon".into(),
                name: "Main".into(),
                handle: "@acme".into(),
                settings: settings.as_object().unwrap().clone(),
                status: None,
                queue: vec![],
            },
        )
        .await
        .unwrap()
        .id
}

#[tokio::test]
async fn the_kms_keyring_opens_a_secret_only_under_its_own_context() {
    let config = sdk_config().await;
    let key = kms_key(&config).await;
    let keyring = KmsKeyring::new(aws_sdk_kms::Client::new(&config), &key);
    let channel = ChannelId::new();
    let context = SealContext::credentials(&acme(), &channel);

    let sealed = keyring.seal(&context, b"sup3r-s3cret").await.unwrap();
    assert_eq!(sealed.key_ref, key);
    assert!(!serde_json::to_string(&sealed).unwrap().contains("sup3r"));
    assert_eq!(
        keyring.open(&context, &sealed).await.unwrap(),
        b"sup3r-s3cret"
    );

    // Another brand, another channel, another purpose: KMS refuses to unwrap the data key.
    let others = [
        SealContext::credentials(&BrandId::parse("other").unwrap(), &channel),
        SealContext::credentials(&acme(), &ChannelId::new()),
        SealContext::webhook(&acme(), &WebhookId::new()),
    ];
    for other in &others {
        assert!(
            keyring.open(other, &sealed).await.is_err(),
            "{other:?} opened it"
        );
    }
    // That refusal is KMS's own, not only the AES-GCM tag's: Decrypt of the wrapped data key
    // under another context fails (moto binds the encryption context as AWS does), and under
    // the right one succeeds.
    let kms = aws_sdk_kms::Client::new(&config);
    let wrapped = palinsesto::sealing::base64_field(&sealed.key, "key").unwrap();
    let unwrap = |c: &SealContext| {
        let mut request = kms
            .decrypt()
            .key_id(&key)
            .ciphertext_blob(aws_sdk_kms::primitives::Blob::new(wrapped.clone()));
        for (name, value) in c.pairs() {
            request = request.encryption_context(name, value);
        }
        request.send()
    };
    assert!(unwrap(&context).await.is_ok());
    for other in &others {
        let e = unwrap(other).await.unwrap_err();
        assert_eq!(
            aws_sdk_kms::error::ProvideErrorMetadata::code(&e),
            Some("InvalidCiphertextException"),
            "{other:?}: {e:?}"
        );
    }
    // A changed ciphertext: the data key unwraps, the tag does not match.
    let mut tampered = sealed.clone();
    tampered.ciphertext = sealed.ciphertext.chars().rev().collect();
    assert!(matches!(
        keyring.open(&context, &tampered).await,
        Err(SealError::Invalid(_))
    ));
}

#[tokio::test]
async fn credentials_saved_through_the_api_are_sealed_in_the_table_and_open_for_the_publisher() {
    let config = sdk_config().await;
    let table = fresh_table().await;
    let d = deployment(&config, table.clone(), Some(kms_key(&config).await)).await;
    let channel = brand_with_channel(&d).await;

    // when the API's service stores credentials
    let credentials = json!({"access_token": "sup3r-s3cret"});
    ChannelService::new(d.wiring().ports())
        .put_credentials(
            &manager(),
            &channel,
            credentials.as_object().unwrap().clone(),
            None,
        )
        .await
        .unwrap();

    // then the item in DynamoDB is a sealed blob under the stack's key
    let dynamo = palinsesto::adapters::dynamodb::DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&config),
        table,
    );
    let raw = dynamo
        .get("B#acme#CRED", &format!("CH#{channel}"))
        .await
        .unwrap()
        .expect("the credentials item");
    assert!(
        !raw.body.to_string().contains("sup3r-s3cret"),
        "{}",
        raw.body
    );
    assert!(
        raw.body["key_ref"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:kms:")
    );

    // and the publisher's read opens it
    let opened = d
        .wiring()
        .ports()
        .store
        .get_credentials(&acme(), &channel)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(opened.get("access_token").unwrap().expose(), "sup3r-s3cret");
}

#[tokio::test]
async fn without_a_key_credentials_are_refused_never_stored_in_plaintext() {
    let config = sdk_config().await;
    let d = deployment(&config, fresh_table().await, None).await;
    let channel = brand_with_channel(&d).await;
    let e = ChannelService::new(d.wiring().ports())
        .put_credentials(
            &manager(),
            &channel,
            json!({"access_token": "sup3r-s3cret"})
                .as_object()
                .unwrap()
                .clone(),
            None,
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no master key"), "{e}");
    assert!(
        d.wiring()
            .ports()
            .store
            .items()
            .get("B#acme#CRED", &format!("CH#{channel}"))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_webhook_secret_sealed_by_the_api_signs_the_relays_delivery() {
    // given a receiver, and a webhook made through the API's service (it seals the secret)
    let got: Arc<Mutex<Vec<(HeaderMap, Bytes)>>> = Arc::default();
    let seen = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push((headers, body));
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let config = sdk_config().await;
    let table = fresh_table().await;
    let mut stream = StreamReader::open(&config, &table).await;
    let d = deployment(&config, table, Some(kms_key(&config).await)).await;
    brand_with_channel(&d).await;
    let webhooks = WebhookService::new(d.wiring().ports());
    let created = webhooks
        .create(
            &manager(),
            NewWebhook {
                url,
                events: vec!["post.failed".into()],
                description: None,
            },
        )
        .await
        .unwrap();

    // when a ping is asked for and the relay function reads the stream
    let ping = webhooks
        .ping(&manager(), &created.webhook.id)
        .await
        .unwrap();
    let outcome = stream.relay(&d.relay_service().unwrap()).await;

    // then the receiver gets it, signed with the secret shown at creation
    assert_eq!(outcome.delivered, 1, "{outcome:?}");
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    let (headers, body) = &got[0];
    let event: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(event["id"], ping.id.as_str());
    let now = "2027-01-15T10:00:00Z".parse().unwrap();
    assert_eq!(
        verify(
            &created.secret,
            headers[SIGNATURE_HEADER].to_str().unwrap(),
            body,
            now,
            TOLERANCE
        ),
        Ok(())
    );
}
