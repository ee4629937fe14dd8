//! Cloud API webhook bodies: what `POST /webhooks/cloud` does with the bytes it receives
//! (signature check, parse, the addressed numbers, the events), on arbitrary input.
#![no_main]

use b24wa::whatsapp::cloud::webhook::{self, Event};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The handler checks the signature over the raw body first; feed it a header taken from the
    // input too, so malformed `sha256=` values are exercised.
    let header = std::str::from_utf8(data)
        .ok()
        .and_then(|s| s.lines().next());
    let _ = webhook::verify_signature(b"app-secret", data, header);

    let Ok(payload) = webhook::parse(data) else {
        return;
    };
    let ids = webhook::phone_number_ids(&payload);
    for event in webhook::events(&payload) {
        // Every event belongs to a number the payload names (that is what gets authenticated).
        let pnid = match &event {
            Event::Message(m) => &m.phone_number_id,
            Event::Status(r) => &r.phone_number_id,
        };
        assert!(ids.contains(pnid), "event for {pnid} not in {ids:?}");
    }
});
