//! Test support for the workspace integration tests: installs the real
//! peers (CPython packages: aiographite, carbon, whisper) into a venv under
//! `target/` without root, and runs carbon-cache on loopback.
//!
//! Everything here fails loudly: a missing Python is a test failure with a
//! message saying what to install, never a skip.

pub mod carbon;
pub mod process;
pub mod python;
