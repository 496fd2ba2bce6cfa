//! The content store: immutable blobs addressed by digest, at `<root>/blobs/<alg>/<hex>`.
//!
//! A blob becomes visible only once it is complete and verified: bytes stream into a file in
//! `<root>/ingest/` while they are hashed, the digest and size are checked, the file is synced
//! and renamed into place, and the directory is synced. A mismatch removes the temporary file.
//! Two writers of the same digest are harmless: each writes its own temporary file and the
//! rename of identical content is atomic. Leftovers in `ingest/` (a crash mid-write) are removed
//! when the store is opened, so a root must be opened by one [`ContentStore`] at a time.
//!
//! What refers to a blob (images, layers) is not this module's business: see `images`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::digest::{Algorithm, Digest, Digester};

const COPY_BUF: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("create content store directory {path}")]
    Create { path: PathBuf, #[source] source: io::Error },
    #[error("clean ingest directory {path}")]
    Clean { path: PathBuf, #[source] source: io::Error },
    #[error("read blob {digest} from its source")]
    ReadSource { digest: Digest, #[source] source: io::Error },
    #[error("write blob {digest} to {path}")]
    Write { digest: Digest, path: PathBuf, #[source] source: io::Error },
    #[error("blob {digest}: size mismatch: expected {expected} bytes, got {actual}")]
    SizeMismatch { digest: Digest, expected: u64, actual: u64 },
    #[error("blob {expected}: digest mismatch: content is {actual}")]
    DigestMismatch { expected: Digest, actual: Digest },
    #[error("commit blob {digest} to {path}")]
    Commit { digest: Digest, path: PathBuf, #[source] source: io::Error },
    #[error("blob not found: {digest}")]
    NotFound { digest: Digest },
    #[error("open blob {digest}")]
    Open { digest: Digest, #[source] source: io::Error },
    #[error("blob {digest} is larger than {limit} bytes")]
    TooLarge { digest: Digest, limit: u64 },
    #[error("delete blob {digest}")]
    Delete { digest: Digest, #[source] source: io::Error },
    #[error("list blobs in {path}")]
    List { path: PathBuf, #[source] source: io::Error },
}

/// A content-addressed blob store rooted at one directory.
#[derive(Debug)]
pub struct ContentStore {
    root: PathBuf,
    next_temp: AtomicU64,
}

impl ContentStore {
    /// Opens (creating if needed) the store at `root` and removes unfinished ingests.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let root = root.into();
        let ingest = root.join("ingest");
        for dir in [root.join("blobs").join(Algorithm::Sha256.as_str()), ingest.clone()] {
            fs::create_dir_all(&dir).map_err(|source| StoreError::Create { path: dir.clone(), source })?;
        }
        let clean = |source| StoreError::Clean { path: ingest.clone(), source };
        for entry in fs::read_dir(&ingest).map_err(clean)? {
            let path = entry.map_err(clean)?.path();
            fs::remove_file(&path).or_else(|e| match e.kind() {
                io::ErrorKind::NotFound => Ok(()),
                _ => Err(e),
            }).map_err(clean)?;
        }
        Ok(ContentStore { root, next_temp: AtomicU64::new(0) })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob `digest` lives (whether or not it exists).
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root.join("blobs").join(digest.algorithm().as_str()).join(digest.hex())
    }

    pub fn exists(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    /// Streams `reader` into the store as `expected`, verifying digest and (if given) size.
    /// Returns the blob's size. A blob already present is not read again.
    pub fn ingest(&self, mut reader: impl Read, expected: &Digest, expected_size: Option<u64>) -> Result<u64, StoreError> {
        if let Ok(meta) = fs::metadata(self.blob_path(expected)) {
            if expected_size.is_none_or(|s| s == meta.len()) {
                return Ok(meta.len());
            }
        }
        let mut w = self.begin(expected.clone(), expected_size)?;
        let mut buf = vec![0u8; COPY_BUF];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => return Err(StoreError::ReadSource { digest: expected.clone(), source }),
            };
            w.write_chunk(&buf[..n])?;
        }
        w.commit()
    }

    /// Starts writing the blob `expected`; feed it with [`BlobWriter::write_chunk`] (or as an
    /// `io::Write`), then [`BlobWriter::commit`]. Dropping it uncommitted removes the temporary.
    pub fn begin(&self, expected: Digest, expected_size: Option<u64>) -> Result<BlobWriter<'_>, StoreError> {
        let dir = self.root.join("ingest");
        loop {
            let n = self.next_temp.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(format!("{}-{}-{n}", expected.hex(), std::process::id()));
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => {
                    return Ok(BlobWriter {
                        store: self,
                        digester: Digester::new(expected.algorithm()),
                        expected,
                        expected_size,
                        file: Some(file),
                        path,
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(source) => return Err(StoreError::Write { digest: expected, path, source }),
            }
        }
    }

    /// Opens a blob for reading.
    pub fn open_blob(&self, digest: &Digest) -> Result<File, StoreError> {
        File::open(self.blob_path(digest)).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => StoreError::NotFound { digest: digest.clone() },
            _ => StoreError::Open { digest: digest.clone(), source },
        })
    }

    /// Reads a small blob (manifest, config, index) whole, refusing one over `limit` bytes.
    pub fn read_blob(&self, digest: &Digest, limit: u64) -> Result<Vec<u8>, StoreError> {
        let file = self.open_blob(digest)?;
        let mut data = Vec::new();
        file.take(limit + 1)
            .read_to_end(&mut data)
            .map_err(|source| StoreError::Open { digest: digest.clone(), source })?;
        if data.len() as u64 > limit {
            return Err(StoreError::TooLarge { digest: digest.clone(), limit });
        }
        Ok(data)
    }

    /// Size of a stored blob.
    pub fn size(&self, digest: &Digest) -> Result<u64, StoreError> {
        fs::metadata(self.blob_path(digest)).map(|m| m.len()).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => StoreError::NotFound { digest: digest.clone() },
            _ => StoreError::Open { digest: digest.clone(), source },
        })
    }

    /// Deletes a blob; `Ok(false)` when it was not there.
    pub fn delete(&self, digest: &Digest) -> Result<bool, StoreError> {
        match fs::remove_file(self.blob_path(digest)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(StoreError::Delete { digest: digest.clone(), source }),
        }
    }

    /// Every blob in the store, sorted. Files whose names are not digests are skipped.
    pub fn list(&self) -> Result<Vec<Digest>, StoreError> {
        let blobs = self.root.join("blobs");
        let list_err = |path: &Path| {
            let path = path.to_owned();
            move |source| StoreError::List { path, source }
        };
        let mut out = Vec::new();
        for alg in fs::read_dir(&blobs).map_err(list_err(&blobs))? {
            let alg = alg.map_err(list_err(&blobs))?;
            let alg_dir = alg.path();
            let Some(alg_name) = alg.file_name().to_str().map(str::to_owned) else { continue };
            for blob in fs::read_dir(&alg_dir).map_err(list_err(&alg_dir))? {
                let blob = blob.map_err(list_err(&alg_dir))?;
                if let Some(d) = blob.file_name().to_str().and_then(|h| Digest::parse(&format!("{alg_name}:{h}")).ok()) {
                    out.push(d);
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

/// An unfinished blob: bytes written here are hashed and land in `ingest/` until
/// [`BlobWriter::commit`] checks them and makes the blob visible.
pub struct BlobWriter<'s> {
    store: &'s ContentStore,
    expected: Digest,
    expected_size: Option<u64>,
    digester: Digester,
    file: Option<File>,
    path: PathBuf,
}

impl BlobWriter<'_> {
    pub fn digest(&self) -> &Digest {
        &self.expected
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.digester.len()
    }

    pub fn write_chunk(&mut self, data: &[u8]) -> Result<(), StoreError> {
        let written = self.digester.len() + data.len() as u64;
        if let Some(expected) = self.expected_size.filter(|&s| written > s) {
            return Err(StoreError::SizeMismatch { digest: self.expected.clone(), expected, actual: written });
        }
        let file = self.file.as_mut().expect("file is present until commit");
        file.write_all(data).map_err(|source| StoreError::Write {
            digest: self.expected.clone(),
            path: self.path.clone(),
            source,
        })?;
        self.digester.update(data);
        Ok(())
    }

    /// Verifies size and digest, syncs, and moves the blob into place. Returns its size.
    pub fn commit(mut self) -> Result<u64, StoreError> {
        let size = self.digester.len();
        if let Some(expected) = self.expected_size.filter(|&s| s != size) {
            return Err(StoreError::SizeMismatch { digest: self.expected.clone(), expected, actual: size });
        }
        let digester = std::mem::replace(&mut self.digester, Digester::new(self.expected.algorithm()));
        let actual = digester.finish();
        if actual != self.expected {
            return Err(StoreError::DigestMismatch { expected: self.expected.clone(), actual });
        }
        let file = self.file.take().expect("file is present until commit");
        let target = self.store.blob_path(&self.expected);
        let commit_err = |source| StoreError::Commit { digest: self.expected.clone(), path: target.clone(), source };
        file.sync_all().map_err(commit_err)?;
        drop(file);
        let dir = target.parent().expect("a blob path has a parent");
        fs::create_dir_all(dir).map_err(commit_err)?;
        fs::rename(&self.path, &target).map_err(commit_err)?;
        sync_dir(dir).map_err(commit_err)?;
        self.path = PathBuf::new(); // renamed: nothing left to remove on drop
        Ok(size)
    }
}

impl Write for BlobWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_chunk(buf).map_err(io::Error::other)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for BlobWriter<'_> {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// A reader that copies everything it reads into a [`BlobWriter`]: lets a layer be stored and
/// unpacked from one stream. Call [`TeeReader::commit`] once the consumer has read to the end.
pub struct TeeReader<'s, R> {
    inner: R,
    writer: BlobWriter<'s>,
}

impl<'s, R: Read> TeeReader<'s, R> {
    pub fn new(inner: R, writer: BlobWriter<'s>) -> Self {
        TeeReader { inner, writer }
    }

    /// Drains whatever the consumer left unread (tar padding), then commits the blob.
    pub fn commit(mut self) -> Result<u64, StoreError> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match self.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => return Err(StoreError::ReadSource { digest: self.writer.expected.clone(), source }),
            }
        }
        self.writer.commit()
    }
}

impl<R: Read> Read for TeeReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.writer.write_chunk(&buf[..n]).map_err(io::Error::other)?;
        Ok(n)
    }
}

/// Syncs a directory so that a rename inside it survives a crash.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, ContentStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ContentStore::open(dir.path().join("content")).expect("open store");
        (dir, store)
    }

    fn ingest_is_empty(store: &ContentStore) -> bool {
        fs::read_dir(store.root().join("ingest")).expect("read ingest").next().is_none()
    }

    #[test]
    fn good_blob_is_stored_and_listed() {
        let (_dir, store) = store();
        let data = b"hello berth".repeat(100_000);
        let d = Digest::sha256_of(&data);
        assert!(!store.exists(&d));
        assert_eq!(store.ingest(&data[..], &d, Some(data.len() as u64)).expect("ingest"), data.len() as u64);
        assert!(store.exists(&d));
        assert_eq!(store.read_blob(&d, 10 << 20).expect("read"), data);
        assert_eq!(store.size(&d).expect("size"), data.len() as u64);
        assert_eq!(store.list().expect("list"), vec![d.clone()]);
        assert!(matches!(store.read_blob(&d, 10), Err(StoreError::TooLarge { .. })));
        // a second ingest of a present blob does not read its source
        assert!(store.ingest(FailingReader, &d, None).is_ok());
        assert!(store.delete(&d).expect("delete"));
        assert!(!store.delete(&d).expect("delete again"));
        assert!(matches!(store.open_blob(&d), Err(StoreError::NotFound { .. })));
        assert!(ingest_is_empty(&store));
    }

    #[test]
    fn wrong_digest_is_refused_and_leaves_nothing() {
        let (_dir, store) = store();
        let claimed = Digest::sha256_of(b"something else");
        let err = store.ingest(&b"payload"[..], &claimed, None).expect_err("mismatch");
        assert!(matches!(err, StoreError::DigestMismatch { .. }), "{err}");
        assert!(err.to_string().starts_with(&format!("blob {claimed}: digest mismatch: content is sha256:")), "{err}");
        assert!(!store.exists(&claimed));
        assert!(store.list().expect("list").is_empty());
        assert!(ingest_is_empty(&store));
    }

    #[test]
    fn truncated_or_overlong_input_is_refused() {
        let (_dir, store) = store();
        let data = vec![7u8; 4096];
        let d = Digest::sha256_of(&data);
        let err = store.ingest(&data[..1000], &d, Some(4096)).expect_err("truncated");
        assert!(matches!(err, StoreError::SizeMismatch { expected: 4096, actual: 1000, .. }), "{err}");
        // truncated without a size: the digest catches it
        let err = store.ingest(&data[..1000], &d, None).expect_err("truncated");
        assert!(matches!(err, StoreError::DigestMismatch { .. }), "{err}");
        // longer than announced: stops at the limit
        let err = store.ingest(&data[..], &d, Some(100)).expect_err("too long");
        assert!(matches!(err, StoreError::SizeMismatch { expected: 100, .. }), "{err}");
        // a source that fails mid-way
        let err = store.ingest(FailingReader, &d, None).expect_err("read error");
        assert!(matches!(err, StoreError::ReadSource { .. }), "{err}");
        assert!(!store.exists(&d));
        assert!(ingest_is_empty(&store));
    }

    #[test]
    fn concurrent_ingest_of_one_digest_is_safe() {
        let (_dir, store) = store();
        let data = (0..2_000_000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>();
        let d = Digest::sha256_of(&data);
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| store.begin(d.clone(), None).and_then(|mut w| {
                    for chunk in data.chunks(8192) {
                        w.write_chunk(chunk)?;
                    }
                    w.commit()
                })))
                .collect();
            for h in handles {
                assert_eq!(h.join().expect("thread").expect("ingest"), data.len() as u64);
            }
        });
        assert_eq!(store.read_blob(&d, 10 << 20).expect("read"), data);
        assert_eq!(store.list().expect("list"), vec![d]);
        assert!(ingest_is_empty(&store));
    }

    #[test]
    fn leftovers_are_removed_at_open() {
        let (dir, store) = store();
        let leftover = store.root().join("ingest").join("deadbeef-1-0");
        fs::write(&leftover, b"half a blob").expect("write leftover");
        drop(store);
        let store = ContentStore::open(dir.path().join("content")).expect("reopen");
        assert!(!leftover.exists());
        assert!(ingest_is_empty(&store));
    }

    #[test]
    fn tee_reader_stores_what_the_consumer_reads() {
        let (_dir, store) = store();
        let data = b"layer bytes".repeat(1000);
        let d = Digest::sha256_of(&data);
        let mut tee = TeeReader::new(&data[..], store.begin(d.clone(), Some(data.len() as u64)).expect("begin"));
        let mut head = [0u8; 100];
        tee.read_exact(&mut head).expect("read head");
        assert_eq!(tee.commit().expect("commit"), data.len() as u64);
        assert_eq!(store.read_blob(&d, 1 << 20).expect("read"), data);
    }

    struct FailingReader;
    impl Read for FailingReader {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("connection reset"))
        }
    }
}
