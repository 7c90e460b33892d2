//! Result tables (console and markdown) and the SVG chart of the comparison.

use crate::workloads::{Flavor, Workload};
use std::fmt::Write as _;
use std::path::Path;

/// What became of one cell (one contender on one workload/flavor/message row).
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Median of the repetitions' metrics.
    Value(f64),
    /// The contender lacks a capability the workload needs.
    NotAvailable,
    /// The cell exceeded its time limit and was killed.
    Hang,
    /// The cell failed (panic, wrong checksum, crash); the first line of its
    /// error output.
    Error(String),
}

impl Outcome {
    /// The measured value, if any.
    pub fn value(&self) -> Option<f64> {
        match self {
            Outcome::Value(v) => Some(*v),
            _ => None,
        }
    }

    fn show(&self) -> String {
        match self {
            Outcome::Value(v) => fmt_num(*v),
            Outcome::NotAvailable => "N/A".into(),
            Outcome::Hang => "hang".into(),
            Outcome::Error(_) => "error".into(),
        }
    }
}

/// One row of the tables: a workload on a flavor with a message type.
#[derive(Clone, Debug)]
pub struct Row {
    /// The workload.
    pub workload: Workload,
    /// The channel flavor.
    pub flavor: Flavor,
    /// Name of the message type.
    pub msg: &'static str,
    /// One outcome per contender, in [`Report::contenders`] order.
    pub cells: Vec<Outcome>,
}

/// Everything the harness measured, plus the context needed to read it.
#[derive(Clone, Debug)]
pub struct Report {
    /// `nproc, model name` of the machine.
    pub machine: String,
    /// UTC date and time of the run.
    pub date: String,
    /// Messages per workload.
    pub n: usize,
    /// Threads per side.
    pub t: usize,
    /// Repetitions per cell.
    pub reps: usize,
    /// Whether this was a quick run.
    pub quick: bool,
    /// Contender names; the first one is the baseline of every ratio.
    pub contenders: Vec<&'static str>,
    /// The measured rows.
    pub rows: Vec<Row>,
}

/// Three significant digits, no exponent.
pub fn fmt_num(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

impl Row {
    /// Ratio of contender `i`'s metric to the baseline's, when both ran.
    pub fn ratio(&self, i: usize) -> Option<f64> {
        Some(self.cells[i].value()? / self.cells[0].value()?)
    }

    fn label(&self) -> [String; 3] {
        [
            self.workload.id().to_string(),
            self.flavor.label().to_string(),
            self.msg.to_string(),
        ]
    }

    fn show_ratio(&self, i: usize) -> String {
        match self.ratio(i) {
            Some(r) => format!("{r:.2}"),
            None => self.cells[i].show(),
        }
    }
}

impl Report {
    /// Geometric mean of contender `i`'s ratios and the number of rows it covers.
    pub fn geomean(&self, i: usize) -> Option<(f64, usize)> {
        let logs: Vec<f64> = self
            .rows
            .iter()
            .filter_map(|r| r.ratio(i))
            .map(f64::ln)
            .collect();
        if logs.is_empty() {
            return None;
        }
        Some((
            (logs.iter().sum::<f64>() / logs.len() as f64).exp(),
            logs.len(),
        ))
    }

    /// Cells that hung or failed, as `(row label, contender, outcome, arguments
    /// that rerun the cell alone after `--cell`)`.
    pub fn failures(&self) -> Vec<(String, &'static str, Outcome, String)> {
        let mut out = Vec::new();
        for row in &self.rows {
            for (i, cell) in row.cells.iter().enumerate() {
                if matches!(cell, Outcome::Hang | Outcome::Error(_)) {
                    let args = format!(
                        "{} {} {} {} {} {}",
                        row.workload.id(),
                        row.flavor.id(),
                        row.msg,
                        self.contenders[i],
                        self.n,
                        self.t
                    );
                    out.push((
                        row.label().join(" "),
                        self.contenders[i],
                        cell.clone(),
                        args,
                    ));
                }
            }
        }
        out
    }

    fn times_table(&self) -> Vec<Vec<String>> {
        let mut head = vec![
            "workload".into(),
            "flavor".into(),
            "msg".into(),
            "unit".into(),
        ];
        head.extend(self.contenders.iter().map(|c| c.to_string()));
        let mut table = vec![head];
        for row in &self.rows {
            let mut line = row.label().to_vec();
            line.push(row.workload.unit().into());
            line.extend(row.cells.iter().map(Outcome::show));
            table.push(line);
        }
        table
    }

    fn ratio_table(&self) -> Vec<Vec<String>> {
        let mut head = vec!["workload".into(), "flavor".into(), "msg".into()];
        head.extend(self.contenders[1..].iter().map(|c| c.to_string()));
        let mut table = vec![head];
        for row in &self.rows {
            let mut line = row.label().to_vec();
            line.extend((1..self.contenders.len()).map(|i| row.show_ratio(i)));
            table.push(line);
        }
        let mut line = vec!["geomean".to_string(), String::new(), String::new()];
        line.extend((1..self.contenders.len()).map(|i| match self.geomean(i) {
            Some((g, _)) => format!("{g:.2}"),
            None => "N/A".into(),
        }));
        table.push(line);
        table
    }

    /// Plain-text tables for the console.
    pub fn console(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\nMedian times (ms; pingpong: ns per round trip), {}:",
            self.header()
        );
        out.push_str(&render_text(&self.times_table()));
        let _ = writeln!(out, "\nRatio to {} (lower is better):", self.contenders[0]);
        out.push_str(&render_text(&self.ratio_table()));
        out
    }

    fn header(&self) -> String {
        format!(
            "N = {}, T = {}, {} repetition(s){}",
            self.n,
            self.t,
            self.reps,
            if self.quick { ", quick mode" } else { "" }
        )
    }

    /// The markdown document written to RESULTS.md.
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(md, "# Benchmark results: chan versus other channels\n");
        let _ = writeln!(
            md,
            "Written by `cargo bench -p chan-benches --bench compare`{}.\n",
            if self.quick {
                " in quick mode (`CHAN_BENCH_QUICK=1`)"
            } else {
                ""
            }
        );
        let _ = writeln!(md, "- Machine: {}", self.machine);
        let _ = writeln!(md, "- Date: {}", self.date);
        let _ = writeln!(
            md,
            "- N = {} messages, T = {} threads per side",
            self.n, self.t
        );
        let _ = writeln!(
            md,
            "- Each cell is the median of {} run(s), each run in a fresh process; contenders are interleaved per workload, the first of them rotating from one repetition to the next.",
            self.reps
        );
        let _ = writeln!(
            md,
            "- N/A: the contender lacks the capability (std: no receiver clone, no select; kanal: no select). \
             hang: killed after its time limit. error: the run panicked or lost messages.\n"
        );
        if self.quick {
            let _ = writeln!(
                md,
                "Quick mode uses a small N and few repetitions: single cells are noisy (blocking \
                 flavors especially, as they depend on thread scheduling), the geometric means less so.\n"
            );
        }
        let _ = writeln!(md, "Workloads (see `benches/src/workloads.rs`):\n");
        for w in Workload::ALL {
            let _ = writeln!(md, "- `{}`: {}", w.id(), describe(w));
        }
        let _ = writeln!(
            md,
            "\n## Ratio of time to {} (lower is better)\n",
            self.contenders[0]
        );
        md.push_str(&render_markdown(&self.ratio_table()));
        let _ = writeln!(
            md,
            "\nA geometric mean covers only the rows where both the contender and {} ran, \
             so the contenders' means are over different sets of rows:\n",
            self.contenders[0]
        );
        let _ = writeln!(md, "| contender | geometric mean of ratios | rows |");
        let _ = writeln!(md, "| --- | ---: | ---: |");
        for i in 1..self.contenders.len() {
            match self.geomean(i) {
                Some((g, rows)) => {
                    let _ = writeln!(md, "| {} | {g:.2} | {rows} |", self.contenders[i]);
                }
                None => {
                    let _ = writeln!(md, "| {} | N/A | 0 |", self.contenders[i]);
                }
            }
        }
        let _ = writeln!(md, "\n![ratios to crossbeam-channel](results.svg)\n");
        let _ = writeln!(
            md,
            "## Median times (ms; pingpong: median ns per round trip)\n"
        );
        md.push_str(&render_markdown(&self.times_table()));
        let failures = self.failures();
        if !failures.is_empty() {
            let _ = writeln!(md, "\n## Hangs and errors\n");
            let _ = writeln!(
                md,
                "A cell hangs when it runs longer than 10 times the {} time of its row \
                 (at least 20 s; 5 s in quick mode). Rerun one alone with \
                 `cargo bench -p chan-benches --bench compare -- --cell ARGS`.\n",
                self.contenders[0]
            );
            for (row, contender, outcome, args) in failures {
                let what = match outcome {
                    Outcome::Error(e) => format!("error: {e}"),
                    _ => "hang".to_string(),
                };
                let _ = writeln!(md, "- {contender} on {row}: {what} (ARGS: `{args}`)");
            }
        }
        md
    }

    /// Draws the grouped bar chart of ratios (log scale, clipped) as an SVG file.
    pub fn svg(&self, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
        chart::draw(self, path)
    }
}

fn describe(w: Workload) -> &'static str {
    match w {
        Workload::Seq => "one thread sends a batch (the capacity, or all N when unbounded) then receives it, until N messages; not on bounded(0)",
        Workload::Spsc => "one producer thread, one consumer, N messages",
        Workload::Mpsc => "T producers send N/T each, one consumer",
        Workload::Mpmc => "T producers send N/T each, T consumers share the channel",
        Workload::SelectRx => "T producers on T channels, one consumer selects a receive over all of them",
        Workload::SelectBoth => "T producers select a send over T channels, T consumers select a receive over them",
        Workload::PingPong => "round trip to an echo thread over two bounded(1) channels, median ns over max(N/100, 1000) round trips",
        Workload::Pool => "T workers share a job channel, run a small fixed job (64 multiply-rotate rounds) and reply on a result channel of the same flavor; N/4 jobs",
    }
}

fn widths(table: &[Vec<String>]) -> Vec<usize> {
    let mut w = vec![0; table[0].len()];
    for line in table {
        for (i, cell) in line.iter().enumerate() {
            w[i] = w[i].max(cell.len());
        }
    }
    w
}

fn render_text(table: &[Vec<String>]) -> String {
    let w = widths(table);
    let mut out = String::new();
    for line in table {
        for (i, cell) in line.iter().enumerate() {
            if i < 3 {
                let _ = write!(out, "{cell:<width$}  ", width = w[i]);
            } else {
                let _ = write!(out, "{cell:>width$}  ", width = w[i]);
            }
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
    }
    out
}

fn render_markdown(table: &[Vec<String>]) -> String {
    markdown_table(table, 3)
}

/// The "Hangs and errors" section of a harness's report (empty when there
/// were none), naming the command that reruns one cell of `bench`.
pub fn failures_section(bench: &str, failures: &[String]) -> String {
    let mut md = String::new();
    if !failures.is_empty() {
        md.push_str("\n## Hangs and errors\n\n");
        md.push_str(&format!(
            "Rerun one alone with `cargo bench -p chan-benches --bench {bench} -- --cell ARGS`.\n\n"
        ));
        for line in failures {
            md.push_str(&format!("- {line}\n"));
        }
    }
    md
}

/// A markdown table (the first line is the header) whose first `labels`
/// columns are left-aligned text and the others right-aligned numbers.
pub fn markdown_table(table: &[Vec<String>], labels: usize) -> String {
    let mut out = String::new();
    for (n, line) in table.iter().enumerate() {
        let _ = writeln!(out, "| {} |", line.join(" | "));
        if n == 0 {
            let seps: Vec<&str> = (0..line.len())
                .map(|i| if i < labels { "---" } else { "---:" })
                .collect();
            let _ = writeln!(out, "| {} |", seps.join(" | "));
        }
    }
    out
}

mod chart {
    use super::{Outcome, Report};
    use plotters::prelude::*;
    use plotters::style::FontTransform;
    use std::path::Path;

    /// Ratios are clipped to this range before drawing.
    const LO: f64 = 1.0 / 32.0;
    const HI: f64 = 32.0;
    const COLORS: [RGBColor; 4] = [
        RGBColor(0xd6, 0x27, 0x28),
        RGBColor(0x1f, 0x77, 0xb4),
        RGBColor(0x2c, 0xa0, 0x2c),
        RGBColor(0x94, 0x67, 0xbd),
    ];

    pub(super) fn draw(report: &Report, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
        let mut msgs: Vec<&str> = Vec::new();
        for row in &report.rows {
            if !msgs.contains(&row.msg) {
                msgs.push(row.msg);
            }
        }
        let width = 200 + 60 * report.rows.len() as u32 / msgs.len().max(1) as u32;
        let root = SVGBackend::new(path, (width, 560 * msgs.len() as u32)).into_drawing_area();
        root.fill(&WHITE)?;
        let panels = root.split_evenly((msgs.len(), 1));
        for (panel, msg) in panels.iter().zip(&msgs) {
            let rows: Vec<_> = report.rows.iter().filter(|r| r.msg == *msg).collect();
            let mut chart = ChartBuilder::on(panel)
                .caption(
                    format!(
                        "time / {} time, {msg} messages (log scale, clipped to [1/32, 32]; lower is better)",
                        report.contenders[0]
                    ),
                    ("sans-serif", 18),
                )
                .margin(10)
                .x_label_area_size(130)
                .y_label_area_size(60)
                .build_cartesian_2d(0f64..rows.len() as f64, (LO..HI).log_scale())?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(0)
                .y_desc("ratio")
                .y_label_formatter(&|v| {
                    format!("{v:.3}")
                        .trim_end_matches('0')
                        .trim_end_matches('.')
                        .to_string()
                })
                .draw()?;
            let bars = report.contenders.len() - 1;
            let slot = 0.8 / bars as f64;
            for i in 1..report.contenders.len() {
                let color = COLORS[(i - 1) % COLORS.len()];
                let rects = rows.iter().enumerate().filter_map(|(x, row)| {
                    let r = row.ratio(i)?.clamp(LO, HI);
                    let x0 = x as f64 + 0.1 + slot * (i - 1) as f64;
                    Some(Rectangle::new([(x0, 1.0), (x0 + slot, r)], color.filled()))
                });
                // Cells that hung or failed get a rotated word instead of a bar.
                let marks = rows.iter().enumerate().filter_map(|(x, row)| {
                    let word = match row.cells[i] {
                        Outcome::Hang => "hang",
                        Outcome::Error(_) => "error",
                        _ => return None,
                    };
                    let x0 = x as f64 + 0.1 + slot * (i - 1) as f64;
                    let style = TextStyle::from(("sans-serif", 11))
                        .transform(FontTransform::Rotate270)
                        .color(&color);
                    Some(Text::new(word, (x0, 1.0), style))
                });
                chart.draw_series(marks)?;
                chart
                    .draw_series(rects)?
                    .label(report.contenders[i])
                    .legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled())
                    });
            }
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(0.0, 1.0), (rows.len() as f64, 1.0)],
                BLACK,
            )))?;
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()?;
            let style = TextStyle::from(("sans-serif", 12))
                .transform(FontTransform::Rotate270)
                .pos(plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Right,
                    plotters::style::text_anchor::VPos::Center,
                ));
            for (x, row) in rows.iter().enumerate() {
                let (px, py) = chart.backend_coord(&(x as f64 + 0.5, LO));
                let label = format!("{} {}", row.workload.id(), row.flavor.label());
                root.draw(&Text::new(label, (px, py + 6), style.clone()))?;
            }
        }
        root.present()?;
        Ok(())
    }
}
