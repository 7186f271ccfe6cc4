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

/// The paths `-y` shows next to file descriptors, as the formatter asks for
/// them: `3</etc/passwd>`.
pub trait FdPaths {
    /// The path descriptor `fd` (an argument) named when the call started
    /// (`AT_FDCWD`: the current directory); None when it named none.
    fn path(&self, fd: i32) -> Option<&[u8]>;

    /// The path of the descriptor the call returned.
    fn returned(&self, fd: i32) -> Option<&[u8]> {
        self.path(fd)
    }
}

/// Where `-y` paths come from: the program's descriptor table.
pub trait FdTable {
    /// Append the path `fd` names now (`AT_FDCWD`: the current directory)
    /// to `out`; false, with `out` unchanged, when it names none.
    fn fd_path(&self, fd: i32, out: &mut Vec<u8>) -> bool;
}
