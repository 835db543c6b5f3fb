//! GoTrue's admin API, for `supabase.auth.admin.*` with the service-role key: `/admin/users`
//! (list with `page`/`per_page`, `x-total-count` and `link`; create), `/admin/users/{id}`
//! (get, update, delete), `/admin/generate_link` and `/invite`.
//!
//! Wire shapes follow supabase/auth `internal/api/admin.go`, `mail.go` and `invite.go`; errors
//! render through [`super::errors`], whose `describe` picks every status. Every route here is
//! guarded by the service role in the dialect's table.

use super::errors::GotrueError;
use super::wire::user_json;
use crate::dialects::{json_response, parse_json, query_param, Body};
use crate::flows::{AccountChange, Flows, Ban, LinkKind, LinkRequest, NewAccount, MAX_PER_PAGE};
use crate::model::UserId;
use crate::ports::Ports;
use crate::secret::{Password, Secret};
use http::{Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// Accounts a page of the list holds unless `per_page` says otherwise (upstream's default).
const DEFAULT_PER_PAGE: u32 = 50;

/// The admin API's endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /admin/users`.
    List,
    /// `POST /admin/users`.
    Create,
    /// `GET /admin/users/{id}`.
    Get,
    /// `PUT /admin/users/{id}`.
    Update,
    /// `DELETE /admin/users/{id}`.
    Delete,
    /// `POST /admin/generate_link`.
    GenerateLink,
    /// `POST /invite`.
    Invite,
    /// Another method on `/admin/users/{id}`: the id is checked, then 404.
    OtherOnUser,
    /// Anything else under the admin paths: 404, to the service role only.
    NotFound,
}

/// Serves one admin request, the service role proven by the route's guard; `Err` renders in
/// GoTrue's shape.
pub(super) async fn serve<P: Ports>(
    auth: &Flows<P>,
    req: &Request<Body>,
    endpoint: Endpoint,
    id: Option<&str>,
) -> Result<Response<Body>, GotrueError> {
    let user_id = || user_id(id);
    match endpoint {
        Endpoint::List => list(auth, req).await,
        Endpoint::Create => create(auth, req).await,
        Endpoint::GenerateLink => generate_link(auth, req).await,
        Endpoint::Invite => invite(auth, req).await,
        Endpoint::Get => ok(&user_json(&auth.admin_get_user(&user_id()?).await?)),
        Endpoint::Update => update(auth, req, &user_id()?).await,
        Endpoint::Delete => delete(auth, req, &user_id()?).await,
        Endpoint::OtherOnUser => user_id().and(Err(GotrueError::NotFound)),
        Endpoint::NotFound => Err(GotrueError::NotFound),
    }
}

/// A user id from the path: upstream answers 404 for one that is no UUID.
pub(super) fn user_id(id: Option<&str>) -> Result<UserId, GotrueError> {
    let id = id.unwrap_or_default();
    match uuid::Uuid::parse_str(id) {
        Ok(_) => Ok(UserId::new(id)),
        Err(_) => Err(GotrueError::NotFoundBecause("user_id must be an UUID")),
    }
}

fn ok(value: &Value) -> Result<Response<Body>, GotrueError> {
    Ok(json_response(StatusCode::OK, value, &[]))
}

/// A page number or size from the query: absent or empty is `default` (auth-js sends
/// `page=&per_page=` when unset).
fn pagination(query: Option<&str>, name: &str, default: u32) -> Result<u32, GotrueError> {
    match query_param(query, name).filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(v) => match v.parse::<u32>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(GotrueError::Validation("Bad Pagination Parameters: page and per_page are whole numbers from 1")),
        },
    }
}

/// `GET /admin/users?page=&per_page=`: newest first; `x-total-count` and, as upstream, a `link`
/// header with the next page (if any) and the last.
async fn list<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Result<Response<Body>, GotrueError> {
    let query = req.uri().query();
    let page = pagination(query, "page", 1)?;
    let per_page = pagination(query, "per_page", DEFAULT_PER_PAGE)?.min(MAX_PER_PAGE);
    let (users, total) = auth.admin_list_users(page, per_page).await?;
    let last = total.div_ceil(u64::from(per_page));
    let page_link = |n: u64, rel: &str| {
        // Upstream's: the request's path, its query re-encoded with keys sorted (so `page`
        // comes first, which auth-js' parser counts on).
        let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .filter(|(k, _)| k != "page")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        pairs.push(("page".into(), n.to_string()));
        pairs.sort();
        let q = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        format!("<{}?{q}>; rel=\"{rel}\"", req.uri().path())
    };
    let mut links = Vec::new();
    if last > u64::from(page) {
        links.push(page_link(u64::from(page) + 1, "next"));
    }
    links.push(page_link(last, "last"));
    let body = json!({"users": users.iter().map(user_json).collect::<Vec<_>>(), "aud": "authenticated"});
    Ok(json_response(
        StatusCode::OK,
        &body,
        &[("x-total-count", total.to_string()), ("link", links.join(", "))],
    ))
}

#[derive(Deserialize)]
struct AdminUserBody {
    email: Option<String>,
    phone: Option<String>,
    password: Option<Password>,
    password_hash: Option<Secret<String>>,
    email_confirm: Option<bool>,
    phone_confirm: Option<bool>,
    user_metadata: Option<Map<String, Value>>,
    app_metadata: Option<Map<String, Value>>,
    ban_duration: Option<String>,
    role: Option<String>,
    id: Option<String>,
}

impl AdminUserBody {
    /// Refuses what Portcullis does not keep, rather than dropping it silently.
    fn check_supported(&self) -> Result<(), GotrueError> {
        if self.phone.as_deref().is_some_and(|p| !p.is_empty()) || self.phone_confirm.is_some() {
            return Err(GotrueError::Validation("Phone numbers are not supported"));
        }
        if self.password_hash.is_some() {
            return Err(GotrueError::Validation("password_hash is not supported: set password"));
        }
        if self.role.as_deref().is_some_and(|r| r != "authenticated") {
            return Err(GotrueError::Validation("Only the role authenticated is supported"));
        }
        Ok(())
    }

    fn ban(&self) -> Result<Option<Ban>, GotrueError> {
        self.ban_duration.as_deref().map(parse_ban).transpose()
    }
}

/// GoTrue's `ban_duration`: `"none"`, or a Go duration such as `"24h"`, `"1h30m"`, `"90s"`.
fn parse_ban(text: &str) -> Result<Ban, GotrueError> {
    if text == "none" {
        return Ok(Ban::Lift);
    }
    parse_go_duration_ms(text).map(Ban::ForMs).ok_or(GotrueError::Validation(
        "invalid format for ban duration: use none or a duration such as 24h, 1h30m or 90s",
    ))
}

/// Go's `time.ParseDuration`, in whole milliseconds (saturating): an optional sign, then one
/// or more decimal numbers each with a unit of `ns`, `us`, `µs`, `ms`, `s`, `m` or `h`.
fn parse_go_duration_ms(text: &str) -> Option<i64> {
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() || text.len() > 64 {
        return None;
    }
    let mut total_ms = 0f64;
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let number: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let ms_per_unit = match &rest[..unit_len] {
            "ns" => 1e-6,
            "us" | "µs" | "μs" => 1e-3,
            "ms" => 1.0,
            "s" => 1e3,
            "m" => 6e4,
            "h" => 3.6e6,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total_ms += number * ms_per_unit;
    }
    let signed = if negative { -total_ms } else { total_ms };
    // `as` saturates at i64's ends.
    Some(signed as i64)
}

/// `POST /admin/users`: the new account, bare. No mail goes out.
async fn create<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Result<Response<Body>, GotrueError> {
    let body: AdminUserBody = parse_json(req.body())?;
    body.check_supported()?;
    if body.id.is_some() {
        return Err(GotrueError::Validation("Setting a user's id is not supported"));
    }
    let ban = body.ban()?;
    let email = body.email.as_deref().filter(|e| !e.is_empty()).ok_or(GotrueError::Validation(
        "Cannot create a user without either an email or phone",
    ))?;
    let new = NewAccount {
        email,
        password: body.password.as_ref(),
        email_confirm: body.email_confirm.unwrap_or(false),
        user_metadata: body.user_metadata,
        app_metadata: body.app_metadata,
        ban,
    };
    ok(&user_json(&auth.admin_create_user(new).await?))
}

/// `PUT /admin/users/{id}`: the account as changed, bare.
async fn update<P: Ports>(auth: &Flows<P>, req: &Request<Body>, id: &UserId) -> Result<Response<Body>, GotrueError> {
    let body: AdminUserBody = parse_json(req.body())?;
    body.check_supported()?;
    let ban = body.ban()?;
    let change = AccountChange {
        email: body.email.as_deref(),
        password: body.password.as_ref(),
        email_confirm: body.email_confirm,
        user_metadata: body.user_metadata,
        app_metadata: body.app_metadata,
        ban,
    };
    ok(&user_json(&auth.admin_update_user(id, change).await?))
}

#[derive(Deserialize, Default)]
struct DeleteBody {
    should_soft_delete: Option<bool>,
}

/// `DELETE /admin/users/{id}` (body `{should_soft_delete}` optional): `{}`.
async fn delete<P: Ports>(auth: &Flows<P>, req: &Request<Body>, id: &UserId) -> Result<Response<Body>, GotrueError> {
    let body: DeleteBody = match req.body().iter().all(u8::is_ascii_whitespace) {
        true => DeleteBody::default(),
        false => parse_json(req.body())?,
    };
    auth.admin_delete_user(id, body.should_soft_delete.unwrap_or(false)).await?;
    ok(&json!({}))
}

#[derive(Deserialize)]
struct GenerateLinkBody {
    #[serde(rename = "type")]
    kind: Option<String>,
    email: Option<String>,
    new_email: Option<String>,
    password: Option<Password>,
    data: Option<Map<String, Value>>,
    redirect_to: Option<String>,
}

/// `POST /admin/generate_link`: the account's fields with `action_link`, `email_otp`,
/// `hashed_token`, `verification_type` and `redirect_to` (auth-js splits them into `user` and
/// `properties`). Nothing is mailed.
async fn generate_link<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Result<Response<Body>, GotrueError> {
    let body: GenerateLinkBody = parse_json(req.body())?;
    let kind = match body.kind.as_deref() {
        Some("signup") => LinkKind::Signup,
        Some("invite") => LinkKind::Invite,
        Some("magiclink") => LinkKind::MagicLink,
        Some("recovery") => LinkKind::Recovery,
        Some("email_change_new") => LinkKind::EmailChangeNew,
        Some("email_change_current") => {
            return Err(GotrueError::Validation(
                "email_change_current links are not offered: an email_change_new link moves the account on its own",
            ))
        }
        _ => return Err(GotrueError::Validation("Invalid email action link type requested")),
    };
    let email = body.email.as_deref().filter(|e| !e.is_empty()).ok_or(GotrueError::Validation("An email address is required"))?;
    if kind == LinkKind::EmailChangeNew && body.new_email.as_deref().is_none_or(str::is_empty) {
        return Err(GotrueError::Validation("An email address is required"));
    }
    if kind == LinkKind::Signup && body.password.is_none() {
        return Err(GotrueError::Validation("Signup requires a valid password"));
    }
    let redirect = body.redirect_to.or_else(|| query_param(req.uri().query(), "redirect_to"));
    let handed = auth
        .admin_generate_link(LinkRequest {
            kind,
            email,
            new_email: body.new_email.as_deref(),
            password: body.password.as_ref(),
            data: body.data,
            redirect_to: redirect.as_deref(),
        })
        .await?;
    let mut out = user_json(&handed.user);
    out["action_link"] = json!(handed.link);
    out["email_otp"] = json!(handed.digits.expose());
    out["hashed_token"] = json!(handed.link_token.expose());
    out["verification_type"] = json!(handed.link_type);
    out["redirect_to"] = json!(handed.redirect_to);
    ok(&out)
}

#[derive(Deserialize)]
struct InviteBody {
    email: Option<String>,
    data: Option<Map<String, Value>>,
}

/// `POST /invite {email, data}` (`redirect_to` in the query): mails the invitation; the
/// account, bare.
async fn invite<P: Ports>(auth: &Flows<P>, req: &Request<Body>) -> Result<Response<Body>, GotrueError> {
    let body: InviteBody = parse_json(req.body())?;
    let email = body.email.filter(|e| !e.is_empty()).ok_or(GotrueError::Validation("An email address is required"))?;
    let redirect = query_param(req.uri().query(), "redirect_to");
    let user = auth.invite(&email, body.data.unwrap_or_default(), crate::flows::Landing::to(redirect.as_deref())).await?;
    ok(&user_json(&user))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse_as_go_parses_them() {
        for (text, ms) in [
            ("24h", 86_400_000),
            ("1h30m", 5_400_000),
            ("90s", 90_000),
            ("1.5h", 5_400_000),
            ("300ms", 300),
            ("876000h", 3_153_600_000_000),
            ("-1h", -3_600_000),
            ("0", 0),
            ("2h45m30.5s", 9_930_500),
        ] {
            assert_eq!(parse_go_duration_ms(text), Some(ms), "{text}");
        }
        for bad in ["", "24", "h", "1d", "never", "1h-", "--1h", " 1h", "1.2.3s", "+"] {
            assert_eq!(parse_go_duration_ms(bad), None, "{bad:?}");
        }
        assert!(matches!(parse_ban("none"), Ok(Ban::Lift)));
        assert!(matches!(parse_ban("24"), Err(GotrueError::Validation(_))));
    }
}
