//! Name tables for the values of an argument or a struct field ("xlat" in
//! strace's words): which names a value is shown by, in the order strace
//! prints them.
//!
//! The tables themselves are generated from the system headers (see
//! [`super::consts`]); this module holds only their shape.

/// How the values of an [`Xlat`] combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XlatKind {
    /// A set of bits: the names of the entries whose bits are all set,
    /// joined by `|` in table order, then any bits left over in hex. A value
    /// of 0 is shown as `zero` (e.g. `"0"`, `"PROT_NONE"`).
    Bits {
        /// How 0 is shown.
        zero: &'static str,
    },
    /// One value among many: its name, or the number in hex followed by
    /// `/* {unknown} */` (e.g. `"RLIMIT_???"`) when it has none.
    Values {
        /// The comment shown after a value with no name.
        unknown: &'static str,
    },
}

/// A table of (value, name) in the order strace prints the names.
#[derive(Debug, PartialEq, Eq)]
pub struct Xlat {
    /// How values combine.
    pub kind: XlatKind,
    /// (value, name), in strace's order.
    pub entries: &'static [(u64, &'static str)],
}

impl Xlat {
    /// The name of exactly `value`, if the table has one.
    #[must_use]
    pub fn name(&self, value: u64) -> Option<&'static str> {
        self.entries
            .iter()
            .find(|&&(v, _)| v == value)
            .map(|&(_, n)| n)
    }

    /// The value named `name`, if the table has it.
    #[must_use]
    pub fn value(&self, name: &str) -> Option<u64> {
        self.entries
            .iter()
            .find(|&&(_, n)| n == name)
            .map(|&(v, _)| v)
    }
}
