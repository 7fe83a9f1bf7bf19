//! Lines of a fixed number of columns, measured in display columns: a
//! Chinese character takes two, as it does on a thermal printer in its
//! Chinese mode. The text and ESC/POS renderings share these lines, so
//! the paper looks like the golden text.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// How a line is printed; plain text ignores it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Style {
    pub bold: bool,
    /// Double height (same width, so the columns still line up).
    pub tall: bool,
}

impl Style {
    pub const PLAIN: Style = Style {
        bold: false,
        tall: false,
    };
    pub const BOLD: Style = Style {
        bold: true,
        tall: false,
    };
    pub const TITLE: Style = Style {
        bold: true,
        tall: true,
    };
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    pub text: String,
    pub style: Style,
}

pub(crate) fn width_of(text: &str) -> usize {
    text.width()
}

/// Control characters would be printer commands on paper: they become
/// spaces. Runs of whitespace collapse, the ends are trimmed.
pub(crate) fn clean(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Cuts `text` into pieces of at most `width` columns (a character wider
/// than `width` gets a piece of its own).
fn split_columns(text: &str, width: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut piece = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width && !piece.is_empty() {
            pieces.push(std::mem::take(&mut piece));
            used = 0;
        }
        piece.push(c);
        used += w;
    }
    if !piece.is_empty() {
        pieces.push(piece);
    }
    pieces
}

/// Word-wraps `text` to `width` columns; words longer than a line are cut.
pub(crate) fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in clean(text).split(' ').filter(|w| !w.is_empty()) {
        let w = width_of(word);
        let needed = if line.is_empty() {
            w
        } else {
            width_of(&line) + 1 + w
        };
        if needed <= width {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        if w <= width {
            line.push_str(word);
        } else {
            let mut pieces = split_columns(word, width);
            line = pieces.pop().unwrap_or_default();
            lines.extend(pieces);
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// A receipt being laid out, `width` columns wide.
pub(crate) struct Layout {
    width: usize,
    lines: Vec<Line>,
}

impl Layout {
    pub fn new(width: usize) -> Self {
        Self {
            width,
            lines: Vec::new(),
        }
    }

    pub fn width(&self) -> usize {
        self.width
    }

    fn push(&mut self, text: String, style: Style) {
        self.lines.push(Line {
            text: text.trim_end().to_owned(),
            style,
        });
    }

    /// Wrapped and centred.
    pub fn centred(&mut self, text: &str, style: Style) {
        for line in wrap(text, self.width) {
            let pad = (self.width - width_of(&line).min(self.width)) / 2;
            self.push(format!("{}{line}", " ".repeat(pad)), style);
        }
    }

    /// Wrapped, left-aligned.
    pub fn left(&mut self, text: &str, style: Style) {
        for line in wrap(text, self.width) {
            self.push(line, style);
        }
    }

    /// The label on the left, the value on the right of the same line; a
    /// value that does not fit goes on the lines below, right-aligned and
    /// cut to the width.
    pub fn pair(&mut self, label: &str, value: &str, style: Style) {
        let (label, value) = (clean(label), clean(value));
        let (lw, vw) = (width_of(&label), width_of(&value));
        if lw + 1 + vw <= self.width {
            let gap = self.width - lw - vw;
            self.push(format!("{label}{}{value}", " ".repeat(gap)), style);
            return;
        }
        self.push(label, style);
        for piece in split_columns(&value, self.width) {
            let pad = self.width - width_of(&piece).min(self.width);
            self.push(format!("{}{piece}", " ".repeat(pad)), style);
        }
    }

    pub fn rule(&mut self) {
        self.push("-".repeat(self.width), Style::PLAIN);
    }

    pub fn blank(&mut self) {
        self.push(String::new(), Style::PLAIN);
    }

    pub fn lines(self) -> Vec<Line> {
        self.lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_fill_the_width_and_long_values_wrap_right_aligned() {
        let mut l = Layout::new(20);
        l.pair("TRACE NO", "000042", Style::PLAIN);
        l.pair("ORDER NO", "2024010112345678901234", Style::PLAIN);
        let lines: Vec<String> = l.lines().into_iter().map(|l| l.text).collect();
        assert_eq!(
            lines,
            [
                "TRACE NO      000042",
                "ORDER NO",
                "20240101123456789012",
                "                  34",
            ]
        );
    }

    #[test]
    fn chinese_text_counts_two_columns_a_character() {
        let mut l = Layout::new(12);
        l.centred("咖啡店", Style::TITLE);
        l.pair("店", "ABC", Style::PLAIN);
        l.left("一二三四五六七", Style::PLAIN);
        let lines: Vec<String> = l.lines().into_iter().map(|l| l.text).collect();
        assert_eq!(lines, ["   咖啡店", "店       ABC", "一二三四五六", "七"]);
    }

    #[test]
    fn control_characters_never_reach_the_paper() {
        let mut l = Layout::new(32);
        l.left("SHOP\u{1b}@\u{1d}V\u{1}  NAME\n", Style::PLAIN);
        let lines = l.lines();
        assert_eq!(lines[0].text, "SHOP @ V NAME");
        assert!(lines.iter().all(|l| !l.text.chars().any(char::is_control)));
    }

    #[test]
    fn words_wrap_and_overlong_words_are_cut() {
        assert_eq!(
            wrap("I confirm the amount shown", 10),
            ["I confirm", "the amount", "shown"]
        );
        assert_eq!(wrap("ABCDEFGHIJKL xy", 5), ["ABCDE", "FGHIJ", "KL xy"]);
        assert!(wrap("   ", 5).is_empty());
    }
}
