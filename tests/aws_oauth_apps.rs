//! The deployment's OAuth apps read from the SSM Parameter Store on the AWS emulator, as the
//! functions do at cold start: every app under the stack's path (secrets as SecureStrings,
//! decrypted), nothing outside it, and an app missing half of its pair left out.

use aws_sdk_ssm::types::ParameterType;
use palinsesto::adapters::ssm::oauth_apps;
use palinsesto::domain::Network;
use palinsesto_system_tests::aws::{sdk_config, unique};

async fn put(ssm: &aws_sdk_ssm::Client, name: &str, value: &str, kind: ParameterType) {
    ssm.put_parameter()
        .name(name)
        .value(value)
        .r#type(kind)
        .send()
        .await
        .unwrap_or_else(|e| panic!("putting {name}: {e:?}"));
}

#[tokio::test]
async fn the_apps_are_read_from_the_parameter_store() {
    let config = sdk_config().await;
    let ssm = aws_sdk_ssm::Client::new(&config);
    let path = format!("/{}/oauth", unique("palinsesto"));
    let other = format!("/{}/oauth", unique("elsewhere"));
    put(
        &ssm,
        &format!("{path}/x/client_id"),
        "x-client",
        ParameterType::String,
    )
    .await;
    put(
        &ssm,
        &format!("{path}/x/client_secret"),
        "x-secret",
        ParameterType::SecureString,
    )
    .await;
    put(
        &ssm,
        &format!("{path}/linkedin_community/client_id"),
        "li-community",
        ParameterType::String,
    )
    .await;
    put(
        &ssm,
        &format!("{path}/linkedin_community/client_secret"),
        "li-secret",
        ParameterType::SecureString,
    )
    .await;
    // half a pair: left out
    put(
        &ssm,
        &format!("{path}/threads/client_id"),
        "threads-client",
        ParameterType::String,
    )
    .await;
    // another stack's apps are not read
    put(
        &ssm,
        &format!("{other}/facebook/client_id"),
        "fb",
        ParameterType::String,
    )
    .await;
    put(
        &ssm,
        &format!("{other}/facebook/client_secret"),
        "fb-secret",
        ParameterType::SecureString,
    )
    .await;

    let apps = oauth_apps(&ssm, &path).await.expect("the apps");
    assert_eq!(
        apps.names().collect::<Vec<_>>(),
        ["linkedin_community", "x"]
    );
    let x = apps.get("x").unwrap();
    assert_eq!(x.client_id, "x-client");
    assert_eq!(x.client_secret.expose(), "x-secret", "decrypted");
    let (name, app) = apps
        .for_login(Network::Linkedin, Some("organization"))
        .unwrap();
    assert_eq!(
        (name, app.client_id.as_str()),
        ("linkedin_community", "li-community")
    );
    assert!(apps.for_login(Network::Facebook, None).is_err());

    // an empty path reads nothing and says nothing is wrong
    let none = oauth_apps(&ssm, &format!("/{}/oauth", unique("empty")))
        .await
        .unwrap();
    assert_eq!(none.names().count(), 0);
}
