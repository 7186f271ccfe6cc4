//! The trace's first line, as strace starts every trace of a program it
//! runs: `execve("./prog", ["prog", "a"], 0x7fffffffeb58 /* 2 vars */) = 0`.
//!
//! No transition of the guest made it: microvm did the exec. It shows the
//! path as the user gave it and the argv and environment the program starts
//! with; the envp address is the one the program finds on its stack.

use super::format;
use super::style::Style;
use serde::Serialize;
use std::io::{self, Write};

/// How the program was started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exec {
    /// The program's path as given.
    pub path: Vec<u8>,
    /// argv, argv[0] first.
    pub argv: Vec<String>,
    /// The environment, KEY=VALUE.
    pub env: Vec<String>,
    /// Where envp[] is in the guest.
    pub envp: u64,
}

impl Exec {
    /// The exec of `path` with `argv` and `env`, whose initial stack
    /// pointer (at argc, as the x86-64 ABI lays it out) is `stack`.
    pub fn new(path: &[u8], argv: &[String], env: &[String], stack: u64) -> Exec {
        // argc, argv[0..argc], NULL, then envp[].
        let words = argv.len() as u64 + 2;
        Exec {
            path: path.to_vec(),
            argv: argv.to_vec(),
            env: env.to_vec(),
            envp: stack.wrapping_add(words * 8),
        }
    }
}

/// `execve("./prog", ["prog", "a"], 0x7fffffffeb58 /* 2 vars */)`: the
/// call, without its result.
pub fn call(out: &mut impl Write, exec: &Exec, style: &Style) -> io::Result<()> {
    out.write_all(b"execve(")?;
    for (i, arg) in shown_args(exec, style).iter().enumerate() {
        if i > 0 {
            out.write_all(b", ")?;
        }
        out.write_all(arg.as_bytes())?;
    }
    out.write_all(b")")
}

/// The three arguments as the text shows them: the path (whole, whatever
/// -s says, as strace shows it), argv, and the environment (its address
/// and count; the strings with -v).
pub fn shown_args(exec: &Exec, style: &Style) -> [String; 3] {
    let mut path = Vec::new();
    let mut argv = Vec::new();
    let mut env = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = format::quoted_as(&mut path, &exec.path, false, style.hex);
    let _ = string_array(&mut argv, &exec.argv, style);
    if style.verbose {
        let _ = string_array(&mut env, &exec.env, style);
    } else {
        let n = exec.env.len();
        let vars = if n == 1 { "var" } else { "vars" };
        let _ = write!(env, "{:#x} /* {n} {vars} */", exec.envp);
    }
    [path, argv, env].map(|v| String::from_utf8_lossy(&v).into_owned())
}

/// `["a", "b"...]` as strace shows argv: each string cut at `limit` bytes,
/// and after `limit` strings, `...`.
fn string_array(out: &mut impl Write, items: &[String], style: &Style) -> io::Result<()> {
    let limit = style.string_limit;
    out.write_all(b"[")?;
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.write_all(b", ")?;
        }
        if i >= limit {
            out.write_all(b"...")?;
            break;
        }
        let bytes = item.as_bytes();
        let shown = &bytes[..bytes.len().min(limit)];
        format::quoted_as(out, shown, shown.len() < bytes.len(), style.hex)?;
    }
    out.write_all(b"]")
}

/// The execve record of the JSON trace.
#[derive(Serialize)]
pub struct JsonExecve<'a> {
    /// "execve".
    pub kind: &'static str,
    /// The syscall's number.
    pub nr: u64,
    /// "execve".
    pub name: &'static str,
    /// The path as given (invalid UTF-8 replaced).
    pub path: String,
    /// argv, whole.
    pub argv: &'a [String],
    /// Where envp[] is in the guest.
    pub envp: u64,
    /// How many environment strings.
    pub envc: usize,
    /// The arguments as the text trace shows them.
    pub decoded: [String; 3],
    /// The result: 0.
    pub ret: i64,
    /// The result as the text trace shows it after `= `.
    pub result: &'static str,
}

impl<'a> JsonExecve<'a> {
    /// The record of `exec`, its arguments shown in `style`.
    pub fn new(exec: &'a Exec, style: &Style) -> Self {
        let nr = microvm_abi::linux::nr::EXECVE;
        JsonExecve {
            kind: "execve",
            nr,
            name: microvm_abi::linux::syscalls::by_nr(nr).map_or("execve", |s| s.name),
            path: String::from_utf8_lossy(&exec.path).into_owned(),
            argv: &exec.argv,
            envp: exec.envp,
            envc: exec.env.len(),
            decoded: shown_args(exec, style),
            ret: 0,
            result: "0",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::style::HexStrings;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn shown(exec: &Exec, style: &Style) -> String {
        let mut out = Vec::new();
        call(&mut out, exec, style).unwrap();
        String::from_utf8(out).unwrap()
    }

    // The expected lines are strace 6.1's for the same argv (only the
    // envp address differs).
    #[test]
    fn as_strace_shows_it() {
        let exec = Exec::new(
            b"./t",
            &strings(&["./t", "x"]),
            &strings(&["A=1"]),
            0x7ffc_0000,
        );
        assert_eq!(exec.envp, 0x7ffc_0000 + 32, "argc, argv[0], argv[1], NULL");
        assert_eq!(
            shown(&exec, &Style::default()),
            "execve(\"./t\", [\"./t\", \"x\"], 0x7ffc0020 /* 1 var */)"
        );
        let verbose = Style {
            verbose: true,
            ..Style::default()
        };
        let exec = Exec::new(
            b"./t",
            &strings(&["./t", "x"]),
            &strings(&["A=1", "B=2"]),
            0,
        );
        assert_eq!(
            shown(&exec, &verbose),
            "execve(\"./t\", [\"./t\", \"x\"], [\"A=1\", \"B=2\"])"
        );
    }

    #[test]
    fn hex_as_strace_x_shows_it() {
        let exec = Exec::new(b"./t", &strings(&["./t", "ab", "\u{e9}"]), &[], 0x1000);
        let x = Style {
            hex: HexStrings::NonAscii,
            ..Style::default()
        };
        assert_eq!(
            shown(&exec, &x),
            "execve(\"./t\", [\"./t\", \"ab\", \"\\xc3\\xa9\"], 0x1028 /* 0 vars */)"
        );
        let xx = Style {
            hex: HexStrings::All,
            ..Style::default()
        };
        assert_eq!(
            shown(&Exec::new(b"./t", &strings(&["ab"]), &[], 0x1000), &xx),
            "execve(\"\\x2e\\x2f\\x74\", [\"\\x61\\x62\"], 0x1018 /* 0 vars */)"
        );
    }

    #[test]
    fn strings_and_arrays_are_cut_at_the_limit() {
        let argv = strings(&["./t", "abcdefgh", "abc", "abcde", "abcdef", "a", "b"]);
        let s5 = Style {
            string_limit: 5,
            ..Style::default()
        };
        let exec = Exec::new(b"./t", &argv, &[], 0x7fff_0000);
        assert_eq!(
            shown(&exec, &s5),
            "execve(\"./t\", [\"./t\", \"abcde\"..., \"abc\", \"abcde\", \"abcde\"..., ...], \
             0x7fff0048 /* 0 vars */)"
        );
        let mut many = strings(&["./t"]);
        many.extend((1..=40).map(|i| i.to_string()));
        let exec = Exec::new(b"./t", &many, &[], 0);
        let l = shown(&exec, &Style::default());
        assert!(l.contains("\"30\", \"31\", ...], "), "{l}");
        many.truncate(32);
        let l = shown(&Exec::new(b"./t", &many, &[], 0), &Style::default());
        assert!(l.contains("\"30\", \"31\"], "), "{l}");
    }

    #[test]
    fn escaped_as_strace_escapes() {
        let argv = strings(&[
            "./t",
            "a\tb\nc\"\\\u{1}",
            "0123456789012345678901234567890123456789",
            "",
        ]);
        let exec = Exec::new(b"./t\x1b", &argv, &[], 0x10);
        assert_eq!(
            shown(&exec, &Style::default()),
            "execve(\"./t\\33\", [\"./t\", \"a\\tb\\nc\\\"\\\\\\1\", \
             \"01234567890123456789012345678901\"..., \"\"], 0x40 /* 0 vars */)"
        );
    }
}
