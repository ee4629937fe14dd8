//! Gateway (GREEN-API protocol) webhook bodies, as `POST /webhooks/gateway/...` parses them.
#![no_main]

use b24wa::whatsapp::gateway::webhook::{self, GwEvent};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(GwEvent::Status { status, .. }) = webhook::parse(data) {
        // The rest of the service only knows these four.
        assert!(
            matches!(status.as_str(), "sent" | "delivered" | "read" | "failed"),
            "status {status}"
        );
    }
});
