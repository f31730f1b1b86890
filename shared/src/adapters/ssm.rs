//! The deployment's OAuth apps from the SSM Parameter Store: every parameter under one path
//! (`/palinsesto/{stage}/oauth/{app}/client_id` and `.../client_secret`, the secret a
//! SecureString), read once at cold start and kept for the life of the process. The path comes
//! from `OAUTH_PARAMETERS_PATH`; the functions' IAM allows reading under it and nothing else.

use crate::networks::connect::OAuthApps;

/// Every app under `path` (paged; decrypted).
pub async fn oauth_apps(client: &aws_sdk_ssm::Client, path: &str) -> Result<OAuthApps, String> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut pages = client
        .get_parameters_by_path()
        .path(path)
        .recursive(true)
        .with_decryption(true)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            format!(
                "the OAuth apps under {path} could not be read from the Parameter Store: {}",
                aws_sdk_ssm::error::DisplayErrorContext(e)
            )
        })?;
        for parameter in page.parameters() {
            if let (Some(name), Some(value)) = (parameter.name(), parameter.value()) {
                pairs.push((name.to_owned(), value.to_owned()));
            }
        }
    }
    Ok(OAuthApps::from_pairs(
        pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    ))
}
