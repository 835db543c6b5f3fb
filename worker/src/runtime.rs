//! The runtime's clock and randomness, as the domain's ports: `Date.now()` (`SystemTime`
//! panics on wasm32-unknown-unknown) and Web Crypto's `crypto.getRandomValues`.

use portcullis_shared::model::Timestamp;
use portcullis_shared::ports::{Clock, Rng};
use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen]
extern "C" {
    // Web Crypto's CSPRNG; wasm-bindgen copies the filled view back into the slice.
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(buf: &mut [u8]);
}

/// `crypto.getRandomValues`, in chunks of its 65,536-byte limit.
pub struct CryptoRng;

impl Rng for CryptoRng {
    fn fill(&self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(65_536) {
            get_random_values(chunk);
        }
    }
}

/// `Date.now()`.
pub struct JsClock;

impl Clock for JsClock {
    fn now(&self) -> Timestamp {
        Timestamp(js_sys::Date::now() as i64)
    }
}
