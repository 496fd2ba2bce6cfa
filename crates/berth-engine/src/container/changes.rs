//! `GET /containers/{id}/changes` (docker diff) and `POST /containers/prune`.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use berth_api_types::container::{ContainerChange, ContainerPruneResponse};
use berth_api_types::Filters;

use super::record::Record;
use crate::error::{Error, Result};
use crate::policy::Principal;
use crate::Engine;

/// Docker's kinds: 0 modified, 1 added, 2 deleted.
const MODIFIED: u8 = 0;
const ADDED: u8 = 1;
const DELETED: u8 = 2;

/// The changes an overlay upper directory records against its lower layers: a whiteout (a 0/0
/// character device) is a deletion; an entry that exists in a lower layer is a modification,
/// else an addition. Directories that exist below are walked into.
pub fn upper_changes(upper: &Path, lowers: &[std::path::PathBuf]) -> Vec<ContainerChange> {
    let mut out = Vec::new();
    let mut stack = vec![std::path::PathBuf::from("/")];
    while let Some(rel) = stack.pop() {
        let dir = upper.join(rel.strip_prefix("/").unwrap_or(&rel));
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut names: Vec<_> = entries.flatten().collect();
        names.sort_by_key(|e| e.file_name());
        for e in names {
            let path = rel.join(e.file_name());
            let Ok(m) = e.metadata() else { continue };
            let inner = path.strip_prefix("/").unwrap_or(&path);
            let below = lowers.iter().any(|l| std::fs::symlink_metadata(l.join(inner)).is_ok());
            let kind = if m.file_type().is_char_device() && m.rdev() == 0 {
                DELETED
            } else if below {
                MODIFIED
            } else {
                ADDED
            };
            out.push(ContainerChange { path: path.to_string_lossy().into_owned(), kind });
            if m.is_dir() && kind == MODIFIED {
                stack.push(path);
            } else if m.is_dir() && kind == ADDED {
                // Everything inside an added directory is added too.
                let mut inner_stack = vec![path];
                while let Some(p) = inner_stack.pop() {
                    for c in std::fs::read_dir(upper.join(p.strip_prefix("/").unwrap_or(&p))).into_iter().flatten().flatten() {
                        let cp = p.join(c.file_name());
                        if c.file_type().is_ok_and(|t| t.is_dir()) {
                            inner_stack.push(cp.clone());
                        }
                        out.push(ContainerChange { path: cp.to_string_lossy().into_owned(), kind: ADDED });
                    }
                }
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

impl Engine {
    pub fn changes(&self, principal: &Principal, key: &str) -> Result<Vec<ContainerChange>> {
        let ctr = self.find(principal, key)?;
        let image = ctr.rec().image.clone();
        let upper = Record::dir(&self.cfg.containers_dir(), &ctr.id).join("fs/upper");
        let lowers = match self.images.lookup(&image) {
            Ok(i) => self.images.container_lowers(&i).map_err(Error::Image)?,
            Err(_) => Vec::new(),
        };
        Ok(upper_changes(&upper, &lowers))
    }

    /// Removes every stopped container `principal` may see that the filters (`until`,
    /// `label`, `label!`) select.
    pub async fn prune(self: &std::sync::Arc<Self>, principal: &Principal, filters: &Filters) -> Result<ContainerPruneResponse> {
        filters.validate(&["until", "label", "label!"]).map_err(|e| Error::InvalidParameter(e.to_string()))?;
        let until = crate::time::until_filter(filters)?;
        let mut deleted = Vec::new();
        let mut reclaimed = 0u64;
        for c in self.visible(principal) {
            let keep = {
                let r = c.rec();
                let labels = r.config.labels.clone().unwrap_or_default();
                r.state.status.is_live()
                    || r.state.status == super::record::Status::Restarting
                    || until.is_some_and(|u| crate::time::parse_rfc3339(&r.created).is_some_and(|t| t > u))
                    || !filters.labels_match(&labels)
            };
            if keep {
                continue;
            }
            let size = super::inspect::du(&Record::dir(&self.cfg.containers_dir(), &c.id).join("fs/upper"));
            let _op = c.op.lock().await;
            if self.remove_locked(&c, false, None).await.is_ok() {
                deleted.push(c.id.clone());
                reclaimed += size;
            }
        }
        Ok(ContainerPruneResponse { containers_deleted: Some(deleted), space_reclaimed: reclaimed })
    }
}
