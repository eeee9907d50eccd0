//! Lexing: one script line into words and redirection operators.
//!
//! A `.cgsh` script is meant to read like the shell walkthroughs of the Linux cgroup
//! documentation, so the lexer follows POSIX `sh` (XCU 2.2 and 2.3) for the part of the
//! language a walkthrough uses, and *refuses* the rest instead of guessing: a script that
//! would mean one thing to `sh` and another thing here must not run. What is accepted:
//!
//! * Blanks (space and tab) separate words. A `#` at the start of a word starts a comment
//!   that runs to the end of the line (`a#b` is one word, as in `sh`).
//! * `'...'` quotes everything up to the next `'`; `"..."` quotes too but still expands
//!   `$NAME` / `${NAME}`, and a backslash in it escapes only `$`, `` ` ``, `"` and `\`
//!   (elsewhere it stays a backslash). Outside quotes a backslash escapes the next
//!   character. Quoted and unquoted parts written without blanks between them join into one
//!   word (`a"b"c` is `abc`, `""` is one empty word).
//! * `$NAME` (the longest run of `[A-Za-z0-9_]` after a letter or `_`) and `${NAME}`
//!   expand a variable. The value is only known when the command runs, so a word is kept
//!   as a list of pieces (text and variable names), each a byte range of the line (see
//!   `Seg`). A `$` followed by neither (a blank, the end of the word, `/`, ...) is a
//!   literal `$`, as in `sh`.
//! * `>` and `>>` outside quotes are redirection operators wherever they stand, with or
//!   without blanks around them (`echo 1 >/cg/x`, `echo $A>>/cg/tasks`). Both mean "one
//!   write to the file": cgroup control files ignore the file offset, so `O_APPEND`
//!   changes nothing.
//!
//! Refused, each with its own [`ParseErrorKind`] (the script is rejected before anything
//! runs): an unterminated quote, a backslash at the end of a line (quotes and
//! continuations never span lines here), the operators `<`, `|`, `&`, `;`, `(`, `)`,
//! command substitution (`` `...` ``, `$(...)`), special and positional parameters (`$1`,
//! `$?`, `$$`, ...) and `$'...'`, a malformed `${...}`, and a redirection with a file
//! descriptor number (`echo 1>x`: `sh` reads that as "redirect fd 1", writing an empty
//! line, which is almost never what a script author meant; write `echo 1 > x`).
//!
//! There is no field splitting, tilde or brace expansion: variables only ever hold task
//! ids. Pathname expansion (`*`, `?`, `[...]`) applies to the *path operands* of commands
//! only (see `crate::glob`), so the lexer remembers which literal characters were quoted
//! (`Seg`'s quoted flag): as in `sh`, only an unquoted `*` globs. Words that are not paths
//! (`echo a *:*`, `echo "c *:* w"`) keep their `*` as is.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::iter::Peekable;
use core::ops::Range;
use core::str::CharIndices;

use crate::parse::ParseErrorKind;

/// One piece of a word: a byte range of the line it was lexed from, either literal text
/// or the name of a variable to expand when the command runs.
///
/// Every character a word keeps after quote removal stands somewhere in the line as
/// written (quotes and escaping backslashes are only dropped, never replaced), so a word
/// is a list of ranges into its line and a parsed command needs no copy of its words:
/// `a"b"c` is the three one-byte pieces `a`, `b`, `c`; `$A` is the variable piece `A`.
/// Eight bytes: the flags live in the top bits of the length, which a line of at most
/// [`crate::parse::MAX_LINE`] bytes never reaches. A literal piece is all quoted or all
/// unquoted text (the quoted flag), so pathname expansion knows which `*` may glob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Seg {
    start: u32,
    len_flags: u32,
}

impl Seg {
    /// The piece is a variable name (`$NAME`, `${NAME}`).
    const VAR: u32 = 1 << 31;
    /// The piece is the last of its word.
    const END: u32 = 1 << 30;
    /// The literal piece was quoted (`'...'`, `"..."` or a backslash escape).
    const QUOTED: u32 = 1 << 29;
    const LEN: u32 = Self::QUOTED - 1;

    fn new(start: usize, len: usize, var: bool) -> Result<Seg, ParseErrorKind> {
        let too_long = || ParseErrorKind::LineTooLong;
        let start = u32::try_from(start).map_err(|_| too_long())?;
        let len = u32::try_from(len)
            .ok()
            .filter(|l| *l <= Self::LEN)
            .ok_or_else(too_long)?;
        Ok(Seg {
            start,
            len_flags: len | if var { Self::VAR } else { 0 },
        })
    }

    pub(crate) fn len(self) -> usize {
        (self.len_flags & Self::LEN) as usize
    }

    pub(crate) fn is_var(self) -> bool {
        self.len_flags & Self::VAR != 0
    }

    pub(crate) fn ends_word(self) -> bool {
        self.len_flags & Self::END != 0
    }

    /// Whether the piece is quoted text (a variable counts as quoted: its value, a task
    /// id, never globs).
    pub(crate) fn is_quoted(self) -> bool {
        self.len_flags & (Self::QUOTED | Self::VAR) != 0
    }

    fn quoted(self, quoted: bool) -> Seg {
        let len_flags = if quoted {
            self.len_flags | Self::QUOTED
        } else {
            self.len_flags & !Self::QUOTED
        };
        Seg { len_flags, ..self }
    }

    fn range(self) -> Range<usize> {
        let start = self.start as usize;
        start..start.saturating_add(self.len())
    }

    fn with_end(self, end: bool) -> Seg {
        let len_flags = if end {
            self.len_flags | Self::END
        } else {
            self.len_flags & !Self::END
        };
        Seg { len_flags, ..self }
    }

    /// An empty literal piece that ends its word: the whole of an empty word.
    pub(crate) fn empty_word() -> Seg {
        Seg {
            start: 0,
            len_flags: Self::END,
        }
    }

    /// The same piece in a string that starts `offset` bytes further into the line.
    pub(crate) fn shifted_back(self, offset: u32) -> Seg {
        Seg {
            start: self.start.saturating_sub(offset),
            ..self
        }
    }

    /// The piece without its first `n` bytes.
    fn skip(self, n: usize) -> Seg {
        let n = n.min(self.len());
        Seg {
            start: self.start.saturating_add(n as u32),
            len_flags: self.len_flags - n as u32,
        }
    }
}

/// One piece of a [`Word`], resolved against its line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Piece<'a> {
    /// Text taken as it is (quotes already removed).
    Lit(&'a str),
    /// `$NAME` or `${NAME}`: the name.
    Var(&'a str),
}

/// A shell word before expansion: pieces of the line `src`. No piece at all, or one
/// empty literal piece, is the empty word.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Word<'a> {
    pub(crate) src: &'a str,
    pub(crate) segs: &'a [Seg],
}

impl<'a> Word<'a> {
    /// The pieces, in order.
    pub(crate) fn pieces(self) -> impl Iterator<Item = Piece<'a>> {
        let src = self.src;
        self.segs.iter().map(move |s| {
            let text = src.get(s.range()).unwrap_or("");
            if s.is_var() {
                Piece::Var(text)
            } else {
                Piece::Lit(text)
            }
        })
    }

    /// The pieces with whether each is quoted (variables count as quoted).
    pub(crate) fn pieces_quoted(self) -> impl Iterator<Item = (Piece<'a>, bool)> {
        self.pieces().zip(self.segs.iter().map(|s| s.is_quoted()))
    }

    /// The word's text if it has no variable in it; borrowed when it is one piece.
    pub(crate) fn literal(self) -> Option<Cow<'a, str>> {
        let mut text: Option<Cow<'a, str>> = None;
        for piece in self.pieces() {
            let Piece::Lit(s) = piece else {
                return None;
            };
            match &mut text {
                None => text = Some(Cow::Borrowed(s)),
                Some(t) => t.to_mut().push_str(s),
            }
        }
        Some(text.unwrap_or(Cow::Borrowed("")))
    }

    /// [`Word::literal`] that gives `Err` instead of aborting when the pieces' text cannot
    /// be joined for want of memory.
    pub(crate) fn try_literal(
        self,
    ) -> Result<Option<Cow<'a, str>>, alloc::collections::TryReserveError> {
        let mut text: Option<Cow<'a, str>> = None;
        for piece in self.pieces() {
            let Piece::Lit(s) = piece else {
                return Ok(None);
            };
            match &mut text {
                None => text = Some(Cow::Borrowed(s)),
                Some(t) => {
                    let t = t.to_mut();
                    t.try_reserve(s.len())?;
                    t.push_str(s);
                }
            }
        }
        Ok(Some(text.unwrap_or(Cow::Borrowed(""))))
    }

    /// Whether the word is exactly the literal text `s`, without allocating.
    pub(crate) fn is(self, s: &str) -> bool {
        let mut rest = s;
        for piece in self.pieces() {
            let Piece::Lit(p) = piece else {
                return false;
            };
            match rest.strip_prefix(p) {
                Some(r) => rest = r,
                None => return false,
            }
        }
        rest.is_empty()
    }

    /// Whether the word's text (before expansion) starts with a literal `prefix`.
    pub(crate) fn starts_with(self, prefix: &str) -> bool {
        self.split_prefix(prefix).is_some()
    }

    /// The pieces of the rest of the word after a literal `prefix` (`-oOPTS` -> `OPTS`),
    /// or `None` if the word does not start with it. At most one piece changes, so the
    /// result is the changed first piece and the untouched rest.
    pub(crate) fn split_prefix(self, prefix: &str) -> Option<(Option<Seg>, &'a [Seg])> {
        let mut rest = prefix.as_bytes();
        let mut segs = self.segs;
        loop {
            if rest.is_empty() {
                return Some((None, segs));
            }
            let (first, tail) = segs.split_first()?;
            if first.is_var() {
                return None;
            }
            let text = self.src.as_bytes().get(first.range())?;
            if let Some(r) = rest.strip_prefix(text) {
                rest = r;
                segs = tail;
            } else if text.starts_with(rest) {
                return Some((Some(first.skip(rest.len())), tail));
            } else {
                return None;
            }
        }
    }
}

impl fmt::Display for Word<'_> {
    /// The word as it could be written back (variables as `${NAME}`); for diagnostics.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for piece in self.pieces() {
            match piece {
                Piece::Lit(s) => f.write_str(s)?,
                Piece::Var(n) => write!(f, "${{{n}}}")?,
            }
        }
        Ok(())
    }
}

/// A token of a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Token {
    /// A word: its pieces, as a range of [`Lexed::segs`].
    Word(Range<usize>),
    /// `>` (`append: false`) or `>>` (`append: true`).
    Redirect {
        /// Whether it was `>>`.
        append: bool,
    },
}

/// A lexed line.
#[derive(Debug)]
pub(crate) struct Lexed<'a> {
    /// The line.
    pub(crate) line: &'a str,
    /// The pieces of every word, in order; each word's last piece is marked.
    pub(crate) segs: Vec<Seg>,
    /// The tokens; empty for a blank or comment-only line.
    pub(crate) tokens: Vec<Token>,
    /// The command as written: the line without its comment and surrounding blanks.
    pub(crate) text: Range<usize>,
    /// Where the comment starts (its `#`), if the line has one.
    pub(crate) comment: Option<usize>,
}

impl<'a> Lexed<'a> {
    /// The word of a [`Token::Word`].
    pub(crate) fn word(&self, pieces: &Range<usize>) -> Word<'_> {
        Word {
            src: self.line,
            segs: self.segs.get(pieces.clone()).unwrap_or(&[]),
        }
    }

    /// The command as written.
    pub(crate) fn text(&self) -> &'a str {
        self.line.get(self.text.clone()).unwrap_or("")
    }

    /// The comment after the `#`, if the line has one.
    pub(crate) fn comment(&self) -> Option<&'a str> {
        self.line.get(self.comment?.saturating_add(1)..)
    }
}

/// `sh`'s `<blank>`: the only characters that separate words.
pub(crate) fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// A valid variable name: a letter or `_`, then letters, digits and `_` (ASCII).
pub(crate) fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// The words of a line with quotes removed, if it lexes, has no redirection and no
/// variable: how a host recognises its own words (the shell's `help`, `quit`) with the
/// very rules of the script language.
pub fn literal_words(line: &str) -> Option<Vec<String>> {
    let lexed = lex_line(line).ok()?;
    let mut words = Vec::new();
    words.try_reserve_exact(lexed.tokens.len()).ok()?;
    for token in &lexed.tokens {
        let Token::Word(pieces) = token else {
            return None;
        };
        words.push(lexed.word(pieces).literal()?.into_owned());
    }
    Some(words)
}

type Chars<'a> = Peekable<CharIndices<'a>>;

/// Where the pieces of the word being lexed go.
struct Pieces {
    segs: Vec<Seg>,
}

impl Pieces {
    fn push(&mut self, seg: Seg) -> Result<(), ParseErrorKind> {
        self.segs
            .try_reserve(1)
            .map_err(|_| ParseErrorKind::OutOfMemory)?;
        self.segs.push(seg);
        Ok(())
    }

    /// A literal character at byte `at` of the line, `quoted` or not: it extends the
    /// last piece when that is literal text of this word, quoted alike, ending right
    /// before it.
    fn lit(
        &mut self,
        word_start: usize,
        at: usize,
        c: char,
        quoted: bool,
    ) -> Result<(), ParseErrorKind> {
        if self.segs.len() > word_start {
            if let Some(last) = self.segs.last_mut() {
                if !last.is_var() && last.is_quoted() == quoted && last.range().end == at {
                    *last = Seg::new(last.start as usize, last.len() + c.len_utf8(), false)?
                        .quoted(quoted);
                    return Ok(());
                }
            }
        }
        self.push(Seg::new(at, c.len_utf8(), false)?.quoted(quoted))
    }
}

/// Splits one line (without its newline) into tokens.
pub(crate) fn lex_line(line: &str) -> Result<Lexed<'_>, ParseErrorKind> {
    let mut chars = line.char_indices().peekable();
    let mut tokens = Vec::new();
    let mut pieces = Pieces { segs: Vec::new() };
    let mut start = None;
    let mut end = line.len();
    let mut comment = None;
    loop {
        while chars.next_if(|&(_, c)| is_blank(c)).is_some() {}
        let Some(&(i, c)) = chars.peek() else {
            break;
        };
        if c == '#' {
            end = i;
            comment = Some(i);
            break;
        }
        if start.is_none() {
            start = Some(i);
        }
        tokens
            .try_reserve(1)
            .map_err(|_| ParseErrorKind::OutOfMemory)?;
        if c == '>' {
            chars.next();
            let append = chars.next_if(|&(_, c)| c == '>').is_some();
            tokens.push(Token::Redirect { append });
        } else {
            let first = pieces.segs.len();
            lex_word(&mut chars, &mut pieces)?;
            if pieces.segs.len() == first {
                pieces.push(Seg::new(i, 0, false)?)?;
            }
            if let Some(last) = pieces.segs.last_mut() {
                *last = last.with_end(true);
            }
            tokens.push(Token::Word(first..pieces.segs.len()));
        }
    }
    let start = start.unwrap_or(end);
    let text_len = line
        .get(start..end)
        .unwrap_or("")
        .trim_end_matches(is_blank)
        .len();
    Ok(Lexed {
        line,
        segs: pieces.segs,
        tokens,
        text: start..start.saturating_add(text_len),
        comment,
    })
}

/// One word, starting at a character that is not a blank, `#` or `>`.
fn lex_word(chars: &mut Chars<'_>, word: &mut Pieces) -> Result<(), ParseErrorKind> {
    let first = word.segs.len();
    // Only unquoted digits so far: a `>` right after them would be an fd redirection.
    let mut digits_only = true;
    let mut empty = true;
    while let Some(&(i, c)) = chars.peek() {
        match c {
            ' ' | '\t' => break,
            '>' => {
                if !empty && digits_only {
                    return Err(ParseErrorKind::FdRedirection);
                }
                break;
            }
            '<' | '|' | '&' | ';' | '(' | ')' => {
                return Err(ParseErrorKind::UnsupportedOperator(c))
            }
            '`' => return Err(ParseErrorKind::CommandSubstitution),
            '\'' => {
                chars.next();
                loop {
                    match chars.next() {
                        None => return Err(ParseErrorKind::UnterminatedQuote('\'')),
                        Some((_, '\'')) => break,
                        Some((j, q)) => word.lit(first, j, q, true)?,
                    }
                }
                digits_only = false;
            }
            '"' => {
                chars.next();
                lex_double_quoted(chars, word, first)?;
                digits_only = false;
            }
            '\\' => {
                chars.next();
                match chars.next() {
                    None => return Err(ParseErrorKind::TrailingBackslash),
                    Some((j, e)) => word.lit(first, j, e, true)?,
                }
                digits_only = false;
            }
            '$' => {
                chars.next();
                lex_dollar(chars, word, first, i, false)?;
                digits_only = false;
            }
            _ => {
                chars.next();
                digits_only &= c.is_ascii_digit();
                word.lit(first, i, c, false)?;
            }
        }
        empty = false;
    }
    Ok(())
}

/// The rest of a `"..."` after its opening quote.
fn lex_double_quoted(
    chars: &mut Chars<'_>,
    word: &mut Pieces,
    first: usize,
) -> Result<(), ParseErrorKind> {
    loop {
        match chars.next() {
            None => return Err(ParseErrorKind::UnterminatedQuote('"')),
            Some((_, '"')) => return Ok(()),
            Some((i, '\\')) => {
                if let Some((j, e)) = chars.next_if(|&(_, e)| matches!(e, '$' | '`' | '"' | '\\')) {
                    word.lit(first, j, e, true)?;
                } else {
                    word.lit(first, i, '\\', true)?;
                }
            }
            Some((i, '$')) => lex_dollar(chars, word, first, i, true)?,
            Some((_, '`')) => return Err(ParseErrorKind::CommandSubstitution),
            Some((i, c)) => word.lit(first, i, c, true)?,
        }
    }
}

/// What follows a `$` (already consumed, at byte `dollar`).
fn lex_dollar(
    chars: &mut Chars<'_>,
    word: &mut Pieces,
    first: usize,
    dollar: usize,
    quoted: bool,
) -> Result<(), ParseErrorKind> {
    match chars.peek().copied() {
        Some((brace, '{')) => {
            chars.next();
            let name_start = brace.saturating_add(1);
            let mut valid = true;
            let name_end = loop {
                match chars.next() {
                    None => return Err(ParseErrorKind::BadSubstitution),
                    Some((j, '}')) => break j,
                    Some((j, c)) => {
                        valid &= c == '_'
                            || c.is_ascii_alphabetic()
                            || (j > name_start && c.is_ascii_digit());
                    }
                }
            };
            if !valid || name_end == name_start {
                return Err(ParseErrorKind::BadSubstitution);
            }
            word.push(Seg::new(
                name_start,
                name_end.saturating_sub(name_start),
                true,
            )?)?;
            Ok(())
        }
        Some((name_start, c)) if c == '_' || c.is_ascii_alphabetic() => {
            let mut name_end = name_start;
            while let Some((j, c)) = chars.next_if(|&(_, c)| c == '_' || c.is_ascii_alphanumeric())
            {
                name_end = j.saturating_add(c.len_utf8());
            }
            word.push(Seg::new(name_start, name_end - name_start, true)?)
        }
        Some((_, '(')) => Err(ParseErrorKind::CommandSubstitution),
        Some((_, c))
            if c.is_ascii_digit() || matches!(c, '?' | '#' | '@' | '*' | '!' | '-' | '$') =>
        {
            Err(ParseErrorKind::UnsupportedParameter(c))
        }
        Some((_, '\'')) if !quoted => Err(ParseErrorKind::UnsupportedParameter('\'')),
        _ => word.lit(first, dollar, '$', quoted),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    fn words(line: &str) -> Vec<String> {
        match lex_line(line) {
            Ok(l) => l
                .tokens
                .iter()
                .map(|t| match t {
                    Token::Word(w) => l.word(w).to_string(),
                    Token::Redirect { append: false } => ">".to_string(),
                    Token::Redirect { append: true } => ">>".to_string(),
                })
                .collect(),
            Err(e) => vec![alloc::format!("ERR {e:?}")],
        }
    }

    fn text(line: &str) -> String {
        lex_line(line)
            .map(|l| l.text().to_string())
            .unwrap_or_default()
    }

    #[test]
    fn blanks_and_comments() {
        assert_eq!(words("  mkdir\t /cg/a  "), ["mkdir", "/cg/a"]);
        assert_eq!(words(""), Vec::<String>::new());
        assert_eq!(words("   # only a comment"), Vec::<String>::new());
        assert_eq!(words("echo a#b # c"), ["echo", "a#b"]);
        assert_eq!(words("echo '#' \"#\" \\#"), ["echo", "#", "#", "#"]);
        assert_eq!(text("  echo $A  >  /x   # the comment"), "echo $A  >  /x");
        assert_eq!(
            text("echo '# not a comment' # one"),
            "echo '# not a comment'"
        );
        assert_eq!(text("# just this"), "");
        assert_eq!(text("\tls /cg\t"), "ls /cg");
    }

    #[test]
    fn quoting_joins_parts() {
        assert_eq!(words("a\"b\"c 'd'e\"\" \"\" ''"), ["abc", "de", "", ""]);
        assert_eq!(words("echo 'a  b' \"c  d\""), ["echo", "a  b", "c  d"]);
        assert_eq!(
            words("echo '$A' \"x'y\" 'x\"y'"),
            ["echo", "$A", "x'y", "x\"y"]
        );
        assert_eq!(
            words(r#"echo a\ b \$A \\ \'"#),
            ["echo", "a b", "$A", "\\", "'"]
        );
        assert_eq!(words(r#"echo "\$A \" \\ \n""#), ["echo", "$A \" \\ \\n"]);
    }

    #[test]
    fn expansion_pieces() {
        let line = "x/$A/${B_1}c\"$C\"'$D'$ $/ \"$\"";
        let Ok(l) = lex_line(line) else {
            unreachable!("lexes")
        };
        assert_eq!(l.tokens.len(), 3);
        let Some(Token::Word(w)) = l.tokens.first() else {
            unreachable!("a word")
        };
        let pieces: Vec<Piece<'_>> = l.word(w).pieces().collect();
        assert_eq!(
            pieces,
            [
                Piece::Lit("x/"),
                Piece::Var("A"),
                Piece::Lit("/"),
                Piece::Var("B_1"),
                Piece::Lit("c"),
                Piece::Var("C"),
                Piece::Lit("$D"),
                Piece::Lit("$"),
            ]
        );
        assert_eq!(l.word(w).to_string(), "x/${A}/${B_1}c${C}$D$");
        assert_eq!(words("$/ \"$\" $"), ["$/", "$", "$"]);
        assert_eq!(words("$Ab-c"), ["${Ab}-c"]);
    }

    #[test]
    fn words_are_ranges_of_the_line() {
        // Quote removal only drops characters, so every piece is a slice of the line.
        let line = "a\"b\"c 'd e' \\x \"\\$\" '' \"\"";
        let Ok(l) = lex_line(line) else {
            unreachable!("lexes")
        };
        let words: Vec<Option<String>> = l
            .tokens
            .iter()
            .map(|t| match t {
                Token::Word(w) => l.word(w).literal().map(|c| c.into_owned()),
                Token::Redirect { .. } => None,
            })
            .collect();
        let want = ["abc", "d e", "x", "$", "", ""].map(|w| Some(String::from(w)));
        assert_eq!(words, want);
        assert_eq!(l.segs.iter().filter(|s| s.ends_word()).count(), 6);
        let Some(Token::Word(w)) = l.tokens.first() else {
            unreachable!("a word")
        };
        assert!(l.word(w).is("abc") && !l.word(w).is("ab") && !l.word(w).is("abcd"));
        assert_eq!(
            literal_words(" help  'spawn' # x"),
            Some(vec!["help".into(), "spawn".into()])
        );
        assert_eq!(literal_words("help $A"), None);
        assert_eq!(literal_words("help > x"), None);
        assert_eq!(literal_words("help 'x"), None);
    }

    #[test]
    fn quoting_is_remembered_for_globs() {
        // Each piece: its text and whether it was quoted.
        let quoting = |line: &str| -> Vec<(String, bool)> {
            let Ok(l) = lex_line(line) else {
                return Vec::new();
            };
            let Some(Token::Word(w)) = l.tokens.first() else {
                return Vec::new();
            };
            l.word(w)
                .pieces_quoted()
                .map(|(p, q)| match p {
                    Piece::Lit(s) | Piece::Var(s) => (s.to_string(), q),
                })
                .collect()
        };
        let p = |s: &str, q| (s.to_string(), q);
        assert_eq!(quoting("/cg/*"), [p("/cg/*", false)]);
        assert_eq!(quoting("'/cg/*'"), [p("/cg/*", true)]);
        assert_eq!(
            quoting("a\\*b"),
            [p("a", false), p("*", true), p("b", false)]
        );
        assert_eq!(quoting("\"x\"*"), [p("x", true), p("*", false)]);
        assert_eq!(quoting("$A*"), [p("A", true), p("*", false)]);
    }

    #[test]
    fn redirections() {
        assert_eq!(words("echo 1 > /x"), ["echo", "1", ">", "/x"]);
        assert_eq!(words("echo 1 >/x"), ["echo", "1", ">", "/x"]);
        assert_eq!(words("echo a>/x"), ["echo", "a", ">", "/x"]);
        assert_eq!(words("echo a>>/x"), ["echo", "a", ">>", "/x"]);
        assert_eq!(words("echo '1'>/x"), ["echo", "1", ">", "/x"]);
        assert_eq!(words("echo $A>/x"), ["echo", "${A}", ">", "/x"]);
        assert_eq!(words("echo '>' \">>\""), ["echo", ">", ">>"]);
        assert_eq!(words("echo > > >>"), ["echo", ">", ">", ">>"]);
        assert_eq!(words("echo 1 >#c"), ["echo", "1", ">"]);
        assert_eq!(words("echo 1>x"), ["ERR FdRedirection"]);
        assert_eq!(words("echo 12>>x"), ["ERR FdRedirection"]);
    }

    #[test]
    fn refusals() {
        use ParseErrorKind as K;
        let err = |l: &str| lex_line(l).err();
        assert_eq!(err("echo 'abc"), Some(K::UnterminatedQuote('\'')));
        assert_eq!(err("echo \"abc"), Some(K::UnterminatedQuote('"')));
        assert_eq!(err("echo \"abc\\\""), Some(K::UnterminatedQuote('"')));
        assert_eq!(err("echo abc\\"), Some(K::TrailingBackslash));
        assert_eq!(err("echo ${A"), Some(K::BadSubstitution));
        assert_eq!(err("echo ${}"), Some(K::BadSubstitution));
        assert_eq!(err("echo ${1}"), Some(K::BadSubstitution));
        assert_eq!(err("echo $1"), Some(K::UnsupportedParameter('1')));
        assert_eq!(err("echo \"$?\""), Some(K::UnsupportedParameter('?')));
        assert_eq!(err("echo $'a'"), Some(K::UnsupportedParameter('\'')));
        assert_eq!(err("echo $(ls)"), Some(K::CommandSubstitution));
        assert_eq!(err("echo `ls`"), Some(K::CommandSubstitution));
        assert_eq!(err("echo a | cat"), Some(K::UnsupportedOperator('|')));
        assert_eq!(err("ls; ls"), Some(K::UnsupportedOperator(';')));
        assert_eq!(err("cat < x"), Some(K::UnsupportedOperator('<')));
        assert_eq!(err("spawn A &"), Some(K::UnsupportedOperator('&')));
        assert_eq!(err("echo \"$'a'\""), None);
        assert_eq!(err("echo 'a|b;c&d<e>f'"), None);
    }

    #[test]
    fn names_and_prefixes() {
        assert!(is_name("A") && is_name("_x1") && is_name("abc_DEF9"));
        assert!(!is_name("") && !is_name("1A") && !is_name("a-b") && !is_name("é"));
        let strip = |line: &str, prefix: &str| -> Option<String> {
            let l = lex_line(line).ok()?;
            let Some(Token::Word(w)) = l.tokens.first() else {
                return None;
            };
            let (first, rest) = l.word(w).split_prefix(prefix)?;
            let mut segs: Vec<Seg> = first.into_iter().collect();
            segs.extend_from_slice(rest);
            Some(
                Word {
                    src: line,
                    segs: &segs,
                }
                .to_string(),
            )
        };
        assert_eq!(strip("-ocpuset", "-o").as_deref(), Some("cpuset"));
        assert_eq!(strip("-\"o\"cpu$A", "-o").as_deref(), Some("cpu${A}"));
        assert_eq!(strip("-o", "-o").as_deref(), Some(""));
        assert_eq!(strip("-ocpuset", "-t"), None);
        assert_eq!(strip("$A", "-t"), None);
        let Ok(l) = lex_line("-x '' $A") else {
            unreachable!("lexes")
        };
        let w: Vec<Word<'_>> = l
            .tokens
            .iter()
            .filter_map(|t| match t {
                Token::Word(w) => Some(l.word(w)),
                Token::Redirect { .. } => None,
            })
            .collect();
        let [opt, empty, var] = w.as_slice() else {
            unreachable!("three words")
        };
        assert!(opt.starts_with("-") && !empty.starts_with("-") && !var.starts_with("-"));
        assert_eq!(empty.literal().as_deref(), Some(""));
        assert!(empty.is(""));
        assert_eq!(var.literal(), None);
    }
}
