//! Password hashing and verification, in PHC strings.
//!
//! New hashes use the configured [`PasswordParams`]: Argon2id (OWASP's first choice, default
//! m=19456 KiB, t=2, p=1) or PBKDF2-HMAC-SHA256. Verification accepts Argon2 and PBKDF2 PHC
//! strings and Django's `pbkdf2_sha256$iterations$salt$hash`, and says when a stored hash should
//! be replaced because the configured parameters changed. Nothing here touches storage or knows
//! about accounts; salts come from the caller (the `Rng` port).

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Version};
use base64::Engine as _;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Longest password accepted, in bytes: bounds the hashing work an attacker can ask for.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Highest PBKDF2 iteration count accepted from a stored hash (bounds imported hashes' cost).
const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;

/// How new passwords are hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PasswordParams {
    /// Argon2id with memory in KiB, iterations and lanes.
    Argon2id {
        /// Memory cost in KiB.
        m_kib: u32,
        /// Iterations.
        t: u32,
        /// Parallelism.
        p: u32,
    },
    /// PBKDF2-HMAC-SHA256 with this many iterations.
    Pbkdf2Sha256 {
        /// Iterations.
        iterations: u32,
    },
}

impl Default for PasswordParams {
    fn default() -> Self {
        PasswordParams::Argon2id {
            m_kib: 19_456,
            t: 2,
            p: 1,
        }
    }
}

/// Why a hash could not be made or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// The configured parameters are outside what the algorithm allows.
    #[error("invalid password hashing parameters: {0}")]
    Params(String),
    /// A stored hash is not in a format we read.
    #[error("unreadable stored password hash")]
    Malformed,
}

/// The answer to "is this the password?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// It is not.
    Mismatch,
    /// It is; `rehash` says the stored hash uses other parameters than the configured ones.
    Match {
        /// Store a fresh hash made with the current parameters.
        rehash: bool,
    },
}

/// Hashes and verifies passwords with one set of parameters.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    params: PasswordParams,
}

impl PasswordHasher {
    /// A hasher for `params`, checked here (cheaply, without hashing) so that hashing cannot
    /// fail on them later.
    pub fn new(params: PasswordParams) -> Result<Self, PasswordError> {
        match params {
            PasswordParams::Argon2id { m_kib, t, p } => {
                argon2_with(m_kib, t, p)?;
            }
            PasswordParams::Pbkdf2Sha256 { iterations } => {
                if iterations == 0 || iterations > MAX_PBKDF2_ITERATIONS {
                    return Err(PasswordError::Params(format!("{iterations} iterations")));
                }
            }
        }
        Ok(Self { params })
    }

    /// The parameters new hashes use.
    pub fn params(&self) -> PasswordParams {
        self.params
    }

    /// A PHC string for `password` with the given 16-byte salt.
    pub fn hash(&self, password: &[u8], salt: &[u8; 16]) -> Result<String, PasswordError> {
        let salt = SaltString::encode_b64(salt).map_err(|e| PasswordError::Params(e.to_string()))?;
        let phc = match self.params {
            PasswordParams::Argon2id { m_kib, t, p } => {
                argon2_with(m_kib, t, p)?.hash_password(password, &salt)
            }
            PasswordParams::Pbkdf2Sha256 { iterations } => {
                return pbkdf2_sha256_phc(password, &salt, iterations)
                    .map_err(|e| PasswordError::Params(e.to_string()));
            }
        };
        phc.map(|h| h.to_string())
            .map_err(|e| PasswordError::Params(e.to_string()))
    }

    /// Does the same work as a verification, for accounts that do not exist or have no
    /// password, so that the answer takes as long as for a real one.
    pub fn spend_equal_time(&self, password: &[u8]) {
        let _ = self.hash(password, &[0u8; 16]);
    }

    /// Checks `password` against a stored hash (Argon2/PBKDF2 PHC or Django `pbkdf2_sha256$`).
    pub fn verify(&self, password: &[u8], stored: &str) -> Result<Verification, PasswordError> {
        if let Some(django) = stored.strip_prefix("pbkdf2_sha256$") {
            return Ok(match verify_django(password, django)? {
                true => Verification::Match { rehash: true },
                false => Verification::Mismatch,
            });
        }
        let parsed = PasswordHash::new(stored).map_err(|_| PasswordError::Malformed)?;
        let algorithm = parsed.algorithm.as_str();
        let ok = match algorithm {
            "argon2id" | "argon2i" | "argon2d" => {
                Argon2::default().verify_password(password, &parsed).is_ok()
            }
            "pbkdf2-sha256" => {
                let rounds = parsed
                    .params
                    .get_decimal("i")
                    .ok_or(PasswordError::Malformed)?;
                if rounds == 0 || rounds > MAX_PBKDF2_ITERATIONS {
                    return Err(PasswordError::Malformed);
                }
                verify_pbkdf2_sha256(password, &parsed, rounds)?
            }
            _ => return Err(PasswordError::Malformed),
        };
        if !ok {
            return Ok(Verification::Mismatch);
        }
        Ok(Verification::Match {
            rehash: !self.is_current(&parsed),
        })
    }

    fn is_current(&self, parsed: &PasswordHash<'_>) -> bool {
        let get = |k: &str| parsed.params.get_decimal(k);
        match self.params {
            PasswordParams::Argon2id { m_kib, t, p } => {
                parsed.algorithm.as_str() == "argon2id"
                    && parsed.version == Some(0x13)
                    && get("m") == Some(m_kib)
                    && get("t") == Some(t)
                    && get("p") == Some(p)
            }
            PasswordParams::Pbkdf2Sha256 { iterations } => {
                parsed.algorithm.as_str() == "pbkdf2-sha256" && get("i") == Some(iterations)
            }
        }
    }
}

fn argon2_with(m_kib: u32, t: u32, p: u32) -> Result<Argon2<'static>, PasswordError> {
    let params = argon2::Params::new(m_kib, t, p, None)
        .map_err(|e| PasswordError::Params(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Django's `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>` (after the prefix).
/// A `$pbkdf2-sha256$i=<iterations>,l=32$<salt>$<hash>` PHC string, as the `pbkdf2` crate's
/// `Pbkdf2` hasher writes it. Written here for SHA-256 alone: that hasher dispatches over every
/// PBKDF2 variant, which put SHA-512 into the worker for nothing.
fn pbkdf2_sha256_phc(
    password: &[u8],
    salt: &SaltString,
    iterations: u32,
) -> Result<String, argon2::password_hash::Error> {
    let mut buf = [0u8; 64];
    let salt_bytes = salt.as_salt().decode_b64(&mut buf)?;
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt_bytes, iterations, &mut out);
    let hash = argon2::password_hash::Output::new(&out)?;
    Ok(format!("$pbkdf2-sha256$i={iterations},l=32${}${hash}", salt.as_str()))
}

/// Checks `password` against a parsed `pbkdf2-sha256` PHC hash of `rounds` iterations.
fn verify_pbkdf2_sha256(
    password: &[u8],
    parsed: &PasswordHash<'_>,
    rounds: u32,
) -> Result<bool, PasswordError> {
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(PasswordError::Malformed);
    };
    let mut buf = [0u8; 64];
    let salt_bytes = salt
        .decode_b64(&mut buf)
        .map_err(|_| PasswordError::Malformed)?;
    let mut actual = vec![0u8; expected.len()];
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt_bytes, rounds, &mut actual);
    Ok(bool::from(actual.as_slice().ct_eq(expected.as_bytes())))
}

fn verify_django(password: &[u8], rest: &str) -> Result<bool, PasswordError> {
    let mut parts = rest.splitn(3, '$');
    let (Some(iterations), Some(salt), Some(expected)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(PasswordError::Malformed);
    };
    let iterations: u32 = iterations.parse().map_err(|_| PasswordError::Malformed)?;
    if iterations == 0 || iterations > MAX_PBKDF2_ITERATIONS {
        return Err(PasswordError::Malformed);
    }
    let expected = base64::engine::general_purpose::STANDARD
        .decode(expected)
        .map_err(|_| PasswordError::Malformed)?;
    if expected.len() != 32 {
        return Err(PasswordError::Malformed);
    }
    let mut actual = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt.as_bytes(), iterations, &mut actual);
    Ok(bool::from(actual.ct_eq(&expected[..])))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast_argon() -> PasswordHasher {
        // Small memory keeps the unit tests quick; the default parameters are tested once below.
        PasswordHasher::new(PasswordParams::Argon2id { m_kib: 256, t: 1, p: 1 }).unwrap()
    }

    #[test]
    fn default_parameters_are_owasps_argon2id() {
        let h = PasswordHasher::new(PasswordParams::default()).unwrap();
        let phc = h.hash(b"correct horse", &[7; 16]).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert_eq!(
            h.verify(b"correct horse", &phc).unwrap(),
            Verification::Match { rehash: false }
        );
    }

    #[test]
    fn wrong_password_does_not_match() {
        let h = fast_argon();
        let phc = h.hash(b"right", &[1; 16]).unwrap();
        assert_eq!(h.verify(b"wrong", &phc).unwrap(), Verification::Mismatch);
    }

    #[test]
    fn changed_parameters_ask_for_a_rehash() {
        let old = fast_argon().hash(b"pw", &[2; 16]).unwrap();
        let newer =
            PasswordHasher::new(PasswordParams::Argon2id { m_kib: 512, t: 1, p: 1 }).unwrap();
        assert_eq!(newer.verify(b"pw", &old).unwrap(), Verification::Match { rehash: true });
    }

    #[test]
    fn pbkdf2_phc_hashes_verify_and_round_trip() {
        let h = PasswordHasher::new(PasswordParams::Pbkdf2Sha256 { iterations: 1000 }).unwrap();
        let phc = h.hash(b"pw", &[3; 16]).unwrap();
        assert!(phc.starts_with("$pbkdf2-sha256$i=1000,l=32$"), "{phc}");
        assert_eq!(h.verify(b"pw", &phc).unwrap(), Verification::Match { rehash: false });
        assert_eq!(h.verify(b"px", &phc).unwrap(), Verification::Mismatch);
        // An Argon2 deployment still accepts it and asks to upgrade.
        assert_eq!(
            fast_argon().verify(b"pw", &phc).unwrap(),
            Verification::Match { rehash: true }
        );
    }

    /// The PHC strings written here are the ones the `pbkdf2` crate's own hasher writes (what
    /// earlier releases stored), and its strings verify here.
    #[test]
    fn pbkdf2_phc_strings_are_the_pbkdf2_crates() {
        use argon2::password_hash::PasswordHasher as _;
        let salt = SaltString::encode_b64(&[7; 16]).unwrap();
        let theirs = pbkdf2::Pbkdf2
            .hash_password_customized(
                b"hunter2",
                Some(pbkdf2::Algorithm::Pbkdf2Sha256.ident()),
                None,
                pbkdf2::Params { rounds: 1000, output_length: 32 },
                &salt,
            )
            .unwrap()
            .to_string();
        assert_eq!(pbkdf2_sha256_phc(b"hunter2", &salt, 1000).unwrap(), theirs);
        let h = PasswordHasher::new(PasswordParams::Pbkdf2Sha256 { iterations: 1000 }).unwrap();
        assert_eq!(h.verify(b"hunter2", &theirs).unwrap(), Verification::Match { rehash: false });
        assert_eq!(h.verify(b"hunter3", &theirs).unwrap(), Verification::Mismatch);
        // Zero iterations, no salt or no hash: unreadable, not a match.
        for bad in ["$pbkdf2-sha256$i=0,l=32$c2FsdHNhbHQ$aGFzaA", "$pbkdf2-sha256$i=1000,l=32"] {
            assert!(h.verify(b"hunter2", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn django_pbkdf2_hashes_verify() {
        // Django's PBKDF2PasswordHasher format for "hunter2", salt "seasalt",
        // 1000 iterations, computed independently with Python's hashlib.pbkdf2_hmac.
        let stored = "pbkdf2_sha256$1000$seasalt$aZOLUDnbVq4qfmIhIFCkAqvDNHspRzj9l43SgVe7GOM=";
        let h = fast_argon();
        assert_eq!(h.verify(b"hunter2", stored).unwrap(), Verification::Match { rehash: true });
        assert_eq!(h.verify(b"hunter3", stored).unwrap(), Verification::Mismatch);
    }

    #[test]
    fn unreadable_hashes_are_errors_not_matches() {
        let h = fast_argon();
        for bad in ["", "plain", "$md5$x$y", "pbkdf2_sha256$x$y$z", "pbkdf2_sha256$1$s$AAAA"] {
            assert!(h.verify(b"pw", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn impossible_parameters_are_refused_up_front() {
        assert!(PasswordHasher::new(PasswordParams::Argon2id { m_kib: 1, t: 0, p: 1 }).is_err());
    }
}
