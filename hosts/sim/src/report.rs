//! How `gpc run` lays out what a script does: the transcript formats (plain, `--echo`,
//! `--narrate`, `--csv`, `--json`) and `--strict`.
//!
//! The interpreter tells its [`Output`] where each command starts and how it ended
//! ([`Output::command_start`], [`Output::command_end`]: the errno, the errno its
//! `# expect: ERRNO` comment names, why), in every mode; [`Report`] turns that into the
//! chosen format. Plain and `--echo` are the interpreter's own transcripts, passed
//! through unchanged (so `--echo` stays FORMAT.md's, byte for byte); the others are laid
//! out here:
//!
//! * `--narrate` prints the script's comment lines as prose (without the `#`) between
//!   the commands, each command as `    $ COMMAND` with its output indented below it, and
//!   a failure as `    error: EBUSY (Device or resource busy) [expected]`, marked
//!   `[expected]` when its `# expect:` comment names that errno, `[unexpected]` when it
//!   has none, `[expected ENOENT]` when it names another; a command that was expected to
//!   fail and did not says `succeeded [expected EBUSY]`. A last line counts the
//!   commands and names the lines that did not go as the script says.
//! * `--csv` and `--json` write one record per command and nothing else: the line
//!   number, the command as written, `ok` or the errno name, the errno its `# expect:`
//!   names, whether those agree, and the bytes it printed. CSV is RFC 4180 (a header
//!   line, CRLF record ends, fields with `"`, `,`, CR or LF quoted with `"` doubled);
//!   JSON is JSON Lines (one object per line). Output that is not UTF-8 is written with
//!   U+FFFD for each bad sequence.
//! * `--strict` (with any format) stops after the first command that did not go as the
//!   script says; the host prints [`Report::stopped`] (`FILE:LINE: COMMAND: ERRNO`) on
//!   stderr and exits 1.

use std::fmt::Write as _;
use std::io::{self, Write};

use gpc_script::{CommandEnd, Mode, Output};

use crate::output::StdOutput;

/// A transcript format of `gpc run`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The output of each command; failures on stderr.
    Plain,
    /// FORMAT.md's transcript (`$ COMMAND`, `error: ERRNO`).
    Echo,
    /// The script's comments as prose between its commands and their output.
    Narrate,
    /// One CSV record per command.
    Csv,
    /// One JSON object per command, one per line.
    Json,
}

impl Format {
    /// The interpreter's mode for this format.
    pub fn mode(self) -> Mode {
        if self == Format::Echo {
            Mode::Echo
        } else {
            Mode::Plain
        }
    }
}

/// The header line of `--csv`.
pub const CSV_HEADER: &str = "line,command,result,expect,as_expected,output";

/// What `--narrate` wrote last, for the blank lines between prose and commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Last {
    Nothing,
    Prose,
    Blank,
    Command,
}

/// Lines that did not go as the script says, listed by `--narrate`'s last line: at most
/// this many, so that the list stays small whatever the script.
const LISTED: usize = 10;

/// An [`Output`] that writes a run in one [`Format`] (see the module documentation).
pub struct Report<W: Write> {
    out: StdOutput<W>,
    name: String,
    format: Format,
    strict: bool,
    /// The command running now: its line number and text.
    line: usize,
    text: String,
    /// `--csv`, `--json`: what the command printed.
    captured: Vec<u8>,
    /// `--narrate`: whether the next output byte starts a line (and gets the indent).
    line_start: bool,
    last: Last,
    /// A diagnostic held back under `--strict` until its command has ended (the stop
    /// message replaces it).
    held: Option<String>,
    stop: Option<String>,
    commands: usize,
    failed: usize,
    /// Line numbers of commands that did not go as the script says (the first
    /// [`LISTED`]), and how many there were.
    off_script: Vec<usize>,
    off_script_count: usize,
}

impl<W: Write> Report<W> {
    /// A report of the script `name` to `out` (diagnostics to stderr, after `name: `).
    pub fn new(out: W, name: &str, format: Format, strict: bool) -> Self {
        let mut report = Report {
            out: StdOutput::new(out, format!("{name}: "), false),
            name: name.to_string(),
            format,
            strict,
            line: 0,
            text: String::new(),
            captured: Vec::new(),
            line_start: true,
            last: Last::Nothing,
            held: None,
            stop: None,
            commands: 0,
            failed: 0,
            off_script: Vec::new(),
            off_script_count: 0,
        };
        if format == Format::Csv {
            report.out.write_bytes(CSV_HEADER.as_bytes());
            report.out.write_bytes(b"\r\n");
        }
        report
    }

    /// A line of the script that ran no command (blank, or only a comment): prose for
    /// `--narrate`, nothing otherwise.
    pub fn quiet_line(&mut self, raw: &[u8]) {
        if self.format != Format::Narrate {
            return;
        }
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let text = String::from_utf8_lossy(raw);
        let text = text.trim_start_matches([' ', '\t']);
        // An empty comment line separates paragraphs as a blank line does.
        match text.strip_prefix('#').filter(|c| !c.trim().is_empty()) {
            Some(comment) => {
                if self.last == Last::Command {
                    self.out.write_bytes(b"\n");
                }
                let comment = comment.strip_prefix(' ').unwrap_or(comment);
                self.out.write_bytes(comment.trim_end().as_bytes());
                self.out.write_bytes(b"\n");
                self.last = Last::Prose;
            }
            None => {
                if matches!(self.last, Last::Prose | Last::Command) {
                    self.out.write_bytes(b"\n");
                    self.last = Last::Blank;
                }
            }
        }
    }

    /// Under `--strict`, why the run stopped: `FILE:LINE: COMMAND: ERRNO (...)`, for the
    /// first command that did not go as the script says.
    pub fn stopped(&self) -> Option<&str> {
        self.stop.as_deref()
    }

    /// Ends the report (`--narrate`'s last line) and flushes it; the first write error.
    pub fn finish(&mut self) -> io::Result<()> {
        if self.format == Format::Narrate && self.stop.is_none() {
            let mut line = String::from("\n");
            let plural = |n: usize, one: &'static str, many: &'static str| {
                if n == 1 {
                    one
                } else {
                    many
                }
            };
            let _ = write!(
                line,
                "({} {}, {} {}",
                self.commands,
                plural(self.commands, "command", "commands"),
                self.failed,
                plural(self.failed, "error", "errors")
            );
            if self.off_script_count == 0 {
                if self.failed > 0 {
                    line.push_str(", each one the script expects");
                }
            } else {
                let lines: Vec<String> = self.off_script.iter().map(usize::to_string).collect();
                let _ = write!(
                    line,
                    "; {} did not go as the script says: {} {}{}",
                    self.off_script_count,
                    plural(self.off_script_count, "line", "lines"),
                    lines.join(", "),
                    if self.off_script_count > LISTED {
                        ", ..."
                    } else {
                        ""
                    }
                );
            }
            line.push_str(")\n");
            self.out.write_bytes(line.as_bytes());
        }
        self.out.finish()
    }

    /// Flushes what was written so far (a script read from a pipe prints as it runs).
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.finish()
    }

    /// The outcome as `--narrate` and `--strict` say it: `EBUSY (Device or resource
    /// busy): why [expected]`, `succeeded [expected EBUSY]`.
    fn outcome(end: &CommandEnd<'_>, mark_unexpected: bool) -> String {
        let mut s = String::new();
        match end.error {
            Some(errno) => {
                let _ = write!(s, "{errno}");
                if let Some(why) = end.why {
                    let _ = write!(s, ": {why}");
                }
            }
            None => s.push_str("succeeded"),
        }
        match end.expected {
            Some(e) if end.error == Some(e) => s.push_str(" [expected]"),
            Some(e) => {
                let _ = write!(s, " [expected {}]", e.name());
            }
            None if mark_unexpected && end.error.is_some() => s.push_str(" [unexpected]"),
            None => {}
        }
        s
    }

    fn record(&mut self, end: &CommandEnd<'_>) {
        let result = end.error.map_or("ok", |e| e.name());
        let expect = end.expected.map(|e| e.name());
        let output = String::from_utf8_lossy(&self.captured);
        let mut rec = String::new();
        if self.format == Format::Csv {
            let _ = write!(
                rec,
                "{},{},{},{},{},{}\r\n",
                end.line,
                csv_field(&self.text),
                result,
                expect.unwrap_or(""),
                end.as_expected(),
                csv_field(&output)
            );
        } else {
            let _ = writeln!(
                rec,
                "{{\"line\":{},\"command\":{},\"result\":\"{}\",\"expect\":{},\"as_expected\":{},\"output\":{}}}",
                end.line,
                json_string(&self.text),
                result,
                expect.map_or_else(|| String::from("null"), json_string),
                end.as_expected(),
                json_string(&output)
            );
        }
        self.out.write_bytes(rec.as_bytes());
        self.captured.clear();
    }
}

impl<W: Write> Output for Report<W> {
    fn write_bytes(&mut self, bytes: &[u8]) {
        match self.format {
            Format::Plain | Format::Echo => self.out.write_bytes(bytes),
            Format::Csv | Format::Json => self.captured.extend_from_slice(bytes),
            Format::Narrate => {
                for piece in bytes.split_inclusive(|&b| b == b'\n') {
                    if self.line_start {
                        self.out.write_bytes(b"    ");
                    }
                    self.out.write_bytes(piece);
                    self.line_start = piece.ends_with(b"\n");
                }
            }
        }
    }

    fn diagnostic(&mut self, line: &str) {
        match self.format {
            Format::Plain | Format::Echo if self.strict => self.held = Some(line.to_string()),
            Format::Plain | Format::Echo => self.out.diagnostic(line),
            // The record and the narration say it all.
            Format::Narrate | Format::Csv | Format::Json => {}
        }
    }

    fn command_start(&mut self, line: usize, text: &str) {
        self.line = line;
        self.text.clear();
        self.text.push_str(text);
        if self.format == Format::Narrate {
            if self.last == Last::Prose {
                self.out.write_bytes(b"\n");
            }
            self.last = Last::Command;
            self.line_start = true;
            self.write_bytes(format!("$ {text}\n").as_bytes());
        }
    }

    fn command_end(&mut self, end: &CommandEnd<'_>) {
        self.commands = self.commands.saturating_add(1);
        if end.error.is_some() {
            self.failed = self.failed.saturating_add(1);
        }
        if !end.as_expected() {
            self.off_script_count = self.off_script_count.saturating_add(1);
            if self.off_script.len() < LISTED {
                self.off_script.push(end.line);
            }
        }
        match self.format {
            Format::Narrate => {
                if !self.line_start {
                    self.out.write_bytes(b"\n");
                    self.line_start = true;
                }
                if end.error.is_some() || end.expected.is_some() {
                    let prefix = if end.error.is_some() { "error: " } else { "" };
                    let line = format!("{prefix}{}\n", Self::outcome(end, true));
                    self.write_bytes(line.as_bytes());
                }
            }
            Format::Csv | Format::Json => self.record(end),
            Format::Plain | Format::Echo => {}
        }
        let stops = self.strict && !end.as_expected() && self.stop.is_none();
        if let Some(held) = self.held.take() {
            if !stops {
                self.out.diagnostic(&held);
            }
        }
        if stops {
            self.stop = Some(format!(
                "{}:{}: {}: {}",
                self.name,
                end.line,
                self.text,
                Self::outcome(end, false)
            ));
        }
    }
}

/// A CSV field (RFC 4180): quoted, with `"` doubled, if it has a `"`, `,`, CR or LF.
pub fn csv_field(text: &str) -> String {
    if text.contains(['"', ',', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// A JSON string (RFC 8259), quotes included.
pub fn json_string(text: &str) -> String {
    let mut s = String::with_capacity(text.len() + 2);
    s.push('"');
    for c in text.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(s, "\\u{:04x}", u32::from(c));
            }
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_as_rfc_4180_says() {
        assert_eq!(csv_field("ls /cg"), "ls /cg");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("1\n2\n"), "\"1\n2\n\"");
        assert_eq!(csv_field(""), "");
    }

    /// The narration's layout: prose without `#`, one blank line between prose and
    /// commands (blank script lines collapse into it), output indented and ended with a
    /// newline even when the command printed none.
    #[test]
    fn narration_layout() {
        let mut out = Vec::new();
        let mut r = Report::new(&mut out, "t", Format::Narrate, false);
        r.quiet_line(b"# Title\r");
        r.quiet_line(b"  #indented # text");
        r.command_start(3, "echo -n a");
        r.write_bytes(b"a");
        let end = CommandEnd {
            line: 3,
            name: "echo",
            error: None,
            expected: None,
            why: None,
        };
        r.command_end(&end);
        r.quiet_line(b"");
        r.quiet_line(b"   ");
        r.quiet_line(b"#");
        r.command_start(7, "cat x");
        r.write_bytes(b"1\n2");
        r.write_bytes(b"\n");
        r.command_end(&CommandEnd {
            line: 7,
            error: Some(gpc_core::Error::ENOENT),
            why: Some("why"),
            ..end
        });
        assert!(r.finish().is_ok());
        assert!(r.stopped().is_none());
        drop(r);
        assert_eq!(
            String::from_utf8_lossy(&out),
            "Title\nindented # text\n\n    $ echo -n a\n    a\n\n    $ cat x\n    1\n    2\n    \
             error: ENOENT (No such file or directory): why [unexpected]\n\n\
             (2 commands, 1 error; 1 did not go as the script says: line 7)\n"
        );
    }

    #[test]
    fn strict_names_the_first_command_off_script() {
        let mut r = Report::new(Vec::new(), "s.cgsh", Format::Plain, true);
        for (line, error, expected) in [
            (
                1,
                Some(gpc_core::Error::EBUSY),
                Some(gpc_core::Error::EBUSY),
            ),
            (2, None, Some(gpc_core::Error::EBUSY)),
            (3, Some(gpc_core::Error::EPERM), None),
        ] {
            r.command_start(line, "rmdir /cg");
            r.command_end(&CommandEnd {
                line,
                name: "rmdir",
                error,
                expected,
                why: None,
            });
        }
        assert_eq!(
            r.stopped(),
            Some("s.cgsh:2: rmdir /cg: succeeded [expected EBUSY]")
        );
    }

    #[test]
    fn json_strings_escape_what_json_requires() {
        assert_eq!(
            json_string("a\"b\\c\n\t\u{1}é"),
            "\"a\\\"b\\\\c\\n\\t\\u0001é\""
        );
    }
}
