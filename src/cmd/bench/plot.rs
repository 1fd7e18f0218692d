//! The latency distributions drawn as percentile curves in an SVG document.

use hdrhistogram::Histogram;

/// Whose latencies a curve shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Source {
    /// The server measured (rumpsp's, or --server's).
    Rumpsp,
    /// The plain-socket floor, same frames.
    Floor,
    /// The --against server.
    Against(String),
}

/// One latency distribution of the plot.
pub(super) struct Curve {
    op: String,
    transport: String,
    source: Source,
    h: Histogram<u64>,
}

impl Curve {
    /// A curve of `op` over `transport`, measured from `source`.
    pub(super) fn new(op: &str, transport: &str, source: Source, h: Histogram<u64>) -> Curve {
        Curve {
            op: op.to_owned(),
            transport: transport.to_owned(),
            source,
            h,
        }
    }
}

/// Distinct colours (Okabe-Ito, colour-blind safe), one per operation.
const COLOURS: [&str; 7] = [
    "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000",
];

/// Percentile curves as a standalone SVG document: one panel per transport
/// (unix, TCP), one colour per operation, the server solid, the floor dashed
/// and an --against server dotted in the operation's colour. x: percentile on
/// the usual 1/(1-q) log scale; y: round-trip latency in µs, log scale.
pub(super) fn plot_svg(curves: &[Curve]) -> String {
    use std::fmt::Write;
    const PW: f64 = 560.0; // panel width
    const PH: f64 = 420.0; // panel height
    const L: f64 = 96.0; // left margin (y labels), also the gap between panels
    const T: f64 = 64.0; // top margin
    const B: f64 = 56.0; // bottom margin (x labels)
    let mut ops: Vec<&str> = Vec::new();
    let mut transports: Vec<&str> = Vec::new();
    for c in curves {
        if !ops.contains(&c.op.as_str()) {
            ops.push(&c.op);
        }
        if !transports.contains(&c.transport.as_str()) {
            transports.push(&c.transport);
        }
    }
    let colour = |op: &str| {
        let i = ops.iter().position(|o| *o == op).unwrap_or(0);
        COLOURS[i % COLOURS.len()]
    };
    let qs: Vec<f64> = (0..=400)
        .map(|i| 1.0 - 10f64.powf(-(i as f64) / 100.0))
        .collect();
    let xmax = 4.0; // up to the 99.99th percentile
    let (mut lo, mut hi) = (f64::MAX, 1.0f64);
    for c in curves {
        lo = lo.min(c.h.min().max(1) as f64 / 1e3);
        hi = hi.max(c.h.value_at_quantile(0.9999) as f64 / 1e3);
    }
    if lo == f64::MAX {
        lo = 1.0;
    }
    let (ylo, yhi) = (
        lo.max(0.1).log10().floor(),
        hi.log10().ceil().max(lo.max(0.1).log10().floor() + 1.0),
    );
    let panels = transports.len().max(1) as f64;
    let legend_rows = ops.len() + 1;
    let width = panels * (PW + L) + 40.0;
    let height = T + PH + B + 22.0 * legend_rows as f64 + 20.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="13">"#
    );
    let _ = write!(
        s,
        r#"<rect width="100%" height="100%" fill="white"/><text x="{L}" y="22" font-size="16">rumpsp bench: round-trip latency by percentile (lower is better)</text>"#
    );
    for (pi, transport) in transports.iter().enumerate() {
        let x0 = L + pi as f64 * (PW + L);
        let x = |q: f64| x0 + (-(1.0 - q).max(1e-4).log10() / xmax) * PW;
        let y = |us: f64| T + PH - ((us.max(1e-3).log10() - ylo) / (yhi - ylo)) * PH;
        let title = if *transport == "tcp" {
            "TCP"
        } else {
            transport
        };
        let _ = write!(
            s,
            r#"<rect x="{x0}" y="{T}" width="{PW}" height="{PH}" fill="none" stroke="black"/><text x="{0}" y="{1}" text-anchor="middle" font-size="15" font-weight="bold">{2}</text>"#,
            x0 + PW / 2.0,
            T - 8.0,
            xml_escape(title)
        );
        for (i, label) in ["0%", "90%", "99%", "99.9%", "99.99%"].iter().enumerate() {
            let q = 1.0 - 10f64.powi(-(i as i32));
            let _ = write!(
                s,
                r#"<line x1="{0:.1}" x2="{0:.1}" y1="{T}" y2="{1}" stroke="lightgrey"/><text x="{0:.1}" y="{2}" text-anchor="middle">{label}</text>"#,
                x(q),
                T + PH,
                T + PH + 18.0
            );
        }
        let _ = write!(
            s,
            r#"<text x="{0}" y="{1}" text-anchor="middle">percentile of round trips (log scale of 1/(1 − q))</text>"#,
            x0 + PW / 2.0,
            T + PH + 40.0
        );
        let mut d = ylo;
        while d <= yhi {
            let us = 10f64.powf(d);
            let _ = write!(
                s,
                r#"<line x1="{x0}" x2="{0}" y1="{1:.1}" y2="{1:.1}" stroke="lightgrey"/><text x="{2}" y="{3:.1}" text-anchor="end">{4} µs</text>"#,
                x0 + PW,
                y(us),
                x0 - 6.0,
                y(us) + 4.0,
                us
            );
            d += 1.0;
        }
        for c in curves.iter().filter(|c| c.transport == *transport) {
            let dash = match c.source {
                Source::Rumpsp => "",
                Source::Floor => r#" stroke-dasharray="7,4""#,
                Source::Against(_) => r#" stroke-dasharray="2,3""#,
            };
            let pts: Vec<String> = qs
                .iter()
                .map(|&q| {
                    format!(
                        "{:.1},{:.1}",
                        x(q),
                        y(c.h.value_at_quantile(q) as f64 / 1e3)
                    )
                })
                .collect();
            let _ = write!(
                s,
                r#"<polyline fill="none" stroke="{}" stroke-width="2"{dash} points="{}"/>"#,
                colour(&c.op),
                pts.join(" ")
            );
        }
    }
    let _ = write!(
        s,
        r#"<text x="16" y="{0}" transform="rotate(-90 16 {0})" text-anchor="middle">round-trip latency (µs, log scale)</text>"#,
        T + PH / 2.0
    );
    // Legend: a row per operation, then what solid, dashed and dotted mean.
    let ly0 = T + PH + B + 16.0;
    for (i, op) in ops.iter().enumerate() {
        let ly = ly0 + 22.0 * i as f64;
        let _ = write!(
            s,
            r#"<line x1="{L}" x2="{0}" y1="{ly}" y2="{ly}" stroke="{1}" stroke-width="3"/><text x="{2}" y="{3}">{4}</text>"#,
            L + 36.0,
            colour(op),
            L + 44.0,
            ly + 5.0,
            xml_escape(op)
        );
    }
    let against: Vec<&str> = curves
        .iter()
        .filter_map(|c| match &c.source {
            Source::Against(u) => Some(u.as_str()),
            _ => None,
        })
        .collect();
    let mut key = String::from("solid: rumpsp server · dashed: plain-socket floor (same frames)");
    if let Some(u) = against.first() {
        key.push_str(&format!(" · dotted: {u}"));
    }
    let _ = write!(
        s,
        r#"<text x="{L}" y="{0}">{1}</text>"#,
        ly0 + 22.0 * ops.len() as f64 + 5.0,
        xml_escape(&key)
    );
    s.push_str("</svg>\n");
    s
}

fn xml_escape(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist(base: u64) -> Histogram<u64> {
        let mut h = Histogram::<u64>::new(3).unwrap();
        for i in 1..1000u64 {
            h.record(base + i * 10).unwrap();
        }
        h
    }

    #[test]
    fn plot_has_a_colour_per_operation_a_dashed_floor_and_a_panel_per_transport() {
        let mut curves = Vec::new();
        for t in ["unix", "tcp"] {
            for op in ["getpid", "pwrite 4 KiB", "pread <x> & y"] {
                curves.push(Curve::new(op, t, Source::Rumpsp, hist(20_000)));
                curves.push(Curve::new(op, t, Source::Floor, hist(5_000)));
            }
        }
        let svg = plot_svg(&curves);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 12);
        assert!(svg.contains("pread &lt;x&gt; &amp; y"));
        // one colour per operation, shared by its server and floor curves, both panels
        for (i, c) in COLOURS.iter().take(3).enumerate() {
            let n = svg
                .matches(&format!(r#"<polyline fill="none" stroke="{c}""#))
                .count();
            assert_eq!(n, 4, "colour {i}");
        }
        assert_eq!(svg.matches(r#"stroke-dasharray="7,4""#).count(), 6);
        // two panels, titled, and axes with units
        assert!(svg.contains(">unix</text>") && svg.contains(">TCP</text>"));
        assert!(svg.contains("round-trip latency (µs, log scale)"));
        assert!(svg.contains("percentile of round trips"));
    }
}
