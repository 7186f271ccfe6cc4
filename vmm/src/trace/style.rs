//! How the text trace shows values, from strace's options: `-s N`, `-x`,
//! `-xx`, `-v`, `-y`.

/// Which bytes of a string are shown as `\xNN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HexStrings {
    /// strace's default: printable ASCII as is, the rest as C escapes.
    #[default]
    None,
    /// `-x`: non-ASCII strings in hex.
    NonAscii,
    /// `-xx`: every string in hex.
    All,
}

/// The options that change how arguments are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// `-s N`: the most bytes of a string shown (strace's default 32).
    pub string_limit: usize,
    /// `-x` / `-xx`.
    pub hex: HexStrings,
    /// `-v`: structs unabbreviated.
    pub verbose: bool,
    /// `-y`: file descriptors with their paths (`3</etc/passwd>`).
    pub fd_paths: bool,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            string_limit: 32,
            hex: HexStrings::None,
            verbose: false,
            fd_paths: false,
        }
    }
}
