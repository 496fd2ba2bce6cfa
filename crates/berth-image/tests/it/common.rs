//! Helpers shared by the tests: a tar writer that can also write what the `tar` crate refuses.

use std::io::Write;

use tar::{EntryType, Header};

pub const MTIME: u64 = 1_700_000_000;

/// Builds a layer tar entry by entry, with raw names (so `../x` and `/abs` can be written).
pub struct Layer {
    b: tar::Builder<Vec<u8>>,
}

impl Layer {
    pub fn new() -> Self {
        Layer { b: tar::Builder::new(Vec::new()) }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn raw(&mut self, name: &str, kind: EntryType, link: &str, data: &[u8], mode: u32, owner: (u64, u64)) -> &mut Self {
        let mut h = Header::new_gnu();
        {
            let gnu = h.as_gnu_mut().expect("gnu header");
            assert!(name.len() < 100 && link.len() < 100, "test names must be short");
            gnu.name[..name.len()].copy_from_slice(name.as_bytes());
            gnu.linkname[..link.len()].copy_from_slice(link.as_bytes());
        }
        h.set_entry_type(kind);
        h.set_size(data.len() as u64);
        h.set_mode(mode);
        h.set_uid(owner.0);
        h.set_gid(owner.1);
        h.set_mtime(MTIME);
        h.set_cksum();
        self.b.append(&h, data).expect("append entry");
        self
    }

    pub fn dir(&mut self, name: &str, mode: u32) -> &mut Self {
        self.raw(name, EntryType::Directory, "", b"", mode, (0, 0))
    }

    pub fn file(&mut self, name: &str, data: &[u8]) -> &mut Self {
        self.raw(name, EntryType::Regular, "", data, 0o644, (0, 0))
    }

    pub fn symlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.raw(name, EntryType::Symlink, target, b"", 0o777, (0, 0))
    }

    pub fn hardlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.raw(name, EntryType::Link, target, b"", 0o644, (0, 0))
    }

    pub fn device(&mut self, name: &str, kind: EntryType, major: u32, minor: u32) -> &mut Self {
        let mut h = Header::new_gnu();
        h.set_path(name).expect("device name");
        h.set_entry_type(kind);
        h.set_size(0);
        h.set_mode(0o666);
        h.set_device_major(major).expect("major");
        h.set_device_minor(minor).expect("minor");
        h.set_mtime(MTIME);
        h.set_cksum();
        self.b.append(&h, &b""[..]).expect("append device");
        self
    }

    /// A PAX extended header that applies to the next entry.
    pub fn pax(&mut self, records: &[(&str, &[u8])]) -> &mut Self {
        let mut data = Vec::new();
        for (k, v) in records {
            // "<len> <key>=<value>\n" where len counts itself
            let body = k.len() + v.len() + 3;
            let mut len = body + 1;
            while len.to_string().len() + body != len {
                len += 1;
            }
            write!(data, "{len} {k}=").expect("write");
            data.extend_from_slice(v);
            data.push(b'\n');
        }
        let mut h = Header::new_ustar();
        h.set_path("PaxHeaders/x").expect("pax name");
        h.set_entry_type(EntryType::XHeader);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        self.b.append(&h, &data[..]).expect("append pax");
        self
    }

    pub fn finish(&mut self) -> Vec<u8> {
        let b = std::mem::replace(&mut self.b, tar::Builder::new(Vec::new()));
        b.into_inner().expect("finish tar")
    }
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip finish")
}

pub fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 3).expect("zstd")
}

/// Names in `dir`, sorted.
pub fn names(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}
