//! Records a few metrics and sends them to carbon.
//!
//! ```sh
//! cargo run -p graphite-cli -- listen &        # prints what carbon would receive
//! cargo run -p metrics-exporter-graphite --example install
//! ```

use std::time::Duration;

use metrics_exporter_graphite::{GraphiteBuilder, LabelStyle};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let handle = GraphiteBuilder::new()
        .with_address("127.0.0.1:2003")
        .with_prefix("example.app")
        .add_global_label("host", "web1")
        .with_label_style(LabelStyle::Tags)
        .with_interval(Duration::from_secs(10))
        .install()?;

    for i in 0..100_u32 {
        metrics::counter!("http.requests", "method" => "GET").increment(1);
        metrics::histogram!("http.latency").record(f64::from(i) / 1000.0);
    }
    metrics::gauge!("queue.depth").set(12.0);

    // Sends everything at once instead of waiting for the interval.
    let sent = handle.flush_now();
    println!("handed {sent} datapoints to the sender");
    let stats = handle.shutdown(Duration::from_secs(5));
    println!(
        "written {} dropped {}",
        stats.written,
        stats.dropped.total()
    );
    Ok(())
}
