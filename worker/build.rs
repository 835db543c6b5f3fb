//! Tells the worker which settings that must be secrets its `wrangler.toml` sets under
//! `[vars]` (`plain_vars.rs`): workerd hands vars and secrets over alike, so the worker could
//! not tell otherwise. It refuses every request while that list is not empty
//! (`config::SECRETS_IN_VARS`).

mod plain_vars;

use std::path::Path;

fn main() {
    let wrangler = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wrangler.toml");
    println!("cargo:rerun-if-changed={}", wrangler.display());
    println!("cargo:rerun-if-changed=plain_vars.rs");
    let found = match std::fs::read_to_string(&wrangler) {
        Ok(text) => plain_vars::secrets_in_vars(&text).unwrap_or_else(|e| {
            println!("cargo:warning=wrangler.toml does not parse, so its [vars] were not checked for secrets: {e}");
            Vec::new()
        }),
        // Built outside the repository: there is no config to check.
        Err(_) => Vec::new(),
    };
    for name in &found {
        println!("cargo:warning=wrangler.toml sets {name} under [vars]: the worker will refuse every request until it is a secret (npx wrangler secret put {name})");
    }
    let list: Vec<String> = found.iter().map(|n| format!("{n:?}")).collect();
    let out = Path::new(&std::env::var("OUT_DIR").unwrap_or_default()).join("secrets_in_vars.rs");
    if let Err(e) = std::fs::write(&out, format!("&[{}]", list.join(", "))) {
        println!("cargo:warning=could not write {}: {e}", out.display());
        std::process::exit(1);
    }
}
