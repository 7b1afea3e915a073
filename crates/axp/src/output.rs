//! Where output goes and how it looks (rules in `docs/dev/cli-style.md`):
//!
//! - **stdout** carries the command's data only: a table or key/value listing for people, or
//!   JSON for scripts (`--json`, `-o json`, `-o jsonl`);
//! - **stderr** carries everything else: progress, the spinner, warnings, tips, errors. In
//!   JSON modes tips are not printed at all, so stderr stays quiet unless something is wrong;
//! - colour: text is styled with `owo-colors` and written through `anstream`, which keeps the
//!   styles only where the stream is a terminal (or `CLICOLOR_FORCE` is set and not `0`) and
//!   drops them when `NO_COLOR` is set to anything but the empty string, when `CLICOLOR=0`, and
//!   on a terminal that says it has no colours (`TERM=dumb`). `NO_COLOR` wins over
//!   `CLICOLOR_FORCE`;
//! - tables are laid out by `comfy-table`: no borders, two spaces between columns, no wrapping;
//! - the spinner (`indicatif`) is drawn only when stderr is a terminal and the format is
//!   `table`, with the same colour rule.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use anstream::ColorChoice;
use comfy_table::presets::NOTHING;
use indicatif::{ProgressBar, ProgressState, ProgressStyle};
use owo_colors::OwoColorize as _;
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
    fn owo(self) -> owo_colors::Style {
        let style = owo_colors::Style::new();
        match self {
            Style::Green => style.green(),
            Style::Red => style.red(),
            Style::Yellow => style.yellow(),
            Style::Cyan => style.cyan(),
            Style::Dim => style.dimmed(),
            Style::Bold => style.bold(),
        }
    }

    /// `text` with this style's ANSI codes around it.
    pub fn paint(self, text: &str) -> String {
        text.style(self.owo()).to_string()
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

/// Output settings of one run, decided once from the flags and the terminal.
#[derive(Clone, Debug)]
pub struct Output {
    /// The chosen format.
    pub format: Format,
    /// Whether stderr is a terminal (the spinner).
    err_tty: bool,
}

impl Output {
    /// Settings for `format`. Colour needs none: `anstream` decides it per stream.
    pub fn new(format: Format) -> Self {
        Self { format, err_tty: std::io::stderr().is_terminal() }
    }

    /// True for `json` and `jsonl`.
    pub fn is_machine(&self) -> bool {
        self.format != Format::Table
    }

    /// `text` in `style`. The styles reach the screen only through this module's writers (and
    /// `anstream`'s), which drop them where colour is off.
    pub fn paint(&self, text: &str, style: Style) -> String {
        style.paint(text)
    }

    /// One line of data on stdout.
    pub fn line(&self, text: &str) {
        write_out(&format!("{text}\n"));
    }

    /// `text` on stdout as it is (a generated file: a completion script, a manual page).
    pub fn text(&self, text: &str) {
        write_out(text);
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
            let mut table = layout();
            table.add_rows(pairs().into_iter().map(|(key, value)| [key, value]));
            write_out(&rendered(table));
        }
    }

    /// Prints `table` on stdout with aligned columns.
    pub fn table(&self, table: &Table) {
        write_out(&table.render());
    }

    /// A progress or status line on stderr (also in JSON modes: it never goes to stdout).
    pub fn note(&self, text: &str) {
        anstream::eprintln!("{text}");
    }

    /// A hint for people on stderr; silent in JSON modes.
    pub fn tip(&self, text: &str) {
        if !self.is_machine() {
            self.note(&Style::Dim.paint(text));
        }
    }

    /// A spinner on stderr cycling through `frames` every `tick`, followed by the text last
    /// given to [`Spinner::show`] and `suffix(time since that call)`. It draws nothing unless
    /// stderr is a terminal and the format is `table`.
    pub fn spinner(&self, frames: &[&str], tick: Duration, suffix: fn(Duration) -> String) -> Spinner {
        if !self.err_tty || self.is_machine() {
            return Spinner { bar: None, color: false };
        }
        // indicatif draws through `console`, which ignores NO_COLOR: strip here by our rule.
        let color = anstream::AutoStream::choice(&std::io::stderr()) != ColorChoice::Never;
        // The last frame is the one shown once finished (never: the spinner is cleared).
        let frames: Vec<String> =
            frames.iter().map(|f| visible(&Style::Cyan.paint(f), color)).chain([String::new()]).collect();
        let frames: Vec<&str> = frames.iter().map(String::as_str).collect();
        let style = ProgressStyle::with_template("{spinner} {msg}{suffix}")
            .expect("a valid template")
            .tick_strings(&frames)
            .with_key("suffix", move |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = w.write_str(&visible(&suffix(state.elapsed()), color));
            });
        let bar = ProgressBar::new_spinner().with_style(style);
        bar.enable_steady_tick(tick);
        Spinner { bar: Some(bar), color }
    }
}

/// A spinner from [`Output::spinner`]; every method does nothing when it is not drawn.
#[derive(Debug)]
pub struct Spinner {
    bar: Option<ProgressBar>,
    color: bool,
}

impl Spinner {
    /// Shows `text` (its styles kept only where stderr shows colour) and restarts the time
    /// the suffix is given.
    pub fn show(&self, text: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(visible(text, self.color));
            bar.reset_elapsed();
        }
    }

    /// Runs `print` with the spinner taken off the screen, then draws it again.
    pub fn suspend<R>(&self, print: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(print),
            None => print(),
        }
    }

    /// Takes the spinner off the screen for good.
    pub fn clear(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `text`, without its styles unless `color`.
fn visible(text: &str, color: bool) -> String {
    if color { text.to_owned() } else { anstream::adapter::strip_str(text).to_string() }
}

/// Writes to stdout (styles dropped where colour is off); a closed pipe (`axp intents list |
/// head -1`) ends the process quietly instead of panicking.
fn write_out(text: &str) {
    let mut out = anstream::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        anstream::eprintln!("error: writing to stdout: {e}");
        std::process::exit(1);
    }
}

/// An empty `comfy-table` without borders or rules; cells are as wide as their content (no
/// wrapping to the terminal's width, so lines stay whole for `grep`).
fn layout() -> comfy_table::Table {
    let mut table = comfy_table::Table::new();
    table.load_style(NOTHING);
    table
}

/// `table` as text: two spaces after each column, trailing spaces removed, a newline after
/// each line.
fn rendered(mut table: comfy_table::Table) -> String {
    for column in table.column_iter_mut() {
        column.set_padding((0, 2));
    }
    table.lines().map(|line| format!("{}\n", line.trim_end())).collect()
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

    /// The table as text: bold headers, the status column coloured by [`Style::for_status`].
    pub fn render(&self) -> String {
        let mut table = layout();
        table.set_header(self.headers.iter().map(|h| Style::Bold.paint(h)));
        for row in &self.rows {
            table.add_row(row.iter().take(self.headers.len()).enumerate().map(|(i, cell)| {
                if Some(i) == self.status_column { Style::for_status(cell).paint(cell) } else { cell.clone() }
            }));
        }
        rendered(table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_and_paint_the_status_column() {
        let mut t = Table::new(&["ID", "STATUS", "NOTE"]).status_column(1);
        t.row(vec!["a".into(), "COMPLETED".into(), "x".into()]);
        t.row(vec!["bbbb".into(), "FAILED".into()]);
        let colored = t.render();
        assert_eq!(
            anstream::adapter::strip_str(&colored).to_string(),
            "ID    STATUS     NOTE\na     COMPLETED  x\nbbbb  FAILED\n"
        );
        assert!(colored.contains("\x1b[32mCOMPLETED\x1b[0m"), "{colored:?}");
        assert!(colored.contains("\x1b[31mFAILED\x1b[0m"), "{colored:?}");
        assert!(colored.starts_with("\x1b[1mID\x1b[0m"), "{colored:?}");
    }

    #[test]
    fn objects_are_aligned_pairs() {
        let mut table = layout();
        table.add_rows([["id", "1"], ["status", "OK"]]);
        assert_eq!(rendered(table), "id      1\nstatus  OK\n");
    }
}
