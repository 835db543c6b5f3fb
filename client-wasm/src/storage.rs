//! The browser's token store: `window.localStorage`. Only this module touches it.

use crate::client::TokenStore;
use web_sys::Storage;

/// `localStorage` of the page's origin.
#[derive(Debug, Clone)]
pub struct LocalStorage(Storage);

impl LocalStorage {
    /// The window's `localStorage`, or why it is unavailable (no window, or storage blocked).
    pub fn open() -> Result<Self, String> {
        let window = web_sys::window().ok_or("no window: localStorage needs a browser page")?;
        match window.local_storage() {
            Ok(Some(storage)) => Ok(Self(storage)),
            Ok(None) => Err("this browser has no localStorage".into()),
            Err(_) => Err("localStorage is blocked (private mode or site settings)".into()),
        }
    }
}

impl TokenStore for LocalStorage {
    fn get(&self, key: &str) -> Option<String> {
        self.0.get_item(key).ok().flatten()
    }

    fn set(&self, key: &str, value: &str) -> Result<(), String> {
        self.0.set_item(key, value).map_err(|_| "localStorage refused the token (full or blocked)".into())
    }

    fn remove(&self, key: &str) {
        // Removal only fails where storage is blocked, and then nothing is stored either.
        let _ = self.0.remove_item(key);
    }
}
