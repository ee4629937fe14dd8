//! The subcommands of `b24wa`, one file each. None of them speaks HTTP itself (`http/` is the
//! service's boundary): `serve` and `sandbox` start the application, the others work on the
//! database and keys directly.

pub mod migrate;
pub mod rekey;
pub mod sandbox;
pub mod serve;
pub mod token;
pub mod user;
