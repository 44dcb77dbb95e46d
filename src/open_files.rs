//! The process's open-file budget. Every connection is a file
//! descriptor, and the soft `RLIMIT_NOFILE` is often 1024, far below the
//! hard limit: at start the soft limit is raised to the hard one, and the
//! connection cap is kept low enough that a full server refuses
//! connections with a 503 instead of failing `accept` with `Too many open
//! files`.

use std::sync::OnceLock;

/// Descriptors kept for everything but connections: the store, the FAQ
/// index, the model runtime, the listener, and connections being refused
/// (`transport::listener`).
const RESERVED: u64 = 256;

/// Raise the soft open-file limit to the hard limit, once per process,
/// and log the limit in force; if it cannot be raised, log why and go on
/// with the current one. `None` if the limit is unknown.
pub(crate) fn raise() -> Option<u64> {
    static LIMIT: OnceLock<Option<u64>> = OnceLock::new();
    *LIMIT.get_or_init(|| {
        let before = soft_limit();
        match rlimit::increase_nofile_limit(u64::MAX) {
            Ok(limit) => {
                match before {
                    Some(was) if was < limit => {
                        tracing::info!(open_files = limit, raised_from = was, "open-file limit")
                    }
                    _ => tracing::info!(open_files = limit, "open-file limit"),
                }
                Some(limit)
            }
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    open_files = ?before,
                    "cannot raise the open-file limit to its hard limit; going on with the current one"
                );
                before
            }
        }
    })
}

#[cfg(unix)]
fn soft_limit() -> Option<u64> {
    rlimit::Resource::NOFILE.get_soft().ok()
}

#[cfg(not(unix))]
fn soft_limit() -> Option<u64> {
    None
}

/// The connection cap in force: `configured`, lowered when the
/// open-file limit leaves room for fewer connections.
pub(crate) fn connection_cap(configured: usize, open_files: Option<u64>) -> usize {
    let Some(limit) = open_files else {
        return configured;
    };
    let fits = usize::try_from(limit.saturating_sub(RESERVED))
        .unwrap_or(usize::MAX)
        .max(1);
    if configured <= fits {
        return configured;
    }
    tracing::warn!(
        max_connections = configured,
        open_files = limit,
        cap = fits,
        "limits.max_connections is above what the open-file limit allows; capping it. \
         Raise the hard limit (LimitNOFILE= in systemd, ulimit -Hn) to allow more"
    );
    fits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_below_the_open_file_limit() {
        assert_eq!(connection_cap(10_000, None), 10_000);
        assert_eq!(connection_cap(10_000, Some(1_048_576)), 10_000);
        assert_eq!(connection_cap(10_000, Some(1024)), 1024 - 256);
        assert_eq!(connection_cap(10_000, Some(10)), 1);
    }

    #[test]
    fn raising_is_idempotent() {
        let first = raise();
        assert_eq!(raise(), first);
        if let (Some(limit), Some(soft)) = (first, soft_limit()) {
            assert_eq!(soft, limit);
        }
    }
}
