//! The `Mailer` port: each mail goes over SMTP through a Workers TCP socket
//! (`worker::Socket`), in TLS from the start (SMTPS) or upgraded with STARTTLS (in the clear
//! only to a local server), with AUTH PLAIN when configured.
//!
//! The message is built by `mail-builder` with the date and Message-ID from the runtime's clock
//! and randomness (`JsClock`, `CryptoRng`) when it is sent. Failures come back as `MailError`
//! texts that name the step and the server's reply, never the password or the mail body
//! (which holds codes and links).

use crate::config::{SmtpConfig, SmtpTls};
use crate::smtp::{Smtp, SmtpError};
use crate::runtime::{CryptoRng, JsClock};
use mail_builder::MessageBuilder;
use portcullis_shared::model::Mail;
use portcullis_shared::ports::Clock as _;
use portcullis_shared::ports::{MailError, Mailer};
use worker::{SecureTransport, Socket};

/// Delivers mail to the configured submission server. Built once per isolate: each message
/// is stamped when it is built, with the clock's time and a fresh Message-ID.
pub struct SmtpMailer {
    config: SmtpConfig,
    /// The domain of Message-IDs: the sender's.
    domain: String,
}

impl SmtpMailer {
    /// A mailer for the server in `config`.
    pub fn new(config: SmtpConfig) -> Self {
        let domain = config.from.rsplit_once('@').map_or("localhost", |(_, d)| d).to_string();
        Self { config, domain }
    }

    fn build(&self, mail: &Mail) -> Result<Vec<u8>, MailError> {
        let message_id = format!("{}@{}", portcullis_shared::token::random_hex(&CryptoRng, 16), self.domain);
        MessageBuilder::new()
            .from((self.config.sender_name.as_str(), self.config.from.as_str()))
            .to(mail.to.as_str())
            .subject(mail.subject.as_str())
            .date(JsClock.now().unix_seconds())
            .message_id(message_id.as_str())
            .text_body(mail.text.as_str())
            .html_body(mail.html.as_str())
            .write_to_vec()
            .map_err(|e| MailError(format!("building the message: {e}")))
    }

    async fn deliver(&self, mail: &Mail, message: &[u8]) -> Result<(), SmtpError> {
        let c = &self.config;
        let transport = match c.tls {
            SmtpTls::Off => SecureTransport::Off,
            SmtpTls::StartTls => SecureTransport::StartTls,
            SmtpTls::Implicit => SecureTransport::On,
        };
        let socket = Socket::builder()
            .secure_transport(transport)
            .connect(c.host.clone(), c.port)
            .map_err(|e| SmtpError::Io(e.to_string()))?;
        let mut smtp = Smtp::new(socket);
        smtp.hello("portcullis").await?;
        if c.tls == SmtpTls::StartTls {
            smtp.starttls().await?;
            smtp = Smtp::new(smtp.into_inner().start_tls());
            smtp.ehlo("portcullis").await?;
        }
        if let Some((user, pass)) = &c.auth {
            smtp.auth_plain(user, pass.expose()).await?;
        }
        let result = smtp.send(&c.from, &mail.to, message).await;
        let mut socket = smtp.into_inner();
        let _ = socket.close().await;
        result
    }
}

impl Mailer for SmtpMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let message = self.build(mail)?;
        self.deliver(mail, &message).await.map_err(|e| {
            MailError(format!(
                "to {}:{} for {:?}: {e}",
                self.config.host, self.config.port, mail.subject
            ))
        })
    }
}
