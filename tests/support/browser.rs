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
