//! Whether a script fits the kernel's heap, decided before anything is allocated.
//!
//! gpc-script parses the whole script before running it ([`gpc_script::Script::parse`]),
//! with infallible allocations: a script whose parsed form does not fit the heap would
//! stop the kernel half-way through parsing. So the kernel bounds what parsing can take
//! from the script's bytes alone, without allocating ([`ScriptShape::of`]), and refuses a
//! script whose bound does not fit the heap's main tier with a message that says so
//! ([`TooLarge`]), as `gpc run` refuses a file it cannot read, before anything runs.
//!
//! The bound is an upper bound on the *extent* of the first-fit heap that parsing uses
//! (its highest byte), not just on the bytes live at once: first-fit leaves holes, and
//! the extent is what must fit. `tests/parse_budget.rs` measures that extent on the
//! kernel's own [`crate::heap::Heap`] for ordinary and adversarial scripts and checks the
//! bound holds, so a change in gpc-script's representation that breaks it fails a test.
//!
//! The same pass sizes the interpreter's emergency tier ([`crate::heap`]) from the
//! longest command line: what the interpreter allocates to run one command (the echoed
//! line, the expanded words, a diagnostic quoting them) is bounded by a multiple of it.

use core::fmt;

use crate::heap::TierSizes;

/// Parse cost of a command line, in heap bytes, beyond its words: the `Line` in the
/// script's `Vec` (about 160 bytes, up to 4 times over with the `Vec`'s doubling and
/// the holes its old buffers leave), and the interpreter's variable for `spawn VAR`.
pub const LINE_COST: usize = 704;
/// Parse cost of a word (a run of non-blank bytes, or a `>`): its token, its copy in
/// the command, and the segment list of each.
pub const WORD_COST: usize = 128;
/// Parse cost of a `$`: a variable segment and the literal segment after it, twice.
pub const DOLLAR_COST: usize = 160;
/// Parse cost per byte of a command line: its text and its words' strings, with
/// `String` doubling.
pub const BYTE_COST: usize = 6;
/// Slack for what parsing allocates once (the first small buffers, alignment).
pub const FIXED_COST: usize = 4096;

/// Bytes the interpreter may need for one command per byte of its line: expanding
/// `$A` (2 bytes) gives up to 10 digits, a diagnostic quotes the expansion with
/// escapes, and each `String` may be twice its length while it grows.
pub const INTERP_BYTE_COST: usize = 128;
/// The interpreter's fixed need per command (error lines, small buffers).
pub const INTERP_FIXED: usize = 32 << 10;

/// The smallest reserve tier, and the part of the heap it takes (one eighth).
pub const MIN_RESERVE: usize = 64 << 10;

/// What the kernel needs to know about a script before parsing it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScriptShape {
    /// Bytes of the script.
    pub bytes: usize,
    /// Command lines (not blank, not only a comment).
    pub commands: usize,
    /// Bytes of the longest command line.
    pub longest_line: usize,
    /// An upper bound on the heap extent parsing takes (see the module documentation).
    pub parse_bound: usize,
}

/// What one line contributes.
struct LineCost {
    command: bool,
    cost: usize,
}

fn line_cost(line: &[u8]) -> LineCost {
    let mut words = 0usize;
    let mut dollars = 0usize;
    let mut in_word = false;
    let mut first = None;
    for &b in line {
        match b {
            b' ' | b'\t' | b'\r' => in_word = false,
            b'>' => {
                words += 1;
                in_word = false;
            }
            _ => {
                first.get_or_insert(b);
                if !in_word {
                    words += 1;
                    in_word = true;
                }
                if b == b'$' {
                    dollars += 1;
                }
            }
        }
    }
    // A blank line or one that is only a comment parses to nothing.
    let command = first.is_some_and(|b| b != b'#');
    let cost = if command {
        LINE_COST
            .saturating_add(words.saturating_mul(WORD_COST))
            .saturating_add(dollars.saturating_mul(DOLLAR_COST))
            .saturating_add(line.len().saturating_mul(BYTE_COST))
    } else {
        0
    };
    LineCost { command, cost }
}

impl ScriptShape {
    /// The shape of `source` (one pass, no allocation).
    pub fn of(source: &[u8]) -> ScriptShape {
        let mut shape = ScriptShape {
            bytes: source.len(),
            ..ScriptShape::default()
        };
        let mut persistent = 0usize;
        let mut largest = 0usize;
        for line in source.split(|&b| b == b'\n') {
            let c = line_cost(line);
            if c.command {
                shape.commands += 1;
                shape.longest_line = shape.longest_line.max(line.len());
            }
            persistent = persistent.saturating_add(c.cost);
            largest = largest.max(c.cost);
        }
        // The line being parsed has its tokens and words besides its parsed form: one
        // more copy of the largest line.
        shape.parse_bound = persistent
            .saturating_add(largest)
            .saturating_add(FIXED_COST);
        shape
    }

    /// The interpreter's emergency tier for this script.
    pub fn emergency(&self) -> usize {
        self.longest_line
            .saturating_mul(INTERP_BYTE_COST)
            .saturating_add(INTERP_FIXED)
    }
}

/// How the kernel divides a heap of `heap` bytes for `shape`: one eighth (at least
/// [`MIN_RESERVE`]) for the reserve, [`ScriptShape::emergency`] for the interpreter, the
/// rest for the main tier, which must hold the parsed script.
pub fn plan(heap: usize, shape: &ScriptShape) -> Result<TierSizes, TooLarge> {
    let sizes = TierSizes {
        reserve: (heap / 8).max(MIN_RESERVE),
        emergency: shape.emergency(),
    };
    let main = heap
        .checked_sub(sizes.reserve)
        .and_then(|m| m.checked_sub(sizes.emergency))
        .unwrap_or(0);
    if shape.parse_bound > main {
        return Err(TooLarge {
            shape: *shape,
            heap,
            need: shape
                .parse_bound
                .saturating_add(sizes.reserve)
                .saturating_add(sizes.emergency),
        });
    }
    Ok(sizes)
}

/// A script that the heap cannot hold, parsed and run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooLarge {
    /// The script.
    pub shape: ScriptShape,
    /// Bytes of the heap.
    pub heap: usize,
    /// Bytes of heap the script would need at least.
    pub need: usize,
}

impl fmt::Display for TooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "script too large for the kernel heap: {} bytes, {} commands (longest line {} \
             bytes) need up to {} KiB of heap to parse and run, the heap has {} KiB",
            self.shape.bytes,
            self.shape.commands,
            self.shape.longest_line,
            self.need.div_ceil(1024),
            self.heap >> 10
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_and_comment_lines_cost_nothing() {
        let s = ScriptShape::of(b"\n   \n# c\n  # d\n");
        assert_eq!((s.commands, s.longest_line), (0, 0));
        assert_eq!(s.parse_bound, FIXED_COST);
    }

    #[test]
    fn words_dollars_and_redirections_count() {
        let s = ScriptShape::of(b"echo $A>x\n");
        assert_eq!(s.commands, 1);
        assert_eq!(s.longest_line, 9);
        let line = LINE_COST + 4 * WORD_COST + DOLLAR_COST + 9 * BYTE_COST;
        assert_eq!(s.parse_bound, 2 * line + FIXED_COST);
    }

    #[test]
    fn plan_refuses_what_the_main_tier_cannot_hold() {
        let small = ScriptShape::of(b"spawn A\n");
        let sizes = plan(1 << 20, &small);
        assert_eq!(
            sizes,
            Ok(TierSizes {
                reserve: 128 << 10,
                emergency: INTERP_FIXED + 7 * INTERP_BYTE_COST,
            })
        );
        assert!(plan(64 << 10, &small).is_err());
        let big = std::vec![b'x'; 1 << 20];
        let text = plan(48 << 20, &ScriptShape::of(&big))
            .map_or_else(|e| std::format!("{e}"), |_| std::string::String::new());
        assert!(
            text.starts_with("script too large for the kernel heap: 1048576 bytes, 1 commands"),
            "a 1 MiB line fits no 48 MiB heap's interpreter tier: {text}"
        );
    }
}
