//! The mails Portcullis sends, rendered to text and HTML.
//!
//! Only content lives here; delivery is the `Mailer` port's job. Every value put into HTML is
//! escaped. Links point at the service's public URL (`API_EXTERNAL_URL`).

use crate::config::Config;
use crate::model::{Mail, Purpose};

/// Escapes text for HTML element content and double-quoted attributes.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(title: &str, body_html: &str) -> String {
    format!(
        "<!doctype html><html><body style=\"font-family:system-ui,sans-serif;max-width:32rem\">\
         <h2>{}</h2>{}</body></html>",
        html_escape(title),
        body_html
    )
}

/// A mail carrying a 6-digit code and the equivalent link, which expire in `minutes`, worded
/// for its purpose; `moving_to` names the new address in the current address's half of an
/// email change.
pub fn code_mail(config: &Config, purpose: Purpose, to: &str, code: &str, link: &str, moving_to: Option<&str>, minutes: i64) -> Mail {
    let site = &config.site_name;
    let (subject, action, ignore) = match purpose {
        Purpose::Invite => (
            format!("You are invited to {site}"),
            "Accept the invitation",
            format!("If you do not know {site}, ignore this mail: no account is used until you accept."),
        ),
        Purpose::Signup => (
            format!("Confirm your sign-up to {site}"),
            "Confirm your address",
            format!("If you did not sign up to {site}, ignore this mail."),
        ),
        Purpose::Recovery => (
            format!("Reset your password for {site}"),
            "Sign in to choose a new password",
            "If you did not ask to reset your password, ignore this mail: nothing changed.".to_string(),
        ),
        Purpose::MagicLink => (
            format!("Your sign-in code for {site}"),
            "Sign in",
            "If you did not ask to sign in, ignore this mail.".to_string(),
        ),
        Purpose::EmailChange => (
            format!("Confirm your new address for {site}"),
            "Confirm this address",
            format!("If you did not ask to use this address at {site}, ignore this mail."),
        ),
        Purpose::EmailChangeCurrent => (
            format!("Confirm the change of your address at {site}"),
            "Confirm moving your account to the new address",
            format!(
                "Someone (maybe you) asked to move your {site} account from this address to {}. \
                 If it was not you, do not confirm: your account stays at this address, and someone \
                 may be signed in to it, so change your password.",
                moving_to.unwrap_or("another address")
            ),
        ),
        Purpose::Reauthentication => (
            format!("Your verification code for {site}"),
            "Confirm it is you",
            "If you did not ask for this code, someone may be signed in to your account: change \
             your password."
                .to_string(),
        ),
        Purpose::Login => (
            format!("Sign in to {site}"),
            "Sign in",
            "If you did not ask to sign in, ignore this mail.".to_string(),
        ),
    };
    // A code without a link (a re-authentication nonce) is typed where it was asked for.
    let (link_text, link_html) = match link.is_empty() {
        true => (String::new(), String::new()),
        false => (
            format!("\n\nOr follow this link ({}):\n{link}", action.to_lowercase()),
            format!("<p><a href=\"{}\">{}</a></p>", html_escape(link), html_escape(action)),
        ),
    };
    let expiry = match link.is_empty() {
        true => format!("The code expires in {minutes} minutes and works once."),
        false => format!("The code and link expire in {minutes} minutes and work once."),
    };
    Mail {
        to: to.to_string(),
        subject: subject.clone(),
        text: format!("Your code is: {code}{link_text}\n\n{expiry}\n{ignore}"),
        html: page(
            &subject,
            &format!(
                "<p>Your code is:</p><p style=\"font-size:1.6rem;letter-spacing:.2rem\"><b>{}</b></p>\
                 {link_html}<p>{} {}</p>",
                html_escape(code),
                html_escape(&expiry),
                html_escape(&ignore)
            ),
        ),
    }
}

/// The most characters of a requester's words a mail quotes (the passwordless API takes a
/// `session_platform` of at most 64; a mail bounds what it shows whatever its caller checked).
pub const MAX_QUOTED_CHARS: usize = 64;

/// Words a requester chose, made fit to quote on one line: control and invisible formatting
/// characters (line breaks, right-to-left overrides and the like, which could move or hide
/// text around the quote) become U+FFFD, and text past [`MAX_QUOTED_CHARS`] is cut with `…`.
/// Not escaped for HTML: [`html_escape`] the result for the HTML part.
pub fn quotable(words: &str) -> String {
    // Unicode's default-ignorable code points (rendered as nothing, or as blank space: the
    // Hangul fillers), line and paragraph separators, and interlinear annotation marks; not
    // the variation selectors of U+FE00..FE0F, which only pick an emoji's look.
    let invisible = |c: char| {
        c.is_control()
            || matches!(c,
                '\u{ad}' | '\u{34f}' | '\u{61c}' | '\u{115f}'..='\u{1160}' | '\u{17b4}'..='\u{17b5}'
                | '\u{180b}'..='\u{180f}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}' | '\u{3164}' | '\u{feff}' | '\u{ffa0}'
                | '\u{fff0}'..='\u{fffb}' | '\u{1bca0}'..='\u{1bca3}' | '\u{1d173}'..='\u{1d17a}'
                | '\u{e0000}'..='\u{e0fff}')
    };
    let mut out: String = words.chars().take(MAX_QUOTED_CHARS).map(|c| if invisible(c) { '\u{fffd}' } else { c }).collect();
    if words.chars().nth(MAX_QUOTED_CHARS).is_some() {
        out.push('\u{2026}');
    }
    out
}

/// The requester's `words` quoted as theirs: [`quotable`], between curly quotes. Not escaped
/// for HTML.
pub fn quoted(words: &str) -> String {
    format!("\u{201c}{}\u{201d}", quotable(words))
}

/// A passwordless sign-in request: the link opens a page that asks to confirm or deny.
/// `platform` is whatever the requester typed (anyone who knows the name and address can ask),
/// so the mail shows it only as their words: quoted, on a line of its own, bounded and escaped,
/// never in the subject or in a sentence of ours.
pub fn login_request(config: &Config, to: &str, username: &str, platform: &str, link: &str) -> Mail {
    let site = &config.site_name;
    let minutes = config.login_request_exp_secs / 60;
    let quoted = quoted(platform);
    let caveat = format!("Those are the requester's words, not checked by {site}.");
    Mail {
        to: to.to_string(),
        subject: format!("Sign in to {site}?"),
        text: format!(
            "Someone asked to sign in to {site} as {username}.\n\
             The requester says it is:\n\
             > {quoted}\n\
             {caveat}\n\n\
             To allow or refuse it, open:\n{link}\n\n\
             The link works for {minutes} minutes. If you did not ask to sign in, refuse it or ignore this mail."
        ),
        html: page(
            &format!("Sign in to {site}?"),
            &format!(
                "<p>Someone asked to sign in as <b>{}</b>.</p>\
                 <p>The requester says it is:</p>\
                 <blockquote style=\"margin:0 0 .5rem;padding:.25rem .75rem;border-left:3px solid #999\">{}</blockquote>\
                 <p><small>{}</small></p>\
                 <p><a href=\"{}\">Allow or refuse this sign-in</a></p>\
                 <p>The link works for {minutes} minutes. If you did not ask to sign in, refuse it or ignore this mail.</p>",
                html_escape(username),
                html_escape(&quoted),
                html_escape(&caveat),
                html_escape(link)
            ),
        ),
    }
}

/// Sent instead of a confirmation when someone signs up with an address that already has an
/// account: the owner learns of it, the person signing up learns nothing.
pub fn already_registered(config: &Config, to: &str) -> Mail {
    let site = &config.site_name;
    let url = &config.site_url;
    Mail {
        to: to.to_string(),
        subject: format!("You already have an account at {site}"),
        text: format!(
            "Someone (maybe you) tried to sign up to {site} with this address, which already has \
             an account.\n\nSign in at {url}. If you forgot your password, reset it there.\n\
             If this was not you, you can ignore this mail: nothing changed."
        ),
        html: page(
            &format!("You already have an account at {site}"),
            &format!(
                "<p>Someone (maybe you) tried to sign up with this address, which already has an account.</p>\
                 <p><a href=\"{}\">Sign in</a>. If you forgot your password, reset it there.</p>\
                 <p>If this was not you, you can ignore this mail: nothing changed.</p>",
                html_escape(url)
            ),
        ),
    }
}

/// Tells the old address that the account moved to `new_address` (sent in every mode, so the
/// owner hears of a change that a stolen session made).
pub fn email_changed(config: &Config, to: &str, new_address: &str) -> Mail {
    let site = &config.site_name;
    Mail {
        to: to.to_string(),
        subject: format!("Your email address at {site} was changed"),
        text: format!(
            "The email address of your {site} account was changed from {to} to {new_address}.\n\n\
             If you did not do this, someone else may have taken over your account: contact {site}."
        ),
        html: page(
            &format!("Your email address at {site} was changed"),
            &format!(
                "<p>The email address of your account was changed from <b>{}</b> to <b>{}</b>.</p>\
                 <p>If you did not do this, someone else may be signed in to your account.</p>",
                html_escape(to),
                html_escape(new_address)
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_special_characters_are_escaped() {
        assert_eq!(html_escape(r#"<a href="x">&'"#), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }

    #[test]
    fn quoted_words_are_one_bounded_line_without_invisible_characters() {
        assert_eq!(quotable("Ada's Phone"), "Ada's Phone");
        assert_eq!(quotable("a\nb\u{202e}c\u{200b}d\u{2066}e"), "a\u{fffd}b\u{fffd}c\u{fffd}d\u{fffd}e");
        // Blank-looking Hangul fillers and tag characters (hidden ASCII) too.
        assert_eq!(quotable("\u{3164}x\u{ffa0}\u{e0041}"), "\u{fffd}x\u{fffd}\u{fffd}");
        assert_eq!(quotable("Ada's \u{2764}\u{fe0f} phone"), "Ada's \u{2764}\u{fe0f} phone");
        let long = "x".repeat(MAX_QUOTED_CHARS + 1);
        assert_eq!(quotable(&long), format!("{}\u{2026}", "x".repeat(MAX_QUOTED_CHARS)));
        assert_eq!(quotable(&"é".repeat(MAX_QUOTED_CHARS)), "é".repeat(MAX_QUOTED_CHARS));
    }
}
