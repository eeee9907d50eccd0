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
//!   as a list of segments (text and variables). A `$` followed by neither (a blank, the
//!   end of the word, `/`, ...) is a literal `$`, as in `sh`.
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
//! There is no field splitting, pathname (`*`), tilde or brace expansion: variables only
//! ever hold task ids, and a literal `*` in `echo "c *:* w"` or `echo a *:*` is kept as is.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::iter::Peekable;
use core::str::CharIndices;

use crate::parse::ParseErrorKind;

/// One part of a word: literal text, or a variable to expand when the command runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Segment {
    /// Text taken as it is (quotes already removed).
    Lit(String),
    /// `$NAME` or `${NAME}`.
    Var(String),
}

/// A shell word before expansion. Adjacent literal text is merged into one segment, so a
/// word without variables has at most one segment; no segment at all is the empty word.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Word {
    segments: Vec<Segment>,
}

impl Word {
    /// A word of literal text (used by tests).
    #[cfg(test)]
    pub(crate) fn lit(text: &str) -> Word {
        let mut w = Word::default();
        w.push_str(text);
        w
    }

    /// A word that is just `$name` (used by tests).
    #[cfg(test)]
    pub(crate) fn var(name: &str) -> Word {
        Word {
            segments: alloc::vec![Segment::Var(String::from(name))],
        }
    }

    fn push_str(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        if let Some(Segment::Lit(s)) = self.segments.last_mut() {
            s.push_str(text);
        } else {
            self.segments.push(Segment::Lit(String::from(text)));
        }
    }

    fn push_char(&mut self, c: char) {
        if let Some(Segment::Lit(s)) = self.segments.last_mut() {
            s.push(c);
        } else {
            self.segments.push(Segment::Lit(String::from(c)));
        }
    }

    fn push_var(&mut self, name: String) {
        self.segments.push(Segment::Var(name));
    }

    /// The segments, in order.
    pub(crate) fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The word's text if it has no variable in it.
    pub(crate) fn literal(&self) -> Option<&str> {
        match self.segments.as_slice() {
            [] => Some(""),
            [Segment::Lit(s)] => Some(s),
            _ => None,
        }
    }

    /// Whether the word's text (before expansion) starts with `prefix`.
    pub(crate) fn starts_with(&self, prefix: &str) -> bool {
        match self.segments.first() {
            Some(Segment::Lit(s)) => s.starts_with(prefix),
            _ => prefix.is_empty(),
        }
    }

    /// The rest of the word after a literal `prefix` (`-oOPTS` -> `OPTS`), or `None` if the
    /// word does not start with it.
    pub(crate) fn strip_prefix(&self, prefix: &str) -> Option<Word> {
        let (first, rest) = self.segments.split_first()?;
        let Segment::Lit(s) = first else {
            return None;
        };
        let tail = s.strip_prefix(prefix)?;
        let mut w = Word::default();
        w.push_str(tail);
        w.segments.extend(rest.iter().cloned());
        Some(w)
    }
}

impl fmt::Display for Word {
    /// The word as it could be written back (variables as `${NAME}`); for diagnostics.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for seg in &self.segments {
            match seg {
                Segment::Lit(s) => f.write_str(s)?,
                Segment::Var(n) => write!(f, "${{{n}}}")?,
            }
        }
        Ok(())
    }
}

/// A token of a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Token {
    /// A word.
    Word(Word),
    /// `>` (`append: false`) or `>>` (`append: true`).
    Redirect {
        /// Whether it was `>>`.
        append: bool,
    },
}

/// A lexed line.
#[derive(Debug)]
pub(crate) struct Lexed<'a> {
    /// The tokens; empty for a blank or comment-only line.
    pub(crate) tokens: Vec<Token>,
    /// The command as written: the line without its comment and surrounding blanks.
    pub(crate) text: &'a str,
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

type Chars<'a> = Peekable<CharIndices<'a>>;

/// Splits one line (without its newline) into tokens.
pub(crate) fn lex_line(line: &str) -> Result<Lexed<'_>, ParseErrorKind> {
    let mut chars = line.char_indices().peekable();
    let mut tokens = Vec::new();
    let mut start = None;
    let mut end = line.len();
    loop {
        while chars.next_if(|&(_, c)| is_blank(c)).is_some() {}
        let Some(&(i, c)) = chars.peek() else {
            break;
        };
        if c == '#' {
            end = i;
            break;
        }
        if start.is_none() {
            start = Some(i);
        }
        if c == '>' {
            chars.next();
            let append = chars.next_if(|&(_, c)| c == '>').is_some();
            tokens.push(Token::Redirect { append });
        } else {
            tokens.push(Token::Word(lex_word(&mut chars)?));
        }
    }
    let text = line
        .get(start.unwrap_or(end)..end)
        .unwrap_or("")
        .trim_end_matches(is_blank);
    Ok(Lexed { tokens, text })
}

/// One word, starting at a character that is not a blank, `#` or `>`.
fn lex_word(chars: &mut Chars<'_>) -> Result<Word, ParseErrorKind> {
    let mut word = Word::default();
    // Only unquoted digits so far: a `>` right after them would be an fd redirection.
    let mut digits_only = true;
    let mut empty = true;
    while let Some(&(_, c)) = chars.peek() {
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
                        Some((_, q)) => word.push_char(q),
                    }
                }
                digits_only = false;
            }
            '"' => {
                chars.next();
                lex_double_quoted(chars, &mut word)?;
                digits_only = false;
            }
            '\\' => {
                chars.next();
                match chars.next() {
                    None => return Err(ParseErrorKind::TrailingBackslash),
                    Some((_, e)) => word.push_char(e),
                }
                digits_only = false;
            }
            '$' => {
                chars.next();
                lex_dollar(chars, &mut word, false)?;
                digits_only = false;
            }
            _ => {
                chars.next();
                digits_only &= c.is_ascii_digit();
                word.push_char(c);
            }
        }
        empty = false;
    }
    Ok(word)
}

/// The rest of a `"..."` after its opening quote.
fn lex_double_quoted(chars: &mut Chars<'_>, word: &mut Word) -> Result<(), ParseErrorKind> {
    loop {
        match chars.next() {
            None => return Err(ParseErrorKind::UnterminatedQuote('"')),
            Some((_, '"')) => return Ok(()),
            Some((_, '\\')) => {
                if let Some((_, e)) = chars.next_if(|&(_, e)| matches!(e, '$' | '`' | '"' | '\\')) {
                    word.push_char(e);
                } else {
                    word.push_char('\\');
                }
            }
            Some((_, '$')) => lex_dollar(chars, word, true)?,
            Some((_, '`')) => return Err(ParseErrorKind::CommandSubstitution),
            Some((_, c)) => word.push_char(c),
        }
    }
}

/// What follows a `$` (already consumed).
fn lex_dollar(chars: &mut Chars<'_>, word: &mut Word, quoted: bool) -> Result<(), ParseErrorKind> {
    match chars.peek().map(|&(_, c)| c) {
        Some('{') => {
            chars.next();
            let mut name = String::new();
            loop {
                match chars.next() {
                    None => return Err(ParseErrorKind::BadSubstitution),
                    Some((_, '}')) => break,
                    Some((_, c)) => name.push(c),
                }
            }
            if !is_name(&name) {
                return Err(ParseErrorKind::BadSubstitution);
            }
            word.push_var(name);
        }
        Some(c) if c == '_' || c.is_ascii_alphabetic() => {
            let mut name = String::new();
            while let Some((_, c)) = chars.next_if(|&(_, c)| c == '_' || c.is_ascii_alphanumeric())
            {
                name.push(c);
            }
            word.push_var(name);
        }
        Some('(') => return Err(ParseErrorKind::CommandSubstitution),
        Some(c) if c.is_ascii_digit() || matches!(c, '?' | '#' | '@' | '*' | '!' | '-' | '$') => {
            return Err(ParseErrorKind::UnsupportedParameter(c))
        }
        Some('\'') if !quoted => return Err(ParseErrorKind::UnsupportedParameter('\'')),
        _ => word.push_char('$'),
    }
    Ok(())
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
                    Token::Word(w) => w.to_string(),
                    Token::Redirect { append: false } => ">".to_string(),
                    Token::Redirect { append: true } => ">>".to_string(),
                })
                .collect(),
            Err(e) => vec![alloc::format!("ERR {e:?}")],
        }
    }

    fn text(line: &str) -> String {
        lex_line(line)
            .map(|l| l.text.to_string())
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
    fn expansion_segments() {
        let l = lex_line("x/$A/${B_1}c\"$C\"'$D'$ $/ \"$\"").map(|l| l.tokens);
        let Ok(tokens) = l else { unreachable!("lexes") };
        assert_eq!(tokens.len(), 3);
        let Some(Token::Word(w)) = tokens.first() else {
            unreachable!("a word")
        };
        assert_eq!(
            w.segments(),
            [
                Segment::Lit("x/".into()),
                Segment::Var("A".into()),
                Segment::Lit("/".into()),
                Segment::Var("B_1".into()),
                Segment::Lit("c".into()),
                Segment::Var("C".into()),
                Segment::Lit("$D$".into()),
            ]
        );
        assert_eq!(words("$/ \"$\" $"), ["$/", "$", "$"]);
        assert_eq!(words("$Ab-c"), ["${Ab}-c"]);
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
        let w = Word::lit("-ocpuset");
        assert_eq!(w.strip_prefix("-o"), Some(Word::lit("cpuset")));
        assert_eq!(w.strip_prefix("-t"), None);
        assert!(w.starts_with("-"));
        assert_eq!(Word::lit("").literal(), Some(""));
        assert_eq!(Word::default().literal(), Some(""));
    }
}
