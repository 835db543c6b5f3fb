//! The mails Portcullis sends, rendered to text and HTML.
//!
//! Only content lives here; delivery is the `Mailer` port's job. Every value put into HTML is
//! escaped. Links point at the service's public URL (`API_EXTERNAL_URL`).

use crate::config::Config;
use crate::model::Mail;

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

/// "Confirm your sign-up": the 6-digit code and a confirmation link.
pub fn signup_confirmation(config: &Config, to: &str, code: &str, link: &str) -> Mail {
    let site = &config.site_name;
    let minutes = config.otp_exp_secs / 60;
    Mail {
        to: to.to_string(),
        subject: format!("Confirm your sign-up to {site}"),
        text: format!(
            "Your confirmation code is: {code}\n\nOr follow this link to confirm your address:\n{link}\n\n\
             The code and link expire in {minutes} minutes and work once.\n\
             If you did not sign up to {site}, ignore this mail."
        ),
        html: page(
            &format!("Confirm your sign-up to {site}"),
            &format!(
                "<p>Your confirmation code is:</p><p style=\"font-size:1.6rem;letter-spacing:.2rem\"><b>{}</b></p>\
                 <p><a href=\"{}\">Confirm your address</a></p>\
                 <p>The code and link expire in {minutes} minutes and work once. \
                 If you did not sign up to {}, ignore this mail.</p>",
                html_escape(code),
                html_escape(link),
                html_escape(site)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_special_characters_are_escaped() {
        assert_eq!(html_escape(r#"<a href="x">&'"#), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }
}
