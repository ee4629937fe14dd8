//! Bitrix24's form-encoded (PHP-style `a[b][0]=c`) event bodies and install page posts:
//! `form::parse` then the decoders the handlers call.
#![no_main]

use b24wa::bitrix24::{events, form};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let fields = form::parse(data);
    let _ = events::decode_event(&fields);
    // The install page reads the query string and the body with the same decoder.
    let _ = events::decode_install_page(&fields, &fields);
});
