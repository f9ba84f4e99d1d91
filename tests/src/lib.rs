//! Test support for the workspace integration tests: installs the real
//! peers (CPython packages: aiographite, carbon, whisper) into a venv under
//! `target/` without root, runs carbon-cache on loopback, provides an
//! in-process sink, and puts the four adapters behind one face so one
//! behaviour suite runs against all of them.
//!
//! Everything here fails loudly: a missing Python is a test failure with a
//! message saying what to install, never a skip.

pub mod adapters;
pub mod carbon;
pub mod process;
pub mod python;
pub mod sink;
