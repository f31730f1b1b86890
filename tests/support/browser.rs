//! What a test acting as a browser needs on a network's consent page: the form's hidden fields,
//! and the query of the URL it is sent back to.

/// The `<input type="hidden" name=".." value="..">` fields of an HTML page, in order, their
/// names and values unescaped (`&amp;`, `&quot;`, `&lt;`, `&gt;`, `&#39;`).
pub fn consent_form(html: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<input") {
        let tag = &rest[start + "<input".len()..];
        let end = tag.find('>').unwrap_or(tag.len());
        let attributes = attributes(&tag[..end]);
        rest = &tag[end..];
        let get = |name: &str| {
            attributes
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        if get("type").is_some_and(|t| t.eq_ignore_ascii_case("hidden"))
            && let Some(name) = get("name")
        {
            fields.push((name, get("value").unwrap_or_default()));
        }
    }
    fields
}

/// A tag's attributes (`name="v"`, `name='v'`, `name=v`, bare `name`), values unescaped.
fn attributes(tag: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = tag.trim_start_matches('/');
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
        if rest.is_empty() {
            return found;
        }
        let name_end = rest
            .find(|c: char| c.is_whitespace() || c == '=' || c == '/')
            .unwrap_or(rest.len());
        let name = rest[..name_end].to_owned();
        rest = rest[name_end..].trim_start();
        let Some(after) = rest.strip_prefix('=') else {
            found.push((name, String::new()));
            continue;
        };
        let after = after.trim_start();
        let (value, remaining) = match after.chars().next() {
            Some(quote @ ('"' | '\'')) => {
                let inner = &after[1..];
                let end = inner.find(quote).unwrap_or(inner.len());
                (&inner[..end], inner.get(end + 1..).unwrap_or(""))
            }
            _ => {
                let end = after.find(char::is_whitespace).unwrap_or(after.len());
                (&after[..end], &after[end..])
            }
        };
        found.push((name, unescape(value)));
        rest = remaining;
    }
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The query parameters of a URL, decoded, in order (a relative URL is read as if on some
/// origin). Empty when it has no query.
pub fn query_pairs(url: &str) -> Vec<(String, String)> {
    let parsed = reqwest::Url::parse(url).or_else(|_| {
        reqwest::Url::parse("http://relative.invalid/").and_then(|base| base.join(url))
    });
    let parsed = parsed.unwrap_or_else(|e| panic!("not a URL: {url}: {e}"));
    parsed
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A browser that does not follow redirects, so each step of a flow can be looked at.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .use_preconfigured_tls(palinsesto::outbound::tls_config(&[]).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Where a redirect sends the browser.
pub fn location(r: &reqwest::Response) -> String {
    r.headers()[reqwest::header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned()
}

/// The first query parameter `name` of `url`.
pub fn param(url: &str, name: &str) -> Option<String> {
    query_pairs(url)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// Opens a start link as the person's browser: the network's authorize URL it is sent to, and
/// the flow's cookie (`name=value`), after checking the cookie's attributes.
pub async fn open_start(browser: &reqwest::Client, start_url: &str) -> (String, String) {
    let opened = browser.get(start_url).send().await.unwrap();
    assert_eq!(opened.status(), reqwest::StatusCode::SEE_OTHER);
    let set_cookie = opened.headers()[reqwest::header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    for attribute in [
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=900",
    ] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(set_cookie.starts_with("__Host-"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    (location(&opened), cookie)
}

/// The person's answer (`approve` or `deny`) on the network's consent page at `authorize`: where
/// the network sends the browser back.
pub async fn answer(browser: &reqwest::Client, authorize: &str, decision: &str) -> String {
    let page = browser.get(authorize).send().await.unwrap();
    assert_eq!(page.status(), reqwest::StatusCode::OK, "{authorize}");
    let mut form = consent_form(&page.text().await.unwrap());
    form.push(("decision".into(), decision.into()));
    let action = authorize.split('?').next().unwrap();
    let answered = browser.post(action).form(&form).send().await.unwrap();
    assert_eq!(answered.status(), reqwest::StatusCode::FOUND);
    location(&answered)
}

/// Brings the network's redirect back to the callback, with the flow's cookie or none: where
/// the browser lands.
pub async fn callback(browser: &reqwest::Client, url: &str, cookie: Option<&str>) -> String {
    let mut request = browser.get(url);
    if let Some(cookie) = cookie {
        request = request.header(reqwest::header::COOKIE, cookie);
    }
    let r = request.send().await.unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER);
    location(&r)
}
