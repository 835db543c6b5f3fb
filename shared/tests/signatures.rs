//! The signature contract against RustCrypto, the native tests' signature port; the e2e suite
//! runs the same contract against WebCrypto inside workerd (`e2e/signature_contract.test.js`).

use portcullis_shared::testing::{run_signature_contract, RustCryptoSignatures};

#[test]
fn rustcrypto_passes_the_signature_contract() {
    let results = pollster::block_on(run_signature_contract(&RustCryptoSignatures));
    assert_eq!(results.len(), 3);
    for (name, result) in results {
        assert_eq!(result, Ok(()), "{name}");
    }
}
