//! Charts as SVG drawn by the server: bars with their values written on
//! them, black and grey only, so a chart reads the same on paper.
//!
//! May depend on: std.

use std::fmt::Write;

/// Escapes text for HTML and SVG.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One bar: its label under it, its value, and the text written above it.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub text: String,
    /// Drawn dark (e.g. the bars within the answer threshold); others light.
    pub dark: bool,
}

/// A vertical bar chart `width` × `height` pixels with a title.
pub fn bars(title: &str, bars: &[Bar], width: u32, height: u32) -> String {
    let (w, h) = (f64::from(width), f64::from(height));
    let (left, right, top, bottom) = (44.0, 8.0, 28.0, 34.0);
    let plot_w = w - left - right;
    let plot_h = h - top - bottom;
    let max = bars.iter().map(|b| b.value).fold(0.0_f64, f64::max);
    let scale_max = nice_max(max);
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" font-family="Noto Sans CJK SC, Noto Sans SC, Microsoft YaHei, sans-serif" font-size="11"><title>{t}</title><text x="{left}" y="16" font-size="13" font-weight="bold" fill="#000">{t}</text>"##,
        t = esc(title)
    );
    // Axis and four grid lines with their values.
    for i in 0..=4 {
        let v = scale_max * f64::from(i) / 4.0;
        let y = top + plot_h - plot_h * f64::from(i) / 4.0;
        let _ = write!(
            s,
            r##"<line x1="{left}" x2="{x2:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#bbb" stroke-width="0.5"/><text x="{tx:.1}" y="{ty:.1}" text-anchor="end" fill="#000">{v}</text>"##,
            x2 = left + plot_w,
            tx = left - 4.0,
            ty = y + 4.0,
            v = fmt_num(v)
        );
    }
    let n = bars.len().max(1) as f64;
    let slot = plot_w / n;
    let bar_w = (slot * 0.7).max(1.0);
    // Label every bar when they fit, else every k-th.
    let every = ((n * 14.0 / plot_w).ceil() as usize).max(1);
    for (i, b) in bars.iter().enumerate() {
        let x = left + slot * i as f64 + (slot - bar_w) / 2.0;
        let bh = if scale_max > 0.0 {
            plot_h * b.value / scale_max
        } else {
            0.0
        };
        let y = top + plot_h - bh;
        let (fill, stroke) = if b.dark {
            ("#333", "#000")
        } else {
            ("#ddd", "#000")
        };
        let _ = write!(
            s,
            r##"<rect x="{x:.1}" y="{y:.1}" width="{bar_w:.1}" height="{bh:.1}" fill="{fill}" stroke="{stroke}" stroke-width="0.6"><title>{l}: {t}</title></rect>"##,
            l = esc(&b.label),
            t = esc(&b.text)
        );
        let cx = x + bar_w / 2.0;
        if i % every == 0 {
            let _ = write!(
                s,
                r##"<text x="{cx:.1}" y="{ly:.1}" text-anchor="middle" fill="#000">{l}</text>"##,
                ly = top + plot_h + 14.0,
                l = esc(&b.label)
            );
            if !b.text.is_empty() && (bars.len() <= 16 || b.value > 0.0) && slot >= 14.0 {
                let _ = write!(
                    s,
                    r##"<text x="{cx:.1}" y="{vy:.1}" text-anchor="middle" fill="#000" font-size="10">{t}</text>"##,
                    vy = y - 3.0,
                    t = esc(&b.text)
                );
            }
        }
    }
    let _ = write!(
        s,
        r##"<line x1="{left}" x2="{left}" y1="{top}" y2="{yb:.1}" stroke="#000"/><line x1="{left}" x2="{xr:.1}" y1="{yb:.1}" y2="{yb:.1}" stroke="#000"/></svg>"##,
        yb = top + plot_h,
        xr = left + plot_w
    );
    s
}

/// A round upper bound of the axis for values up to `max`.
fn nice_max(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let mag = 10f64.powf(max.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * mag >= max {
            return m * mag;
        }
    }
    10.0 * mag
}

fn fmt_num(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_carry_their_values_and_escape_labels() {
        let svg = bars(
            "每日来电 <11月>",
            &[
                Bar {
                    label: "1".into(),
                    value: 30.0,
                    text: "30".into(),
                    dark: true,
                },
                Bar {
                    label: "2".into(),
                    value: 10.0,
                    text: "10".into(),
                    dark: false,
                },
            ],
            400,
            200,
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("每日来电 &lt;11月&gt;"));
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains(">30</text>") && svg.contains(">10</text>"));
        assert_eq!(nice_max(37.0), 50.0);
        assert_eq!(nice_max(100.0), 100.0);
        assert_eq!(nice_max(0.0), 1.0);
    }
}
