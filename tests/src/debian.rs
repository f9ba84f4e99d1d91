//! Debian packages unpacked without installing them: `apt-get download`
//! and `dpkg-deb -x` into a directory under `target/` (no root needed for
//! either; `apt-get update` is run once if the download finds nothing,
//! which needs root).

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::process;

/// Downloads `packages` (`name` or `name=version`) and unpacks each into
/// `root`, replacing what was there. Panics naming the packages when they
/// cannot be had.
pub fn unpack(packages: &[&str], root: &Path) {
    let download = root.with_extension("download");
    let _ = fs::remove_dir_all(&download);
    fs::create_dir_all(&download).expect("create the download dir");
    let fetch = || {
        process::run(
            Command::new("apt-get")
                .arg("download")
                .args(packages)
                .current_dir(&download),
            b"",
            Duration::from_secs(180),
        )
    };
    let mut got = fetch();
    if !got.status.success() {
        // An empty or stale package list: refresh it once.
        let update = process::run(
            Command::new("apt-get").arg("update"),
            b"",
            Duration::from_secs(300),
        );
        assert!(
            update.status.success(),
            "`apt-get download {packages:?}` failed and `apt-get update` too (root needed):\n{}\n{}",
            String::from_utf8_lossy(&got.stderr),
            String::from_utf8_lossy(&update.stderr)
        );
        got = fetch();
    }
    assert!(
        got.status.success(),
        "`apt-get download {packages:?}` failed: {}",
        String::from_utf8_lossy(&got.stderr)
    );
    let _ = fs::remove_dir_all(root);
    for deb in fs::read_dir(&download)
        .expect("read the download dir")
        .flatten()
    {
        let deb = deb.path();
        if deb.extension().is_some_and(|x| x == "deb") {
            process::run_ok(
                Command::new("dpkg-deb").arg("-x").arg(&deb).arg(root),
                b"",
                Duration::from_secs(60),
            );
        }
    }
    let _ = fs::remove_dir_all(&download);
}
