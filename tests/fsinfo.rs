//! sysinfo(2), the program's name (prctl and /proc/self/comm) and the
//! answers of the read-only view that a native read-only mount would give
//! otherwise (see vmm/src/syscall/fsinfo.rs): tests/c/sysinfo_name.c under
//! microvm. What Linux itself answers for the rest is compared line by
//! line in tests/strace.rs (strace_fsinfo.c).

mod common;

use common::{build, microvm, stderr, stdout, Scratch};

/// The value printed for `label`.
fn value(out: &str, label: &str) -> String {
    let prefix = format!("{label}=");
    out.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {label}= in:\n{out}"))
        .to_string()
}

#[test]
fn sysinfo_names_and_the_view_s_read_only_answers() {
    require_kvm!();
    let Some(prog) = build("gcc", "sysinfo_name", &["-static", "-O1"]) else {
        return;
    };
    let scratch = Scratch::new("fsinfo");
    let fifo = scratch.0.join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o666)).unwrap();
    let o = microvm()
        .args(["run", "--memory", "64M"])
        .arg(&prog)
        .arg(&fifo)
        .output()
        .expect("microvm runs");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let erofs = (-libc::EROFS).to_string();
    let eacces = (-libc::EACCES).to_string();
    for (label, want) in [
        ("sysinfo", "0"),
        // The guest's memory, in bytes.
        ("totalram", "67108864"),
        ("mem_unit", "1"),
        ("procs", "1"),
        ("free_below_total", "1"),
        // Frames are given when mapped: 4 MiB mapped is 4 MiB less free.
        ("free_drop_at_least_mapped", "1"),
        ("uptime_monotonic", "1"),
        ("swap", "0"),
        ("loads", "0"),
        ("sysinfo.efault", &(-libc::EFAULT).to_string()),
        // Linux's comm: the program's file name, at most 15 bytes.
        ("comm.initial", "gcc-sysinfo_nam"),
        ("get_name.initial", "gcc-sysinfo_nam"),
        ("set_name", "0"),
        ("get_name.after", "renamed-by-prct"),
        ("comm.after", "renamed-by-prct"),
        // A read-only mount lets a FIFO or a device be written; the view
        // never writes.
        ("access.fifo_w", &erofs),
        ("access.devnull_w", &erofs),
        ("access.devnull_r", "0"),
        // procfs's modes: 0444.
        ("access.proc_self_w", &eacces),
        ("access.proc_self_r", "0"),
        ("statfs.proc_self", "0 type=0x9fa0 rdonly=1"),
        ("statfs.root", "0 rdonly=1"),
        // microvm's own stdout is not in the view.
        ("fstatfs.stdout", "0 rdonly=0"),
    ] {
        assert_eq!(value(&out, label), want, "{label}");
    }
    let trace = stderr(&o);
    assert!(
        trace.contains("sysinfo({uptime=") && trace.contains(", totalram=67108864, "),
        "{trace}"
    );
    assert!(
        trace.contains("prctl(PR_SET_NAME, \"renamed-by-prct\"...) = 0"),
        "{trace}"
    );
}

/// Every call that would change a file (tests/c/rofs_changes.c), natively
/// on a read-only tmpfs and under microvm on a writable directory laid out
/// the same: the same answers, line for line (EROFS where Linux gets that
/// far, the lookup's and the arguments' own errors before), and the
/// writable directory unchanged.
#[test]
fn changes_fail_as_on_a_read_only_file_system() {
    require_kvm!();
    let Some(prog) = build("gcc", "rofs_changes", &["-static", "-O1"]) else {
        return;
    };
    let scratch = Scratch::new("fsinfo-changes");
    let Some(ro) = common::ReadOnlyTmpfs::new(&scratch) else {
        return;
    };
    let native = std::process::Command::new(&prog)
        .arg(&ro.0)
        .output()
        .expect("the program runs");
    assert_eq!(native.status.code(), Some(0), "{}", stderr(&native));
    let rw = scratch.0.join("rw");
    std::fs::create_dir_all(rw.join("sub")).unwrap();
    std::fs::write(rw.join("data"), "0123456789abcdef\n").unwrap();
    std::os::unix::fs::symlink("data", rw.join("link")).unwrap();
    let o = microvm()
        .args(["run", "--trace", "off"])
        .arg(&prog)
        .arg(&rw)
        .output()
        .expect("microvm runs");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (native, vm) = (stdout(&native), stdout(&o));
    assert!(native.lines().count() > 60, "{native}");
    for (n, v) in native.lines().zip(vm.lines()) {
        assert_eq!(v, n, "microvm's line, then the native one");
    }
    assert_eq!(vm.lines().count(), native.lines().count());
    // Nothing changed.
    assert_eq!(
        std::fs::read_to_string(rw.join("data")).unwrap(),
        "0123456789abcdef\n"
    );
    assert_eq!(std::fs::read_dir(rw.join("sub")).unwrap().count(), 0);
    let mut names: Vec<_> = std::fs::read_dir(&rw)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["data", "link", "sub"]);
}
