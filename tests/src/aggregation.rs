//! Which `storage-aggregation.conf` rule carbon-cache gives a series, by
//! carbon's own code (carbon 1.1.10 in the test venv): the rules loaded by
//! `carbon.storage.loadAggregationSchemas`, the name normalised as the
//! cache does (`TaggedSeries.parse(name).path`: tags sorted), the first
//! rule that matches as the writer picks it when it creates the file, and
//! whisper's defaults (`average`, 0.5) where it falls through.

use serde_json::json;

use crate::python::Venv;

/// stdin `{"conf": text, "names": [...]}`; stdout, per name, the section,
/// the normalised name, the xFilesFactor and the method.
const SCRIPT: &str = r#"
import json, os, sys, tempfile
import whisper
from carbon.conf import settings
settings["CONF_DIR"] = tempfile.gettempdir()  # read at import; the path is replaced below
import carbon.storage as storage
from carbon.util import TaggedSeries
req = json.load(sys.stdin)
with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "storage-aggregation.conf")
    with open(path, "w") as f:
        f.write(req["conf"])
    storage.STORAGE_AGGREGATION_CONFIG = path
    schemas = storage.loadAggregationSchemas()
out = []
for name in req["names"]:
    metric = TaggedSeries.parse(name).path
    schema = next(s for s in schemas if s.matches(metric))
    xff, method = schema.archives
    method = method or "average"
    assert method in whisper.aggregationMethods, method
    out.append({"section": schema.name, "metric": metric,
                "xff": 0.5 if xff is None else xff, "method": method})
json.dump(out, sys.stdout)
"#;

/// The rule carbon applies to one series.
#[derive(Clone, Debug, PartialEq)]
pub struct AppliedRule {
    /// The `[section]` that matched (`default` when none did).
    pub section: String,
    /// The name the pattern was matched against (tags sorted by carbon).
    pub metric: String,
    /// The file's `xFilesFactor`.
    pub x_files_factor: f64,
    /// The file's `aggregationMethod`.
    pub method: String,
}

/// For each of `names`, the rule carbon would create its whisper file
/// with under the `storage-aggregation.conf` text `conf`.
pub fn carbon_rules(conf: &str, names: &[String]) -> Vec<AppliedRule> {
    let request = json!({ "conf": conf, "names": names });
    let out = Venv::get().run(SCRIPT, request.to_string().as_bytes());
    let rules: Vec<serde_json::Value> =
        serde_json::from_slice(&out).expect("the rules script prints JSON");
    rules
        .into_iter()
        .map(|r| AppliedRule {
            section: r["section"].as_str().expect("section").to_owned(),
            metric: r["metric"].as_str().expect("metric").to_owned(),
            x_files_factor: r["xff"].as_f64().expect("xff"),
            method: r["method"].as_str().expect("method").to_owned(),
        })
        .collect()
}
