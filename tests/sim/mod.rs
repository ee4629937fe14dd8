//! The simulators of Bitrix24, the Cloud API and the Web gateway live in the service crate
//! (`b24wa::sim`, shipped for `b24wa sandbox`); test binaries reach them as `sim::…`.
#[allow(unused_imports)]
pub use b24wa::sim::*;
