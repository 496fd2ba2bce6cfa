//! Docker's embedded DNS server, the one containers on a user-defined network reach at
//! 127.0.0.11:53: it answers A, AAAA and PTR queries for the names of the containers a
//! container shares a network with, and forwards everything else to the host's resolvers.
//!
//! This module owns serving: reading queries from a UDP socket and a TCP listener, answering
//! them from [`Names`], forwarding the rest, and the limits that keep a flood from one container
//! bounded. It does not own the sockets' making (the engine binds them inside the container's
//! network namespace and hands them over) nor the name rules (which container is visible from
//! which, aliases, id prefixes: the engine's [`Names`]).
//!
//! Messages are read and made with `hickory-proto`; a forwarded query and its answer are relayed
//! as the bytes they are.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Header, Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, PTR};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::{AbortHandle, JoinSet};
use tokio::time::timeout;
use tracing::Instrument;

/// What the server asks the engine: names of containers as seen from one container.
pub trait Names: Send + Sync + 'static {
    /// Addresses `name` (lower-case, without the trailing dot) has for the container `from`
    /// (its full id): containers sharing a user network with it, by name, network alias or
    /// id prefix. None when it is no container's name (the query is forwarded).
    fn lookup(&self, from: &str, name: &str) -> Option<Vec<IpAddr>>;
    /// The name for a reverse (PTR) query of `ip`, seen from `from`; None forwards it.
    fn reverse(&self, from: &str, ip: IpAddr) -> Option<String>;
    /// Whether other names are forwarded for `from` now. Asked at each query: a container
    /// connected to a network with a way out, or disconnected from its last, changes it.
    fn forwards(&self, _from: &str) -> bool {
        true
    }
}

/// Serves `udp` and `tcp` (already bound, any netns) until the returned handle is dropped.
///
/// Must be called from within a tokio runtime (the daemon's): the sockets are registered with
/// it and the tasks run on it. The sockets are made nonblocking here. Forwarded queries leave
/// from the calling process's own network namespace, whatever namespace `udp` and `tcp` are in.
pub fn serve(udp: std::net::UdpSocket, tcp: std::net::TcpListener, from: String, names: Arc<dyn Names>, upstream: Vec<SocketAddr>) -> io::Result<Served> {
    serve_with(udp, tcp, Server::new(from, names, upstream, LIMITS))
}

/// The tasks serving one container; dropping it aborts them, closes both sockets and every
/// TCP connection, and abandons the forwards under way.
#[must_use = "the server stops when this is dropped"]
pub struct Served {
    tasks: [AbortHandle; 2],
}

impl Drop for Served {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl std::fmt::Debug for Served {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Served").finish_non_exhaustive()
    }
}

/// Time to live of the records the server makes, as Docker's.
const TTL: u32 = 600;

/// The largest UDP query taken (a bigger datagram is dropped) and the largest UDP answer made
/// here, whatever a client's EDNS payload size says.
const UDP_MAX: usize = 4096;

/// The pause after a failed receive or accept, so that a lasting error (EMFILE) does not spin.
const ERROR_PAUSE: Duration = Duration::from_millis(100);

/// How much one container's server may take at once.
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// How long one upstream server has to answer before the next is asked.
    forward_timeout: Duration,
    /// How long a TCP connection may take to send its next query (or to take an answer)
    /// before it is closed.
    tcp_idle: Duration,
    /// TCP connections served at once; one more is closed as soon as it is accepted. Each
    /// handles one query at a time, so this also bounds the forwards over TCP.
    tcp_conns: usize,
    /// UDP queries being forwarded at once; one more gets SERVFAIL at once. Each holds a
    /// buffer of up to 64 KiB for the upstream's answer.
    udp_forwards: usize,
}

const LIMITS: Limits = Limits {
    forward_timeout: Duration::from_secs(2),
    tcp_idle: Duration::from_secs(10),
    tcp_conns: 64,
    udp_forwards: 128,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Udp,
    Tcp,
}

/// What to do with one query.
enum Step {
    /// Not a query the server can read: no answer (UDP), the connection closed (TCP).
    Drop,
    /// The answer, made here.
    Reply(Vec<u8>),
    /// Not a name of ours: ask the upstream servers. The query is kept for the SERVFAIL.
    Forward(Box<Message>),
}

struct Server {
    from: String,
    names: Arc<dyn Names>,
    upstream: Vec<SocketAddr>,
    limits: Limits,
    /// Turns the order of several addresses from one answer to the next, so that clients that
    /// take the first spread over them (Docker shuffles them for the same reason).
    turn: AtomicUsize,
}

fn serve_with(udp: std::net::UdpSocket, tcp: std::net::TcpListener, server: Server) -> io::Result<Served> {
    let rt = tokio::runtime::Handle::try_current().map_err(io::Error::other)?;
    udp.set_nonblocking(true)?;
    tcp.set_nonblocking(true)?;
    let udp = UdpSocket::from_std(udp)?;
    let tcp = TcpListener::from_std(tcp)?;
    let span = tracing::debug_span!("dns", container = %short(&server.from));
    let server = Arc::new(server);
    let u = rt.spawn(server.clone().serve_udp(udp).instrument(span.clone()));
    let t = rt.spawn(server.serve_tcp(tcp).instrument(span));
    Ok(Served { tasks: [u.abort_handle(), t.abort_handle()] })
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

impl Server {
    fn new(from: String, names: Arc<dyn Names>, upstream: Vec<SocketAddr>, limits: Limits) -> Server {
        Server { from, names, upstream, limits, turn: AtomicUsize::new(0) }
    }

    async fn serve_udp(self: Arc<Self>, sock: UdpSocket) {
        let sock = Arc::new(sock);
        let mut forwards = JoinSet::new();
        // One byte more than the largest query taken, to tell a datagram cut short.
        let mut buf = vec![0; UDP_MAX + 1];
        loop {
            tokio::select! {
                got = sock.recv_from(&mut buf) => {
                    let (n, peer) = match got {
                        Ok(got) => got,
                        Err(e) => {
                            tracing::debug!(error = %e, "receiving a dns query failed");
                            tokio::time::sleep(ERROR_PAUSE).await;
                            continue;
                        }
                    };
                    if n > UDP_MAX {
                        tracing::debug!(%peer, "dropped an oversized dns query");
                        continue;
                    }
                    let packet = &buf[..n];
                    match self.decide(packet, Transport::Udp) {
                        Step::Drop => {}
                        Step::Reply(answer) => send_udp(&sock, &answer, peer, self.limits.forward_timeout).await,
                        Step::Forward(query) if forwards.len() >= self.limits.udp_forwards => {
                            tracing::debug!(%peer, "too many dns queries being forwarded: answering SERVFAIL");
                            if let Some(answer) = server_failure(&query, Transport::Udp) {
                                send_udp(&sock, &answer, peer, self.limits.forward_timeout).await;
                            }
                        }
                        Step::Forward(query) => {
                            let (server, sock, packet) = (self.clone(), sock.clone(), packet.to_vec());
                            forwards.spawn(
                                async move {
                                    if let Some(answer) = server.forward(&query, &packet, Transport::Udp).await {
                                        send_udp(&sock, &answer, peer, server.limits.forward_timeout).await;
                                    }
                                }
                                .in_current_span(),
                            );
                        }
                    }
                }
                Some(_) = forwards.join_next(), if !forwards.is_empty() => {}
            }
        }
    }

    async fn serve_tcp(self: Arc<Self>, listener: TcpListener) {
        let mut conns = JoinSet::new();
        loop {
            tokio::select! {
                got = listener.accept() => match got {
                    Ok((stream, peer)) if conns.len() >= self.limits.tcp_conns => {
                        tracing::debug!(%peer, "too many dns connections: closed a new one");
                        drop(stream);
                    }
                    Ok((stream, _)) => {
                        conns.spawn(self.clone().serve_conn(stream).in_current_span());
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "accepting a dns connection failed");
                        tokio::time::sleep(ERROR_PAUSE).await;
                    }
                },
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
        }
    }

    /// Answers the queries of one TCP connection in turn, until it closes, goes idle, or sends
    /// something that is not a query.
    async fn serve_conn(self: Arc<Self>, mut stream: TcpStream) {
        let idle = self.limits.tcp_idle;
        loop {
            let packet = match timeout(idle, read_frame(&mut stream)).await {
                Ok(Ok(Some(packet))) => packet,
                Ok(Ok(None)) => return,
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "reading a dns query over tcp failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!("closed an idle dns connection");
                    return;
                }
            };
            let answer = match self.decide(&packet, Transport::Tcp) {
                Step::Drop => return,
                Step::Reply(answer) => answer,
                Step::Forward(query) => match self.forward(&query, &packet, Transport::Tcp).await {
                    Some(answer) => answer,
                    None => return,
                },
            };
            if !matches!(timeout(idle, write_frame(&mut stream, &answer)).await, Ok(Ok(()))) {
                tracing::debug!("sending a dns answer over tcp failed");
                return;
            }
        }
    }

    /// Reads `packet` and answers it when it asks for a container's name. A panic while doing so
    /// (in a dependency, or in [`Names`]) drops this query alone.
    fn decide(&self, packet: &[u8], transport: Transport) -> Step {
        catch_unwind(AssertUnwindSafe(|| self.decide_inner(packet, transport))).unwrap_or_else(|_| {
            tracing::debug!("answering a dns query panicked: dropped it");
            Step::Drop
        })
    }

    fn decide_inner(&self, packet: &[u8], transport: Transport) -> Step {
        if !plausible(packet) {
            tracing::debug!(len = packet.len(), "dropped a malformed dns query");
            return Step::Drop;
        }
        let query = match Message::from_vec(packet) {
            Ok(q) => q,
            Err(e) => {
                tracing::debug!(error = %e, "dropped a malformed dns query");
                return Step::Drop;
            }
        };
        let q = match query.queries() {
            [q] if query.op_code() == OpCode::Query && q.query_class() == DNSClass::IN => q,
            [] => {
                tracing::debug!("dropped a dns query without a question");
                return Step::Drop;
            }
            _ => return Step::Forward(Box::new(query)),
        };
        let answers = match q.query_type() {
            RecordType::A | RecordType::AAAA => {
                let Some(name) = lookup_name(q.name()) else { return Step::Forward(Box::new(query)) };
                let Some(mut addrs) = self.names.lookup(&self.from, &name) else { return Step::Forward(Box::new(query)) };
                let want_v4 = q.query_type() == RecordType::A;
                addrs.retain(|a| a.is_ipv4() == want_v4);
                if addrs.len() > 1 {
                    let turn = self.turn.fetch_add(1, Ordering::Relaxed) % addrs.len();
                    addrs.rotate_left(turn);
                }
                tracing::debug!(%name, qtype = %q.query_type(), addresses = addrs.len(), "answered a dns query");
                addrs
                    .into_iter()
                    .map(|a| {
                        let data = match a {
                            IpAddr::V4(a) => RData::A(A(a)),
                            IpAddr::V6(a) => RData::AAAA(AAAA(a)),
                        };
                        Record::from_rdata(q.name().clone(), TTL, data)
                    })
                    .collect()
            }
            RecordType::PTR => {
                let Some(ip) = arpa_address(q.name()) else { return Step::Forward(Box::new(query)) };
                let Some(target) = self.names.reverse(&self.from, ip) else { return Step::Forward(Box::new(query)) };
                let target = match Name::from_ascii(format!("{}.", target.trim_end_matches('.'))) {
                    Ok(t) => t,
                    Err(e) => {
                        tracing::debug!(%ip, %target, error = %e, "the name for a reverse dns query is not a domain name: forwarding it");
                        return Step::Forward(Box::new(query));
                    }
                };
                tracing::debug!(%ip, %target, "answered a reverse dns query");
                vec![Record::from_rdata(q.name().clone(), TTL, RData::PTR(PTR(target)))]
            }
            _ => return Step::Forward(Box::new(query)),
        };
        let mut answer = reply(&query, ResponseCode::NoError);
        answer.set_authoritative(true);
        answer.insert_answers(answers);
        match encode(answer, max_size(&query, transport)) {
            Some(bytes) => Step::Reply(bytes),
            None => Step::Drop,
        }
    }

    /// Asks the upstream servers in turn, over the transport the query came by, and returns the
    /// first answer that is not SERVFAIL or REFUSED, as it came; SERVFAIL when there is none.
    async fn forward(&self, query: &Message, packet: &[u8], transport: Transport) -> Option<Vec<u8>> {
        let id = query.id();
        if !self.names.forwards(&self.from) {
            tracing::debug!("this container has no way out: SERVFAIL");
            return server_failure(query, transport);
        }
        for &server in &self.upstream {
            let asked = match transport {
                Transport::Udp => timeout(self.limits.forward_timeout, ask_udp(server, packet, id, query.max_payload())).await,
                Transport::Tcp => timeout(self.limits.forward_timeout, ask_tcp(server, packet, id)).await,
            };
            match asked {
                Ok(Ok((answer, ResponseCode::ServFail | ResponseCode::Refused))) => {
                    tracing::debug!(%server, len = answer.len(), "upstream dns server failed the query: trying the next");
                }
                Ok(Ok((answer, _))) => {
                    tracing::debug!(%server, ?transport, "forwarded a dns query");
                    return Some(answer);
                }
                Ok(Err(e)) => tracing::debug!(%server, ?transport, error = %e, "forwarding a dns query failed"),
                Err(_) => tracing::debug!(%server, ?transport, "upstream dns server did not answer in time"),
            }
        }
        tracing::debug!(servers = self.upstream.len(), "no upstream dns server answered: SERVFAIL");
        server_failure(query, transport)
    }
}

/// Whether the section counts in `packet`'s header could fit in its length (a question takes
/// at least 5 bytes, a record 11): a 12-byte packet claiming 65535 records is refused before
/// anything is allocated for them.
fn plausible(packet: &[u8]) -> bool {
    let Ok(h) = Header::read(&mut BinDecoder::new(packet)) else { return false };
    let records = usize::from(h.answer_count()) + usize::from(h.name_server_count()) + usize::from(h.additional_count());
    h.message_type() == MessageType::Query && usize::from(h.query_count()) * 5 + records * 11 <= packet.len().saturating_sub(12)
}

/// The name [`Names::lookup`] is asked for: lower-case, without the trailing dot; None for the
/// root.
fn lookup_name(name: &Name) -> Option<String> {
    let s = name.to_lowercase().to_ascii();
    let s = s.strip_suffix('.').unwrap_or(&s);
    (!s.is_empty()).then(|| s.to_owned())
}

/// The address a whole-address in-addr.arpa or ip6.arpa name stands for.
fn arpa_address(name: &Name) -> Option<IpAddr> {
    let net = name.parse_arpa_name().ok()?;
    (net.prefix_len() == net.max_prefix_len()).then(|| net.addr())
}

/// An answer to `query` with `code`: its id, opcode, RD and CD kept, RA set, the question echoed.
fn reply(query: &Message, code: ResponseCode) -> Message {
    let mut m = Message::new();
    m.set_id(query.id())
        .set_message_type(MessageType::Response)
        .set_op_code(query.op_code())
        .set_recursion_desired(query.recursion_desired())
        .set_recursion_available(true)
        .set_checking_disabled(query.checking_disabled())
        .set_response_code(code);
    m.add_queries(query.queries().iter().cloned());
    m
}

fn server_failure(query: &Message, transport: Transport) -> Option<Vec<u8>> {
    encode(reply(query, ResponseCode::ServFail), max_size(query, transport))
}

/// The largest answer `query` may get over `transport`.
fn max_size(query: &Message, transport: Transport) -> usize {
    match transport {
        Transport::Udp => usize::from(query.max_payload()).min(UDP_MAX),
        Transport::Tcp => usize::from(u16::MAX),
    }
}

/// Encodes `m` in at most `max` bytes: answers that do not fit are left out and TC is set, so
/// that a UDP client asks again over TCP. None when it cannot be encoded or even the question
/// alone is too big.
fn encode(mut m: Message, max: usize) -> Option<Vec<u8>> {
    loop {
        let bytes = match m.to_vec() {
            Ok(b) => b,
            Err(e) => {
                tracing::debug!(error = %e, "encoding a dns answer failed");
                return None;
            }
        };
        if bytes.len() <= max {
            return Some(bytes);
        }
        let n = m.answers().len();
        if n == 0 {
            return None;
        }
        // Records are of about one size here: cut to the share that fits, then one by one.
        let keep = (n * max / bytes.len()).min(n - 1);
        m.answers_mut().truncate(keep);
        m.set_truncated(true);
    }
}

async fn send_udp(sock: &UdpSocket, answer: &[u8], peer: SocketAddr, deadline: Duration) {
    match timeout(deadline, sock.send_to(answer, peer)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "sending a dns answer failed"),
        Err(_) => tracing::debug!(%peer, "sending a dns answer timed out"),
    }
}

/// Whether `bytes` is an answer to the query `id`; its response code when it is.
fn answer_code(bytes: &[u8], id: u16) -> Option<ResponseCode> {
    let h = Header::read(&mut BinDecoder::new(bytes)).ok()?;
    (h.id() == id && h.message_type() == MessageType::Response).then(|| h.response_code())
}

/// Sends `packet` to `server` from a new socket of the daemon's and waits for the answer to
/// `id`, ignoring other datagrams. `payload` is the query's EDNS size (the largest answer the
/// client takes).
async fn ask_udp(server: SocketAddr, packet: &[u8], id: u16, payload: u16) -> io::Result<(Vec<u8>, ResponseCode)> {
    let local: SocketAddr = match server {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let sock = UdpSocket::bind(local).await?;
    sock.connect(server).await?;
    sock.send(packet).await?;
    let mut buf = vec![0; usize::from(payload).max(UDP_MAX)];
    loop {
        let n = sock.recv(&mut buf).await?;
        if let Some(code) = answer_code(&buf[..n], id) {
            buf.truncate(n);
            return Ok((buf, code));
        }
    }
}

/// Sends `packet` to `server` over a new TCP connection and reads the answer to `id`.
async fn ask_tcp(server: SocketAddr, packet: &[u8], id: u16) -> io::Result<(Vec<u8>, ResponseCode)> {
    let mut stream = TcpStream::connect(server).await?;
    write_frame(&mut stream, packet).await?;
    let answer = read_frame(&mut stream).await?.ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed before the answer"))?;
    let code = answer_code(&answer, id).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "not an answer to the query"))?;
    Ok((answer, code))
}

/// Reads one length-prefixed DNS message; None when the stream ends before one begins.
async fn read_frame(stream: &mut TcpStream) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0; 2];
    match stream.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = usize::from(u16::from_be_bytes(len));
    if len == 0 {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "empty dns message"));
    }
    let mut packet = vec![0; len];
    stream.read_exact(&mut packet).await?;
    Ok(Some(packet))
}

async fn write_frame(stream: &mut TcpStream, packet: &[u8]) -> io::Result<()> {
    let len = u16::try_from(packet.len()).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "dns message longer than 65535 bytes"))?;
    let mut frame = Vec::with_capacity(2 + packet.len());
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(packet);
    stream.write_all(&frame).await
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::Mutex;

    use hickory_proto::op::{Edns, Query};

    use super::*;

    const FROM: &str = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00";
    /// Long enough for an answer that should come, short enough for one that should not.
    const WAIT: Duration = Duration::from_secs(2);
    const QUIET: Duration = Duration::from_millis(300);

    /// Containers `web` (two addresses), `db`, `v6only` and `many` (100 addresses), seen from
    /// `FROM` only; remembers the names it was asked for.
    #[derive(Default)]
    struct FakeNames {
        asked: Mutex<Vec<String>>,
    }

    impl Names for FakeNames {
        fn lookup(&self, from: &str, name: &str) -> Option<Vec<IpAddr>> {
            self.asked.lock().expect("lock").push(name.to_owned());
            if from != FROM {
                return None;
            }
            match name {
                "web" => Some(vec![[10, 0, 0, 2].into(), [10, 0, 0, 3].into()]),
                "db" | "db.mynet" => Some(vec![[10, 0, 0, 4].into()]),
                "v6only" => Some(vec!["fd00::5".parse().expect("v6")]),
                "many" => Some((1..=100).map(|i| IpAddr::from([10, 1, 0, i])).collect()),
                _ => None,
            }
        }

        fn reverse(&self, from: &str, ip: IpAddr) -> Option<String> {
            (from == FROM && ip == IpAddr::from([10, 0, 0, 4])).then(|| "db.mynet".to_owned())
        }
    }

    /// A served container and what it was asked.
    struct Fixture {
        udp: SocketAddr,
        tcp: SocketAddr,
        names: Arc<FakeNames>,
        served: Served,
    }

    fn limits() -> Limits {
        Limits { forward_timeout: Duration::from_millis(300), tcp_idle: Duration::from_secs(1), tcp_conns: 4, udp_forwards: 8 }
    }

    fn start(upstream: Vec<SocketAddr>, limits: Limits) -> Fixture {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").expect("bind tcp");
        let (u, t) = (udp.local_addr().expect("udp addr"), tcp.local_addr().expect("tcp addr"));
        let names = Arc::new(FakeNames::default());
        let served = serve_with(udp, tcp, Server::new(FROM.into(), names.clone(), upstream, limits)).expect("serve");
        Fixture { udp: u, tcp: t, names, served }
    }

    fn query(id: u16, name: &str, qtype: RecordType) -> Vec<u8> {
        let mut m = Message::new();
        m.set_id(id).set_recursion_desired(true).add_query(Query::query(Name::from_ascii(name).expect("name"), qtype));
        m.to_vec().expect("encode query")
    }

    async fn ask_udp_raw(server: SocketAddr, packet: &[u8], wait: Duration) -> Option<Vec<u8>> {
        let sock = UdpSocket::bind("127.0.0.1:0").await.expect("bind client");
        sock.send_to(packet, server).await.expect("send");
        let mut buf = vec![0; 65535];
        let (n, _) = timeout(wait, sock.recv_from(&mut buf)).await.ok()?.ok()?;
        buf.truncate(n);
        Some(buf)
    }

    async fn ask_udp(server: SocketAddr, packet: &[u8]) -> Message {
        let answer = ask_udp_raw(server, packet, WAIT).await.expect("an answer over udp");
        Message::from_vec(&answer).expect("a dns message")
    }

    async fn ask_tcp_on(stream: &mut TcpStream, packet: &[u8]) -> Message {
        write_frame(stream, packet).await.expect("send over tcp");
        let answer = timeout(WAIT, read_frame(stream)).await.expect("answered in time").expect("read").expect("an answer over tcp");
        Message::from_vec(&answer).expect("a dns message")
    }

    async fn ask_tcp(server: SocketAddr, packet: &[u8]) -> Message {
        let mut stream = TcpStream::connect(server).await.expect("connect");
        ask_tcp_on(&mut stream, packet).await
    }

    /// Whether the server closed `stream` within `QUIET` (well before `tcp_idle` would), without
    /// answering on it.
    async fn closed(stream: &mut TcpStream) -> bool {
        let mut b = [0; 1];
        matches!(timeout(QUIET, stream.read(&mut b)).await, Ok(Ok(0) | Err(_)))
    }

    fn addresses(m: &Message) -> HashSet<IpAddr> {
        m.answers()
            .iter()
            .filter_map(|r| match r.data() {
                RData::A(a) => Some(IpAddr::V4(a.0)),
                RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                _ => None,
            })
            .collect()
    }

    /// A fake upstream resolver on loopback: answers every query with `A <udp_ip>` over UDP
    /// and `A <tcp_ip>` over TCP (one port for both), and keeps the answers it sent.
    struct Upstream {
        addr: SocketAddr,
        sent: Arc<Mutex<Vec<Vec<u8>>>>,
        _tasks: [tokio::task::JoinHandle<()>; 2],
    }

    fn upstream_answer(packet: &[u8], ip: Ipv4Addr) -> Option<Vec<u8>> {
        let q = Message::from_vec(packet).ok()?;
        let mut m = reply(&q, ResponseCode::NoError);
        let name = q.queries().first()?.name().clone();
        m.add_answer(Record::from_rdata(name, 1234, RData::A(A(ip))));
        m.to_vec().ok()
    }

    async fn upstream(udp_ip: Ipv4Addr, tcp_ip: Ipv4Addr) -> Upstream {
        let (udp, tcp) = loop {
            let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind upstream tcp");
            if let Ok(udp) = UdpSocket::bind(tcp.local_addr().expect("addr")).await {
                break (udp, tcp);
            }
        };
        let addr = udp.local_addr().expect("addr");
        let sent = Arc::new(Mutex::new(Vec::new()));
        let s = sent.clone();
        let u = tokio::spawn(async move {
            let mut buf = vec![0; 65535];
            while let Ok((n, peer)) = udp.recv_from(&mut buf).await {
                if let Some(a) = upstream_answer(&buf[..n], udp_ip) {
                    s.lock().expect("lock").push(a.clone());
                    let _ = udp.send_to(&a, peer).await;
                }
            }
        });
        let s = sent.clone();
        let t = tokio::spawn(async move {
            while let Ok((mut stream, _)) = tcp.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    while let Ok(Some(q)) = read_frame(&mut stream).await {
                        let Some(a) = upstream_answer(&q, tcp_ip) else { return };
                        s.lock().expect("lock").push(a.clone());
                        if write_frame(&mut stream, &a).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Upstream { addr, sent, _tasks: [u, t] }
    }

    const UP_UDP: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 1);
    const UP_TCP: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 2);

    #[tokio::test]
    async fn a_query_for_a_container_gets_all_its_addresses() {
        let f = start(vec![], limits());
        let m = ask_udp(f.udp, &query(0x1234, "web.", RecordType::A)).await;
        assert_eq!(m.id(), 0x1234);
        assert_eq!(m.message_type(), MessageType::Response);
        assert_eq!(m.response_code(), ResponseCode::NoError);
        assert!(m.authoritative() && m.recursion_desired() && m.recursion_available() && !m.truncated());
        assert_eq!(m.queries().len(), 1);
        assert_eq!(m.queries()[0].name(), &Name::from_ascii("web.").expect("name"));
        assert_eq!(m.queries()[0].query_type(), RecordType::A);
        assert_eq!(m.answers().len(), 2);
        assert!(m.answers().iter().all(|r| r.ttl() == TTL && r.name() == &Name::from_ascii("web.").expect("name")));
        assert_eq!(addresses(&m), HashSet::from([IpAddr::from([10, 0, 0, 2]), IpAddr::from([10, 0, 0, 3])]));
        // The order turns from one answer to the next.
        let again = ask_udp(f.udp, &query(0x1235, "web.", RecordType::A)).await;
        assert_ne!(m.answers()[0].data(), again.answers()[0].data());
    }

    #[tokio::test]
    async fn a_family_a_container_lacks_is_an_empty_noerror() {
        let f = start(vec![], limits());
        let m = ask_udp(f.udp, &query(7, "db.", RecordType::AAAA)).await;
        assert_eq!(m.response_code(), ResponseCode::NoError);
        assert!(m.answers().is_empty());
        assert_eq!(m.queries().len(), 1);
        let m = ask_udp(f.udp, &query(8, "v6only.", RecordType::AAAA)).await;
        assert_eq!(addresses(&m), HashSet::from(["fd00::5".parse::<IpAddr>().expect("v6")]));
        let m = ask_udp(f.udp, &query(9, "v6only.", RecordType::A)).await;
        assert_eq!((m.response_code(), m.answers().len()), (ResponseCode::NoError, 0));
    }

    #[tokio::test]
    async fn names_are_asked_for_in_lower_case_without_the_dot() {
        let f = start(vec![], limits());
        let m = ask_udp(f.udp, &query(1, "WeB.", RecordType::A)).await;
        assert_eq!(m.answers().len(), 2);
        // The question and the records keep the case the client used.
        assert_eq!(m.answers()[0].name().to_ascii(), "WeB.");
        let m = ask_udp(f.udp, &query(2, "DB.MyNet", RecordType::A)).await;
        assert_eq!(addresses(&m), HashSet::from([IpAddr::from([10, 0, 0, 4])]));
        assert_eq!(*f.names.asked.lock().expect("lock"), ["web", "db.mynet"]);
    }

    #[tokio::test]
    async fn a_reverse_query_for_a_container_gets_its_name() {
        let up = upstream(UP_UDP, UP_TCP).await;
        let f = start(vec![up.addr], limits());
        let m = ask_udp(f.udp, &query(3, "4.0.0.10.in-addr.arpa.", RecordType::PTR)).await;
        assert_eq!(m.response_code(), ResponseCode::NoError);
        assert!(m.authoritative());
        assert_eq!(m.answers().len(), 1);
        assert_eq!(m.answers()[0].ttl(), TTL);
        match m.answers()[0].data() {
            RData::PTR(p) => assert_eq!(p.0.to_ascii(), "db.mynet."),
            other => panic!("not a PTR: {other:?}"),
        }
        assert!(up.sent.lock().expect("lock").is_empty());
        // Another address is the upstream's to answer.
        let m = ask_udp(f.udp, &query(4, "9.0.0.10.in-addr.arpa.", RecordType::PTR)).await;
        assert_eq!(up.sent.lock().expect("lock").len(), 1);
        assert!(!m.authoritative());
    }

    #[tokio::test]
    async fn other_names_and_types_are_forwarded_over_udp_and_relayed_as_they_came() {
        let up = upstream(UP_UDP, UP_TCP).await;
        let f = start(vec![up.addr], limits());
        for (id, name, qtype) in [(10, "example.com.", RecordType::A), (11, "web.", RecordType::MX), (12, ".", RecordType::A)] {
            let answer = ask_udp_raw(f.udp, &query(id, name, qtype), WAIT).await.expect("an answer");
            assert_eq!(up.sent.lock().expect("lock").last(), Some(&answer), "{name} {qtype}");
            let m = Message::from_vec(&answer).expect("message");
            assert_eq!((m.id(), addresses(&m)), (id, HashSet::from([IpAddr::V4(UP_UDP)])));
        }
    }

    #[tokio::test]
    async fn tcp_queries_are_answered_in_turn_and_forwarded_over_tcp() {
        let up = upstream(UP_UDP, UP_TCP).await;
        let f = start(vec![up.addr], limits());
        let mut stream = TcpStream::connect(f.tcp).await.expect("connect");
        let m = ask_tcp_on(&mut stream, &query(20, "example.com.", RecordType::A)).await;
        assert_eq!((m.id(), addresses(&m)), (20, HashSet::from([IpAddr::V4(UP_TCP)])));
        assert_eq!(m.to_vec().expect("encode"), up.sent.lock().expect("lock")[0]);
        let m = ask_tcp_on(&mut stream, &query(21, "web.", RecordType::A)).await;
        assert_eq!((m.id(), m.answers().len()), (21, 2));
        let m = ask_tcp_on(&mut stream, &query(22, "4.0.0.10.in-addr.arpa.", RecordType::PTR)).await;
        assert_eq!((m.id(), m.answers().len()), (22, 1));
    }

    #[tokio::test]
    async fn without_upstream_servers_other_names_get_servfail() {
        let f = start(vec![], limits());
        for m in [ask_udp(f.udp, &query(30, "example.com.", RecordType::A)).await, ask_tcp(f.tcp, &query(30, "example.com.", RecordType::A)).await] {
            assert_eq!((m.id(), m.response_code()), (30, ResponseCode::ServFail));
            assert!(m.recursion_desired() && m.answers().is_empty());
            assert_eq!(m.queries().len(), 1);
            assert_eq!(m.queries()[0].name().to_ascii(), "example.com.");
        }
    }

    #[tokio::test]
    async fn an_upstream_that_does_not_answer_is_passed_over_then_servfail() {
        // Bound and never read: queries to it go unanswered.
        let silent = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let silent_addr = silent.local_addr().expect("addr");
        let f = start(vec![silent_addr], limits());
        let started = tokio::time::Instant::now();
        let m = ask_udp(f.udp, &query(40, "example.com.", RecordType::A)).await;
        assert_eq!((m.id(), m.response_code()), (40, ResponseCode::ServFail));
        assert!(started.elapsed() >= limits().forward_timeout);

        let up = upstream(UP_UDP, UP_TCP).await;
        let f = start(vec![silent_addr, up.addr], limits());
        let m = ask_udp(f.udp, &query(41, "example.com.", RecordType::A)).await;
        assert_eq!((m.response_code(), addresses(&m)), (ResponseCode::NoError, HashSet::from([IpAddr::V4(UP_UDP)])));
    }

    #[tokio::test]
    async fn malformed_packets_are_dropped_and_the_server_goes_on() {
        let f = start(vec![], limits());
        let mut answer_packet = Message::from_vec(&query(50, "web.", RecordType::A)).expect("parse");
        answer_packet.set_message_type(MessageType::Response);
        let mut huge_counts = query(51, "web.", RecordType::A);
        huge_counts[6..12].fill(0xff);
        let no_question = Message::new().set_id(52).to_vec().expect("encode");
        let bad: [&[u8]; 7] = [b"\xde\xad\xbe\xef garbage", b"\x12\x34\x01", &query(53, "web.", RecordType::A)[..20], &huge_counts, &answer_packet.to_vec().expect("encode"), &no_question, &[0; 12][..11]];
        for packet in bad {
            assert_eq!(ask_udp_raw(f.udp, packet, QUIET).await, None, "{packet:?}");
        }
        let m = ask_udp(f.udp, &query(54, "web.", RecordType::A)).await;
        assert_eq!((m.id(), m.answers().len()), (54, 2));

        for packet in bad {
            let mut stream = TcpStream::connect(f.tcp).await.expect("connect");
            write_frame(&mut stream, packet).await.expect("send");
            assert!(closed(&mut stream).await, "{packet:?}");
        }
        let mut stream = TcpStream::connect(f.tcp).await.expect("connect");
        stream.write_all(&[0, 0]).await.expect("send an empty frame");
        assert!(closed(&mut stream).await);
        let m = ask_tcp(f.tcp, &query(55, "web.", RecordType::A)).await;
        assert_eq!((m.id(), m.answers().len()), (55, 2));
    }

    #[tokio::test]
    async fn answers_too_big_for_udp_are_truncated_and_whole_over_tcp() {
        let f = start(vec![], limits());
        let m = ask_udp(f.udp, &query(60, "many.", RecordType::A)).await;
        assert!(m.truncated());
        assert!(!m.answers().is_empty() && m.answers().len() < 100);
        assert!(m.to_vec().expect("encode").len() <= 512);
        // A client that takes more over UDP gets more.
        let mut big = Message::from_vec(&query(61, "many.", RecordType::A)).expect("parse");
        big.set_edns(Edns::new().set_max_payload(4096).clone());
        let m = ask_udp(f.udp, &big.to_vec().expect("encode")).await;
        assert_eq!((m.truncated(), m.answers().len()), (false, 100));
        let m = ask_tcp(f.tcp, &query(62, "many.", RecordType::A)).await;
        assert_eq!((m.truncated(), m.answers().len()), (false, 100));
    }

    #[tokio::test]
    async fn tcp_connections_are_bounded_and_idle_ones_closed() {
        let f = start(vec![], limits());
        let mut held = Vec::new();
        for _ in 0..limits().tcp_conns {
            let mut s = TcpStream::connect(f.tcp).await.expect("connect");
            ask_tcp_on(&mut s, &query(70, "web.", RecordType::A)).await;
            held.push(s);
        }
        let mut extra = TcpStream::connect(f.tcp).await.expect("connect");
        let _ = write_frame(&mut extra, &query(71, "web.", RecordType::A)).await;
        assert!(closed(&mut extra).await, "a connection over the limit is closed unanswered");
        // The idle ones go after tcp_idle, and new ones are served again.
        tokio::time::sleep(limits().tcp_idle).await;
        for s in &mut held {
            assert!(closed(s).await, "an idle connection is closed");
        }
        let m = ask_tcp(f.tcp, &query(72, "web.", RecordType::A)).await;
        assert_eq!(m.answers().len(), 2);
    }

    #[tokio::test]
    async fn dropping_served_stops_answering() {
        let f = start(vec![], limits());
        let mut open = TcpStream::connect(f.tcp).await.expect("connect");
        ask_tcp_on(&mut open, &query(80, "web.", RecordType::A)).await;
        ask_udp(f.udp, &query(81, "web.", RecordType::A)).await;
        drop(f.served);
        tokio::task::yield_now().await;
        assert_eq!(ask_udp_raw(f.udp, &query(82, "web.", RecordType::A), QUIET).await, None);
        assert!(closed(&mut open).await, "open connections are closed");
        assert!(TcpStream::connect(f.tcp).await.is_err(), "the listener is closed");
    }

    #[test]
    fn serving_outside_a_runtime_is_an_error_not_a_panic() {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").expect("bind tcp");
        assert!(serve(udp, tcp, FROM.into(), Arc::new(FakeNames::default()), vec![]).is_err());
    }

    #[test]
    fn only_whole_arpa_addresses_are_reverse_queries() {
        let arpa = |s: &str| arpa_address(&Name::from_ascii(s).expect("name"));
        assert_eq!(arpa("4.0.0.10.in-addr.arpa."), Some(IpAddr::from([10, 0, 0, 4])));
        assert_eq!(arpa("4.0.0.10.IN-ADDR.ARPA."), Some(IpAddr::from([10, 0, 0, 4])));
        assert_eq!(arpa("0.10.in-addr.arpa."), None);
        assert_eq!(arpa("example.com."), None);
        let v6 = "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.";
        assert_eq!(arpa(v6), Some("fd00::5".parse().expect("v6")));
        assert_eq!(arpa("d.f.ip6.arpa."), None);
    }
}
