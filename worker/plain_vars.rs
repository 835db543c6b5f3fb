//! Which of the settings that must be secrets a wrangler config sets as plain vars. Compiled
//! into the build script (`build.rs`), which tells the worker what it found, and into the
//! worker's native tests; never into the worker itself (it would bring a TOML parser along).
//!
//! In workerd a `[vars]` entry and a secret (`wrangler secret put`, or `.dev.vars` locally)
//! are both plain strings in `env`: the worker cannot tell them apart when it runs, so it
//! learns from the config it was built with.

/// The settings that must never be plain vars (with every `EXTERNAL_<NAME>_SECRET`):
/// Cloudflare stores and shows `[vars]` in clear text, and `wrangler.toml` usually lives in a
/// repository.
pub const SECRET_SETTINGS: &[&str] = &["JWT_SECRET", "JWT_KEYS", "SMTP_PASS", "SECURITY_CAPTCHA_SECRET"];

/// Whether `name` must be a secret: one of [`SECRET_SETTINGS`], or an identity provider's
/// client secret (`EXTERNAL_<NAME>_SECRET`).
pub fn must_be_secret(name: &str) -> bool {
    let provider = name.strip_prefix("EXTERNAL_").and_then(|rest| rest.strip_suffix("_SECRET"));
    SECRET_SETTINGS.contains(&name) || provider.is_some_and(|p| !p.is_empty())
}

/// The names that `wrangler_toml` sets under a `vars` table, at the top level or in any
/// `[env.<name>]`, and that [`must_be_secret`], sorted and once each; `Err` if it is not TOML.
pub fn secrets_in_vars(wrangler_toml: &str) -> Result<Vec<String>, String> {
    let config: toml::Table = wrangler_toml.parse().map_err(|e: toml::de::Error| e.to_string())?;
    let vars_of = |t: &toml::Table| t.get("vars").and_then(toml::Value::as_table).map(|v| v.keys().cloned().collect::<Vec<_>>());
    let mut names: Vec<String> = vars_of(&config).unwrap_or_default();
    if let Some(envs) = config.get("env").and_then(toml::Value::as_table) {
        for env in envs.values().filter_map(toml::Value::as_table) {
            names.extend(vars_of(env).unwrap_or_default());
        }
    }
    names.retain(|n| must_be_secret(n));
    names.sort();
    names.dedup();
    Ok(names)
}
