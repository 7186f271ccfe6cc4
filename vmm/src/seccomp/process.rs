//! Process-wide confinement besides the filters: no new privileges, no
//! core dumps, and no more descriptors than the guest's fd table needs.

use std::io;

/// `prctl(PR_SET_NO_NEW_PRIVS, 1)`: nothing microvm could exec would gain
/// privileges (set-user-ID, file capabilities); seccomp filters need it.
pub fn no_new_privs() -> io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    let r = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// No core dump of microvm, which holds guest memory: RLIMIT_CORE 0 (soft
/// and hard) and `PR_SET_DUMPABLE` 0 (which also keeps other processes of
/// the same user from ptrace-attaching or reading /proc/PID/mem). Guest
/// RAM is also mapped `MADV_DONTDUMP` (see `memory::GuestRam::new`).
pub fn no_core_dumps() -> io::Result<()> {
    let zero = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: setrlimit reads one rlimit; prctl takes integers.
    unsafe {
        if libc::setrlimit(libc::RLIMIT_CORE, &zero) != 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The highest descriptor open in this process (`None` if none is).
pub fn highest_fd() -> io::Result<Option<u32>> {
    let mut highest = None;
    for entry in std::fs::read_dir("/proc/self/fd")? {
        let n = entry?
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok());
        highest = highest.max(n);
    }
    Ok(highest)
}

/// Hold RLIMIT_NOFILE (soft and hard) to microvm's own descriptors plus
/// `guest_fds`, the most host descriptors the guest's fd table can hold
/// at once: the soft limit raised to it if the hard limit allows, the hard
/// limit never raised. Returns the limit set.
pub fn limit_fds(guest_fds: u64) -> io::Result<u64> {
    let own = highest_fd()?.map_or(0, |fd| u64::from(fd) + 1);
    let mut current = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into `current`.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut current) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // The soft limit is raised to what is wanted where the hard limit
    // allows it: a shell's usual soft limit of 1024 would otherwise make
    // the host's EMFILE come before the guest's own limit.
    let want = own + guest_fds;
    let held = current.rlim_max.min(want);
    let limit = libc::rlimit {
        rlim_cur: held,
        rlim_max: held,
    };
    // SAFETY: setrlimit reads one rlimit.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(limit.rlim_cur)
}
