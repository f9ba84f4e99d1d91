//! Test support for the workspace integration tests: installs the real
//! peers (CPython packages: aiographite, carbon, whisper) into a venv under
//! `target/` without root, runs carbon-cache on loopback, provides an
//! in-process sink, and the four adapters behind one face ([`runtime`]) for
//! the shared behaviour suite.
//!
//! The naming peers (Dropwizard's `GraphiteReporter`, the statsd daemon)
//! are installed the same way, under `target/`, and captured by
//! [`capture::LineCapture`].
//!
//! Everything here fails loudly: a missing Python is a test failure with a
//! message saying what to install, never a skip.

pub mod aggregation;
pub mod capture;
pub mod carbon;
pub mod debian;
pub mod dropwizard;
pub mod graphite_web;
pub mod process;
pub mod python;
pub mod receiver;
pub mod routed;
pub mod routing;
pub mod runtime;
pub mod sink;
pub mod statsd;
pub mod storm;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeExamples;
