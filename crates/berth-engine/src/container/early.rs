//! Getting the kernel ready for a container's start before the start needs it.
//!
//! On a host with v1 cgroup hierarchies, the first move of a process into a v1 cgroup waits for
//! an RCU grace period while the kernel switches its cgroup_threadgroup_rwsem to writer mode
//! (5-15 ms on these machines), and the kernel switches back one grace period after the last
//! move. A container's init is moved in the middle of its start, so without help every start
//! of a quiet daemon waits that long, and so does every exec, whose process joins the
//! container's cgroups. [`AttachWarmer`] makes no-op moves (a thread of the daemon into the
//! cgroup it is already in) every 2 ms from a create (a container's or an exec's), throughout
//! every start, and for [`WINDOW`] after the last of them, so that the wait is over, or never
//! begins, by the time a process is moved: a start that follows another within the window (a
//! script's or a CI job's run of containers) never waits, and the first waits less, as the wait
//! begins at its create. [`EarlyCgroups`] makes a starting container's directories ahead of its
//! shim.
//!
//! What the moves cost (measured on a 2-core hybrid host): forks and exits are not slower while
//! the lock stays in writer mode (1,500 runs of `/bin/true`: 736-764 ms warm, 733-766 ms cold),
//! and the thread wakes 500 times a second while the window lasts, then not at all.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use berth_runtime::cgroups::{Hierarchies, SavedPaths};

use super::record::Record;
use super::runtime;
use crate::Engine;

/// How long the moves go on after the last create or start: `docker run --rm --network none`
/// took 25 ms with the lock warm and 36 ms cold here, and a script's next run or exec usually
/// comes well within this.
const WINDOW: Duration = Duration::from_secs(5);
/// Between two moves: well under a grace period, so the kernel never switches back between them.
const EVERY: Duration = Duration::from_millis(2);

/// One thread making no-op cgroup moves while any start is under way or until a deadline (see
/// the module's documentation); no thread at all otherwise.
pub(crate) struct AttachWarmer {
    h: Arc<Hierarchies>,
    state: Mutex<Warmth>,
    window: Duration,
}

#[derive(Default)]
struct Warmth {
    /// Moves go on until then at least.
    until: Option<Instant>,
    /// Starts under way: moves go on while there is one.
    starts: usize,
    /// Whether the thread is running.
    running: bool,
}

/// A start (a container's or an exec's) under way (see [`AttachWarmer::hold`]).
pub(crate) struct Hold(Arc<AttachWarmer>);

impl Drop for Hold {
    fn drop(&mut self) {
        let mut s = self.0.state.lock().unwrap_or_else(|e| e.into_inner());
        s.starts -= 1;
        self.0.extend(&mut s);
    }
}

impl AttachWarmer {
    /// A warmer for a daemon whose cgroups are `h`, when `h` has v1 hierarchies; `None` on a
    /// pure v2 host, where an init is born in its cgroup and nothing waits.
    pub(crate) fn new(h: Option<Hierarchies>) -> Option<Arc<AttachWarmer>> {
        Self::with_window(h, WINDOW)
    }

    fn with_window(h: Option<Hierarchies>, window: Duration) -> Option<Arc<AttachWarmer>> {
        h.filter(|h| !h.v1.is_empty()).map(|h| Arc::new(AttachWarmer { h: Arc::new(h), state: Mutex::default(), window }))
    }

    /// Keeps the moves going for a while after a create.
    pub(crate) fn after_create(self: &Arc<Self>) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        self.extend(&mut s);
        self.run_locked(&mut s);
    }

    /// The moves go on for the window from now, at least.
    fn extend(&self, s: &mut Warmth) {
        let until = Instant::now() + self.window;
        s.until = Some(s.until.map_or(until, |u| u.max(until)));
    }

    /// Keeps the moves going until the returned hold is dropped (the start is over).
    pub(crate) fn hold(self: &Arc<Self>) -> Hold {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.starts += 1;
        self.run_locked(&mut s);
        Hold(self.clone())
    }

    /// Whether the moves are going: a create or start came less than the window ago, or a
    /// start is under way.
    fn warm(&self) -> bool {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).running
    }

    fn run_locked(self: &Arc<Self>, s: &mut Warmth) {
        if s.running {
            return;
        }
        let me = self.clone();
        let spawned = std::thread::Builder::new().name("cgroup-warm".into()).spawn(move || {
            let mut moves = berth_runtime::cgroups::ThreadWarmUp::open(&me.h);
            loop {
                {
                    let mut s = me.state.lock().unwrap_or_else(|e| e.into_inner());
                    if s.starts == 0 && s.until.is_none_or(|u| Instant::now() >= u) {
                        s.running = false;
                        s.until = None;
                        return;
                    }
                }
                if let Some(m) = moves.as_mut() {
                    m.move_this_thread();
                }
                std::thread::sleep(EVERY);
            }
        });
        // Without the thread a start only waits longer.
        s.running = spawned.is_ok();
    }
}

/// The v1 cgroup directories of a container being started, made by the daemon ahead of its shim
/// (the built-in runtime joins directories that exist) when the moves are not going (no create
/// or start within the window): the warmer's first move holds the cgroup mutex, which making a
/// directory needs too, for the whole kernel wait, so the directories are made first and the
/// moves begin after. When the moves are going, the shim makes the directories (the wait is
/// over, or nearly). Another runtime makes its own.
pub(crate) struct EarlyCgroups {
    task: Option<tokio::task::JoinHandle<(Option<SavedPaths>, Hold)>>,
    made: Option<SavedPaths>,
    hold: Option<Hold>,
}

impl EarlyCgroups {
    pub(crate) fn start(engine: &Engine, rec: &Record) -> EarlyCgroups {
        let mut early = EarlyCgroups { task: None, made: None, hold: None };
        let Some(w) = engine.attach_warmer.clone() else { return early };
        let built_in = engine.runtime_name(rec.host_config.runtime.as_deref()).is_ok_and(|n| n == runtime::BUILT_IN);
        if !built_in || w.warm() {
            early.hold = Some(w.hold());
            return early;
        }
        let (path, id) = (engine.cgroups_path(&rec.id), rec.id.clone());
        early.task = Some(tokio::task::spawn_blocking(move || {
            let made = berth_runtime::cgroups::Cgroup::create_in(&w.h, Some(&path), &id).ok().map(|c| c.paths());
            (made, w.hold())
        }));
        early
    }

    /// Waits until the directories are made: the shim must find them.
    pub(crate) async fn ready(&mut self) {
        if let Some(t) = self.task.take() {
            if let Ok((made, hold)) = t.await {
                (self.made, self.hold) = (made, Some(hold));
            }
        }
    }

    /// Removes the directories of a container that did not start (its runtime, if it ran,
    /// removed them already).
    pub(crate) async fn undo(&mut self) {
        self.ready().await;
        if let Some(cg) = self.made.take().and_then(|p| berth_runtime::cgroups::Cgroup::open(&p).ok()) {
            let _ = cg.destroy();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The thread runs from a create for the window, for as long as a start holds it, and for
    /// the window after that start; then it ends. Its moves are of the test's own thread into
    /// the cgroup it is in.
    #[test]
    fn the_warmer_runs_after_a_create_and_while_held_then_stops() {
        const W: Duration = Duration::from_millis(30);
        let h = Hierarchies::detect().ok().filter(|_| rustix::process::geteuid().is_root());
        let Some(w) = AttachWarmer::with_window(h, W) else {
            eprintln!("skipped: needs root and a v1 cgroup hierarchy");
            return;
        };
        // A move may wait a whole grace period (longer on a loaded machine): the end is
        // awaited, not timed.
        let ends = |w: &AttachWarmer| {
            let deadline = Instant::now() + Duration::from_secs(5);
            while w.warm() && Instant::now() < deadline {
                std::thread::sleep(EVERY);
            }
            !w.warm()
        };
        assert!(!w.warm());
        w.after_create();
        assert!(w.warm(), "a create starts the moves");
        assert!(ends(&w), "they end once the window is over");
        let hold = w.hold();
        std::thread::sleep(W * 2);
        assert!(w.warm(), "a start holds them on past the window");
        let released = Instant::now();
        drop(hold);
        assert!(w.warm(), "the window begins again when the start is over");
        assert!(ends(&w), "then they end");
        assert!(released.elapsed() >= W, "not before the window is over");
    }
}
