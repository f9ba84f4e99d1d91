//! `graphite storage-rules` prints the stanzas of the exporter's scheme.

use std::process::Command;

fn run(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_graphite"))
        .arg("storage-rules")
        .args(args)
        .output()
        .expect("run graphite");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).expect("UTF-8")
}

#[test]
fn statsd_deltas_are_summed_and_a_short_interval_warned_about() {
    let conf = run(&[
        "--scheme",
        "statsd",
        "--threshold",
        "90",
        "--threshold",
        "-10",
        "--interval",
        "10",
        "--finest-retention",
        "60",
    ]);
    assert!(
        conf.contains("# WARNING: the interval (10 s) is shorter"),
        "{conf}"
    );
    assert!(
        conf.contains(
            "pattern = ^stats\\.counters\\..*\\.(count)($|;)\nxFilesFactor = 0\naggregationMethod = sum"
        ),
        "{conf}"
    );
    assert!(
        conf.contains("lower_top10|lower)($|;)\naggregationMethod = min"),
        "{conf}"
    );
}

#[test]
fn the_counter_mode_can_be_overridden() {
    let cumulative = run(&["--prefix", "app"]);
    assert!(
        cumulative.contains("pattern = ^app\\..*\\.(count|sum)($|;)\naggregationMethod = last"),
        "{cumulative}"
    );
    assert!(
        cumulative.contains("[metrics_exporter_graphite_app_self_telemetry]"),
        "{cumulative}"
    );
    let delta = run(&[
        "--prefix",
        "app",
        "--counter-mode",
        "delta",
        "--no-self-telemetry",
    ]);
    assert!(!delta.contains("self_telemetry"), "{delta}");
    assert!(
        delta.contains(
            "pattern = ^app\\..*\\.(count|sum)($|;)\nxFilesFactor = 0\naggregationMethod = sum"
        ),
        "{delta}"
    );
}
