//! `URI_ALLOW_LIST` entries as upstream reads them: globs in the syntax of gobwas/glob with `.`
//! and `/` as separators, matched against a whole URL (without its fragment). `*` is any run of
//! characters but separators, `**` any run at all, `?` one character but a separator, `[abc]`,
//! `[a-z]` and `[!…]` one character of (or not of) a class, `{a,b}` either alternative, and `\`
//! takes the next character as it is. So `https://*.example.com/**` allows every page of every
//! direct subdomain, and never `https://evil.com/?.example.com`.
//!
//! A redirect target is matched only when its text names the host a browser will visit
//! ([`glob_allows`]): a plain DNS name, nothing a browser decodes or reads otherwise.

/// Whether `entry` uses glob syntax (else it is compared as a URL).
pub fn is_glob(entry: &str) -> bool {
    entry.contains(['*', '?', '[', '{'])
}

/// `target`, if glob `pattern` allows it: matched without its fragment, and only when the text
/// names the host a browser will visit. That is, an http(s) URL whose host is a plain DNS name
/// (upstream's rule: letters, digits, `-` and `.`, no leading or trailing `-` or `.`) that a
/// browser would not read as an IPv4 address (its last label a number, decimal or `0x` hex), with
/// no user name, no `%`, no `\` and a port of digits if any. Matched as written, a glob's `*`
/// would take `https://evil%2Ecom?.app.example.com/` (a browser decodes the host to `evil.com`,
/// and `?` ends it) or `https://16909060\.app.example.com/` (`\` ends the host, and `16909060` is
/// 1.2.3.4) for a subdomain.
pub fn glob_allows(pattern: &str, target: &str) -> Option<String> {
    let rest = target.strip_prefix("https://").or_else(|| target.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#', '\\']).next().unwrap_or_default();
    let (host, port) = authority.rsplit_once(':').unwrap_or((authority, ""));
    let plain_name = !host.is_empty()
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !host.starts_with(['-', '.'])
        && !host.ends_with(['-', '.']);
    let last = host.rsplit('.').next().unwrap_or_default();
    let hex = last.strip_prefix("0x").or_else(|| last.strip_prefix("0X")).is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
    let ipv4 = last.bytes().all(|b| b.is_ascii_digit()) || hex;
    let port_ok = port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit()) && (port.is_empty() != authority.contains(':'));
    if !plain_name || ipv4 || !port_ok || target.contains('\\') {
        return None;
    }
    glob_matches(pattern, target.split('#').next().unwrap_or_default()).then(|| target.to_string())
}

/// The most alternatives one entry expands to (`{a,b}{c,d}` is four).
const MAX_ALTERNATIVES: usize = 64;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Lit(char),
    One,
    Star,
    SuperStar,
    Class { negated: bool, ranges: Vec<(char, char)> },
}

fn separator(c: char) -> bool {
    c == '.' || c == '/'
}

/// Whether `text` matches the glob `pattern`; a pattern that does not parse matches nothing.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let Some(alternatives) = expand(&pattern.chars().collect::<Vec<_>>()) else { return false };
    let text: Vec<char> = text.chars().collect();
    alternatives.iter().any(|toks| run(toks, &text))
}

/// The token sequences `pattern` stands for, its `{…}` expanded; `None` if it does not parse
/// or expands too far.
fn expand(pattern: &[char]) -> Option<Vec<Vec<Tok>>> {
    let mut out: Vec<Vec<Tok>> = vec![Vec::new()];
    let mut i = 0;
    while i < pattern.len() {
        let push = |out: &mut Vec<Vec<Tok>>, t: Tok| out.iter_mut().for_each(|seq| seq.push(t.clone()));
        match pattern[i] {
            '\\' => {
                push(&mut out, Tok::Lit(*pattern.get(i + 1)?));
                i += 2;
            }
            '*' if pattern.get(i + 1) == Some(&'*') => {
                push(&mut out, Tok::SuperStar);
                i += 2;
            }
            '*' => {
                push(&mut out, Tok::Star);
                i += 1;
            }
            '?' => {
                push(&mut out, Tok::One);
                i += 1;
            }
            '[' => {
                let close = (i + 1..pattern.len()).find(|&j| pattern[j] == ']' && j > i + 1)?;
                let mut body = &pattern[i + 1..close];
                let negated = body.first() == Some(&'!');
                if negated {
                    body = &body[1..];
                }
                let mut ranges = Vec::new();
                let mut k = 0;
                while k < body.len() {
                    match (body.get(k + 1), body.get(k + 2)) {
                        (Some('-'), Some(&hi)) => {
                            ranges.push((body[k], hi));
                            k += 3;
                        }
                        _ => {
                            ranges.push((body[k], body[k]));
                            k += 1;
                        }
                    }
                }
                push(&mut out, Tok::Class { negated, ranges });
                i = close + 1;
            }
            '{' => {
                // The matching `}`, and the top-level commas in between.
                let (mut depth, mut cuts, mut close) = (0, vec![i], None);
                for (j, c) in pattern.iter().enumerate().skip(i + 1) {
                    match c {
                        '\\' => continue,
                        '{' => depth += 1,
                        '}' if depth == 0 => {
                            close = Some(j);
                            break;
                        }
                        '}' => depth -= 1,
                        ',' if depth == 0 => cuts.push(j),
                        _ => {}
                    }
                }
                let close = close?;
                cuts.push(close);
                let mut options = Vec::new();
                for w in cuts.windows(2) {
                    options.extend(expand(&pattern[w[0] + 1..w[1]])?);
                }
                let mut next = Vec::new();
                for seq in &out {
                    for option in &options {
                        next.push(seq.iter().chain(option).cloned().collect::<Vec<_>>());
                    }
                }
                if next.len() > MAX_ALTERNATIVES {
                    return None;
                }
                out = next;
                i = close + 1;
            }
            c => {
                push(&mut out, Tok::Lit(c));
                i += 1;
            }
        }
    }
    Some(out)
}

/// Runs one token sequence over `text` as an automaton: the set of token positions reachable
/// after each character (linear in both, whatever the stars).
fn run(toks: &[Tok], text: &[char]) -> bool {
    let n = toks.len();
    let close = |states: &mut Vec<bool>| {
        // A star matches the empty run: whoever reaches it also reaches the next token.
        for k in 0..n {
            if states[k] && matches!(toks[k], Tok::Star | Tok::SuperStar) {
                states[k + 1] = true;
            }
        }
    };
    let mut states = vec![false; n + 1];
    states[0] = true;
    close(&mut states);
    for &c in text {
        let mut next = vec![false; n + 1];
        for k in 0..n {
            if !states[k] {
                continue;
            }
            match &toks[k] {
                Tok::Lit(l) if *l == c => next[k + 1] = true,
                Tok::One if !separator(c) => next[k + 1] = true,
                Tok::Star if !separator(c) => next[k] = true,
                Tok::SuperStar => next[k] = true,
                Tok::Class { negated, ranges } if ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated => next[k + 1] = true,
                _ => {}
            }
        }
        close(&mut next);
        if !next.iter().any(|s| *s) {
            return false;
        }
        states = next;
    }
    states[n]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_as_upstreams_do() {
        let yes = [
            ("https://*.example.com", "https://a.example.com"),
            ("http://localhost:3000/*", "http://localhost:3000/foo"),
            ("http://localhost:3000/*", "http://localhost:3000/foo?x=1"),
            ("http://localhost:3000/**", "http://localhost:3000/a/b/c?d=e"),
            ("https://app-?.example.com/", "https://app-1.example.com/"),
            ("https://{app,admin}.example.com/**", "https://admin.example.com/x"),
            ("https://[a-c]x.example.com", "https://bx.example.com"),
            ("https://[!a-c]x.example.com", "https://dx.example.com"),
            ("https://example.com/\\*", "https://example.com/*"),
        ];
        for (p, t) in yes {
            assert!(glob_matches(p, t), "{p} should match {t}");
        }
        let no = [
            ("https://*.example.com", "https://a.b.example.com"),
            ("https://*.example.com", "https://evil.com/?.example.com"),
            ("https://*.example.com", "https://a.example.com.evil.com"),
            ("http://localhost:3000/*", "http://localhost:3000/foo/bar"),
            ("https://app-?.example.com/", "https://app-.example.com/"),
            ("https://[!a-c]x.example.com", "https://ax.example.com"),
            ("https://{app,admin}.example.com/**", "https://evil.example.com/x"),
            ("https://[broken", "https://[broken"),
            ("https://{a,b", "https://a"),
        ];
        for (p, t) in no {
            assert!(!glob_matches(p, t), "{p} should not match {t}");
        }
        assert!(is_glob("https://*.example.com") && !is_glob("https://example.com/"));
    }

    #[test]
    fn targets_are_matched_only_where_the_text_is_the_host() {
        let sub = "https://*.app.example.com/**";
        for evil in [
            "https://evil%2Ecom?.app.example.com/",
            "https://16909060?.app.example.com/",
            "https://evil%2Ecom\\.app.example.com/",
            "https://evil\\@x.app.example.com/",
            "https://user@x.app.example.com/",
            "https://x.app.example.com:99999999/",
            "https://x.app.example.com:/",
            "https://0x7f.app.example.com.0x7f000001/",
            "https://-x.app.example.com/",
            "ftp://x.app.example.com/",
            "not a url",
        ] {
            assert_eq!(glob_allows(sub, evil), None, "{evil}");
        }
        assert_eq!(glob_allows(sub, "https://shop.app.example.com/caf%C3%A9?q=%20#x").as_deref(), Some("https://shop.app.example.com/caf%C3%A9?q=%20#x"));
        assert_eq!(glob_allows("https://*.example.com", "https://a.example.com").as_deref(), Some("https://a.example.com"));
        assert_eq!(glob_allows("http://localhost:3000/*", "http://localhost:3000/foo?x=1").as_deref(), Some("http://localhost:3000/foo?x=1"));
        assert_eq!(glob_allows("https://*.example.com/**", "https://a.example.com/\\evil").as_deref(), None, "a backslash anywhere is refused");
    }

    #[test]
    fn hostile_patterns_and_urls_stay_cheap() {
        let stars = "*a".repeat(200);
        assert!(!glob_matches(&stars, &"a".repeat(150)));
        let braces = "{a,b}".repeat(10);
        assert!(!glob_matches(&braces, "ab"), "too many alternatives match nothing");
        assert!(glob_matches("**", &"x/.".repeat(2000)));
    }
}
