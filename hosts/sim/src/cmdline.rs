//! One description of a command line, and everything made from it: the `--help` texts,
//! the shell completions (bash, zsh, fish) and the manual page (roff).
//!
//! The `gpc` binary describes its subcommands and their options once, as a table of
//! [`Sub`] and [`Opt`] (in `main.rs`, beside the parser that reads them); its help,
//! `gpc completions SHELL` and `gpc man` are generated from that table, and the files
//! checked in under `hosts/sim/completions/` and `hosts/sim/doc/` are what the binary
//! generates (a test compares them), so none of them can drift from the parser. An
//! option added to the table appears in all of them.
//!
//! lexopt, the parser in use, has no description of its own to generate from (unlike
//! clap with clap_complete and clap_mangen): this module is that part, small and without
//! dependencies.

use std::fmt::Write as _;

/// One option of a subcommand.
#[derive(Clone, Copy, Debug)]
pub struct Opt {
    /// The long name, without `--`.
    pub long: &'static str,
    /// The short name, if any.
    pub short: Option<char>,
    /// The name of the option's value (`NAME`), for an option that takes one.
    pub value: Option<&'static str>,
    /// The values a completion offers (empty: any word).
    pub choices: &'static [&'static str],
    /// What it does: one paragraph, wrapped where it is shown.
    pub help: &'static str,
}

impl Opt {
    /// An option without a value.
    pub const fn flag(long: &'static str, help: &'static str) -> Opt {
        Opt {
            long,
            short: None,
            value: None,
            choices: &[],
            help,
        }
    }

    /// An option that takes a value named `value`, one of `choices` if not empty.
    pub const fn with_value(
        long: &'static str,
        value: &'static str,
        choices: &'static [&'static str],
        help: &'static str,
    ) -> Opt {
        Opt {
            long,
            short: None,
            value: Some(value),
            choices,
            help,
        }
    }

    /// The same option with a short name.
    pub const fn short(self, short: char) -> Opt {
        Opt {
            short: Some(short),
            ..self
        }
    }

    /// `-h, --help` or `--echo` or `--layout NAME`.
    fn spelling(&self) -> String {
        let mut s = String::new();
        if let Some(c) = self.short {
            let _ = write!(s, "-{c}, ");
        }
        let _ = write!(s, "--{}", self.long);
        if let Some(v) = self.value {
            let _ = write!(s, " {v}");
        }
        s
    }
}

/// What a subcommand's operand is, for completion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operand {
    /// None.
    Nothing,
    /// A file name (`-` for standard input).
    File,
    /// One of these words.
    OneOf(&'static [&'static str]),
}

/// One subcommand.
#[derive(Clone, Copy, Debug)]
pub struct Sub {
    /// Its name.
    pub name: &'static str,
    /// Its operands as the synopsis writes them (`FILE`, `[TOPIC]`; empty: none).
    pub operands: &'static str,
    /// What its operand completes to.
    pub operand: Operand,
    /// One line: what it is for.
    pub about: &'static str,
    /// Paragraphs before the options (blank lines between paragraphs; a line indented by
    /// two spaces is shown as written).
    pub text: &'static str,
    /// Its options.
    pub opts: &'static [Opt],
    /// Paragraphs after the options.
    pub more: &'static str,
}

impl Sub {
    /// `gpc run [OPTIONS] FILE`.
    pub fn synopsis(&self, program: &str) -> String {
        let mut s = format!("{program} {}", self.name);
        if !self.opts.is_empty() {
            s.push_str(" [OPTIONS]");
        }
        if !self.operands.is_empty() {
            s.push(' ');
            s.push_str(self.operands);
        }
        s
    }
}

/// The whole command line of a program.
#[derive(Clone, Copy, Debug)]
pub struct Program {
    /// The program's name.
    pub name: &'static str,
    /// One line: what it is.
    pub about: &'static str,
    /// Its subcommands.
    pub subs: &'static [Sub],
    /// Options before a subcommand (`--help`, `--version`).
    pub global: &'static [Opt],
    /// Paragraphs after the list of subcommands.
    pub more: &'static str,
}

/// Word-wraps one paragraph to `width` columns, each line after `indent` spaces.
fn wrap(text: &str, indent: usize, width: usize, out: &mut String) {
    let mut column = 0;
    for word in text.split_whitespace() {
        if column > indent && column + 1 + word.len() > width {
            out.push('\n');
            column = 0;
        }
        if column == 0 {
            out.push_str(&" ".repeat(indent));
            column = indent;
        } else {
            out.push(' ');
            column += 1;
        }
        out.push_str(word);
        column += word.len();
    }
    if column > 0 {
        out.push('\n');
    }
}

/// The paragraphs of `text` (see [`Sub::text`]) for a terminal: prose wrapped to 80
/// columns, indented lines as written.
fn paragraphs(text: &str, out: &mut String) {
    for (i, para) in text.trim_matches('\n').split("\n\n").enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if para.starts_with("  ") {
            out.push_str(para);
            out.push('\n');
        } else {
            wrap(para, 0, 80, out);
        }
    }
}

/// The options of a help text, their descriptions wrapped beside them.
fn options(opts: &[Opt], out: &mut String) {
    const COLUMN: usize = 20;
    for opt in opts {
        let spelling = opt.spelling();
        let mut body = String::new();
        wrap(opt.help, COLUMN, 80, &mut body);
        let first_line = body.get(COLUMN..).unwrap_or("");
        if spelling.len() + 4 <= COLUMN {
            let _ = write!(out, "  {spelling:<width$}{first_line}", width = COLUMN - 2);
        } else {
            let _ = writeln!(out, "  {spelling}");
            out.push_str(&body);
        }
    }
}

impl Program {
    /// The text of `PROGRAM --help`.
    pub fn usage(&self) -> String {
        let mut out = format!("{}: {}\n\nUsage:\n", self.name, self.about);
        let lines: Vec<(String, &str)> = self
            .subs
            .iter()
            .map(|s| (s.synopsis(self.name), s.about))
            .collect();
        let width = lines.iter().map(|(s, _)| s.len()).max().unwrap_or(0) + 2;
        for (syn, about) in &lines {
            let _ = writeln!(out, "  {syn:<width$}{about}");
        }
        for opt in self.global {
            let _ = writeln!(out, "  {} --{}", self.name, opt.long);
        }
        out.push('\n');
        paragraphs(self.more, &mut out);
        out
    }

    /// The text of `PROGRAM SUB --help`.
    pub fn sub_help(&self, sub: &Sub) -> String {
        let mut out = format!("Usage: {}\n\n", sub.synopsis(self.name));
        paragraphs(sub.text, &mut out);
        if !sub.opts.is_empty() {
            out.push_str("\nOptions:\n");
            options(sub.opts, &mut out);
        }
        if !sub.more.trim().is_empty() {
            out.push('\n');
            paragraphs(sub.more, &mut out);
        }
        out
    }

    /// The subcommand called `name`.
    pub fn sub(&self, name: &str) -> Option<&Sub> {
        self.subs.iter().find(|s| s.name == name)
    }

    /// A bash completion script (`complete -F`).
    pub fn bash(&self) -> String {
        let p = self.name;
        let f = format!("_{}", p.replace('-', "_"));
        let mut out = format!(
            "# bash completion for {p}; generated by `{p} completions bash`, do not edit.\n\
             # Install: copy to ~/.local/share/bash-completion/completions/{p}\n\
             {f}() {{\n\
             \x20   local cur=\"${{COMP_WORDS[COMP_CWORD]}}\"\n\
             \x20   local prev=\"${{COMP_WORDS[COMP_CWORD-1]}}\"\n\
             \x20   local sub=\"\" i\n\
             \x20   for ((i = 1; i < COMP_CWORD; i++)); do\n\
             \x20       case \"${{COMP_WORDS[i]}}\" in\n\
             \x20           -*) ;;\n\
             \x20           *) sub=\"${{COMP_WORDS[i]}}\"; break ;;\n\
             \x20       esac\n\
             \x20   done\n\
             \x20   case \"$sub\" in\n"
        );
        let subs: Vec<&str> = self.subs.iter().map(|s| s.name).collect();
        let global: Vec<String> = self
            .global
            .iter()
            .map(|o| format!("--{}", o.long))
            .collect();
        let _ = writeln!(
            out,
            "        \"\")\n            COMPREPLY=($(compgen -W \"{} {}\" -- \"$cur\"))\n            ;;",
            subs.join(" "),
            global.join(" ")
        );
        for sub in self.subs {
            let _ = writeln!(out, "        {})", sub.name);
            let valued: Vec<&Opt> = sub.opts.iter().filter(|o| o.value.is_some()).collect();
            if !valued.is_empty() {
                out.push_str("            case \"$prev\" in\n");
                for o in valued {
                    let action = if o.choices.is_empty() {
                        String::from("COMPREPLY=()")
                    } else {
                        format!(
                            "COMPREPLY=($(compgen -W \"{}\" -- \"$cur\"))",
                            o.choices.join(" ")
                        )
                    };
                    let _ = writeln!(
                        out,
                        "                --{})\n                    {action}\n                    return\n                    ;;",
                        o.long
                    );
                }
                out.push_str("            esac\n");
            }
            let opts: Vec<String> = sub
                .opts
                .iter()
                .flat_map(|o| {
                    let mut v = vec![format!("--{}", o.long)];
                    if let Some(c) = o.short {
                        v.push(format!("-{c}"));
                    }
                    v
                })
                .collect();
            let _ = writeln!(
                out,
                "            if [[ \"$cur\" == -* ]]; then\n                COMPREPLY=($(compgen -W \"{}\" -- \"$cur\"))",
                opts.join(" ")
            );
            match sub.operand {
                Operand::Nothing => out.push_str("            fi\n"),
                Operand::File => out.push_str(
                    "            else\n                compopt -o filenames 2>/dev/null\n                COMPREPLY=($(compgen -f -- \"$cur\"))\n            fi\n",
                ),
                Operand::OneOf(words) => {
                    let _ = writeln!(
                        out,
                        "            else\n                COMPREPLY=($(compgen -W \"{}\" -- \"$cur\"))\n            fi",
                        words.join(" ")
                    );
                }
            }
            out.push_str("            ;;\n");
        }
        let _ = write!(out, "    esac\n}}\ncomplete -F {f} {p}\n");
        out
    }

    /// A zsh completion script (`#compdef`, `_arguments`).
    pub fn zsh(&self) -> String {
        let p = self.name;
        let mut out = format!(
            "#compdef {p}\n\
             # zsh completion for {p}; generated by `{p} completions zsh`, do not edit.\n\
             # Install: copy to a directory of $fpath as _{p}\n\n\
             _{p}() {{\n\
             \x20   local line state\n\
             \x20   _arguments -C \\\n"
        );
        for o in self.global {
            let _ = writeln!(
                out,
                "        '--{}[{}]' \\",
                o.long,
                zsh_quote(first_sentence(o.help))
            );
        }
        out.push_str("        '1: :->sub' \\\n        '*:: :->args'\n    case $state in\n");
        out.push_str("        sub)\n            local -a subs\n            subs=(\n");
        for s in self.subs {
            let _ = writeln!(out, "                '{}:{}'", s.name, zsh_quote(s.about));
        }
        out.push_str("            )\n            _describe 'command' subs\n            ;;\n");
        out.push_str("        args)\n            case $line[1] in\n");
        for s in self.subs {
            let _ = writeln!(out, "                {})", s.name);
            out.push_str("                    _arguments \\\n");
            for o in s.opts {
                let names = match o.short {
                    Some(c) => format!("'(-{c} --{l})'{{-{c},--{l}}}'", l = o.long),
                    None => format!("'--{}", o.long),
                };
                let value = match (o.value, o.choices) {
                    (None, _) => String::new(),
                    (Some(v), []) => format!(":{v}: "),
                    (Some(v), choices) => format!(":{v}:({})", choices.join(" ")),
                };
                let _ = writeln!(
                    out,
                    "                        {names}[{}]{value}' \\",
                    zsh_quote(first_sentence(o.help))
                );
            }
            let operand = match s.operand {
                Operand::Nothing => String::new(),
                Operand::File => format!("'1:{}:_files'", s.operands.trim_matches(['[', ']'])),
                Operand::OneOf(words) => format!(
                    "'1:{}:({})'",
                    s.operands.trim_matches(['[', ']']),
                    words.join(" ")
                ),
            };
            if operand.is_empty() {
                out.push_str("                        && return 0\n");
            } else {
                let _ = writeln!(out, "                        {operand} && return 0");
            }
            out.push_str("                    ;;\n");
        }
        let _ = write!(
            out,
            "            esac\n            ;;\n    esac\n}}\n\n_{p} \"$@\"\n"
        );
        out
    }

    /// A fish completion script (`complete -c`).
    pub fn fish(&self) -> String {
        let p = self.name;
        let subs: Vec<&str> = self.subs.iter().map(|s| s.name).collect();
        let subs = subs.join(" ");
        let mut out = format!(
            "# fish completion for {p}; generated by `{p} completions fish`, do not edit.\n\
             # Install: copy to ~/.config/fish/completions/{p}.fish\n\
             complete -c {p} -f\n"
        );
        for o in self.global {
            let _ = writeln!(
                out,
                "complete -c {p} -n 'not __fish_seen_subcommand_from {subs}' -l {} -d '{}'",
                o.long,
                fish_quote(first_sentence(o.help))
            );
        }
        for s in self.subs {
            let _ = writeln!(
                out,
                "complete -c {p} -n 'not __fish_seen_subcommand_from {subs}' -a {} -d '{}'",
                s.name,
                fish_quote(s.about)
            );
        }
        for s in self.subs {
            let cond = format!("-n '__fish_seen_subcommand_from {}'", s.name);
            for o in s.opts {
                let mut line = format!("complete -c {p} {cond} -l {}", o.long);
                if let Some(c) = o.short {
                    let _ = write!(line, " -s {c}");
                }
                if o.value.is_some() {
                    line.push_str(" -r");
                    if !o.choices.is_empty() {
                        let _ = write!(line, " -a '{}'", o.choices.join(" "));
                    }
                }
                let _ = writeln!(out, "{line} -d '{}'", fish_quote(first_sentence(o.help)));
            }
            match s.operand {
                Operand::Nothing => {}
                Operand::File => {
                    let _ = writeln!(out, "complete -c {p} {cond} -F");
                }
                Operand::OneOf(words) => {
                    let _ = writeln!(out, "complete -c {p} {cond} -a '{}'", words.join(" "));
                }
            }
        }
        out
    }

    /// The manual page, in roff (`man -l gpc.1`).
    pub fn man(&self, section: &str, see_also: &str) -> String {
        let p = self.name;
        let up = p.to_uppercase();
        let mut out = format!(
            ".\\\" Generated by `{p} man`; do not edit.\n\
             .TH {up} {section} \"\" \"{p}\" \"User Commands\"\n\
             .SH NAME\n{p} \\- {}\n.SH SYNOPSIS\n",
            roff_text(self.about)
        );
        for s in self.subs {
            let _ = writeln!(out, ".B {p} {}", s.name);
            if !s.opts.is_empty() {
                out.push_str("[\\fIOPTIONS\\fR]");
                if !s.operands.is_empty() {
                    out.push(' ');
                }
            }
            if !s.operands.is_empty() {
                let _ = write!(out, "\\fI{}\\fR", roff_text(s.operands));
            }
            if !s.opts.is_empty() || !s.operands.is_empty() {
                out.push('\n');
            }
            out.push_str(".br\n");
        }
        for o in self.global {
            let _ = writeln!(out, ".B {p} \\-\\-{}\n.br", o.long);
        }
        out.push_str(".SH DESCRIPTION\n");
        roff_paragraphs(self.more, &mut out);
        out.push_str(".SH COMMANDS\n");
        for s in self.subs {
            let _ = writeln!(out, ".SS \"{}\"", roff_text(&s.synopsis(p)));
            roff_paragraphs(s.text, &mut out);
            for o in s.opts {
                let _ = writeln!(out, ".TP\n.B {}", roff_text(&o.spelling()));
                let _ = writeln!(out, "{}", roff_text(o.help));
            }
            if !s.more.trim().is_empty() {
                out.push_str(".PP\n");
                roff_paragraphs(s.more, &mut out);
            }
        }
        if !self.global.is_empty() {
            out.push_str(".SH OPTIONS\n");
            for o in self.global {
                let _ = writeln!(
                    out,
                    ".TP\n.B {}\n{}",
                    roff_text(&o.spelling()),
                    roff_text(o.help)
                );
            }
        }
        let _ = writeln!(out, ".SH SEE ALSO\n{}", roff_text(see_also));
        out
    }
}

/// The text up to the first `. ` (the short form a completion menu shows): an option's
/// help starts with a short sentence for it.
fn first_sentence(text: &str) -> &str {
    let end = text.find(". ").unwrap_or(text.len());
    text.get(..end).unwrap_or(text).trim_end_matches('.')
}

/// Text for a zsh `'...[HELP]...'` spec: no `'`, and `[`, `]`, `:` escaped.
fn zsh_quote(text: &str) -> String {
    let mut s = String::new();
    for c in text.chars() {
        match c {
            '\'' => s.push_str("'\\''"),
            '[' | ']' | ':' | '\\' => {
                s.push('\\');
                s.push(c);
            }
            _ => s.push(c),
        }
    }
    s
}

/// Text inside fish's single quotes.
fn fish_quote(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\'', "\\'")
}

/// Text for roff: backslashes and minus signs escaped, and no line starting with a
/// control character (`.`, `'`).
fn roff_text(text: &str) -> String {
    let mut s = String::new();
    for line in text.split('\n') {
        if !s.is_empty() {
            s.push('\n');
        }
        if line.starts_with('.') || line.starts_with('\'') {
            s.push_str("\\&");
        }
        for c in line.chars() {
            match c {
                '\\' => s.push_str("\\e"),
                '-' => s.push_str("\\-"),
                _ => s.push(c),
            }
        }
    }
    s
}

/// [`Sub::text`] paragraphs as roff: `.PP` between prose paragraphs, indented lines
/// unfilled.
fn roff_paragraphs(text: &str, out: &mut String) {
    for (i, para) in text.trim_matches('\n').split("\n\n").enumerate() {
        if i > 0 {
            out.push_str(".PP\n");
        }
        if para.starts_with("  ") {
            out.push_str(".nf\n.RS 4\n");
            let _ = writeln!(out, "{}", roff_text(para));
            out.push_str(".RE\n.fi\n");
        } else {
            let joined: Vec<&str> = para.split_whitespace().collect();
            let _ = writeln!(out, "{}", roff_text(&joined.join(" ")));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUN: Sub = Sub {
        name: "run",
        operands: "FILE",
        operand: Operand::File,
        about: "run a script",
        text: "Runs FILE.\n\nMore - here.",
        opts: &[
            Opt::flag("echo", "print commands. Really."),
            Opt::with_value(
                "layout",
                "NAME",
                &["debian", "fedora"],
                "mount as a distribution",
            ),
            Opt::flag("help", "this help").short('h'),
        ],
        more: "  indented\n  lines",
    };
    const PROGRAM: Program = Program {
        name: "gpc",
        about: "a test",
        subs: &[RUN],
        global: &[Opt::flag("version", "the version")],
        more: "See the doc.",
    };

    #[test]
    fn help_lists_options_and_wraps() {
        let help = PROGRAM.sub_help(&RUN);
        assert!(
            help.starts_with(
                "Usage: gpc run [OPTIONS] FILE\n\nRuns FILE.\n\nMore - here.\n\nOptions:\n"
            ),
            "{help}"
        );
        assert!(
            help.contains("  --echo            print commands. Really.\n"),
            "{help}"
        );
        assert!(
            help.contains("  --layout NAME     mount as a distribution\n"),
            "{help}"
        );
        assert!(help.contains("  -h, --help        this help\n"), "{help}");
        assert!(help.ends_with("\n  indented\n  lines\n"), "{help}");
        let mut wrapped = String::new();
        wrap(&"word ".repeat(40), 4, 30, &mut wrapped);
        assert!(wrapped
            .lines()
            .all(|l| l.len() <= 30 && l.starts_with("    word")));
    }

    #[test]
    fn completions_and_man_name_every_option() {
        for text in [
            PROGRAM.bash(),
            PROGRAM.zsh(),
            PROGRAM.fish(),
            PROGRAM.man("1", "x"),
        ] {
            assert!(text.contains("echo") && text.contains("layout"), "{text}");
            assert!(
                text.contains("debian") || text.contains("\\-\\-layout"),
                "{text}"
            );
        }
        let man = PROGRAM.man("1", "doc/x.md");
        assert!(man.contains(".TH GPC 1"), "{man}");
        assert!(man.contains(".B \\-\\-layout NAME\n"), "{man}");
        assert!(man.contains("More \\- here."), "{man}");
        assert!(
            man.contains(".nf\n.RS 4\n  indented\n  lines\n.RE\n.fi\n"),
            "{man}"
        );
        assert_eq!(roff_text(".x 'y\\z"), "\\&.x 'y\\ez");
        assert_eq!(first_sentence("print commands. Really."), "print commands");
        assert_eq!(zsh_quote("a [b]: c'"), "a \\[b\\]\\: c'\\''");
    }
}
