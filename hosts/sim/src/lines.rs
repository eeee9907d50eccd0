//! Reading a script a line at a time, never holding more than one line of it.
//!
//! `gpc run -` and `gpc shell` read from pipes that may never end (`yes 'spawn A' |
//! gpc run -`), so a line is read into a buffer of at most [`MAX_READ`] bytes: a longer
//! line is reported as [`LineRead::TooLong`] without reading it whole, and the caller
//! decides whether to stop there (`gpc run`, where it is a parse error) or to skip it
//! with [`skip_line`] and go on (the shell).

use std::io::{self, BufRead};

use gpc_script::MAX_LINE;

/// The most bytes of a line (without its `\n`) a reader holds: [`MAX_LINE`] and the
/// `\r` of a CRLF line end, which the parser drops before it counts.
pub const MAX_READ: usize = MAX_LINE + 1;

/// What [`read_line`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineRead {
    /// A line is in the buffer (without its `\n`; the last line of the input may have
    /// none).
    Line,
    /// The line is longer than [`MAX_READ`] bytes: part of it was read and dropped, the
    /// rest is still to be read.
    TooLong,
    /// The input has ended.
    Eof,
}

/// Reads the next line into `buf` (cleared first), holding at most [`MAX_READ`] bytes.
///
/// # Errors
///
/// The reader's errors (an interrupted read is retried).
pub fn read_line<R: BufRead + ?Sized>(input: &mut R, buf: &mut Vec<u8>) -> io::Result<LineRead> {
    buf.clear();
    loop {
        let available = match input.fill_buf() {
            Ok(a) => a,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(if buf.is_empty() {
                LineRead::Eof
            } else {
                LineRead::Line
            });
        }
        let newline = available.iter().position(|&b| b == b'\n');
        let chunk = available
            .get(..newline.unwrap_or(available.len()))
            .unwrap_or(&[]);
        let room = MAX_READ.saturating_sub(buf.len());
        if chunk.len() > room {
            let taken = chunk.len();
            input.consume(taken);
            buf.clear();
            return Ok(LineRead::TooLong);
        }
        buf.extend_from_slice(chunk);
        let taken = chunk.len();
        match newline {
            Some(_) => {
                input.consume(taken.saturating_add(1));
                return Ok(LineRead::Line);
            }
            None => input.consume(taken),
        }
    }
}

/// Reads and drops the rest of a line, up to and with its `\n`.
///
/// # Errors
///
/// The reader's errors (an interrupted read is retried).
pub fn skip_line<R: BufRead + ?Sized>(input: &mut R) -> io::Result<()> {
    loop {
        let available = match input.fill_buf() {
            Ok(a) => a,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(());
        }
        match available.iter().position(|&b| b == b'\n') {
            Some(i) => {
                input.consume(i.saturating_add(1));
                return Ok(());
            }
            None => {
                let n = available.len();
                input.consume(n);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], skip: bool) -> Vec<(LineRead, usize)> {
        let mut r = io::BufReader::with_capacity(1000, input);
        let mut buf = Vec::new();
        let mut got = Vec::new();
        loop {
            match read_line(&mut r, &mut buf) {
                Ok(LineRead::Eof) | Err(_) => return got,
                Ok(LineRead::TooLong) => {
                    got.push((LineRead::TooLong, buf.len()));
                    if !skip || skip_line(&mut r).is_err() {
                        return got;
                    }
                }
                Ok(l) => got.push((l, buf.len())),
            }
            assert!(buf.capacity() <= 2 * MAX_READ + 1000);
        }
    }

    #[test]
    fn lines_are_capped_and_the_rest_can_be_skipped() {
        let mut input = b"ls /\n\n".to_vec();
        input.extend(vec![b'a'; MAX_READ]);
        input.extend(b"\n");
        input.extend(vec![b'b'; 3 * MAX_READ]);
        input.extend(b"\nps");
        use LineRead::*;
        assert_eq!(
            lines(&input, true),
            [
                (Line, 4),
                (Line, 0),
                (Line, MAX_READ),
                (TooLong, 0),
                (Line, 2)
            ]
        );
        assert_eq!(
            lines(&input, false),
            [(Line, 4), (Line, 0), (Line, MAX_READ), (TooLong, 0)]
        );
        assert_eq!(lines(b"", true), []);
        assert_eq!(lines(b"\n", true), [(Line, 0)]);
    }
}
