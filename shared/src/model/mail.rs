//! [`Mail`]: one mail, already rendered, as the `Mailer` port takes it, with a `Debug` that hides
//! its body. Rendering mails is `crate::mail`'s job; delivering them, the port's.

/// A mail to send, already rendered.
#[derive(Clone, PartialEq)]
pub struct Mail {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
}

// Mails carry codes and sign-in links: keep their bodies out of logs.
impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .field("body", &"[redacted]")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_debug_hides_the_body() {
        let m = Mail {
            to: "a@b.c".into(),
            subject: "s".into(),
            text: "code 123456".into(),
            html: "123456".into(),
        };
        assert!(!format!("{m:?}").contains("123456"));
    }
}
