//! The figures printed: latencies in µs and a row of server against floor.

use hdrhistogram::Histogram;

/// A latency in nanoseconds as `12.3 µs`.
pub(super) fn us(ns: u64) -> String {
    format!("{:.1} µs", ns as f64 / 1000.0)
}

/// One line: the server's median and p99 beside the floor's, their ratio and the target.
pub(super) fn row(name: &str, ours: &Histogram<u64>, floor: &Histogram<u64>, target: Option<f64>) {
    let ratio = ours.value_at_quantile(0.5) as f64 / floor.value_at_quantile(0.5).max(1) as f64;
    let t = target.map_or_else(String::new, |t| {
        format!(
            "  target ≤ {t:.1}x: {}",
            if ratio <= t { "met" } else { "MISSED" }
        )
    });
    println!(
        "{name:<34} median {:>10}  p99 {:>10}   floor median {:>10}  p99 {:>10}   ratio {ratio:>5.2}x{t}",
        us(ours.value_at_quantile(0.5)),
        us(ours.value_at_quantile(0.99)),
        us(floor.value_at_quantile(0.5)),
        us(floor.value_at_quantile(0.99)),
    );
}
