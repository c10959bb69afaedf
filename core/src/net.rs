//! Sockets: one IPv6 UDP socket per session, bound to the group's port and
//! joined to the group on one interface (the kernel speaks MLDv2 for us).
//!
//! Everything here is plain socket2; the engine wraps the result in a
//! `mio::net::UdpSocket`. No protocol knowledge lives in this module.

use std::ffi::CString;
use std::fmt;
use std::io;
use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6};
use std::str::FromStr;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::{Error, Result};

/// An IPv6 multicast group, a UDP port and the interface to join it on;
/// optionally the only sources a receiver accepts (source-specific
/// multicast, RFC 4607).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Group {
    addr: Ipv6Addr,
    port: u16,
    interface: String,
    sources: Vec<Ipv6Addr>,
}

impl Group {
    /// Checks the values (a multicast address, a non-zero port, an interface
    /// name the kernel could accept); whether the interface exists is checked
    /// when a sender or receiver joins. To join on the interface mcast
    /// would choose itself (what the CLI and the bindings do when none is
    /// named), pass [`default_interface`]`()?`; [`Group::interface`] says
    /// which it was.
    pub fn new(addr: Ipv6Addr, port: u16, interface: &str) -> Result<Group> {
        if !addr.is_multicast() {
            return Err(Error::InvalidArgument(format!("{addr} is not an IPv6 multicast address (those start with ff)")));
        }
        if port == 0 {
            return Err(Error::InvalidArgument("port 0 cannot be joined; choose a port from 1 to 65535".into()));
        }
        if interface.is_empty() {
            return Err(Error::InvalidArgument("no interface given: name the interface to join the group on".into()));
        }
        if interface.len() >= libc::IFNAMSIZ || interface.contains(['/', '\0']) || interface.contains(char::is_whitespace) {
            return Err(Error::InvalidArgument(format!("{interface:?} is not a valid interface name")));
        }
        Ok(Group { addr, port, interface: interface.to_string(), sources: Vec::new() })
    }

    /// Like [`Group::new`] with the address as text (`"ff3e::1"`).
    pub fn parse(addr: &str, port: u16, interface: &str) -> Result<Group> {
        let a = Ipv6Addr::from_str(addr.trim_start_matches('[').trim_end_matches(']'))
            .map_err(|_| Error::InvalidArgument(format!("{addr:?} is not an IPv6 address")))?;
        Group::new(a, port, interface)
    }

    pub fn addr(&self) -> Ipv6Addr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// The same group, joined source-specifically: a receiver joins (S,G)
    /// for each source (`MCAST_JOIN_SOURCE_GROUP`, MLDv2) and ignores
    /// datagrams from any other address. Senders ignore the sources.
    pub fn with_sources(mut self, sources: &[Ipv6Addr]) -> Result<Group> {
        for s in sources {
            if s.is_multicast() || s.is_unspecified() {
                return Err(Error::InvalidArgument(format!("{s} cannot be a source (it must be a unicast address)")));
            }
        }
        let mut v = sources.to_vec();
        v.sort();
        v.dedup();
        self.sources = v;
        Ok(self)
    }

    /// The accepted sources (empty: any source).
    pub fn sources(&self) -> &[Ipv6Addr] {
        &self.sources
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}]:{} on {}", self.addr, self.port, self.interface)?;
        if !self.sources.is_empty() {
            let list: Vec<String> = self.sources.iter().map(|s| s.to_string()).collect();
            write!(f, " from {}", list.join(", "))?;
        }
        Ok(())
    }
}

/// Socket settings shared by every session of a [`crate::Context`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketConfig {
    /// IPv6 hop limit of multicast datagrams. 1 (the default, like the
    /// kernel's) keeps traffic on the local link; raise it for routed groups.
    pub hop_limit: u32,
    /// Whether this host's other sockets receive our multicast datagrams
    /// (needed when sender and receivers share a host). Default: true.
    pub loopback: bool,
    /// Receive buffer requested from the kernel, in bytes (default 4 MiB).
    /// As root the `net.core.rmem_max` cap is bypassed with SO_RCVBUFFORCE.
    pub recv_buffer: usize,
    /// Send buffer requested from the kernel, in bytes (default 1 MiB).
    pub send_buffer: usize,
}

impl Default for SocketConfig {
    fn default() -> Self {
        SocketConfig { hop_limit: 1, loopback: true, recv_buffer: 4 << 20, send_buffer: 1 << 20 }
    }
}

/// The kernel's index of the interface called `name`.
pub fn interface_index(name: &str) -> Option<u32> {
    let c = CString::new(name).ok()?;
    // SAFETY: `c` is a valid NUL-terminated string for the duration of the call.
    let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (index != 0).then_some(index)
}

/// A network interface as `interfaces()` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub name: String,
    pub index: u32,
    pub up: bool,
    pub multicast: bool,
    pub loopback: bool,
    /// Its IPv6 addresses (link-local ones included).
    pub ipv6: Vec<Ipv6Addr>,
}

impl Interface {
    /// Whether mcast would use it without being told: up, multicast-capable,
    /// not loopback, with an IPv6 address.
    pub fn is_candidate(&self) -> bool {
        self.up && self.multicast && !self.loopback && !self.ipv6.is_empty()
    }

    /// Whether it has an IPv6 address beyond link-local (global or ULA).
    pub fn has_routable_ipv6(&self) -> bool {
        self.ipv6.iter().any(|a| (a.segments()[0] & 0xffc0) != 0xfe80)
    }
}

/// The host's network interfaces (of this network namespace), by index.
pub fn interfaces() -> Result<Vec<Interface>> {
    // getifaddrs(3) directly: the one call we need does not justify a
    // dependency such as nix, and if-addrs does not report the flags.
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list we free below.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(Error::io("listing network interfaces (getifaddrs)", std::io::Error::last_os_error()));
    }
    let mut out: Vec<Interface> = Vec::new();
    let mut p = head;
    while !p.is_null() {
        // SAFETY: `p` is a node of the list getifaddrs returned, valid until freeifaddrs.
        let ifa = unsafe { &*p };
        p = ifa.ifa_next;
        if ifa.ifa_name.is_null() {
            continue;
        }
        // SAFETY: ifa_name is a NUL-terminated string owned by the list.
        let name = unsafe { std::ffi::CStr::from_ptr(ifa.ifa_name) }.to_string_lossy().into_owned();
        let flags = ifa.ifa_flags;
        let entry = match out.iter_mut().position(|i| i.name == name) {
            Some(i) => &mut out[i],
            None => {
                out.push(Interface {
                    index: interface_index(&name).unwrap_or(0),
                    name,
                    up: flags & libc::IFF_UP as u32 != 0,
                    multicast: flags & libc::IFF_MULTICAST as u32 != 0,
                    loopback: flags & libc::IFF_LOOPBACK as u32 != 0,
                    ipv6: Vec::new(),
                });
                out.last_mut().expect("pushed")
            }
        };
        if !ifa.ifa_addr.is_null() {
            // SAFETY: ifa_addr points to a sockaddr whose family says its type.
            let family = unsafe { (*ifa.ifa_addr).sa_family } as i32;
            if family == libc::AF_INET6 {
                // SAFETY: an AF_INET6 address is a sockaddr_in6.
                let sin6 = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in6) };
                entry.ipv6.push(Ipv6Addr::from(sin6.sin6_addr.s6_addr));
            }
        }
    }
    // SAFETY: `head` came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(head) };
    out.sort_by_key(|i| i.index);
    Ok(out)
}

/// The interface mcast uses when none is named: among the candidates (up,
/// multicast-capable, not loopback, with an IPv6 address), the first by
/// index that has a global or ULA IPv6 address, else the first by index.
pub fn default_interface() -> Result<String> {
    let all = interfaces()?;
    let candidates: Vec<&Interface> = all.iter().filter(|i| i.is_candidate()).collect();
    candidates
        .iter()
        .find(|i| i.has_routable_ipv6())
        .or_else(|| candidates.first())
        .map(|i| i.name.clone())
        .ok_or_else(|| {
            Error::InvalidArgument(
                "no interface to use: none is up, multicast-capable, not loopback and with an IPv6 address (name one)".into(),
            )
        })
}

/// `MCAST_JOIN_SOURCE_GROUP` or `MCAST_LEAVE_SOURCE_GROUP` (`op`) for IPv6
/// (socket2 offers source-specific joins for IPv4 only).
fn source_group(socket: &Socket, op: libc::c_int, ifindex: u32, group: &Ipv6Addr, source: &Ipv6Addr) -> io::Result<()> {
    fn storage(a: &Ipv6Addr) -> libc::sockaddr_storage {
        // SAFETY: all-zero is a valid sockaddr_storage.
        let mut st: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        // SAFETY: sockaddr_storage is large and aligned enough for sockaddr_in6.
        let sin6 = unsafe { &mut *(&mut st as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
        sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
        sin6.sin6_addr.s6_addr = a.octets();
        st
    }
    // Zeroed as a whole, padding included (the kernel copies all of it).
    // SAFETY: all-zero is a valid group_source_req.
    let mut req: libc::group_source_req = unsafe { std::mem::zeroed() };
    req.gsr_interface = ifindex;
    req.gsr_group = storage(group);
    req.gsr_source = storage(source);
    use std::os::fd::AsRawFd;
    // SAFETY: a valid option value of the right size for this option.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IPV6,
            op,
            (&req as *const libc::group_source_req).cast(),
            std::mem::size_of::<libc::group_source_req>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// An open, joined multicast socket.
#[derive(Debug)]
pub struct McastSocket {
    pub socket: Socket,
    /// Where `Destination::Group` datagrams go (scope id set for link-local
    /// and interface-local groups).
    pub group_addr: SocketAddr,
    pub membership: Membership,
}

/// What [`open`] joined: the group on an interface, or (S,G) for each of
/// `sources` (source-specific).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub group: Ipv6Addr,
    pub ifindex: u32,
    pub sources: Vec<Ipv6Addr>,
}

impl Membership {
    /// Leaves what was joined on `socket` (IPV6_LEAVE_GROUP, or
    /// MCAST_LEAVE_SOURCE_GROUP per source). The kernel would leave when the
    /// socket closes anyway; the engine leaves explicitly as a session ends
    /// so that it happens then, whoever still holds the socket, and a
    /// failure is logged instead of unnoticed.
    pub fn leave(&self, socket: &Socket) -> io::Result<()> {
        if self.sources.is_empty() {
            socket.leave_multicast_v6(&self.group, self.ifindex)
        } else {
            self.sources.iter().try_for_each(|s| source_group(socket, libc::MCAST_LEAVE_SOURCE_GROUP, self.ifindex, &self.group, s))
        }
    }
}

/// Opens a non-blocking UDP socket bound to `[::]:port` (address and port
/// reuse on, so several sessions and processes on one host can share the
/// port), joins the group on the interface and applies `cfg`.
/// With `ssm` and sources in the group, joins (S,G) for each source instead
/// of the whole group (receivers; senders join the group to hear NACKs).
pub fn open(group: &Group, cfg: &SocketConfig, ssm: bool) -> Result<McastSocket> {
    let ifindex = interface_index(&group.interface)
        .ok_or_else(|| Error::NoSuchInterface { group: group.addr.to_string(), interface: group.interface.clone() })?;
    let what = |step: &str| format!("{step} for {group}");
    let socket = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP)).map_err(|e| Error::io("creating a UDP socket", e))?;
    socket.set_only_v6(true).map_err(|e| Error::io(what("setting IPV6_V6ONLY"), e))?;
    socket.set_reuse_address(true).map_err(|e| Error::io(what("setting SO_REUSEADDR"), e))?;
    socket.set_reuse_port(true).map_err(|e| Error::io(what("setting SO_REUSEPORT"), e))?;
    // Without this, Linux hands the socket datagrams of every group any socket
    // on the host joined on this port, not just ours.
    socket.set_multicast_all_v6(false).map_err(|e| Error::io(what("clearing IPV6_MULTICAST_ALL"), e))?;
    let bind = SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, group.port, 0, 0);
    socket.bind(&SockAddr::from(bind)).map_err(|e| Error::io(format!("binding UDP port {}", group.port), e))?;
    let membership = Membership { group: group.addr, ifindex, sources: if ssm { group.sources.clone() } else { Vec::new() } };
    let joined = if membership.sources.is_empty() {
        socket.join_multicast_v6(&group.addr, ifindex)
    } else {
        membership.sources.iter().try_for_each(|s| source_group(&socket, libc::MCAST_JOIN_SOURCE_GROUP, ifindex, &group.addr, s))
    };
    joined.map_err(|e| {
        let hint = if e.raw_os_error() == Some(libc::ENODEV) || e.raw_os_error() == Some(libc::EADDRNOTAVAIL) {
            " (is the interface up and does it have an IPv6 address?)"
        } else {
            ""
        };
        Error::io(format!("joining {} on {}{hint}", group.addr, group.interface), e)
    })?;
    socket.set_multicast_if_v6(ifindex).map_err(|e| Error::io(what("setting IPV6_MULTICAST_IF"), e))?;
    socket.set_multicast_hops_v6(cfg.hop_limit).map_err(|e| Error::io(what("setting the hop limit"), e))?;
    socket.set_multicast_loop_v6(cfg.loopback).map_err(|e| Error::io(what("setting multicast loopback"), e))?;
    set_buffer(&socket, libc::SO_RCVBUFFORCE, cfg.recv_buffer, |s, n| s.set_recv_buffer_size(n))
        .map_err(|e| Error::io(what("setting the receive buffer size"), e))?;
    set_buffer(&socket, libc::SO_SNDBUFFORCE, cfg.send_buffer, |s, n| s.set_send_buffer_size(n))
        .map_err(|e| Error::io(what("setting the send buffer size"), e))?;
    socket.set_nonblocking(true).map_err(|e| Error::io(what("making the socket non-blocking"), e))?;
    let scope = if needs_scope(&group.addr) { ifindex } else { 0 };
    let group_addr = SocketAddr::V6(SocketAddrV6::new(group.addr, group.port, 0, scope));
    Ok(McastSocket { socket, group_addr, membership })
}

/// Interface- and link-local groups (ff_1::, ff_2::) need the interface as
/// scope id when sending.
fn needs_scope(addr: &Ipv6Addr) -> bool {
    matches!(addr.octets()[1] & 0x0f, 1 | 2)
}

/// Tries the privileged `*BUFFORCE` option (which ignores the sysctl cap),
/// then the normal one, which the kernel silently caps.
fn set_buffer(socket: &Socket, force: libc::c_int, size: usize, plain: impl Fn(&Socket, usize) -> io::Result<()>) -> io::Result<()> {
    if size == 0 {
        return Ok(());
    }
    // The kernel doubles the value it is given; ask for half.
    let value: libc::c_int = (size / 2).min(libc::c_int::MAX as usize) as libc::c_int;
    // SAFETY: the fd is valid for the lifetime of `socket` and `value` is a
    // c_int that outlives the call, as setsockopt requires.
    let rc = unsafe {
        use std::os::fd::AsRawFd;
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            force,
            &value as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    plain(socket, size / 2)
}

/// Most datagrams one `send_many` or `recv_many` call moves.
pub const IO_BATCH: usize = 64;

/// Sends `datagrams` with one sendmmsg(2). Returns how many the kernel took
/// (it stops at the first it cannot take); an error only when it took none.
///
/// Written by hand: quinn-udp does this but only for its own socket type,
/// and neither socket2 nor mio wraps sendmmsg.
pub fn send_many(fd: std::os::fd::RawFd, datagrams: &[(Vec<u8>, SocketAddr)]) -> io::Result<usize> {
    let n = datagrams.len().min(IO_BATCH);
    if n == 0 {
        return Ok(0);
    }
    let addrs: Vec<SockAddr> = datagrams[..n].iter().map(|(_, a)| SockAddr::from(*a)).collect();
    let mut iovs: Vec<libc::iovec> = datagrams[..n]
        .iter()
        .map(|(d, _)| libc::iovec { iov_base: d.as_ptr() as *mut libc::c_void, iov_len: d.len() })
        .collect();
    let mut msgs: Vec<libc::mmsghdr> = iovs
        .iter_mut()
        .zip(&addrs)
        .map(|(iov, addr)| {
            // SAFETY: an all-zero mmsghdr is a valid empty header.
            let mut m: libc::mmsghdr = unsafe { std::mem::zeroed() };
            m.msg_hdr.msg_name = addr.as_ptr() as *mut libc::c_void;
            m.msg_hdr.msg_namelen = addr.len();
            m.msg_hdr.msg_iov = iov;
            m.msg_hdr.msg_iovlen = 1;
            m
        })
        .collect();
    // SAFETY: `msgs` holds `n` headers whose pointers (names, iovecs, the
    // datagrams' bytes) stay valid for the call; the kernel only reads them.
    let r = unsafe { libc::sendmmsg(fd, msgs.as_mut_ptr(), n as libc::c_uint, 0) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
}

/// Most datagrams in one UDP GSO send (the kernel's UDP_MAX_SEGMENTS is 64
/// on older kernels), and most bytes (one IP datagram's payload).
const GSO_MAX_SEGMENTS: usize = 64;
const GSO_MAX_BYTES: usize = 65000;

/// Like [`send_many`], but while `*gso` holds, runs of datagrams to the same
/// address with the same length (the last of a run may be shorter) go as
/// one UDP GSO send (`UDP_SEGMENT`): the stack handles the run once and the
/// kernel cuts it into datagrams at the end. Returns how many *datagrams*
/// the kernel took. An error that says the kernel or device does not do GSO
/// (EINVAL, EIO, ENOPROTOOPT, EOPNOTSUPP) clears `*gso` for good and the
/// batch goes out with `send_many`.
///
/// Written by hand for the same reason as `send_many` (quinn-udp does GSO
/// for its own sockets only).
pub fn send_many_gso(fd: std::os::fd::RawFd, datagrams: &[(Vec<u8>, SocketAddr)], gso: &mut bool) -> io::Result<usize> {
    if !*gso {
        return send_many(fd, datagrams);
    }
    match send_gso_runs(fd, datagrams) {
        Err((e, true)) => {
            tracing::info!(error = %e, "UDP GSO refused: sending datagram by datagram");
            *gso = false;
            send_many(fd, datagrams)
        }
        r => r.map_err(|(e, _)| e),
    }
}

/// One sendmmsg of GSO runs; an error says whether it refused GSO itself.
fn send_gso_runs(fd: std::os::fd::RawFd, datagrams: &[(Vec<u8>, SocketAddr)]) -> Result<usize, (io::Error, bool)> {
    // Runs: (first index, count).
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < datagrams.len() && runs.len() < IO_BATCH {
        let (first, to) = (&datagrams[i].0, datagrams[i].1);
        let mut n = 1;
        let mut bytes = first.len();
        while i + n < datagrams.len() && n < GSO_MAX_SEGMENTS && !first.is_empty() {
            let (d, a) = (&datagrams[i + n].0, datagrams[i + n].1);
            if a != to || d.len() > first.len() || d.is_empty() || bytes + d.len() > GSO_MAX_BYTES {
                break;
            }
            n += 1;
            bytes += d.len();
            if d.len() < first.len() {
                break; // a shorter datagram ends a run
            }
        }
        runs.push((i, n));
        i += n;
    }
    if runs.is_empty() {
        return Ok(0);
    }
    let addrs: Vec<SockAddr> = runs.iter().map(|&(i, _)| SockAddr::from(datagrams[i].1)).collect();
    let mut iovs: Vec<libc::iovec> = datagrams[..i]
        .iter()
        .map(|(d, _)| libc::iovec { iov_base: d.as_ptr() as *mut libc::c_void, iov_len: d.len() })
        .collect();
    // One aligned control buffer per message, room for one u16 cmsg.
    let mut controls: Vec<[u64; 4]> = vec![[0u64; 4]; runs.len()];
    // SAFETY: CMSG_SPACE only computes a size.
    let cmsg_space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<u16>() as u32) } as usize;
    let mut msgs: Vec<libc::mmsghdr> = Vec::with_capacity(runs.len());
    for (k, &(first, n)) in runs.iter().enumerate() {
        // SAFETY: an all-zero mmsghdr is a valid empty header.
        let mut m: libc::mmsghdr = unsafe { std::mem::zeroed() };
        m.msg_hdr.msg_name = addrs[k].as_ptr() as *mut libc::c_void;
        m.msg_hdr.msg_namelen = addrs[k].len();
        m.msg_hdr.msg_iov = iovs[first..].as_mut_ptr();
        m.msg_hdr.msg_iovlen = n;
        if n > 1 {
            m.msg_hdr.msg_control = controls[k].as_mut_ptr().cast();
            m.msg_hdr.msg_controllen = cmsg_space;
            // SAFETY: the control buffer is aligned and holds CMSG_SPACE(2)
            // bytes; CMSG_FIRSTHDR points into it.
            unsafe {
                let c = libc::CMSG_FIRSTHDR(&m.msg_hdr);
                (*c).cmsg_level = libc::SOL_UDP;
                (*c).cmsg_type = libc::UDP_SEGMENT;
                (*c).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<u16>() as u32) as usize;
                std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<u16>(), datagrams[first].0.len() as u16);
            }
        }
        msgs.push(m);
    }
    // SAFETY: every pointer in `msgs` (names, iovecs, control buffers, the
    // datagrams' bytes) stays valid for the call; the kernel only reads them.
    let r = unsafe { libc::sendmmsg(fd, msgs.as_mut_ptr(), msgs.len() as libc::c_uint, 0) };
    if r < 0 {
        let e = io::Error::last_os_error();
        let refused = matches!(e.raw_os_error(), Some(libc::EINVAL | libc::EIO | libc::ENOPROTOOPT | libc::EOPNOTSUPP)) && runs[0].1 > 1;
        return Err((e, refused));
    }
    Ok(runs[..r as usize].iter().map(|&(_, n)| n).sum())
}

/// Buffers for `recv_many`, kept from call to call, with the headers that
/// point into them (built once: the buffers' heap memory never moves). The
/// raw pointers keep it on the thread that made it, the engine's.
pub(crate) struct RecvBatch {
    bufs: Vec<Vec<u8>>,
    addrs: Vec<libc::sockaddr_storage>,
    /// Never read: `msgs` point into it.
    _iovs: Vec<libc::iovec>,
    msgs: Vec<libc::mmsghdr>,
    /// Length and source of each datagram of the last call.
    pub(crate) got: Vec<(usize, SocketAddr)>,
}

impl RecvBatch {
    pub(crate) fn new() -> RecvBatch {
        // Large enough for any UDP datagram; pages are only touched as
        // datagrams arrive.
        let mut bufs: Vec<Vec<u8>> = (0..IO_BATCH).map(|_| vec![0u8; 65536]).collect();
        // SAFETY: all-zero sockaddr_storage is valid.
        let mut addrs: Vec<libc::sockaddr_storage> = (0..IO_BATCH).map(|_| unsafe { std::mem::zeroed() }).collect();
        let mut iovs: Vec<libc::iovec> =
            bufs.iter_mut().map(|b| libc::iovec { iov_base: b.as_mut_ptr().cast(), iov_len: b.len() }).collect();
        let msgs = iovs
            .iter_mut()
            .zip(addrs.iter_mut())
            .map(|(iov, addr)| {
                // SAFETY: an all-zero mmsghdr is a valid empty header.
                let mut m: libc::mmsghdr = unsafe { std::mem::zeroed() };
                m.msg_hdr.msg_name = (addr as *mut libc::sockaddr_storage).cast();
                m.msg_hdr.msg_iov = iov;
                m.msg_hdr.msg_iovlen = 1;
                m
            })
            .collect();
        RecvBatch { bufs, addrs, _iovs: iovs, msgs, got: Vec::with_capacity(IO_BATCH) }
    }

    /// The bytes of datagram `i` of the last call.
    pub(crate) fn datagram(&self, i: usize) -> &[u8] {
        &self.bufs[i][..self.got[i].0]
    }

    /// Receives up to `IO_BATCH` datagrams with one recvmmsg(2) (without
    /// waiting); returns how many (also in `got`). WouldBlock when none is
    /// there.
    pub(crate) fn recv_many(&mut self, fd: std::os::fd::RawFd) -> io::Result<usize> {
        self.got.clear();
        for m in &mut self.msgs {
            // The kernel shortens it to the address it writes.
            m.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        }
        // SAFETY: every header points at a writable buffer (`bufs`, through
        // `_iovs`) and address (`addrs`) of the sizes given, all owned by
        // self and unmoved since `new`.
        let r = unsafe {
            libc::recvmmsg(fd, self.msgs.as_mut_ptr(), self.msgs.len() as libc::c_uint, libc::MSG_DONTWAIT, std::ptr::null_mut())
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        for (m, addr) in self.msgs.iter().zip(&self.addrs).take(r as usize) {
            let from = if addr.ss_family as libc::c_int == libc::AF_INET6 {
                // SAFETY: the kernel wrote a sockaddr_in6 (family AF_INET6),
                // which fits in the storage.
                let a = unsafe { &*(addr as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
                SocketAddr::V6(SocketAddrV6::new(
                    Ipv6Addr::from(a.sin6_addr.s6_addr),
                    u16::from_be(a.sin6_port),
                    a.sin6_flowinfo,
                    a.sin6_scope_id,
                ))
            } else {
                // Our sockets are IPv6: nothing else arrives on them.
                SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 0, 0, 0))
            };
            self.got.push((m.msg_len as usize, from));
        }
        Ok(r as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_validation() {
        assert!(Group::parse("ff3e::1", 5000, "br0").is_ok());
        assert!(Group::parse("[ff02::1234]", 5000, "br0").is_ok());
        assert!(matches!(Group::parse("2001:db8::1", 5000, "br0"), Err(Error::InvalidArgument(_))));
        assert!(matches!(Group::parse("239.1.1.1", 5000, "br0"), Err(Error::InvalidArgument(_))));
        assert!(matches!(Group::parse("ff3e::1", 0, "br0"), Err(Error::InvalidArgument(_))));
        assert!(matches!(Group::parse("ff3e::1", 5000, ""), Err(Error::InvalidArgument(_))));
        assert!(matches!(Group::parse("ff3e::1", 5000, "a/b"), Err(Error::InvalidArgument(_))));
        assert!(matches!(Group::parse("ff3e::1", 5000, "averyveryverylongname"), Err(Error::InvalidArgument(_))));
        assert_eq!(Group::parse("ff3e::1", 5000, "br0").unwrap().to_string(), "[ff3e::1]:5000 on br0");
    }

    #[test]
    fn missing_interface_is_named() {
        let g = Group::parse("ff3e::1", 5000, "br9").unwrap();
        let e = open(&g, &SocketConfig::default(), false).unwrap_err();
        assert_eq!(e.to_string(), "ff3e::1 is not joined: interface br9 does not exist");
    }

    #[test]
    fn scope_ids() {
        assert!(needs_scope(&"ff02::1".parse().unwrap()));
        assert!(needs_scope(&"ff32::1".parse().unwrap()));
        assert!(!needs_scope(&"ff3e::1".parse().unwrap()));
        assert!(!needs_scope(&"ff05::1".parse().unwrap()));
    }
}
