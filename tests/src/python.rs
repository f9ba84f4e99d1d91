//! A CPython venv with the pinned real peers, created once under `target/`.
//!
//! The first test that needs it creates `target/graphite-test-venv` and
//! `pip install`s `python-requirements.txt` (about 15 s; PyPI only, no root).
//! Test binaries run in parallel, so creation is guarded by a file lock; a
//! marker holding the requirements text makes later runs reuse it.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use crate::process;

const REQUIREMENTS: &str = include_str!("../python-requirements.txt");
const MARKER: &str = ".graphite-ready";

/// The test venv.
#[derive(Debug)]
pub struct Venv {
    dir: PathBuf,
}

/// The interpreter used to create the venv: `$GRAPHITE_TEST_PYTHON`, else
/// `python3` on `PATH`.
fn base_python() -> String {
    std::env::var("GRAPHITE_TEST_PYTHON").unwrap_or_else(|_| String::from("python3"))
}

/// Where build output goes: `$CARGO_TARGET_DIR` or the workspace's `target/`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

impl Venv {
    /// The venv, created and filled on first use in this build tree.
    ///
    /// Panics with instructions when Python or its `venv` module is missing.
    pub fn get() -> &'static Self {
        static VENV: OnceLock<Venv> = OnceLock::new();
        VENV.get_or_init(|| {
            let dir = target_dir().join("graphite-test-venv");
            fs::create_dir_all(target_dir()).expect("create target dir");
            let lock_path = target_dir().join("graphite-test-venv.lock");
            let lock = File::create(&lock_path).expect("create venv lock file");
            lock.lock().expect("lock venv");
            let venv = Self { dir };
            if fs::read_to_string(venv.dir.join(MARKER)).ok().as_deref() != Some(REQUIREMENTS) {
                venv.create();
            }
            drop(lock);
            venv
        })
    }

    fn create(&self) {
        let python = base_python();
        let probe = Command::new(&python).arg("--version").output();
        if !probe.as_ref().is_ok_and(|o| o.status.success()) {
            panic!(
                "the integration tests need CPython 3 with venv and pip ({python} --version failed: {probe:?}). \
                 Install it (Debian: apt-get install python3 python3-venv) or point GRAPHITE_TEST_PYTHON at one."
            );
        }
        let _ = fs::remove_dir_all(&self.dir);
        process::run_ok(
            Command::new(&python).args(["-m", "venv"]).arg(&self.dir),
            b"",
            Duration::from_secs(120),
        );
        let requirements = target_dir().join("graphite-test-requirements.txt");
        fs::write(&requirements, REQUIREMENTS).expect("write requirements");
        process::run_ok(
            Command::new(self.bin("pip"))
                .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
                .arg(&requirements),
            b"",
            Duration::from_secs(600),
        );
        fs::write(self.dir.join(MARKER), REQUIREMENTS).expect("write venv marker");
    }

    /// A program in the venv's `bin/`.
    pub fn bin(&self, name: &str) -> PathBuf {
        self.dir.join("bin").join(name)
    }

    /// The venv's interpreter.
    pub fn python(&self) -> PathBuf {
        self.bin("python")
    }

    /// Runs a Python script with `stdin` and returns its stdout; panics with
    /// its stderr if it fails or takes longer than a minute.
    pub fn run(&self, script: &str, stdin: &[u8]) -> Vec<u8> {
        process::run_ok(
            Command::new(self.python()).arg("-c").arg(script),
            stdin,
            Duration::from_secs(60),
        )
    }
}
