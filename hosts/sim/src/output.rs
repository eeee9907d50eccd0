//! Where a std host writes a transcript: stdout for the transcript, stderr for the
//! diagnostics of plain mode.

use std::io::{self, Write};

use gpc_script::Output;

/// An [`Output`] over a writer (the transcript) with diagnostics on stderr.
pub struct StdOutput<W: Write> {
    out: W,
    error: Option<io::Error>,
    /// Put before each diagnostic (`script.cgsh: `).
    prefix: String,
    /// Drop the interpreter's `line N: ` from diagnostics (the interactive shell).
    strip_line_number: bool,
}

impl<W: Write> StdOutput<W> {
    /// Writes the transcript to `out`; diagnostics get `prefix` in front.
    pub fn new(out: W, prefix: String, strip_line_number: bool) -> Self {
        StdOutput {
            out,
            error: None,
            prefix,
            strip_line_number,
        }
    }

    /// Flushes the transcript; the first write error, if any.
    pub fn finish(&mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.flush()
    }
}

impl<W: Write> Output for StdOutput<W> {
    fn write_bytes(&mut self, bytes: &[u8]) {
        if self.error.is_none() {
            if let Err(e) = self.out.write_all(bytes) {
                self.error = Some(e);
            }
        }
    }

    fn diagnostic(&mut self, line: &str) {
        // Keep the order of transcript and diagnostics on a terminal.
        if self.error.is_none() {
            if let Err(e) = self.out.flush() {
                self.error = Some(e);
            }
        }
        let line = if self.strip_line_number {
            strip_line_number(line)
        } else {
            line
        };
        let mut err = io::stderr().lock();
        let _ = writeln!(err, "{}{}", self.prefix, line);
    }
}

/// `line 12: echo: EBUSY (...)` → `echo: EBUSY (...)`.
pub fn strip_line_number(line: &str) -> &str {
    let Some(rest) = line.strip_prefix("line ") else {
        return line;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    match rest.get(digits..).and_then(|r| r.strip_prefix(": ")) {
        Some(r) if digits > 0 => r,
        _ => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_only_a_line_number() {
        assert_eq!(strip_line_number("line 12: echo: EBUSY"), "echo: EBUSY");
        assert_eq!(strip_line_number("line x: y"), "line x: y");
        assert_eq!(strip_line_number("echo: EBUSY"), "echo: EBUSY");
        assert_eq!(strip_line_number("line : y"), "line : y");
    }

    #[test]
    fn transcript_goes_to_the_writer() {
        let mut o = StdOutput::new(Vec::new(), String::new(), false);
        o.write_bytes(b"a\n");
        assert!(o.finish().is_ok());
        assert_eq!(o.out, b"a\n");
    }
}
