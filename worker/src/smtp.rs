//! A minimal SMTP client dialogue (RFC 5321) over any async byte stream.
//!
//! Just what mail submission needs: greeting, EHLO, optional STARTTLS hand-off, AUTH PLAIN,
//! MAIL/RCPT/DATA with dot-stuffing, QUIT. No maintained SMTP crate builds for wasm32 without
//! pulling a TLS stack (Workers' sockets do TLS themselves), so the dialogue is here, kept
//! generic so it is tested natively against a scripted server. Messages are built by
//! `mail-builder`. Replies are read with a bounded buffer; no secret is ever put in an error.

use base64::Engine as _;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Longest reply accepted from the server, in bytes.
const MAX_REPLY_BYTES: usize = 16 * 1024;

/// What went wrong talking SMTP; texts hold server replies and never secrets.
#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    /// The connection failed or closed early.
    #[error("smtp i/o: {0}")]
    Io(String),
    /// The server answered a command with an unexpected code.
    #[error("smtp server refused {step}: {reply}")]
    Refused {
        /// The command (never its arguments).
        step: &'static str,
        /// The server's reply.
        reply: String,
    },
    /// The server's reply was not SMTP.
    #[error("smtp protocol: {0}")]
    Protocol(String),
}

/// One SMTP connection over a stream.
pub struct Smtp<S> {
    stream: S,
    buf: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Smtp<S> {
    /// Wraps a connected stream.
    pub fn new(stream: S) -> Self {
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    /// Gives the stream back (for a TLS upgrade); only valid between replies.
    pub fn into_inner(self) -> S {
        self.stream
    }

    /// Reads one (possibly multi-line) reply: its code and text.
    pub async fn reply(&mut self) -> Result<(u16, String), SmtpError> {
        let mut text = String::new();
        loop {
            let line = self.line().await?;
            if line.len() < 3 || !line.as_bytes()[..3].iter().all(u8::is_ascii_digit) {
                return Err(SmtpError::Protocol(format!("unexpected reply line {line:?}")));
            }
            let code: u16 = line[..3].parse().map_err(|_| SmtpError::Protocol(line.clone()))?;
            text.push_str(line.get(4..).unwrap_or(""));
            if line.as_bytes().get(3) == Some(&b'-') {
                text.push('\n');
                continue;
            }
            return Ok((code, text));
        }
    }

    async fn line(&mut self) -> Result<String, SmtpError> {
        loop {
            if let Some(pos) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..pos + 2).collect();
                return Ok(String::from_utf8_lossy(&line[..pos]).into_owned());
            }
            if self.buf.len() > MAX_REPLY_BYTES {
                return Err(SmtpError::Protocol("reply too long".into()));
            }
            let mut chunk = [0u8; 1024];
            let n = self.stream.read(&mut chunk).await.map_err(|e| SmtpError::Io(e.to_string()))?;
            if n == 0 {
                return Err(SmtpError::Io("connection closed by the server".into()));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), SmtpError> {
        self.stream.write_all(bytes).await.map_err(|e| SmtpError::Io(e.to_string()))?;
        self.stream.flush().await.map_err(|e| SmtpError::Io(e.to_string()))
    }

    /// Sends a command line and expects a reply code in `ok`. `step` names it in errors, so
    /// arguments (addresses, credentials) never reach a log.
    pub async fn command(&mut self, step: &'static str, line: &str, ok: &[u16]) -> Result<String, SmtpError> {
        self.write(format!("{line}\r\n").as_bytes()).await?;
        self.expect(step, ok).await
    }

    /// Reads a reply and checks its code.
    pub async fn expect(&mut self, step: &'static str, ok: &[u16]) -> Result<String, SmtpError> {
        let (code, text) = self.reply().await?;
        if ok.contains(&code) {
            Ok(text)
        } else {
            Err(SmtpError::Refused {
                step,
                reply: format!("{code} {text}"),
            })
        }
    }

    /// Greeting and EHLO; returns the EHLO capabilities.
    pub async fn hello(&mut self, client_name: &str) -> Result<String, SmtpError> {
        self.expect("greeting", &[220]).await?;
        self.ehlo(client_name).await
    }

    /// EHLO (again after STARTTLS).
    pub async fn ehlo(&mut self, client_name: &str) -> Result<String, SmtpError> {
        self.command("EHLO", &format!("EHLO {client_name}"), &[250]).await
    }

    /// Asks to start TLS; afterwards take the stream with [`Smtp::into_inner`] and upgrade it.
    pub async fn starttls(&mut self) -> Result<(), SmtpError> {
        self.command("STARTTLS", "STARTTLS", &[220]).await.map(|_| ())
    }

    /// AUTH PLAIN.
    pub async fn auth_plain(&mut self, user: &str, password: &str) -> Result<(), SmtpError> {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
        self.command("AUTH", &format!("AUTH PLAIN {token}"), &[235]).await.map(|_| ())
    }

    /// MAIL FROM, RCPT TO, DATA with the message (dot-stuffed), then QUIT.
    pub async fn send(&mut self, from: &str, to: &str, message: &[u8]) -> Result<(), SmtpError> {
        for addr in [from, to] {
            if addr.contains(['<', '>', '\r', '\n']) {
                return Err(SmtpError::Protocol("address with forbidden characters".into()));
            }
        }
        self.command("MAIL FROM", &format!("MAIL FROM:<{from}>"), &[250]).await?;
        self.command("RCPT TO", &format!("RCPT TO:<{to}>"), &[250, 251]).await?;
        self.command("DATA", "DATA", &[354]).await?;
        self.write(&dot_stuff(message)).await?;
        self.expect("message", &[250]).await?;
        // The message is accepted; a failing QUIT changes nothing.
        let _ = self.command("QUIT", "QUIT", &[221]).await;
        Ok(())
    }
}

/// The DATA payload: CRLF line ends, lines starting with `.` doubled, ending `CRLF.CRLF`.
pub fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 16);
    let mut at_line_start = true;
    let mut prev = 0u8;
    for &b in message {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        at_line_start = b == b'\n';
        prev = b;
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tokio::io::duplex;

    /// Plays a scripted server: for each expected client line (prefix), the reply to send.
    async fn server(mut io: tokio::io::DuplexStream, script: Vec<(&'static str, &'static str)>) -> Vec<String> {
        let mut seen = Vec::new();
        io.write_all(b"220 catcher ESMTP\r\n").await.unwrap();
        let mut buf = Vec::new();
        let mut in_data = false;
        let mut script = script.into_iter();
        loop {
            let mut chunk = [0u8; 4096];
            let n = io.read(&mut chunk).await.unwrap();
            if n == 0 {
                return seen;
            }
            buf.extend_from_slice(&chunk[..n]);
            while let Some(pos) = buf.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8(buf.drain(..pos + 2).collect()).unwrap();
                let line = line.trim_end_matches("\r\n").to_string();
                seen.push(line.clone());
                if in_data {
                    if line == "." {
                        in_data = false;
                        io.write_all(b"250 queued\r\n").await.unwrap();
                    }
                    continue;
                }
                let Some((expect, reply)) = script.next() else { return seen };
                assert!(line.starts_with(expect), "client sent {line:?}, expected {expect:?}");
                if expect == "DATA" {
                    in_data = true;
                }
                io.write_all(reply.as_bytes()).await.unwrap();
            }
        }
    }

    #[tokio::test]
    async fn a_message_is_submitted_with_auth_and_dot_stuffing() {
        let (client, server_io) = duplex(64 * 1024);
        let script = vec![
            ("EHLO portcullis", "250-catcher\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n"),
            ("AUTH PLAIN AHVzZXIAcGFzcw==", "235 ok\r\n"),
            ("MAIL FROM:<a@b.de>", "250 ok\r\n"),
            ("RCPT TO:<c@d.de>", "250 ok\r\n"),
            ("DATA", "354 go\r\n"),
            ("QUIT", "221 bye\r\n"),
        ];
        let srv = tokio::spawn(server(server_io, script));
        let mut smtp = Smtp::new(client);
        let caps = smtp.hello("portcullis").await.unwrap();
        assert!(caps.contains("AUTH PLAIN"));
        smtp.auth_plain("user", "pass").await.unwrap();
        smtp.send("a@b.de", "c@d.de", b"Subject: x\r\n\r\n.hidden\nline\r\n").await.unwrap();
        drop(smtp);
        let seen = srv.await.unwrap();
        assert!(seen.contains(&"..hidden".to_string()), "{seen:?}");
        assert!(seen.contains(&".".to_string()));
    }

    #[tokio::test]
    async fn a_refusal_names_the_step_but_not_the_credentials() {
        let (client, server_io) = duplex(4096);
        let script = vec![("EHLO", "250 hi\r\n"), ("AUTH", "535 bad credentials\r\n")];
        let _srv = tokio::spawn(server(server_io, script));
        let mut smtp = Smtp::new(client);
        smtp.hello("portcullis").await.unwrap();
        let err = smtp.auth_plain("user", "hunter2").await.unwrap_err().to_string();
        assert!(err.contains("AUTH") && err.contains("535"), "{err}");
        assert!(!err.contains("hunter2") && !err.contains("AHVzZXI"), "{err}");
    }

    #[tokio::test]
    async fn addresses_cannot_inject_commands() {
        let (client, _server_io) = duplex(4096);
        let mut smtp = Smtp::new(client);
        let err = smtp.send("a@b.de>\r\nRCPT TO:<x@y.z", "c@d.de", b"x").await.unwrap_err();
        assert!(matches!(err, SmtpError::Protocol(_)));
    }

    #[test]
    fn dot_stuffing_normalises_line_ends_and_terminates() {
        assert_eq!(dot_stuff(b"a\n.b\r\n..c"), b"a\r\n..b\r\n...c\r\n.\r\n".to_vec());
    }
}
