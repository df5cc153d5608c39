//! Downloads: a fresh presigned URL, streamed to a temp file in the target
//! folder, then renamed into place, so a file at the final path is always
//! complete. An expired URL (403/404) is fetched fresh once; other
//! failures are retried by the collect phase with backoff.
//!
//! Media come from a file host (a CDN), not the API: its errors say so.

use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::heygen::{Client, Error, client::is_expired_url_status};

/// How long a media request may go without its answer's headers before a
/// second copy is sent.
const MEDIA_HEDGE_AFTER: std::time::Duration = std::time::Duration::from_secs(3);

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
    /// The URL had expired even after a fresh one was fetched (the file
    /// host's status for the fresh one).
    #[error("the download URL expired (HTTP {0})")]
    Expired(u16),
    /// The URL had expired and HeyGen's answer carried no fresh one.
    #[error("the download URL expired (no fresh URL was offered)")]
    NoFreshUrl,
    /// The file host answered with an error status.
    #[error("the file host answered HTTP {0}")]
    Host(u16),
    /// The file host could not be reached, or the transfer broke off.
    #[error("the file transfer failed: {}", crate::heygen::error::root_cause(.0.as_ref()))]
    Transfer(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The file host did not answer in time.
    #[error("the file transfer failed: no answer within {}s", .0.as_secs())]
    Stalled(std::time::Duration),
    /// Asking HeyGen for a fresh URL failed.
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
    // A file host that does not start answering within a few seconds gets
    // a second request; the first to answer is streamed.
    let fetch = |url: String| async move {
        crate::heygen::retry::hedged(MEDIA_HEDGE_AFTER, 2, || client.fetch_media(&url)).await
    };
    let resp = match fetch(url).await {
        Ok(r) => r,
        Err(e) if e.api().is_some_and(|a| is_expired_url_status(a.status)) => {
            let Some(fresh) = refresh().await? else {
                return Err(DownloadError::NoFreshUrl);
            };
            fetch(fresh).await.map_err(|e| match e.api() {
                Some(a) if is_expired_url_status(a.status) => DownloadError::Expired(a.status),
                _ => media_error(e),
            })?
        }
        Err(e) => return Err(media_error(e)),
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
        let chunk = chunk.map_err(|e| DownloadError::Transfer(Box::new(e.without_url())))?;
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

/// A file-host failure, named as one (not as an API answer).
fn media_error(e: Error) -> DownloadError {
    match e {
        Error::Api(a) => DownloadError::Host(a.status),
        Error::Network { source, .. } => DownloadError::Transfer(source),
        Error::Timeout { after, .. } => DownloadError::Stalled(after),
        other => DownloadError::Api(other),
    }
}

impl DownloadError {
    /// Whether trying again later may succeed (not a local write error).
    pub fn retryable(&self) -> bool {
        !matches!(self, DownloadError::Io { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_host_errors_are_not_reported_as_heygen_answers() {
        let body = crate::heygen::wire::ErrorBody {
            code: "internal_error".into(),
            message: "m".into(),
            param: None,
            doc_url: None,
        };
        let e = media_error(Error::from(crate::heygen::ApiError::new(503, body, None, None)));
        assert_eq!(e.to_string(), "the file host answered HTTP 503");
        assert!(e.retryable());
        let cut = media_error(Error::Network {
            method: "GET".into(),
            path: "/x".into(),
            source: "connection reset".into(),
        });
        assert!(!cut.to_string().contains("HeyGen"), "{cut}");
    }
}
