//! Where results go: aligned tables and lines for people (coloured only on a
//! terminal, never with `NO_COLOR`), or JSON documents for scripts.

use std::io::{IsTerminal, Write};

use anstyle::{AnsiColor, Style};
use serde::Serialize;

use crate::error::CliError;

/// When to colour the output (`--color`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set.
    Auto,
    /// Always, unless `NO_COLOR` is set.
    Always,
    /// Never.
    Never,
}

/// Whether to colour: `NO_COLOR` (set and not empty, see no-color.org) always wins.
pub(crate) fn use_color(choice: ColorChoice, terminal: bool, no_color: Option<&str>) -> bool {
    if no_color.is_some_and(|value| !value.is_empty()) {
        return false;
    }
    match choice {
        ColorChoice::Auto => terminal,
        ColorChoice::Always => true,
        ColorChoice::Never => false,
    }
}

/// The styles the tool uses.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Tone {
    /// Column headers.
    Header,
    /// Good news: active, delivered, created.
    Good,
    /// Needs attention: disabled, pending, updated.
    Warn,
    /// Bad news: failed, deleted.
    Bad,
    /// Less important text.
    Dim,
}

impl Tone {
    fn style(self) -> Style {
        match self {
            Self::Header => Style::new().bold(),
            Self::Good => AnsiColor::Green.on_default(),
            Self::Warn => AnsiColor::Yellow.on_default(),
            Self::Bad => AnsiColor::Red.on_default(),
            Self::Dim => Style::new().dimmed(),
        }
    }
}

/// The output of one run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Output {
    json: bool,
    color: bool,
}

impl Output {
    /// Output as JSON or for people, coloured or not.
    pub(crate) fn new(json: bool, color: bool) -> Self {
        Self { json, color }
    }

    /// From the flags and the environment.
    pub(crate) fn detect(json: bool, choice: ColorChoice) -> Self {
        let no_color = std::env::var("NO_COLOR").ok();
        let color =
            !json && use_color(choice, std::io::stdout().is_terminal(), no_color.as_deref());
        Self::new(json, color)
    }

    /// Whether `--json` was asked for.
    pub(crate) fn is_json(self) -> bool {
        self.json
    }

    /// `text` in `tone`, when colouring.
    pub(crate) fn paint(self, text: &str, tone: Tone) -> String {
        if self.color {
            let style = tone.style();
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_owned()
        }
    }

    /// Prints one JSON document.
    pub(crate) fn json<T: Serialize + ?Sized>(self, value: &T) -> Result<(), CliError> {
        let text = serde_json::to_string_pretty(value)
            .map_err(|error| CliError::Output(std::io::Error::other(error)))?;
        self.line(&text)
    }

    /// Prints a line to stdout.
    #[allow(
        clippy::unused_self,
        reason = "every print goes through the one Output of the run"
    )]
    pub(crate) fn line(self, text: &str) -> Result<(), CliError> {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{text}")?;
        stdout.flush()?;
        Ok(())
    }

    /// Prints a table.
    pub(crate) fn table(self, table: &Table) -> Result<(), CliError> {
        self.line(table.render(self).trim_end_matches('\n'))
    }
}

/// A cell: its text and how to paint it.
#[derive(Debug, Clone)]
pub(crate) struct Cell {
    text: String,
    tone: Option<Tone>,
}

impl Cell {
    /// A plain cell.
    pub(crate) fn plain(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            tone: None,
        }
    }

    /// A painted cell.
    pub(crate) fn toned(text: impl Into<String>, tone: Tone) -> Self {
        Self {
            text: text.into(),
            tone: Some(tone),
        }
    }
}

impl Cell {
    /// The text, painted when the output is coloured.
    pub(crate) fn render(&self, output: Output) -> String {
        match self.tone {
            Some(tone) => output.paint(&self.text, tone),
            None => self.text.clone(),
        }
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Self::plain(text)
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Self::plain(text)
    }
}

/// Rows under headers, rendered with aligned columns.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<Cell>>,
}

impl Table {
    /// A table with these column headers.
    pub(crate) fn new<const N: usize>(headers: [&str; N]) -> Self {
        Self {
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (missing cells are empty, extra ones dropped).
    pub(crate) fn row(&mut self, cells: Vec<Cell>) {
        self.rows.push(cells);
    }

    /// Whether it has no rows.
    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The text: columns padded to their widest cell, two spaces apart, the
    /// last column not padded.
    pub(crate) fn render(&self, output: Output) -> String {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.text.chars().count());
            }
        }
        let mut text = String::new();
        let header_cells: Vec<Cell> = self
            .headers
            .iter()
            .map(|h| Cell::toned(h.clone(), Tone::Header))
            .collect();
        for row in std::iter::once(&header_cells).chain(&self.rows) {
            let mut line = String::new();
            for (index, width) in widths.iter().enumerate() {
                let cell = row.get(index).cloned().unwrap_or_else(|| Cell::plain(""));
                let padding = width.saturating_sub(cell.text.chars().count());
                line.push_str(&cell.render(output));
                if index + 1 < columns {
                    line.push_str(&" ".repeat(padding + 2));
                }
            }
            text.push_str(line.trim_end());
            text.push('\n');
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_always_wins() {
        assert!(use_color(ColorChoice::Auto, true, None));
        assert!(!use_color(ColorChoice::Auto, false, None));
        assert!(use_color(ColorChoice::Always, false, None));
        assert!(!use_color(ColorChoice::Never, true, None));
        assert!(!use_color(ColorChoice::Always, true, Some("1")));
        assert!(!use_color(ColorChoice::Auto, true, Some("yes")));
        // An empty NO_COLOR does not count (no-color.org).
        assert!(use_color(ColorChoice::Always, false, Some("")));
    }

    #[test]
    fn tables_align_and_paint_only_when_asked() {
        let mut table = Table::new(["ID", "STATUS", "TARGET"]);
        table.row(vec![
            "7".into(),
            Cell::toned("ACTIVE", Tone::Good),
            "https://a".into(),
        ]);
        table.row(vec!["1234".into(), Cell::toned("DISABLED", Tone::Bad)]);
        let plain = table.render(Output::new(false, false));
        assert_eq!(
            plain,
            "ID    STATUS    TARGET\n7     ACTIVE    https://a\n1234  DISABLED\n"
        );
        let coloured = table.render(Output::new(false, true));
        assert!(coloured.contains('\u{1b}'), "{coloured}");
        assert_eq!(strip_escapes(&coloured), plain);
    }

    fn strip_escapes(text: &str) -> String {
        let mut out = String::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                for c in chars.by_ref() {
                    if c == 'm' {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }
}
