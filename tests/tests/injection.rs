//! No accepted name can split or inject a line under carbon's own rule,
//! checked against CPython over every Unicode code point.

use graphite_proto::{Datapoint, MetricPath, Value, plaintext};
use graphite_tests::python::Venv;

/// Prints every code point that CPython's `str.split()`/`strip()` (carbon's
/// line parsing) treats as a separator inside or around a name.
const SPLITTERS: &str = r#"
import sys
out = []
for cp in range(0x110000):
    if 0xD800 <= cp <= 0xDFFF:
        continue
    c = chr(cp)
    name = "a" + c + "b"
    if name.split() != [name] or (c + "x").strip() != c + "x":
        out.append(str(cp))
print(" ".join(out))
"#;

#[test]
fn every_character_python_splits_on_is_refused() {
    let out = Venv::get().run(SPLITTERS, b"");
    let splitters: Vec<char> = String::from_utf8(out)
        .expect("UTF-8")
        .split_whitespace()
        .map(|cp| char::from_u32(cp.parse().expect("number")).expect("scalar"))
        .collect();
    assert!(
        splitters.len() >= 25,
        "CPython reported only {} separators",
        splitters.len()
    );
    for c in &splitters {
        assert!(
            MetricPath::new(&format!("a{c}b")).is_err(),
            "U+{:04X} accepted",
            u32::from(*c)
        );
        assert!(
            MetricPath::new(&format!("m;t=a{c}b")).is_err(),
            "U+{:04X} accepted in a tag",
            u32::from(*c)
        );
    }
}

/// carbon's rule on our lines: `line.strip().split()` must give exactly the
/// three fields we wrote, for every accepted hostile name.
const CARBON_RULE: &str = r#"
import sys
bad = []
for raw in sys.stdin.buffer.read().split(b"\n")[:-1]:
    line = raw.decode("utf-8")
    fields = line.strip().split()
    if len(fields) != 3:
        bad.append(line)
print(len(bad))
"#;

#[test]
fn accepted_hostile_names_stay_one_line_for_carbon() {
    let pieces = [
        "a", ".", ";", "=", "~", " ", "\t", "\r", "\n", "\u{b}", "\u{c}", "\u{85}", "\u{a0}",
        "\u{1680}", "\u{2000}", "\u{2028}", "\u{2029}", "\u{3000}", "\u{1c}", "\u{1f}", "\0",
        "\u{200b}", "\u{feff}", "é", "x=y", "b.c",
    ];
    let mut wire = Vec::new();
    let mut accepted = 0;
    for a in pieces {
        for b in pieces {
            for c in pieces {
                if let Ok(path) = MetricPath::new(&format!("{a}{b}{c}")) {
                    plaintext::encode(&Datapoint::new(path, Value::Int(1), 2), &mut wire)
                        .expect("growable");
                    accepted += 1;
                }
            }
        }
    }
    assert!(accepted > 100);
    let out = Venv::get().run(CARBON_RULE, &wire);
    assert_eq!(
        String::from_utf8_lossy(&out).trim(),
        "0",
        "carbon would split some of our lines"
    );
}
