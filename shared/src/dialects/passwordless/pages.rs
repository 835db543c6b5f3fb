//! The pages the mailed links open: a sign-in request to confirm or deny, an address to
//! confirm. Small, self-contained HTML: every value escaped, no scripts, framing refused, the
//! referrer withheld (the link's token is in its URL), and answers accepted only as POSTs from
//! the page itself.

use super::errors::{render_error, PasswordlessError};
use crate::dialects::{form_pairs, Body};
use crate::flows::{CodeError, CodeUse, Flows, SignInRequestError};
use crate::mail::html_escape;
use crate::ports::Ports;
use crate::secret::LinkToken;
use http::{Request, Response, StatusCode};

/// An HTML page with the headers every page here carries.
fn html(status: StatusCode, title: &str, body: &str) -> Response<Body> {
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{t}</title>\
         <style>body{{font:16px/1.5 system-ui,sans-serif;max-width:30rem;margin:4rem auto;padding:0 1rem;color:#1d2330}}\
         .card{{border:1px solid #dfe3ea;border-radius:12px;padding:1.5rem 1.75rem;box-shadow:0 1px 3px #0001}}\
         h1{{font-size:1.35rem;margin:0 0 .75rem}}.platform{{font-weight:600;margin:.5rem 0;padding:.25rem .75rem;border-left:3px solid #999}}\
         .actions{{display:flex;gap:.75rem;margin-top:1.25rem}}\
         button{{font:inherit;padding:.55rem 1.2rem;border-radius:8px;border:1px solid #c9ced8;background:#fff;cursor:pointer}}\
         button.primary{{background:#1f5eff;border-color:#1f5eff;color:#fff}}.muted{{color:#5b6475;font-size:.9rem}}</style>\
         </head><body><div class=\"card\">{body}</div></body></html>",
        t = html_escape(title),
    );
    Response::builder()
        .status(status)
        .header("content-type", "text/html; charset=utf-8")
        .header("cache-control", "no-store")
        .header("x-frame-options", "DENY")
        .header("referrer-policy", "no-referrer")
        .header(
            "content-security-policy",
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        )
        .body(page.into_bytes())
        .unwrap_or_else(|_| Response::new(Vec::new()))
}

/// The requester's words (a sign-in request's platform) as the pages show them, as the mail
/// does ([`crate::mail::quoted`]), escaped; never as a sentence of ours.
fn quoted(words: &str) -> String {
    html_escape(&crate::mail::quoted(words))
}

fn invalid_link_page() -> Response<Body> {
    html(
        StatusCode::BAD_REQUEST,
        "Link expired",
        "<h1>This link is invalid or has expired</h1>\
         <p>It may have been used already. Ask for a new sign-in on the device you want to use.</p>",
    )
}

fn token_param(req: &Request<Body>) -> Option<LinkToken> {
    crate::dialects::query_param(req.uri().query(), "token").filter(|t| !t.is_empty()).map(LinkToken::new)
}

/// `GET /auth/confirm?token=`: names the platform and asks to allow or refuse. Decides nothing.
pub(super) async fn login_page<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Response<Body> {
    let Some(token) = token_param(req) else { return invalid_link_page() };
    match auth.open_login_link(&token).await {
        Ok(page) => html(
            StatusCode::OK,
            "Allow this sign-in?",
            &format!(
                "<h1>Allow this sign-in?</h1>\
                 <p>Someone asked to sign in as <b>{user}</b>. The requester says it is:</p>\
                 <blockquote class=\"platform\">{platform}</blockquote>\
                 <p class=\"muted\">Those are the requester's words, not checked by {site}. \
                 Only allow it if you asked for it just now, on that device.</p>\
                 <form method=\"post\" action=\"/auth/confirm\">\
                 <input type=\"hidden\" name=\"token\" value=\"{token}\">\
                 <input type=\"hidden\" name=\"page\" value=\"{page_token}\">\
                 <div class=\"actions\">\
                 <button class=\"primary\" type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\
                 <button type=\"submit\" name=\"decision\" value=\"deny\">Refuse</button></div></form>",
                platform = quoted(&page.platform),
                site = html_escape(&auth.config().site_name),
                user = html_escape(&page.username),
                token = html_escape(token.expose()),
                page_token = html_escape(page.page_token.expose()),
            ),
        ),
        Err(SignInRequestError::LinkInvalid) => invalid_link_page(),
        Err(e) => render_error(auth, &e.into()),
    }
}

/// `POST /auth/confirm` (the page's form): allows or refuses, once.
pub(super) async fn login_answer<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Response<Body> {
    let form = form_pairs(req.body());
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let (Some(token), Some(page), Some(decision)) = (field("token"), field("page"), field("decision")) else {
        return invalid_link_page();
    };
    let allow = match decision {
        "allow" => true,
        "deny" => false,
        _ => return invalid_link_page(),
    };
    match auth.answer_login_link(&LinkToken::new(token.to_string()), page, allow).await {
        Ok(platform) if allow => html(
            StatusCode::OK,
            "Signed in",
            &format!(
                "<h1>Sign-in allowed</h1><p>The device that asked, which said it is {}, is now signed in. \
                 You can close this page.</p>",
                quoted(&platform)
            ),
        ),
        Ok(platform) => html(
            StatusCode::OK,
            "Sign-in refused",
            &format!(
                "<h1>Sign-in refused</h1><p>The device that asked, which said it is {}, was not signed in.</p>",
                quoted(&platform)
            ),
        ),
        Err(SignInRequestError::LinkInvalid) => invalid_link_page(),
        Err(e) => render_error(auth, &e.into()),
    }
}

/// `GET /auth/email/confirm?token=`: names the account that claims the address and asks to
/// confirm. Confirms nothing by itself.
pub(super) async fn email_page<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Response<Body> {
    let Some(token) = token_param(req) else { return invalid_link_page() };
    let claim = match auth.email_link_claim(&token).await {
        Ok(Some(claim)) => claim,
        Ok(None) => return invalid_link_page(),
        Err(e) => return render_error(auth, &e.into()),
    };
    let (account, address) = (html_escape(&claim.username), html_escape(&claim.address));
    let ends = match claim.first {
        true => " Confirming ends the account's current sessions: sign in again with this address.",
        false => "",
    };
    let ask = match claim.new_address {
        true => format!(
            "<h1>Give {address} to the account <b>{account}</b>?</h1>\
             <p>The account <b>{account}</b> asks to use this address to sign in. Confirm only if \
             that account is yours: whoever holds it can then sign in with this address.{ends}</p>"
        ),
        false => format!(
            "<h1>Move the account <b>{account}</b> away from {address}?</h1>\
             <p>The account <b>{account}</b> asks to replace this address with another one. \
             Confirm only if you asked for that.</p>"
        ),
    };
    html(
        StatusCode::OK,
        "Confirm your address",
        &format!(
            "{ask}<form method=\"post\" action=\"/auth/email/confirm\">\
             <input type=\"hidden\" name=\"token\" value=\"{}\">\
             <div class=\"actions\"><button class=\"primary\" type=\"submit\">Confirm</button></div></form>",
            html_escape(token.expose())
        ),
    )
}

/// `POST /auth/email/confirm`: attaches the address, once.
pub(super) async fn email_answer<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Response<Body> {
    let form = form_pairs(req.body());
    let Some((_, token)) = form.iter().find(|(k, _)| k == "token") else { return invalid_link_page() };
    match auth.confirm_email_link(&LinkToken::new(token.clone())).await {
        Ok(CodeUse::OtherAddressNext) => html(
            StatusCode::OK,
            "Confirmed; one more step",
            "<h1>Confirmed</h1><p>Now confirm with the link sent to the other address: the \
             account moves once both are confirmed.</p>",
        ),
        Ok(CodeUse::Done(user)) => html(
            StatusCode::OK,
            "Address confirmed",
            &format!(
                "<h1>Address confirmed</h1><p>{} is now the address of <b>{}</b>.</p>",
                html_escape(user.email.as_deref().unwrap_or_default()),
                html_escape(user.username.as_deref().unwrap_or_default())
            ),
        ),
        Err(CodeError::CodeInvalid) => invalid_link_page(),
        Err(CodeError::EmailExists) => html(
            StatusCode::CONFLICT,
            "Address in use",
            "<h1>This address is already in use</h1><p>Another account has added it in the meantime.</p>",
        ),
        Err(CodeError::Internal(detail)) => render_error(auth, &PasswordlessError::Internal(detail)),
    }
}
