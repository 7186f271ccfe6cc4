//! gdb's remote protocol, for `microvm run --gdb ADDR`: one gdb session
//! sees the program in ring 3, the guest kernel in ring 0, and stops at
//! each forwarded syscall (`catch syscall`).
//!
//! The pieces: [`Listener`] (the address gdb connects to, bound before
//! the guest is set up, so that a port in use is one line at once);
//! [`Attach`], the supervisor's half, which accepts the one gdb, refuses
//! any other (the listener closes), and watches the connection while the
//! guest runs, kicking the vCPU when gdb sends something (Ctrl-C); the
//! vCPU thread's half, [`Session`], which serves the protocol with
//! `gdbstub` over [`Conn`] ([`target`]) while the VM runs in debug mode
//! (`vm::debug`). Without `--gdb` none of this exists and the run loop is
//! the same as ever.

pub mod arch;
mod regs;
pub mod target;

use crate::error::{Error, Result};
use crate::stop::StopHandle;
use std::io::{self, ErrorKind};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use vmm_sys_util::eventfd::{EventFd, EFD_CLOEXEC, EFD_NONBLOCK};

/// Where gdb connects: `HOST:PORT` (`:PORT` is 127.0.0.1; port 0 picks a
/// free one) or the path of a Unix socket (any argument with a `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GdbAddr {
    /// A TCP address.
    Tcp(SocketAddr),
    /// A Unix socket path.
    Unix(PathBuf),
}

impl std::str::FromStr for GdbAddr {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<GdbAddr, String> {
        let bad = || {
            format!("'{s}' is not HOST:PORT or a socket path (try 127.0.0.1:1234 or ./gdb.sock)")
        };
        if s.contains('/') {
            return Ok(GdbAddr::Unix(PathBuf::from(s)));
        }
        let full = match s.strip_prefix(':') {
            Some(port) => format!("127.0.0.1:{port}"),
            None => s.to_string(),
        };
        if let Ok(a) = full.parse::<SocketAddr>() {
            return Ok(GdbAddr::Tcp(a));
        }
        // A name (localhost:1234): resolved once, here.
        let (_, port) = full.rsplit_once(':').ok_or_else(bad)?;
        port.parse::<u16>().map_err(|_| bad())?;
        full.to_socket_addrs()
            .map_err(|_| bad())?
            .next()
            .map(GdbAddr::Tcp)
            .ok_or_else(bad)
    }
}

/// The listening socket, bound and listening.
pub struct Listener {
    socket: ListenSocket,
    /// What `target remote` takes to reach it (the port the system picked
    /// for port 0).
    shown: String,
}

enum ListenSocket {
    Tcp(TcpListener),
    Unix(UnixListener),
}

/// Bind a Unix socket at `path`. The file stays when microvm ends (its
/// seccomp filters have no unlink); a socket file nobody listens on any
/// more, as an earlier run leaves it, is replaced.
fn bind_unix(path: &std::path::Path) -> io::Result<UnixListener> {
    use std::os::unix::fs::FileTypeExt;
    match UnixListener::bind(path) {
        Err(e) if e.kind() == ErrorKind::AddrInUse => {
            let stale = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket())
                && UnixStream::connect(path)
                    .is_err_and(|c| c.kind() == ErrorKind::ConnectionRefused);
            if !stale {
                return Err(e);
            }
            std::fs::remove_file(path)?;
            UnixListener::bind(path)
        }
        other => other,
    }
}

impl Listener {
    /// Bind and listen at `addr`; an address in use (or any other failure)
    /// is one line naming it.
    pub fn bind(addr: &GdbAddr) -> Result<Listener> {
        let fail = |what: String| {
            move |source: io::Error| Error::Gdb {
                what: what.clone(),
                source,
            }
        };
        match addr {
            GdbAddr::Tcp(a) => {
                let l = TcpListener::bind(a).map_err(fail(format!("cannot listen on {a}")))?;
                let shown = l
                    .local_addr()
                    .map_err(fail(format!("cannot listen on {a}")))?
                    .to_string();
                Ok(Listener {
                    socket: ListenSocket::Tcp(l),
                    shown,
                })
            }
            GdbAddr::Unix(path) => {
                let l = bind_unix(path)
                    .map_err(fail(format!("cannot listen on {}", path.display())))?;
                Ok(Listener {
                    socket: ListenSocket::Unix(l),
                    shown: path.display().to_string(),
                })
            }
        }
    }

    /// The address as `target remote` takes it.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    fn fd(&self) -> RawFd {
        match &self.socket {
            ListenSocket::Tcp(l) => l.as_raw_fd(),
            ListenSocket::Unix(l) => l.as_raw_fd(),
        }
    }

    /// Accept one connection (the listener is readable).
    fn accept(&self) -> io::Result<Stream> {
        match &self.socket {
            ListenSocket::Tcp(l) => {
                let (s, _) = l.accept()?;
                // Packets are small and answered one by one.
                let _ = s.set_nodelay(true);
                Ok(Stream::Tcp(s))
            }
            ListenSocket::Unix(l) => l.accept().map(|(s, _)| Stream::Unix(s)),
        }
    }
}

enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    fn fd(&self) -> RawFd {
        match self {
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Unix(s) => s.as_raw_fd(),
        }
    }
}

/// Make the two halves of a gdb run from its listener; `exe` is the
/// program's path on the host (gdb asks for it), `sw_via_kvm` whether
/// software breakpoints go through KVM here
/// ([`crate::info::sw_breakpoints_via_kvm`]).
pub fn attach(listener: Listener, exe: PathBuf, sw_via_kvm: bool) -> io::Result<(Attach, Session)> {
    let armed = Arc::new(EventFd::new(EFD_NONBLOCK | EFD_CLOEXEC)?);
    let (tx, rx) = channel();
    Ok((
        Attach {
            listener: Some(listener),
            tx: Some(tx),
            watch: None,
            watching: false,
            armed: armed.clone(),
        },
        Session {
            rx,
            armed,
            exe,
            sw_via_kvm,
        },
    ))
}

/// The supervisor's half of a gdb run: accepts gdb, then watches the
/// connection while the guest runs.
pub struct Attach {
    listener: Option<Listener>,
    tx: Option<Sender<Conn>>,
    /// A second descriptor of the connection, to poll.
    watch: Option<OwnedFd>,
    /// Whether the guest runs and a byte from gdb should kick it.
    watching: bool,
    armed: Arc<EventFd>,
}

/// What a descriptor [`Attach::fds`] lists is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watched {
    /// The listener: a gdb is connecting.
    Listener,
    /// The vCPU thread let the guest run.
    Armed,
    /// gdb sent something while the guest runs.
    Connection,
}

impl Attach {
    /// The descriptors to poll for reading now.
    pub fn fds(&self) -> Vec<(RawFd, Watched)> {
        let mut fds = vec![(self.armed.as_raw_fd(), Watched::Armed)];
        if let Some(l) = &self.listener {
            fds.push((l.fd(), Watched::Listener));
        }
        if let (true, Some(w)) = (self.watching, &self.watch) {
            fds.push((w.as_raw_fd(), Watched::Connection));
        }
        fds
    }

    /// Act on `what` having polled ready: accept gdb (then close the
    /// listener: a second gdb is refused), start watching, or kick the
    /// vCPU through `stop` on a byte from gdb. A failed accept is one line
    /// on the caller's side (the error).
    pub fn ready(&mut self, what: Watched, stop: &StopHandle) -> io::Result<()> {
        match what {
            Watched::Listener => {
                let Some(listener) = self.listener.take() else {
                    return Ok(());
                };
                let stream = listener.accept()?;
                // SAFETY: `stream`'s descriptor is open; dup makes a new one.
                let dup = unsafe { libc::fcntl(stream.fd(), libc::F_DUPFD_CLOEXEC, 0) };
                if dup < 0 {
                    return Err(io::Error::last_os_error());
                }
                // SAFETY: `dup` was just made and nothing else owns it.
                self.watch = Some(unsafe { std::os::fd::FromRawFd::from_raw_fd(dup) });
                if let Some(tx) = self.tx.take() {
                    let _ = tx.send(Conn::new(stream, stop.clone()));
                }
            }
            Watched::Armed => {
                let _ = self.armed.read();
                self.watching = true;
            }
            Watched::Connection => {
                self.watching = false;
                stop.kick();
            }
        }
        Ok(())
    }

    /// The run is stopped: a vCPU still waiting for gdb stops waiting.
    pub fn stopped(&mut self) {
        self.tx = None;
        self.listener = None;
    }

    /// The connection hung up or failed: stop watching it.
    pub fn hung_up(&mut self) {
        self.watching = false;
        self.watch = None;
    }
}

/// The vCPU thread's half of a gdb run.
pub struct Session {
    rx: Receiver<Conn>,
    armed: Arc<EventFd>,
    exe: PathBuf,
    sw_via_kvm: bool,
}

impl Session {
    /// Wait for gdb to connect; `None` if the run was stopped first.
    pub fn connection(&self) -> Option<Conn> {
        self.rx.recv().ok()
    }

    /// The guest is about to run: have the supervisor watch for gdb's
    /// bytes.
    pub fn arm(&self) {
        let _ = self.armed.write(1);
    }
}

/// One line on stderr: the connection to gdb failed, the program runs on.
fn say_gone(why: &str) {
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "microvm: lost gdb ({why}); the program runs on without it"
    );
}

/// The connection to gdb, buffered; reads retry when the vCPU's kick
/// interrupts them, and fail once the run is stopped.
pub struct Conn {
    stream: Stream,
    stop: StopHandle,
    inbox: Vec<u8>,
    next: usize,
    outbox: Vec<u8>,
}

/// Bytes read from gdb at a time.
const READ_CHUNK: usize = 4096;

impl Conn {
    fn new(stream: Stream, stop: StopHandle) -> Conn {
        Conn {
            stream,
            stop,
            inbox: Vec::with_capacity(READ_CHUNK),
            next: 0,
            outbox: Vec::new(),
        }
    }

    /// Fill the inbox with what gdb has sent: waits if `wait`, else only
    /// takes what is there. Ok(false): nothing there (not waiting).
    fn fill(&mut self, wait: bool) -> io::Result<bool> {
        if self.next < self.inbox.len() {
            return Ok(true);
        }
        self.next = 0;
        let flags = if wait { 0 } else { libc::MSG_DONTWAIT };
        loop {
            if wait {
                // A stop (SIGINT, --timeout) while gdb says nothing ends
                // the wait, whenever it came.
                // SAFETY: the stream's descriptor is open while `self` is.
                let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(self.stream.fd()) };
                if crate::stop::wait(Some(&self.stop), Some(fd), None)?
                    == crate::stop::Wake::Stopped
                {
                    return Err(io::Error::new(
                        ErrorKind::Interrupted,
                        "the run was stopped",
                    ));
                }
            }
            self.inbox.resize(READ_CHUNK, 0);
            // SAFETY: the buffer is `READ_CHUNK` writable bytes.
            let n = unsafe {
                libc::recv(
                    self.stream.fd(),
                    self.inbox.as_mut_ptr().cast(),
                    READ_CHUNK,
                    flags,
                )
            };
            if n > 0 {
                self.inbox.truncate(n as usize);
                return Ok(true);
            }
            self.inbox.clear();
            if n == 0 {
                return Err(io::Error::new(
                    ErrorKind::UnexpectedEof,
                    "gdb closed the connection",
                ));
            }
            let e = io::Error::last_os_error();
            match e.kind() {
                ErrorKind::WouldBlock if !wait => return Ok(false),
                ErrorKind::Interrupted if self.stop.reason().is_none() => continue,
                ErrorKind::Interrupted => {
                    return Err(io::Error::new(
                        ErrorKind::Interrupted,
                        "the run was stopped",
                    ))
                }
                _ => return Err(e),
            }
        }
    }

    /// Whether gdb has sent something not yet read, without waiting.
    pub fn pending(&mut self) -> io::Result<bool> {
        self.fill(false)
    }
}

impl gdbstub::conn::Connection for Conn {
    type Error = io::Error;

    fn write(&mut self, byte: u8) -> io::Result<()> {
        self.outbox.push(byte);
        Ok(())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.outbox.extend_from_slice(buf);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        let mut at = 0;
        while at < self.outbox.len() {
            let rest = &self.outbox[at..];
            // SAFETY: `rest` is readable for its length.
            let n = unsafe {
                libc::send(
                    self.stream.fd(),
                    rest.as_ptr().cast(),
                    rest.len(),
                    libc::MSG_NOSIGNAL,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == ErrorKind::Interrupted && self.stop.reason().is_none() {
                    continue;
                }
                self.outbox.clear();
                return Err(e);
            }
            at += n as usize;
        }
        self.outbox.clear();
        Ok(())
    }
}

impl gdbstub::conn::ConnectionExt for Conn {
    fn read(&mut self) -> io::Result<u8> {
        self.fill(true)?;
        let b = self.inbox[self.next];
        self.next += 1;
        Ok(b)
    }

    fn peek(&mut self) -> io::Result<Option<u8>> {
        Ok(self.fill(false)?.then(|| self.inbox[self.next]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_read_as_gdb_writes_them() {
        assert_eq!(
            ":1234".parse::<GdbAddr>(),
            Ok(GdbAddr::Tcp("127.0.0.1:1234".parse().unwrap()))
        );
        assert_eq!(
            "0.0.0.0:9".parse::<GdbAddr>(),
            Ok(GdbAddr::Tcp("0.0.0.0:9".parse().unwrap()))
        );
        assert_eq!(
            "./g.sock".parse::<GdbAddr>(),
            Ok(GdbAddr::Unix("./g.sock".into()))
        );
        for bad in ["", "1234", "host", ":99999", "a:b"] {
            assert!(bad.parse::<GdbAddr>().is_err(), "{bad}");
        }
    }
}
