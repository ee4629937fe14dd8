//! Where media bytes live. A trait, so object storage can replace the local directory.

use std::{io, path::PathBuf};

use bytes::Bytes;
use futures::{future::BoxFuture, stream::BoxStream, StreamExt};

pub trait MediaStore: Send + Sync {
    /// Stores `bytes` under `key` (written whole or not at all).
    fn put<'a>(&'a self, key: &'a str, bytes: &'a [u8]) -> BoxFuture<'a, io::Result<()>>;
    /// The bytes under `key`, whole (for uploads and transcription).
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<Vec<u8>>>;
    /// The bytes under `key` as a stream (for serving large files).
    fn stream<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, io::Result<BoxStream<'static, io::Result<Bytes>>>>;
    /// Removes the bytes under `key`; a key with nothing under it is not an error (an erase
    /// that is run again, or one cut off after some files went, finishes the rest).
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<()>>;
}

/// Files under one directory (`<data dir>/media` by default).
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    pub fn new(root: PathBuf) -> io::Result<Self> {
        std::fs::create_dir_all(&root)?;
        Ok(Self { root })
    }

    fn path(&self, key: &str) -> io::Result<PathBuf> {
        // Keys are ours (random tokens), but never let one leave the root.
        if key.is_empty()
            || key.contains("..")
            || key.starts_with('/')
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_'))
        {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "bad media key"));
        }
        Ok(self.root.join(key))
    }
}

impl MediaStore for LocalStore {
    fn put<'a>(&'a self, key: &'a str, bytes: &'a [u8]) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            let path = self.path(key)?;
            if let Some(dir) = path.parent() {
                tokio::fs::create_dir_all(dir).await?;
            }
            // Write then rename: a crash never leaves a half file under the key.
            let tmp = path.with_extension("part");
            tokio::fs::write(&tmp, bytes).await?;
            tokio::fs::rename(&tmp, &path).await
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<Vec<u8>>> {
        Box::pin(async move { tokio::fs::read(self.path(key)?).await })
    }

    fn stream<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, io::Result<BoxStream<'static, io::Result<Bytes>>>> {
        Box::pin(async move {
            let file = tokio::fs::File::open(self.path(key)?).await?;
            Ok(tokio_util::io::ReaderStream::new(file).boxed())
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            match tokio::fs::remove_file(self.path(key)?).await {
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                other => other,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn put_get_stream_and_bad_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = LocalStore::new(dir.path().join("media")).expect("store");
        s.put("ab/cd", b"hello").await.expect("put");
        assert_eq!(s.get("ab/cd").await.expect("get"), b"hello");
        let mut st = s.stream("ab/cd").await.expect("stream");
        let mut got = Vec::new();
        while let Some(chunk) = st.next().await {
            got.extend_from_slice(&chunk.expect("chunk"));
        }
        assert_eq!(got, b"hello");
        for bad in ["", "../x", "/etc/passwd", "a/../../b", "a.b"] {
            assert!(s.put(bad, b"x").await.is_err(), "{bad}");
        }
        assert!(s.get("ab/missing").await.is_err());
        s.delete("ab/cd").await.expect("delete");
        assert!(s.get("ab/cd").await.is_err(), "gone");
        s.delete("ab/cd").await.expect("deleting again is fine");
        assert!(s.delete("../x").await.is_err());
    }
}
