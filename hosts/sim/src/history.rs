//! The interactive shell's history, kept across sessions.
//!
//! The file is, first found: `$GPC_HISTFILE` (an empty value: no history file), then
//! `$XDG_STATE_HOME/gpc/history` (an absolute `XDG_STATE_HOME` only, as the XDG base
//! directory specification says), then `$HOME/.local/state/gpc/history` (the
//! specification's default). Missing directories are made with mode 0700 and the file
//! with mode 0600 (it holds what was typed), before rustyline first writes it. At most
//! [`MAX_ENTRIES`] lines are kept (rustyline drops the oldest); a line repeating the one
//! before it is not added. Reading or writing the file can fail (no home, a read-only
//! disk, a directory in the way): that is a warning on stderr, never the end of the
//! session.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The most lines kept.
pub const MAX_ENTRIES: usize = 1000;

/// Where the history goes, from the environment as `var` reads it; `None`: nowhere.
pub fn file_from(var: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    if let Some(file) = var("GPC_HISTFILE") {
        return (!file.is_empty()).then(|| PathBuf::from(file));
    }
    if let Some(state) = var("XDG_STATE_HOME").map(PathBuf::from) {
        if state.is_absolute() {
            return Some(state.join("gpc").join("history"));
        }
    }
    let home = var("HOME").filter(|h| !h.is_empty())?;
    Some(
        PathBuf::from(home)
            .join(".local")
            .join("state")
            .join("gpc")
            .join("history"),
    )
}

/// [`file_from`] of the process's environment.
pub fn file() -> Option<PathBuf> {
    file_from(|name| std::env::var_os(name))
}

/// Makes the file's directory (0700) and the file (0600) if they are missing, so that
/// nobody else may read what was typed.
///
/// # Errors
///
/// What creating them says.
pub fn prepare(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn where_the_history_goes() {
        let all = [
            ("GPC_HISTFILE", "/h/file"),
            ("XDG_STATE_HOME", "/state"),
            ("HOME", "/home/u"),
        ];
        assert_eq!(file_from(env(&all)), Some(PathBuf::from("/h/file")));
        assert_eq!(file_from(env(&[("GPC_HISTFILE", "")])), None);
        assert_eq!(
            file_from(env(&all[1..])),
            Some(PathBuf::from("/state/gpc/history"))
        );
        assert_eq!(
            file_from(env(&[("XDG_STATE_HOME", "rel"), ("HOME", "/home/u")])),
            Some(PathBuf::from("/home/u/.local/state/gpc/history"))
        );
        assert_eq!(file_from(env(&[])), None);
    }
}
