//! Dropwizard metrics 3.2.6's `GraphiteReporter` as a naming peer: Debian's
//! `libdropwizard-metrics-java` (and `libslf4j-java`) unpacked under
//! `target/graphite-dropwizard` without root, and `tests/java/DropwizardPeer.java`
//! compiled there with the machine's `javac` (Java 17). The program records a
//! script on a manual clock (Dropwizard's `Clock`, given to the reporter,
//! the meters, the timers and the reservoirs), so every rate is exact, and
//! reports over plaintext TCP at each `report` line.
//!
//! The script language is documented at the top of the Java source.

use std::fs::{self, File};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use crate::capture::{LineCapture, Sample};
use crate::python::target_dir;
use crate::{debian, process};

/// The Dropwizard version the presets reproduce.
pub const DROPWIZARD_PACKAGE: &str = "libdropwizard-metrics-java=3.2.6-1";

/// The program's source, compiled on first use.
const SOURCE: &str = include_str!("../java/DropwizardPeer.java");

/// The jars the program needs, under `usr/share/java` of the unpacked packages.
const JARS: [&str; 4] = [
    "metrics-core.jar",
    "metrics-graphite.jar",
    "slf4j-api.jar",
    // Silences SLF4J's "no binding" warning.
    "slf4j-nop.jar",
];

/// How long one run may take (a JVM start and a few reports).
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// Which naming the program's reporter writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `GraphiteReporter` as it is: `name.ATTRIBUTE`.
    Dropwizard,
    /// What Micrometer's `GraphiteMeterRegistry` makes of Dropwizard in its
    /// default tagged mode (from Micrometer's source; no Micrometer jar is
    /// packaged for Debian, npm or PyPI): counters are Dropwizard meters,
    /// names carry `;k=v` tags, each statistic is written as
    /// `;metricattribute=ATTRIBUTE` (Dropwizard 4.x's
    /// `addMetricAttributesAsTags(true)`, whose arithmetic is 3.2.6's).
    MicrometerTagged,
}

/// One run of the program.
#[derive(Clone, Debug)]
pub struct DropwizardRun<'a> {
    /// The script (see the Java source).
    pub script: &'a str,
    /// `GraphiteReporter.prefixedWith`, if any.
    pub prefix: Option<&'a str>,
    /// `convertRatesTo`, a `java.util.concurrent.TimeUnit` name.
    pub rate_unit: &'a str,
    /// `convertDurationsTo`, a `TimeUnit` name.
    pub duration_unit: &'a str,
    /// The naming written.
    pub layout: Layout,
    /// The manual clock's wall time at start, in milliseconds since the
    /// epoch. Reports forwarded to a carbon-cache need a start near now:
    /// carbon drops points older than its retention.
    pub start_epoch_ms: i64,
}

impl<'a> DropwizardRun<'a> {
    /// A run of `script` with Dropwizard's usual units (rates per second,
    /// durations in milliseconds), no prefix, the clock starting at
    /// 2023-11-14T22:13:20Z (1 700 000 000 s).
    pub fn new(script: &'a str) -> Self {
        Self {
            script,
            prefix: None,
            rate_unit: "SECONDS",
            duration_unit: "MILLISECONDS",
            layout: Layout::Dropwizard,
            start_epoch_ms: 1_700_000_000_000,
        }
    }
}

/// The unpacked jars and the compiled program.
#[derive(Debug)]
struct Installation {
    classpath: String,
}

/// `java` and `javac`: from `$JAVA_HOME/bin` if set, else `PATH`.
fn jdk_tool(name: &str) -> PathBuf {
    std::env::var_os("JAVA_HOME")
        .map(|home| Path::new(&home).join("bin").join(name))
        .unwrap_or_else(|| PathBuf::from(name))
}

fn installation() -> &'static Installation {
    static INSTALLATION: OnceLock<Installation> = OnceLock::new();
    INSTALLATION.get_or_init(|| {
        let dir = target_dir().join("graphite-dropwizard");
        fs::create_dir_all(&dir).expect("create the Dropwizard dir");
        let lock = File::create(dir.with_extension("lock")).expect("create the lock file");
        lock.lock().expect("lock the Dropwizard dir");
        let root = dir.join("root");
        let jars: Vec<PathBuf> = JARS
            .iter()
            .map(|jar| root.join("usr/share/java").join(jar))
            .collect();
        if !jars.iter().all(|j| j.exists()) {
            debian::unpack(&[DROPWIZARD_PACKAGE, "libslf4j-java"], &root);
        }
        let classes = dir.join("classes");
        let mut classpath = vec![classes.display().to_string()];
        classpath.extend(jars.iter().map(|j| j.display().to_string()));
        let classpath = classpath.join(":");
        let marker = classes.join(".graphite-source");
        if fs::read_to_string(&marker).ok().as_deref() != Some(SOURCE) {
            compile(&dir, &classes, &classpath);
            fs::write(&marker, SOURCE).expect("write the source marker");
        }
        drop(lock);
        Installation { classpath }
    })
}

fn compile(dir: &Path, classes: &Path, classpath: &str) {
    let src = dir.join("src");
    fs::create_dir_all(&src).expect("create the source dir");
    let source = src.join("DropwizardPeer.java");
    fs::write(&source, SOURCE).expect("write the Java source");
    let _ = fs::remove_dir_all(classes);
    let javac = jdk_tool("javac");
    let probe = Command::new(&javac).arg("-version").output();
    assert!(
        probe.as_ref().is_ok_and(|o| o.status.success()),
        "the Dropwizard peer needs a JDK ({} -version failed: {probe:?}). \
         Install one (Debian: apt-get install openjdk-17-jdk-headless) or set JAVA_HOME.",
        javac.display()
    );
    process::run_ok(
        Command::new(javac)
            .arg("-d")
            .arg(classes)
            .arg("-cp")
            .arg(classpath)
            .arg(&source),
        b"",
        RUN_TIMEOUT,
    );
}

/// Runs the program against `127.0.0.1:port` and returns once it has
/// exited, so once every report has been written and its connection closed.
pub fn run(run: &DropwizardRun<'_>, port: u16) {
    let install = installation();
    let layout = match run.layout {
        Layout::Dropwizard => "dropwizard",
        Layout::MicrometerTagged => "micrometer",
    };
    process::run_ok(
        Command::new(jdk_tool("java"))
            .arg("-cp")
            .arg(&install.classpath)
            .arg("DropwizardPeer")
            .arg(port.to_string())
            .arg(run.prefix.unwrap_or("-"))
            .args([run.rate_unit, run.duration_unit, layout])
            .arg(run.start_epoch_ms.to_string()),
        run.script.as_bytes(),
        RUN_TIMEOUT,
    );
}

/// What the program sent for `run`: one list of lines per `report`, in
/// the order sent. With `forward`, every report also went to that address
/// (a carbon-cache's plaintext port).
pub fn capture(run: &DropwizardRun<'_>, forward: Option<SocketAddr>) -> Vec<Vec<Sample>> {
    let reports = run.script.lines().filter(|l| l.trim() == "report").count();
    let receiver = LineCapture::start(forward);
    self::run(run, receiver.port());
    receiver
        .wait_closed(reports, RUN_TIMEOUT)
        .unwrap_or_else(|e| panic!("the Dropwizard program exited without all its reports: {e}"))
}

/// [`capture`] flattened: every `(name, value, timestamp)` in the order sent.
pub fn samples(run: &DropwizardRun<'_>) -> Vec<Sample> {
    capture(run, None).into_iter().flatten().collect()
}

/// The reference script the Dropwizard preset is compared on (prefix `svc`,
/// rates per second, durations in milliseconds): every metric kind, two
/// reports 60 s apart on the manual clock so the EWMA rates have decayed
/// by a known amount, and a name with a space.
pub fn reference_script() -> String {
    let mut script = String::from(
        "counter app.hits 3\n\
         counter app.hits 4\n\
         counter app.with%20space 1\n\
         gauge app.temperature 11.5\n\
         gauge app.half_up 0.125\n\
         gauge app.big 1e20\n\
         gauge_long app.queue 7\n",
    );
    for v in 1..=100 {
        script.push_str(&format!("histogram app.size {v}\n"));
        script.push_str(&format!("timer app.latency {v} MILLISECONDS\n"));
    }
    script.push_str(
        "timer app.fast 250 MICROSECONDS\n\
         timer app.fast 1500 MICROSECONDS\n\
         meter app.requests 60\n\
         advance 5001\n\
         report\n\
         advance 60000\n\
         meter app.requests 30\n\
         counter app.hits 1\n\
         report\n",
    );
    script
}

/// The reference script for Micrometer's tagged mode (no prefix): a
/// counter, a gauge, a distribution summary and a timer, with tags.
pub fn micrometer_reference_script() -> String {
    let mut script = String::from(
        "counter http.requests;method=GET;status=200 5\n\
         gauge jvm.memory.used;area=heap 1048576\n",
    );
    for v in 1..=10 {
        script.push_str(&format!("histogram payload.size;uri=/api {v}\n"));
    }
    script.push_str(
        "timer http.latency;method=GET 10 MILLISECONDS\n\
         timer http.latency;method=GET 20 MILLISECONDS\n\
         timer http.latency;method=GET 30 MILLISECONDS\n\
         advance 5001\n\
         report\n",
    );
    script
}

/// A double as Java's `String.format(Locale.US, "%2.2f", v)` writes it,
/// which is how `GraphiteReporter` writes every floating-point value: the
/// shortest decimal that reads back as `v` (Java's `Double.toString`
/// digits, Rust's `{}`), rounded half up (away from zero) to two decimals,
/// no exponent, the sign kept on a negative zero (`0.125` gives `0.13`
/// where Rust's `{:.2}` gives `0.12`; `2.675` gives `2.68`, `-0.001`
/// gives `-0.00`); `NaN` and `Infinity` spelled out.
pub fn format_2f(v: f64) -> String {
    if v.is_nan() {
        return String::from("NaN");
    }
    if v.is_infinite() {
        return String::from(if v > 0.0 { "Infinity" } else { "-Infinity" });
    }
    let shortest = format!("{}", v.abs());
    let (int, frac) = shortest.split_once('.').unwrap_or((&shortest, ""));
    let frac = format!("{frac:0<3}");
    let mut digits: Vec<u8> = format!("{int}{}", &frac[..2]).into_bytes();
    if frac.as_bytes()[2] >= b'5' {
        // Decimal increment with carry.
        let mut i = digits.len();
        loop {
            if i == 0 {
                digits.insert(0, b'1');
                break;
            }
            i -= 1;
            if digits[i] == b'9' {
                digits[i] = b'0';
            } else {
                digits[i] += 1;
                break;
            }
        }
    }
    let digits = String::from_utf8(digits).expect("ASCII digits");
    let (whole, cents) = digits.split_at(digits.len() - 2);
    let sign = if v.is_sign_negative() { "-" } else { "" };
    format!("{sign}{whole}.{cents}")
}
