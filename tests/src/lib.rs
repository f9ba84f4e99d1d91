//! Test support: installs and runs the real peers.
