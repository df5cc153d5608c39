//! Downloads: a fresh presigned URL, streamed to a temp file in the target
//! folder, then renamed into place, so a file at the final path is always
//! complete. An expired URL (403/404) is fetched fresh once.

use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::heygen::{Client, Error, client::is_expired_url_status};

/// A finished download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    /// Where it is.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
}

/// Why a download failed.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// The URL had expired even after a fresh one was fetched.
    #[error("the download URL expired ({0})")]
    Expired(String),
    /// HeyGen or the network failed.
    #[error(transparent)]
    Api(#[from] Error),
    /// The file could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// Target.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

/// Streams `url` to `target` (temp file + rename). When the URL has
/// expired, `refresh` is asked once for a fresh one.
pub async fn download<F, Fut>(
    client: &Client,
    url: String,
    target: &Path,
    refresh: F,
) -> Result<Downloaded, DownloadError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Option<String>, Error>>,
{
    let resp = match client.fetch_media(&url).await {
        Ok(r) => r,
        Err(e) if e.api().is_some_and(|a| is_expired_url_status(a.status)) => {
            let Some(fresh) = refresh().await? else {
                return Err(DownloadError::Expired("no fresh URL was offered".into()));
            };
            client.fetch_media(&fresh).await.map_err(|e| match e.api() {
                Some(a) if is_expired_url_status(a.status) => {
                    DownloadError::Expired(format!("HTTP {}", a.status))
                }
                _ => DownloadError::Api(e),
            })?
        }
        Err(e) => return Err(e.into()),
    };
    let io = |source: std::io::Error| DownloadError::Io { path: target.to_owned(), source };
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    tokio::fs::create_dir_all(&dir).await.map_err(io)?;
    let mut builder = tempfile::Builder::new();
    // Created like any file a program writes (0666 less the umask), not
    // tempfile's private 0600: downloaded videos are meant to be shared.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let tmp = builder.prefix(".reelflow-download-").suffix(".tmp").tempfile_in(&dir).map_err(io)?;
    let (std_file, tmp_path) = tmp.into_parts();
    let mut file = tokio::fs::File::from_std(std_file);
    let mut bytes = 0u64;
    let mut body = resp.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| {
            DownloadError::Api(Error::Network {
                method: "GET".into(),
                path: "media".into(),
                reason: e.to_string(),
            })
        })?;
        bytes += chunk.len() as u64;
        file.write_all(&chunk).await.map_err(io)?;
    }
    file.flush().await.map_err(io)?;
    file.sync_all().await.map_err(io)?;
    drop(file);
    // Rename over the target: a reader never sees a partial file.
    tmp_path.persist(target).map_err(|e| io(e.error))?;
    Ok(Downloaded { path: target.to_owned(), bytes })
}
