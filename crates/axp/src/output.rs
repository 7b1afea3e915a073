//! Where output goes and how it looks (rules in `docs/dev/cli-style.md`):
//!
//! - **stdout** carries the command's data only: a table or key/value listing for people, or
//!   JSON for scripts (`--json`, `-o json`, `-o jsonl`);
//! - **stderr** carries everything else: progress, the spinner, warnings, tips, errors. In
//!   JSON modes tips are not printed at all, so stderr stays quiet unless something is wrong;
//! - colour is used only when the stream it goes to is a terminal (or `CLICOLOR_FORCE` is set)
//!   and `NO_COLOR` is unset or empty; the spinner only when stderr is a terminal.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};

use serde_json::Value;

/// The `-o` / `--output` format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns and key/value listings for people.
    Table,
    /// Pretty-printed JSON: one object, or one array for lists. Streams (`watch`) print one
    /// compact object per line instead, as `jsonl` does.
    Json,
    /// One compact JSON object per line: list items, or stream events as they arrive.
    Jsonl,
}

/// ANSI styles used by the CLI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Success (COMPLETED).
    Green,
    /// Failure (FAILED, TIMED_OUT, errors).
    Red,
    /// Needs attention (WAITING, CANCELED, warnings).
    Yellow,
    /// In flight (DELIVERED, IN_PROGRESS, …).
    Cyan,
    /// Secondary text (tips, timestamps).
    Dim,
    /// Emphasis.
    Bold,
}

impl Style {
    fn code(self) -> &'static str {
        match self {
            Style::Green => "32",
            Style::Red => "31",
            Style::Yellow => "33",
            Style::Cyan => "36",
            Style::Dim => "2",
            Style::Bold => "1",
        }
    }

    /// The style of a lifecycle status name.
    pub fn for_status(status: &str) -> Self {
        match status {
            "COMPLETED" => Style::Green,
            "FAILED" | "TIMED_OUT" => Style::Red,
            "WAITING" | "CANCELED" => Style::Yellow,
            _ => Style::Cyan,
        }
    }
}

/// Output settings of one run, decided once from the flags and the environment.
#[derive(Clone, Debug)]
pub struct Output {
    /// The chosen format.
    pub format: Format,
    color_out: bool,
    color_err: bool,
    /// Whether stderr is a terminal (spinner, carriage-return redraws).
    pub err_tty: bool,
}

/// Whether an environment variable is set to anything but the empty string.
fn set(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty())
}

impl Output {
    /// Settings for `format`: colour on a stream that is a terminal, unless `NO_COLOR` is set
    /// (<https://no-color.org>); `CLICOLOR_FORCE` turns it on for pipes too (NO_COLOR still
    /// wins). The spinner needs stderr to be a terminal.
    pub fn new(format: Format) -> Self {
        let no_color = set("NO_COLOR");
        let force = set("CLICOLOR_FORCE") && std::env::var("CLICOLOR_FORCE").as_deref() != Ok("0");
        let err_tty = std::io::stderr().is_terminal();
        let color = |tty: bool| !no_color && (tty || force);
        Self { format, color_out: color(std::io::stdout().is_terminal()), color_err: color(err_tty), err_tty }
    }

    /// Settings without colour or spinner, whatever the terminal (tests).
    #[cfg(test)]
    pub fn plain(format: Format) -> Self {
        Self { format, color_out: false, color_err: false, err_tty: false }
    }

    /// True for `json` and `jsonl`.
    pub fn is_machine(&self) -> bool {
        self.format != Format::Table
    }

    /// `text` in `style` when stdout shows colour.
    pub fn paint(&self, text: &str, style: Style) -> String {
        paint(text, style, self.color_out)
    }

    /// `text` in `style` when stderr shows colour.
    pub fn paint_err(&self, text: &str, style: Style) -> String {
        paint(text, style, self.color_err)
    }

    /// One line of data on stdout.
    pub fn line(&self, text: &str) {
        write_out(&format!("{text}\n"));
    }

    /// One JSON value on stdout: pretty in `json`, one compact line otherwise.
    pub fn json(&self, value: &Value) {
        let text = match self.format {
            Format::Json => serde_json::to_string_pretty(value),
            Format::Table | Format::Jsonl => serde_json::to_string(value),
        };
        write_out(&format!("{}\n", text.unwrap_or_else(|_| "null".into())));
    }

    /// One JSON value on stdout as a single line, whatever the format (stream records).
    pub fn json_line(&self, value: &Value) {
        write_out(&format!("{}\n", serde_json::to_string(value).unwrap_or_else(|_| "null".into())));
    }

    /// A list: a JSON array (`json`), one item per line (`jsonl`), or `table()` for people.
    pub fn list(&self, items: &[Value], table: impl FnOnce() -> Table) {
        match self.format {
            Format::Json => self.json(&Value::Array(items.to_vec())),
            Format::Jsonl => items.iter().for_each(|item| self.json_line(item)),
            Format::Table => self.table(&table()),
        }
    }

    /// A single object: the JSON itself in machine formats, `pairs` as an aligned key/value
    /// listing for people.
    pub fn object(&self, value: &Value, pairs: impl FnOnce() -> Vec<(String, String)>) {
        if self.is_machine() {
            self.json(value);
        } else {
            let pairs = pairs();
            let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
            let mut text = String::new();
            for (key, value) in pairs {
                let _ = writeln!(text, "{key:<width$}  {value}");
            }
            write_out(&text);
        }
    }

    /// Prints `table` on stdout with aligned columns.
    pub fn table(&self, table: &Table) {
        write_out(&table.render(self.color_out));
    }

    /// A progress or status line on stderr (also in JSON modes: it never goes to stdout).
    pub fn note(&self, text: &str) {
        eprintln!("{text}");
    }

    /// A hint for people on stderr; silent in JSON modes.
    pub fn tip(&self, text: &str) {
        if !self.is_machine() {
            eprintln!("{}", self.paint_err(text, Style::Dim));
        }
    }
}

fn paint(text: &str, style: Style, enabled: bool) -> String {
    if enabled { format!("\x1b[{}m{text}\x1b[0m", style.code()) } else { text.to_owned() }
}

/// Writes to stdout; a closed pipe (`axp intents list | head -1`) ends the process quietly
/// instead of panicking.
fn write_out(text: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: writing to stdout: {e}");
        std::process::exit(1);
    }
}

/// Rows under headers, printed with two spaces between columns.
#[derive(Clone, Debug, Default)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    status_column: Option<usize>,
}

impl Table {
    /// A table with these column headers.
    pub fn new(headers: &[&str]) -> Self {
        Self { headers: headers.iter().map(|h| (*h).to_owned()).collect(), ..Self::default() }
    }

    /// Colours column `index` as a lifecycle status.
    pub fn status_column(mut self, index: usize) -> Self {
        self.status_column = Some(index);
        self
    }

    /// Appends a row (missing cells print empty).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as text; `color` paints the status column.
    pub fn render(&self, color: bool) -> String {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let mut text = String::new();
        let mut line = |cells: &[String], header: bool| {
            let mut out = String::new();
            for (i, width) in widths.iter().enumerate() {
                let cell = cells.get(i).map(String::as_str).unwrap_or("");
                let pad = width - cell.chars().count();
                let painted = if header {
                    paint(cell, Style::Bold, color)
                } else if Some(i) == self.status_column {
                    paint(cell, Style::for_status(cell), color)
                } else {
                    cell.to_owned()
                };
                out.push_str(&painted);
                if i + 1 < widths.len() {
                    out.push_str(&" ".repeat(pad + 2));
                }
            }
            let _ = writeln!(text, "{}", out.trim_end());
        };
        line(&self.headers, true);
        for row in &self.rows {
            line(row, false);
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_and_only_paint_when_asked() {
        let mut t = Table::new(&["ID", "STATUS"]).status_column(1);
        t.row(vec!["a".into(), "COMPLETED".into()]);
        t.row(vec!["bbbb".into(), "FAILED".into()]);
        assert_eq!(t.render(false), "ID    STATUS\na     COMPLETED\nbbbb  FAILED\n");
        let colored = t.render(true);
        assert!(colored.contains("\x1b[32mCOMPLETED\x1b[0m"), "{colored}");
        assert!(colored.contains("\x1b[31mFAILED\x1b[0m"));
    }
}
