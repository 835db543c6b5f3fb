//! What a flow answers when it does not succeed: [`FlowError`], every refusal any flow has, and
//! the narrow types a public flow returns instead, each naming only the refusals that flow can
//! give, so that a dialect maps those few cases and no others.
//!
//! Inside the flows, helpers share [`FlowError`] and `?` narrows it at a public flow's edge:
//! a refusal the narrow type does not list is a bug in the flow, and becomes its `Internal`
//! case (logged and shown by id, never a wrong answer). Every narrow type widens back into
//! [`FlowError`] losslessly, for GoTrue, whose endpoints reach every flow. The bearer road
//! ([`super::BearerError`]), admin, PKCE and sign-in requests have their own types beside them.

use crate::password::PasswordError;
use crate::ports::StoreError;
use crate::token::TokenError;

/// Why a flow refused, or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FlowError {
    /// Sign-ups are switched off.
    #[error("signups not allowed")]
    SignupDisabled,
    /// The address is not a usable email address.
    #[error("invalid email address")]
    InvalidEmail,
    /// The password is shorter than the configured minimum.
    #[error("password too short")]
    WeakPassword {
        /// The configured minimum, in characters.
        min_length: usize,
    },
    /// The password is longer than [`crate::password::MAX_PASSWORD_BYTES`].
    #[error("password too long")]
    PasswordTooLong,
    /// With auto-confirm on, the address already has an account (there is no mail step to
    /// hide that behind).
    #[error("user already registered")]
    UserAlreadyExists,
    /// Unknown address, wrong password, or no password: one answer for all.
    #[error("invalid login credentials")]
    InvalidCredentials,
    /// The password matched but the address is not confirmed yet.
    #[error("email not confirmed")]
    EmailNotConfirmed,
    /// Wrong, expired, used, exhausted or unknown code or link: one answer for all.
    #[error("code expired or invalid")]
    CodeInvalid,
    /// A presented bearer token is not a valid, unexpired token of ours for this dialect.
    #[error("bad token: {0}")]
    BadToken(TokenError),
    /// The session behind a token was ended or never existed.
    #[error("session not found")]
    SessionNotFound,
    /// The account behind a token no longer exists.
    #[error("user not found")]
    UserNotFound,
    /// Unknown, forged, or ended refresh token.
    #[error("refresh token not found")]
    RefreshTokenNotFound,
    /// A refresh token used again after the reuse window; its session was ended.
    #[error("refresh token already used")]
    RefreshTokenAlreadyUsed,
    /// The session is past its lifetime or inactivity timeout.
    #[error("session expired")]
    SessionExpired,
    /// A mail of this kind went to this address too recently.
    #[error("mail send limit: wait {wait_secs} s")]
    OverEmailSendRateLimit {
        /// Seconds until the next mail may go.
        wait_secs: i64,
    },
    /// A sensitive change through a session older than `REAUTHENTICATION_AFTER`, without a
    /// nonce.
    #[error("reauthentication needed")]
    ReauthenticationNeeded,
    /// The re-authentication nonce is wrong, expired, used or was never sent.
    #[error("reauthentication not valid")]
    ReauthenticationNotValid,
    /// The account has no address to mail (re-authentication).
    #[error("no address")]
    NoAddress,
    /// The account's address is not verified, so it cannot prove anything (re-authentication).
    #[error("address not verified")]
    AddressNotVerified,
    /// CAPTCHA is on and the request's response is missing or was not accepted (`captcha`).
    #[error("captcha failed: {reason}")]
    CaptchaFailed {
        /// Upstream's words for why.
        reason: &'static str,
    },
    /// This client did this too often lately (`throttle`).
    #[error("too many requests")]
    TooManyRequests,
    /// The address an email change was confirmed for has an account by now.
    #[error("email exists")]
    EmailExists,
    /// Anonymous sign-in is switched off (`EXTERNAL_ANONYMOUS_USERS_ENABLED`).
    #[error("anonymous sign-ins disabled")]
    AnonymousDisabled,
    /// A password for an anonymous account without an address to go with it.
    #[error("anonymous account without an address")]
    AnonymousWithoutAddress,
    /// The account has a verified second factor and the session did not use it (`aal1`).
    #[error("insufficient aal")]
    InsufficientAal,
    /// The service role banned the account (until `banned_until`).
    #[error("user banned")]
    UserBanned,
    /// Something broke; the text is for the log only.
    #[error("internal: {0}")]
    Internal(String),
}

impl From<StoreError> for FlowError {
    fn from(e: StoreError) -> Self {
        FlowError::Internal(e.to_string())
    }
}

impl From<PasswordError> for FlowError {
    fn from(e: PasswordError) -> Self {
        FlowError::Internal(e.to_string())
    }
}


/// Something broke (a store, a signature, a hash); the text is for the log only. What a flow
/// answers that has nothing to refuse.
#[derive(Debug, thiserror::Error)]
#[error("internal: {0}")]
pub struct InternalError(pub String);

impl From<InternalError> for FlowError {
    fn from(e: InternalError) -> Self {
        FlowError::Internal(e.0)
    }
}

impl From<StoreError> for InternalError {
    fn from(e: StoreError) -> Self {
        InternalError(e.to_string())
    }
}

impl From<super::BearerError> for FlowError {
    fn from(e: super::BearerError) -> Self {
        use super::BearerError as B;
        match e {
            B::BadToken(t) => FlowError::BadToken(t),
            B::SessionNotFound => FlowError::SessionNotFound,
            B::UserNotFound => FlowError::UserNotFound,
            B::SessionExpired => FlowError::SessionExpired,
            B::UserBanned => FlowError::UserBanned,
            B::Internal(d) => FlowError::Internal(d),
        }
    }
}

/// Defines a narrow error type: `own` cases that only its flows have (unit variants with their
/// message), and `shared` cases of [`FlowError`] (with the one field some of them carry), plus
/// `Internal`. Generates the conversions both ways described in the module docs.
macro_rules! narrow_error {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            own { $( $(#[$own_meta:meta])* $own:ident => $message:literal, )* }
            shared { $( $case:ident $( { $field:ident : $ty:ty } )?, )* }
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$own_meta])* $own, )*
            $(
                #[doc = concat!("As [`FlowError::", stringify!($case), "`].")]
                $case $( { #[doc = "As in [`FlowError`]."] $field: $ty } )?,
            )*
            /// Something broke; the text is for the log only.
            Internal(String),
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self {
                    $( $name::$own => f.write_str($message), )*
                    $( $name::$case $( { $field } )? => FlowError::$case $( { $field: *$field } )?.fmt(f), )*
                    $name::Internal(detail) => write!(f, "internal: {detail}"),
                }
            }
        }

        impl std::error::Error for $name {}

        impl From<FlowError> for $name {
            fn from(e: FlowError) -> Self {
                match e {
                    $( FlowError::$case $( { $field } )? => $name::$case $( { $field } )?, )*
                    FlowError::Internal(detail) => $name::Internal(detail),
                    other => $name::Internal(format!("{} cannot be {other:?}", stringify!($name))),
                }
            }
        }

        impl From<StoreError> for $name {
            fn from(e: StoreError) -> Self {
                $name::Internal(e.to_string())
            }
        }

        impl From<PasswordError> for $name {
            fn from(e: PasswordError) -> Self {
                $name::Internal(e.to_string())
            }
        }

        impl From<InternalError> for $name {
            fn from(e: InternalError) -> Self {
                $name::Internal(e.0)
            }
        }

        impl From<super::BearerError> for $name {
            fn from(e: super::BearerError) -> Self {
                FlowError::from(e).into()
            }
        }
    };
}

/// Widens a narrow type back into [`FlowError`]; its `own` cases become what `$own_to` says.
macro_rules! widen {
    ($name:ident { $( $case:ident $( { $field:ident } )? ),* $(,)? } $( , $own:ident => $to:expr )* ) => {
        impl From<$name> for FlowError {
            fn from(e: $name) -> Self {
                match e {
                    $( $name::$case $( { $field } )? => FlowError::$case $( { $field } )?, )*
                    $( $name::$own => $to, )*
                    $name::Internal(detail) => FlowError::Internal(detail),
                }
            }
        }
    };
}

narrow_error! {
    /// Why a password sign-in failed (`password_login`, `username_or_email_login`).
    pub enum LoginError {
        own {}
        shared {
            InvalidCredentials,
            EmailNotConfirmed,
            TooManyRequests,
            UserBanned,
            UserNotFound,
        }
    }
}
widen!(LoginError { InvalidCredentials, EmailNotConfirmed, TooManyRequests, UserBanned, UserNotFound });

narrow_error! {
    /// Why a sign-up (or an anonymous sign-in) was refused.
    pub enum SignupError {
        own {}
        shared {
            SignupDisabled,
            AnonymousDisabled,
            InvalidEmail,
            WeakPassword { min_length: usize },
            PasswordTooLong,
            UserAlreadyExists,
            TooManyRequests,
        }
    }
}
widen!(SignupError {
    SignupDisabled, AnonymousDisabled, InvalidEmail, WeakPassword { min_length }, PasswordTooLong, UserAlreadyExists,
    TooManyRequests,
});

narrow_error! {
    /// Why a change a session asked for (its password, address or metadata) was refused
    /// (`update_user`, `request_email`).
    pub enum ChangeError {
        own {}
        shared {
            InvalidEmail,
            WeakPassword { min_length: usize },
            PasswordTooLong,
            AnonymousWithoutAddress,
            ReauthenticationNeeded,
            ReauthenticationNotValid,
            OverEmailSendRateLimit { wait_secs: i64 },
            TooManyRequests,
            SessionNotFound,
            UserNotFound,
            InsufficientAal,
        }
    }
}
widen!(ChangeError {
    InvalidEmail, WeakPassword { min_length }, PasswordTooLong, AnonymousWithoutAddress, ReauthenticationNeeded,
    ReauthenticationNotValid, OverEmailSendRateLimit { wait_secs }, TooManyRequests, SessionNotFound, UserNotFound,
    InsufficientAal,
});

narrow_error! {
    /// Why a refresh token was refused (`refresh`, graphql-jwt's long-running refresh and
    /// `revokeToken`).
    pub enum RefreshError {
        own {}
        shared {
            RefreshTokenNotFound,
            RefreshTokenAlreadyUsed,
            SessionExpired,
            UserBanned,
            UserNotFound,
        }
    }
}
widen!(RefreshError { RefreshTokenNotFound, RefreshTokenAlreadyUsed, SessionExpired, UserBanned, UserNotFound });

narrow_error! {
    /// Why an emailed link was refused without starting a session (`confirm_email_link`).
    pub enum CodeError {
        own {}
        shared {
            CodeInvalid,
            EmailExists,
        }
    }
}
widen!(CodeError { CodeInvalid, EmailExists });

narrow_error! {
    /// Why a registration or an emailed sign-in request was refused: the cases only the
    /// passwordless API has, and the shared rules its flows apply.
    pub enum SignInRequestError {
        own {
            /// Not a username of 3-32 characters of `A-Z a-z 0-9 _ . -`.
            InvalidUsername => "invalid username",
            /// Not a platform name of 1-64 printable characters.
            InvalidPlatform => "invalid session platform",
            /// The username belongs to another account (in some case).
            UsernameTaken => "username taken",
            /// A sign-in link that is unknown, expired, already answered, or answered with
            /// another page's token.
            LinkInvalid => "link invalid or expired",
            /// A polled sign-in request that is unknown, expired, denied, unconfirmed or
            /// collected.
            LoginNotReady => "login not ready",
        }
        shared {
            InvalidEmail,
            OverEmailSendRateLimit { wait_secs: i64 },
            TooManyRequests,
            UserBanned,
            UserNotFound,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_narrow_type_keeps_its_own_cases_and_their_fields() {
        let e = ChangeError::from(FlowError::OverEmailSendRateLimit { wait_secs: 42 });
        assert!(matches!(e, ChangeError::OverEmailSendRateLimit { wait_secs: 42 }), "{e:?}");
        assert_eq!(e.to_string(), "mail send limit: wait 42 s");
        assert!(matches!(FlowError::from(e), FlowError::OverEmailSendRateLimit { wait_secs: 42 }));
        assert_eq!(SignInRequestError::UsernameTaken.to_string(), "username taken");
    }

    #[test]
    fn a_case_a_flow_cannot_give_becomes_internal_and_names_itself() {
        let e = LoginError::from(FlowError::CodeInvalid);
        match e {
            LoginError::Internal(detail) => assert_eq!(detail, "LoginError cannot be CodeInvalid"),
            other => panic!("{other:?}"),
        }
    }
}
