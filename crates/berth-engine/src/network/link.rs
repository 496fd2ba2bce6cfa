//! Links over netlink (rtnetlink): bridges, veth pairs and their addresses and routes. Every
//! function is synchronous and blocks: callers run them on blocking threads, never on async
//! workers. Work inside a container's namespace runs on a thread that entered it
//! (`berth_runtime::netns::run_in`), with a netlink socket opened there.
//!
//! Links berth makes carry an alias (`IFLA_IFALIAS`) naming the daemon's tag, so a restarted
//! daemon finds its own links and no one else's.

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use futures_util::TryStreamExt;
use rtnetlink::packet_route::link::{InfoData, InfoKind, InfoVeth, LinkAttribute, LinkMessage};
use rtnetlink::{Handle, LinkBridge, LinkMessageBuilder, LinkUnspec, LinkVeth, RouteMessageBuilder};

/// Runs `f` with a netlink handle on a runtime of its own, in the calling thread's network
/// namespace.
fn with_netlink<T, F, Fut>(f: F) -> io::Result<T>
where
    T: Send,
    F: FnOnce(Handle) -> Fut + Send,
    Fut: Future<Output = Result<T, rtnetlink::Error>>,
{
    if tokio::runtime::Handle::try_current().is_ok() {
        // A runtime cannot start inside another one's context: run on a plain thread (in the
        // same network namespace: a new thread starts in its creator's).
        return std::thread::scope(|s| s.spawn(|| with_netlink(f)).join().unwrap_or_else(|_| Err(io::Error::other("the netlink thread panicked"))));
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_io().build()?;
    rt.block_on(async {
        let (conn, handle, _) = rtnetlink::new_connection()?;
        tokio::spawn(conn);
        f(handle).await.map_err(to_io)
    })
}

fn to_io(e: rtnetlink::Error) -> io::Error {
    match e {
        rtnetlink::Error::NetlinkError(m) => m.to_io(),
        other => io::Error::other(other.to_string()),
    }
}

fn is_errno(e: &rtnetlink::Error, errno: i32) -> bool {
    matches!(e, rtnetlink::Error::NetlinkError(m) if m.raw_code() == -errno)
}

async fn index_of(h: &Handle, name: &str) -> Result<Option<u32>, rtnetlink::Error> {
    match h.link().get().match_name(name.to_owned()).execute().try_next().await {
        Ok(m) => Ok(m.map(|m| m.header.index)),
        Err(e) if is_errno(&e, libc_enodev()) => Ok(None),
        Err(e) => Err(e),
    }
}

const fn libc_enodev() -> i32 {
    19
}
const EEXIST: i32 = 17;

/// Makes sure the bridge `name` exists with `gateway/prefix` on it and is up; tags it with
/// `alias`. Packets from 127.0.0.0/8 may leave through it (published ports on loopback).
pub fn ensure_bridge(name: &str, alias: &str, gateway: Ipv4Addr, prefix: u8, gateway6: Option<(Ipv6Addr, u8)>, mtu: Option<u32>) -> io::Result<()> {
    with_netlink(|h| async move {
        let index = match index_of(&h, name).await? {
            Some(i) => i,
            None => {
                match h.link().add(LinkBridge::new(name).build()).execute().await {
                    Err(e) if !is_errno(&e, EEXIST) => return Err(e),
                    _ => {}
                }
                index_of(&h, name).await?.ok_or(rtnetlink::Error::RequestFailed)?
            }
        };
        let mut set = LinkUnspec::new_with_index(index).alias(alias).up();
        if let Some(m) = mtu {
            set = set.mtu(m);
        }
        h.link().set(set.build()).execute().await?;
        match h.address().add(index, IpAddr::V4(gateway), prefix).execute().await {
            Err(e) if !is_errno(&e, EEXIST) => return Err(e),
            _ => {}
        }
        if let Some((gw6, prefix6)) = gateway6 {
            // No duplicate address detection: the address is usable at once.
            let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{name}/accept_dad"), "0");
            let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{name}/disable_ipv6"), "0");
            match h.address().add(index, IpAddr::V6(gw6), prefix6).execute().await {
                Err(e) if !is_errno(&e, EEXIST) => return Err(e),
                _ => {}
            }
        }
        Ok(())
    })?;
    let _ = std::fs::write(format!("/proc/sys/net/ipv4/conf/{name}/route_localnet"), "1");
    Ok(())
}

/// Deletes the link `name` (a bridge, or either end of a veth pair). Gone already is fine.
pub fn delete(name: &str) -> io::Result<()> {
    with_netlink(|h| async move {
        if let Some(i) = index_of(&h, name).await? {
            match h.link().del(i).execute().await {
                Err(e) if !is_errno(&e, libc_enodev()) => return Err(e),
                _ => {}
            }
        }
        Ok(())
    })
}

/// The links whose alias starts with `prefix`: (name, alias).
pub fn tagged(prefix: &str) -> io::Result<Vec<(String, String)>> {
    with_netlink(|h| async move {
        let mut out = Vec::new();
        let mut links = h.link().get().execute();
        while let Some(m) = links.try_next().await? {
            let (name, alias) = name_alias(&m);
            if let (Some(n), Some(a)) = (name, alias) {
                if a.starts_with(prefix) {
                    out.push((n, a));
                }
            }
        }
        Ok(out)
    })
}

fn name_alias(m: &LinkMessage) -> (Option<String>, Option<String>) {
    let mut name = None;
    let mut alias = None;
    for a in &m.attributes {
        match a {
            LinkAttribute::IfName(n) => name = Some(n.clone()),
            LinkAttribute::IfAlias(s) => alias = Some(s.clone()),
            _ => {}
        }
    }
    (name, alias)
}

/// One endpoint: a veth pair with `host_if` on `bridge` and the other end in the namespace at
/// `netns`, named `ifname`, holding `ip/prefix` and `mac`, with a default route through
/// `gateway` when there is one.
pub struct Veth<'a> {
    pub netns: &'a Path,
    pub bridge: &'a str,
    pub host_if: &'a str,
    pub alias: &'a str,
    pub ifname: &'a str,
    pub ip: Ipv4Addr,
    pub prefix: u8,
    pub mac: [u8; 6],
    pub gateway: Option<Ipv4Addr>,
    /// The IPv6 address and prefix, and the IPv6 default route's gateway.
    pub ip6: Option<(Ipv6Addr, u8)>,
    pub gateway6: Option<Ipv6Addr>,
    pub mtu: Option<u32>,
}

/// Creates and configures the endpoint; on failure removes what it made.
pub fn attach(v: &Veth<'_>) -> io::Result<()> {
    let made = attach_inner(v);
    if made.is_err() {
        let _ = delete(v.host_if);
    }
    made
}

fn attach_inner(v: &Veth<'_>) -> io::Result<()> {
    let ns = std::fs::File::open(v.netns)?;
    let ns_fd = std::os::fd::AsRawFd::as_raw_fd(&ns);
    // One request makes the pair: the host end on the bridge and up, the container end
    // already in the namespace with its name and MAC (moving a link between namespaces later
    // costs a network-wide synchronisation, tens of milliseconds).
    with_netlink(|h| async move {
        let bridge = index_of(&h, v.bridge).await?.ok_or(rtnetlink::Error::RequestFailed)?;
        let mut peer = LinkMessageBuilder::<LinkUnspec>::new().name(v.ifname.to_owned()).address(v.mac.to_vec()).setns_by_fd(ns_fd);
        let mut host = LinkMessageBuilder::<LinkVeth>::new_with_info_kind(InfoKind::Veth).name(v.host_if.to_owned()).controller(bridge).alias(v.alias).up();
        if let Some(m) = v.mtu {
            peer = peer.mtu(m);
            host = host.mtu(m);
        }
        let msg = host.set_info_data(InfoData::Veth(InfoVeth::Peer(peer.build()))).build();
        h.link().add(msg).execute().await?;
        Ok(())
    })?;
    drop(ns);
    let (ifname, ip, prefix, gateway, ip6, gateway6) = (v.ifname, v.ip, v.prefix, v.gateway, v.ip6, v.gateway6);
    berth_runtime::netns::run_in(v.netns, move || {
        with_netlink(|h| async move {
            let i = index_of(&h, ifname).await?.ok_or(rtnetlink::Error::RequestFailed)?;
            h.address().add(i, IpAddr::V4(ip), prefix).execute().await?;
            if let Some((a, p)) = ip6 {
                // This thread is in the container's namespace: its /proc/sys/net is the container's.
                let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{ifname}/accept_dad"), "0");
                h.address().add(i, IpAddr::V6(a), p).execute().await?;
            }
            h.link().set(LinkUnspec::new_with_index(i).up().build()).execute().await?;
            if let Some(lo) = index_of(&h, "lo").await? {
                h.link().set(LinkUnspec::new_with_index(lo).up().build()).execute().await?;
            }
            if let Some(gw) = gateway {
                let route = RouteMessageBuilder::<Ipv4Addr>::new().gateway(gw).output_interface(i).build();
                h.route().add(route).execute().await?;
            }
            if let Some(gw) = gateway6 {
                let route = RouteMessageBuilder::<Ipv6Addr>::new().gateway(gw).output_interface(i).build();
                h.route().add(route).execute().await?;
            }
            Ok(())
        })
    })
}
