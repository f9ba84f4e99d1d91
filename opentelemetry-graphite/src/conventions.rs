//! What is sent for each kind of OpenTelemetry data, what the collector's
//! `carbonexporter` sent, and where this crate differs on purpose.
//!
//! # The collector's `carbonexporter`, from its source
//!
//! The OpenTelemetry collector's `carbonexporter` (Go, in
//! opentelemetry-collector-contrib, `exporter/carbonexporter/`,
//! `metricdata_to_plaintext.go` in its last form: pdata, a pooled
//! `bytes.Buffer`) was marked unmaintained and deleted in late 2025. For
//! every data point it wrote one plaintext line `path value timestamp`
//! per series:
//!
//! | OpenTelemetry data | series the collector sent |
//! |---|---|
//! | gauge | `name;k1=v1;k2=v2` the value |
//! | sum (any temporality, monotonic or not) | `name;k1=v1` the value, exactly as received: a delta sum as the change, a cumulative one as the total |
//! | histogram (explicit buckets) | `name.count;…` the count, `name;…` the sum, and per bucket `name.bucket;…;upper_bound=B` that bucket's own count |
//! | summary | `name.count;…`, `name;…` (the sum), `name.quantile;…;quantile=Q` with `Q` the quantile × 100 |
//! | exponential histogram | nothing: the `switch` had no case for it, it was dropped without a word or a count |
//!
//! In detail:
//! - **Names.** The metric name was written as it came, never checked or
//!   sanitised (a space or `;` in it broke or retagged the line). No prefix
//!   option; a metric with an empty name was skipped, not counted.
//! - **Tags.** Every data point attribute became `;key=value`, in the
//!   attribute map's order (carbon sorts them when it stores the series).
//!   Keys went through `sanitizeTagKey`: `;`, `!`, `^`, `=` became `_`.
//!   Values were **not** sanitised: `sanitizeTagValue` (`;` and `~` to
//!   `_`) existed but was never called, so a value holding a space, a
//!   newline or `;` split the line or injected tags. An empty value became
//!   `<empty>`. Non-string values were written with pdata's `AsString`
//!   (`42`, `true`, JSON for lists and maps). Resource attributes were
//!   added as tags only with `resource_to_telemetry_conversion` enabled
//!   (all of them).
//! - **Histograms.** `name.count` the count, `name` (no suffix) the sum,
//!   then, only when the data point had explicit bounds, one
//!   `name.bucket;…;upper_bound=B` per bucket, `B` formatted with Go's
//!   `strconv.FormatFloat(b, 'g', -1, 64)` (`0.005`, `250`, `1e+06`), the
//!   last bucket `upper_bound=inf`. The value is each bucket's **own**
//!   count, not cumulative (despite a comment saying "less than or equal
//!   to the upper bound"). The `upper_bound` tag was appended after the
//!   attributes, without checking that no attribute had that key. Min and
//!   max were not sent.
//! - **Values.** Integers as integers; doubles with Go's
//!   `FormatFloat(v, 'f', -1, 64)`, so NaN went out as `NaN` (carbon drops
//!   it silently) and infinities as `+Inf`/`-Inf` (carbon stores them). A
//!   data point with no value was skipped.
//! - **Timestamps.** The data point's own timestamp in nanoseconds,
//!   divided by 10⁹: truncated to whole seconds.
//! - **Delivery.** One plaintext TCP write per batch over a pool of
//!   connections, default endpoint `localhost:2003`, 5 s timeout, the
//!   collector's queue and retry around it.
//!
//! # What this crate sends
//!
//! `P.` is the prefix when one is set ([`with_prefix`]), `;tags` the data
//! point's attributes plus the chosen resource attributes
//! ([`with_resource_tags`]), in carbon's canonical order. With
//! [`NamingStyle::Collector`] (the default):
//!
//! | OpenTelemetry data | series |
//! |---|---|
//! | gauge (synchronous or observable) | `P.name;tags` the value |
//! | sum: counter, up-down counter, observable ones | `P.name;tags` the value as the SDK gives it (cumulative: the running total; delta: the change over the interval; an up-down counter stays cumulative under a delta preference, so it is always its value) |
//! | histogram | `P.name.count;tags` the count, `P.name;tags` the sum, `P.name.min;tags` and `P.name.max;tags` (when the SDK recorded them), `P.name.bucket;tags;upper_bound=B` each bucket's own count, the last `upper_bound=inf` |
//! | exponential histogram | `.count`, the sum, `.min`, `.max` as above, and per quantile `P.name.quantile;tags;quantile=Q` (`Q` = quantile × 100 as the collector printed summary quantiles: `50`, `99`, `99.9`) |
//!
//! With [`NamingStyle::Suffixes`] (metrics-exporter-graphite' names): a counter
//! (monotonic sum) is `P.name.count`; gauges and up-down counters `P.name`;
//! histograms `P.name.count`, `P.name.sum`, `P.name.min`, `P.name.max` and
//! the same `P.name.bucket;upper_bound=B` series; exponential histograms
//! `.count`, `.sum`, `.min`, `.max` and `P.name.p50`, `P.name.p75`,
//! `P.name.p95`, `P.name.p99`, `P.name.p999` (the digits after `0.`;
//! `1.0` is `p100`).
//!
//! Timestamps are the data point's own (the SDK's collection time),
//! truncated to whole seconds as carbon truncates them. Values: integers
//! exactly, floats as the shortest text that reads back the same.
//!
//! # Where this crate differs from the collector, on purpose
//!
//! - **Tag values are sanitised**: whitespace, control characters and
//!   `;` become `_`, and so does a leading `~` (carbon refuses values that
//!   start with it). No attribute can break a line or add a tag. Empty
//!   values are still `<empty>`.
//! - **Tag keys** lose whitespace and control characters to `_` too
//!   (besides the collector's `; ! ^ =`). A key that cannot be a tag
//!   (empty, or `name`, which carbon overwrites with the series name), two
//!   keys that are equal once sanitised, or an attribute named
//!   `upper_bound`/`quantile` on the series that add that tag, make the
//!   series invalid: **skipped and counted**
//!   ([`ExportStats::skipped_invalid_attributes`]), never sent ambiguous.
//! - **Names are checked**, not rewritten (dashboards match the names the
//!   collector sent): a name that is not a valid Graphite path with the
//!   prefix and suffix (whitespace, an empty node, a node over 251 bytes,
//!   a `;`) is skipped and counted ([`ExportStats::skipped_invalid_name`]).
//!   The SDK refuses such instrument names already; only a view's rename
//!   can produce one. A `/` is kept, as the collector kept it (whisper
//!   makes it a directory level for untagged series).
//! - **Non-finite values** (NaN, ±infinity) are skipped and counted
//!   ([`ExportStats::skipped_non_finite`]) instead of being sent for carbon
//!   to drop (NaN) or store (infinities). The SDK 0.33 already ignores
//!   non-finite measurements; an `f64` sum or histogram sum that
//!   overflows is what can still arrive.
//! - **Histogram min and max** are sent when the SDK has them.
//! - **Exponential histograms are exported**: count, sum, min, max and
//!   quantile estimates (default 0.5, 0.75, 0.95, 0.99, 0.999, see
//!   [`with_quantiles`]), never their hundreds of raw buckets. Each
//!   estimate is within [`relative_error`]`(scale)` of the sample of
//!   nearest rank `ceil(q·n)`: `(base − 1)/(base + 1)` with
//!   `base = 2^(2^−scale)`, for example 4.3 % at scale 3, 0.54 % at
//!   scale 6 (the SDK picks the scale from the recorded range).
//! - **Resource attributes** become tags one by one, opt-in
//!   ([`with_resource_tags`]), not all or nothing; a data point's own
//!   attribute of the same key wins.
//! - **Delivery** goes through graphite-rs's sender: bounded buffer,
//!   reconnects with backoff, replay after a reconnect, every drop counted;
//!   an export never waits for carbon.
//!
//! As in the collector: the instrumentation scope is not part of the name
//! (two scopes recording the same instrument name with the same attributes
//! write the same series), and exemplars, units, descriptions and start
//! times are not sent. The Rust SDK produces no summaries, so the
//! collector's summary series have no counterpart here except the
//! `quantile` tag reused for exponential histograms.
//!
//! [`with_prefix`]: crate::GraphiteExporterBuilder::with_prefix
//! [`with_resource_tags`]: crate::GraphiteExporterBuilder::with_resource_tags
//! [`with_quantiles`]: crate::GraphiteExporterBuilder::with_quantiles
//! [`NamingStyle::Collector`]: crate::NamingStyle::Collector
//! [`NamingStyle::Suffixes`]: crate::NamingStyle::Suffixes
//! [`ExportStats::skipped_invalid_attributes`]: crate::ExportStats::skipped_invalid_attributes
//! [`ExportStats::skipped_invalid_name`]: crate::ExportStats::skipped_invalid_name
//! [`ExportStats::skipped_non_finite`]: crate::ExportStats::skipped_non_finite
//! [`relative_error`]: crate::relative_error
