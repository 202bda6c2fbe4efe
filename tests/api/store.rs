//! The store's connections.

use mesh_catalog::store::Store;

/// The remote port of socket `fd` when it is a TCP socket over IPv4 or IPv6.
fn peer_port(fd: i32) -> Option<u16> {
    let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: `addr` is a writable sockaddr_storage of `len` bytes.
    if unsafe { libc::getpeername(fd, (&raw mut addr).cast(), &mut len) } != 0 {
        return None;
    }
    match addr.ss_family as i32 {
        // SAFETY: the family says which sockaddr the storage holds.
        libc::AF_INET => Some(u16::from_be(
            unsafe { *(&raw const addr).cast::<libc::sockaddr_in>() }.sin_port,
        )),
        libc::AF_INET6 => Some(u16::from_be(
            unsafe { *(&raw const addr).cast::<libc::sockaddr_in6>() }.sin6_port,
        )),
        _ => None,
    }
}

/// Whether TCP_NODELAY is set on socket `fd`.
fn nodelay(fd: i32) -> Option<bool> {
    let mut on: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `on` is a writable c_int of `len` bytes.
    let status = unsafe { libc::getsockopt(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, (&raw mut on).cast(), &mut len) };
    (status == 0).then_some(on != 0)
}

/// Every connection to PostgreSQL sends without waiting (TCP_NODELAY, which
/// sqlx 0.9.0 no longer sets: `patches/sqlx-core`). Without it, a message
/// written in more than one segment (a bulk read's keys, a large row) waited
/// for the server's delayed ACK: a 1,000-node lineage answer took 110 ms on
/// PostgreSQL instead of 20.
#[tokio::test]
async fn postgres_connections_send_without_delay() {
    let url = crate::helpers::fresh_postgres_url().await;
    let port: u16 = url
        .rsplit_once('@')
        .and_then(|(_, host)| host.split('/').next())
        .and_then(|host| host.rsplit_once(':'))
        .map_or(5432, |(_, port)| port.parse().unwrap());
    let store = Store::open(&url).await.unwrap();
    store.ping().await.unwrap();
    let mut seen = 0;
    for entry in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        let Ok(fd) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let is_socket = std::fs::read_link(entry.path()).is_ok_and(|l| l.to_string_lossy().starts_with("socket:"));
        if !is_socket || peer_port(fd) != Some(port) {
            continue;
        }
        // Another test may have closed it meanwhile: then it has no option.
        if let Some(on) = nodelay(fd) {
            assert!(on, "a connection to PostgreSQL (fd {fd}) without TCP_NODELAY");
            seen += 1;
        }
    }
    assert!(seen > 0, "no connection to PostgreSQL on port {port} found");
}
