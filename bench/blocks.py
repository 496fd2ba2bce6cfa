"""Timing one command against several daemons in alternating blocks, for the bench scripts.

berthd keeps the kernel's cgroup lock warm for 5 s after a container's create or start (see
crates/berth-engine/src/container/early.rs), and that speeds up every daemon's cgroup moves on
the host, dockerd's and podman's too. Runs interleaved one by one would time the peers in the
state berthd's runs left. So each daemon runs a block of consecutive runs (as a script's loop of
`docker run` does) after the host has been idle for COOL seconds, the daemons take turns, and
the order turns every block. The first run of a block is one after an idle spell: reported on
its own as well.
"""
import statistics
import time

COOL = 6.0
PER_BLOCK = 5


def blocks(daemons, runs, one):
    """Times `one(name, sock)` `runs` times per daemon; returns ({name: [s]}, {name: [first of block, s]})."""
    for name, sock in daemons.items():
        one(name, sock)  # images and binaries in the page cache
    names = list(daemons)
    times = {n: [] for n in names}
    firsts = {n: [] for n in names}
    for b in range((runs + PER_BLOCK - 1) // PER_BLOCK):
        order = names[b % len(names):] + names[:b % len(names)]
        for name in order:
            time.sleep(COOL)
            for i in range(PER_BLOCK):
                t0 = time.perf_counter()
                one(name, daemons[name])
                dt = time.perf_counter() - t0
                times[name].append(dt)
                if i == 0:
                    firsts[name].append(dt)
    return times, firsts


def report(what, times, firsts, base="berthd"):
    """One line per peer: medians of all runs and of the first of each block, and the ratios."""
    mb, fb = statistics.median(times[base]), statistics.median(firsts[base])
    out = [f"{what}, median of {len(times[base])} ({len(firsts[base])} blocks): {base} {mb*1000:.0f} ms (first of a block {fb*1000:.0f} ms)"]
    for name in times:
        if name == base:
            continue
        m, f = statistics.median(times[name]), statistics.median(firsts[name])
        out.append(f"  {name} {m*1000:.0f} ms: {m/mb:.1f}x faster (first of a block {f*1000:.0f} ms: {f/fb:.1f}x)")
    return "\n".join(out), {n: statistics.median(v) for n, v in times.items()}
