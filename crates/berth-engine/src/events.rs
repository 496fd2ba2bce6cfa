//! The event bus: every lifecycle change is published here; `/events` subscribers get them
//! live, and the last ones are kept for `since`.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use berth_api_types::system::{EventActor, EventMessage};
use tokio::sync::broadcast;

/// Events kept for `since` queries.
const KEPT: usize = 1024;

pub struct Events {
    tx: broadcast::Sender<EventMessage>,
    recent: Mutex<VecDeque<EventMessage>>,
}

impl Default for Events {
    fn default() -> Self {
        Events { tx: broadcast::channel(KEPT).0, recent: Mutex::new(VecDeque::with_capacity(KEPT)) }
    }
}

impl Events {
    /// Publishes an event about `kind` object `id` with its attributes.
    pub fn publish(&self, kind: &str, action: &str, id: &str, attributes: BTreeMap<String, String>) {
        let nanos = crate::time::now_nanos();
        let container = kind == "container";
        let ev = EventMessage {
            kind: kind.into(),
            action: action.into(),
            actor: EventActor { id: id.into(), attributes: attributes.clone() },
            scope: Some("local".into()),
            time: (nanos / 1_000_000_000) as i64,
            time_nano: nanos as i64,
            status: container.then(|| action.to_owned()),
            id: container.then(|| id.to_owned()),
            from: if container { attributes.get("image").cloned() } else { None },
        };
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if recent.len() == KEPT {
            recent.pop_front();
        }
        recent.push_back(ev.clone());
        // Sent under the lock, so a subscriber that took `recent` then subscribed misses nothing.
        let _ = self.tx.send(ev);
    }

    /// The kept events and a receiver for what follows, with nothing lost or repeated between.
    pub fn subscribe(&self) -> (Vec<EventMessage>, broadcast::Receiver<EventMessage>) {
        let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        (recent.iter().cloned().collect(), self.tx.subscribe())
    }
}
