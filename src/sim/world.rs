//! A durable simulated world in an SQLite file, shared like a server.
//!
//! Every simulator that opens the same file (threads, processes, a
//! `reelflow --sim` in another terminal) sees the same accounts, videos,
//! wallets and idempotency keys. Each request works under the file's write
//! lock: it first reads what others changed since it last looked (rows
//! carry the revision that wrote them), then writes what it changed, in one
//! transaction. So a SIGKILL loses nothing that was answered, ids come from
//! one counter and are never reused (the counter survives `sim reset`, and
//! a random per-world nonce keeps a new file's ids apart from an old
//! one's), and renders progress by the clock whether or not a process is
//! alive, because a video is its creation time and render time.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior, params};

use super::state::{Account, IdemEntry, SimVideo};

/// How long a process waits for another's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the world file cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("simulator world {path}: {message}")]
pub struct WorldError {
    /// The file.
    pub path: PathBuf,
    /// What went wrong, and what to do.
    pub message: String,
}

impl From<WorldError> for std::io::Error {
    fn from(e: WorldError) -> Self {
        std::io::Error::other(e.to_string())
    }
}

/// An open world file.
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    conn: Connection,
    /// The revision this process has read up to.
    rev: i64,
    /// The reset generation this process has read.
    epoch: i64,
    /// Whether a write transaction is open.
    in_tx: bool,
    /// Random text mixed into video ids, fixed when the file is created.
    pub nonce: String,
}

/// What [`Store::sync`] found: changes to fold into memory.
#[derive(Debug, Default)]
pub struct Changes {
    /// The world was reset (or is being read for the first time): drop
    /// everything held in memory before applying the rest.
    pub reload: bool,
    /// `(key, wallet)` of accounts written since.
    pub accounts: Vec<(String, f64)>,
    /// `(account, video)` written since, in creation order.
    pub videos: Vec<(String, SimVideo)>,
    /// `(account, scope, entry)`; `None` removes the key.
    pub idempotency: Vec<(String, String, Option<IdemEntry>)>,
    /// The id counter.
    pub counter: u64,
    /// The wallet new accounts start with, when `sim wallet --set` or the
    /// balance variable set one.
    pub default_balance: Option<f64>,
}

fn sql_err(path: &Path, e: rusqlite::Error) -> WorldError {
    let message = match &e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::NotADatabase => {
            "is not a simulator world (an SQLite file); delete it, or point REELFLOW_SIM_STATE \
             elsewhere"
                .to_owned()
        }
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DatabaseBusy => {
            format!("another process held it for more than {} s; try again", BUSY_TIMEOUT.as_secs())
        }
        _ => e.to_string(),
    };
    WorldError { path: path.to_owned(), message }
}

impl Store {
    /// Opens (creating if needed) the world file at `path`.
    pub fn open(path: &Path) -> Result<Store, WorldError> {
        let err = |e| sql_err(path, e);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| WorldError {
                path: path.to_owned(),
                message: format!("cannot create its folder: {e}"),
            })?;
        }
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
        // WAL: readers never wait for the writer, and a killed process
        // leaves the file consistent (the last committed transaction wins).
        conn.pragma_update(None, "journal_mode", "WAL").map_err(err)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(err)?;
        let mut store = Store {
            path: path.to_owned(),
            conn,
            rev: 0,
            epoch: -1,
            in_tx: false,
            nonce: String::new(),
        };
        store.init().map_err(err)?;
        Ok(store)
    }

    fn init(&mut self) -> rusqlite::Result<()> {
        let nonce = format!("{:016x}", rand::random::<u64>());
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v ANY);
             CREATE TABLE IF NOT EXISTS accounts (
                 key TEXT PRIMARY KEY, wallet_usd REAL NOT NULL, rev INTEGER NOT NULL);
             CREATE INDEX IF NOT EXISTS accounts_rev ON accounts(rev);
             CREATE TABLE IF NOT EXISTS videos (
                 id TEXT PRIMARY KEY, account TEXT NOT NULL, seq INTEGER NOT NULL,
                 body TEXT NOT NULL, rev INTEGER NOT NULL);
             CREATE INDEX IF NOT EXISTS videos_rev ON videos(rev);
             CREATE TABLE IF NOT EXISTS idempotency (
                 account TEXT NOT NULL, scope TEXT NOT NULL, body TEXT, rev INTEGER NOT NULL,
                 PRIMARY KEY (account, scope));
             CREATE INDEX IF NOT EXISTS idempotency_rev ON idempotency(rev);
             INSERT OR IGNORE INTO meta VALUES ('schema', 1), ('rev', 0), ('epoch', 0),
                 ('counter', 0), ('default_balance', NULL);",
        )?;
        tx.execute("INSERT OR IGNORE INTO meta VALUES ('nonce', ?1)", [&nonce])?;
        let schema: i64 =
            tx.query_row("SELECT v FROM meta WHERE k = 'schema'", [], |r| r.get(0))?;
        if schema != 1 {
            return Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_MISMATCH),
                Some(format!("world schema {schema} is newer than this reelflow understands")),
            ));
        }
        self.nonce = tx.query_row("SELECT v FROM meta WHERE k = 'nonce'", [], |r| r.get(0))?;
        tx.commit()
    }

    /// Whether a write transaction is open (the lock is held).
    pub fn in_tx(&self) -> bool {
        self.in_tx
    }

    fn meta_i64(&self, k: &str) -> rusqlite::Result<i64> {
        self.conn.query_row("SELECT v FROM meta WHERE k = ?1", [k], |r| r.get(0))
    }

    /// Takes the write lock and reads what changed since the last call.
    pub fn begin(&mut self) -> Result<Changes, WorldError> {
        if !self.in_tx {
            self.conn.execute_batch("BEGIN IMMEDIATE").map_err(|e| sql_err(&self.path, e))?;
            self.in_tx = true;
        }
        match self.read_changes() {
            Ok(c) => Ok(c),
            Err(e) => {
                self.rollback();
                Err(sql_err(&self.path, e))
            }
        }
    }

    fn read_changes(&mut self) -> rusqlite::Result<Changes> {
        let (rev, epoch) = (self.meta_i64("rev")?, self.meta_i64("epoch")?);
        let mut c = Changes::default();
        if epoch != self.epoch {
            c.reload = true;
            self.rev = 0;
            self.epoch = epoch;
        } else if rev == self.rev {
            c.counter = self.meta_i64("counter")? as u64;
            c.default_balance = self.default_balance()?;
            return Ok(c);
        }
        let since = self.rev;
        let mut q =
            self.conn.prepare_cached("SELECT key, wallet_usd FROM accounts WHERE rev > ?1")?;
        c.accounts =
            q.query_map([since], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
        drop(q);
        let mut q = self
            .conn
            .prepare_cached("SELECT account, body FROM videos WHERE rev > ?1 ORDER BY seq")?;
        let rows: Vec<(String, String)> =
            q.query_map([since], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
        drop(q);
        for (account, body) in rows {
            // A row this reelflow cannot read is skipped, not fatal: the
            // rest of the world stays usable.
            if let Ok(v) = serde_json::from_str::<SimVideo>(&body) {
                c.videos.push((account, v));
            }
        }
        let mut q = self
            .conn
            .prepare_cached("SELECT account, scope, body FROM idempotency WHERE rev > ?1")?;
        let rows: Vec<(String, String, Option<String>)> = q
            .query_map([since], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        drop(q);
        c.idempotency = rows
            .into_iter()
            .map(|(a, s, b)| (a, s, b.and_then(|b| serde_json::from_str(&b).ok())))
            .collect();
        c.counter = self.meta_i64("counter")? as u64;
        c.default_balance = self.default_balance()?;
        self.rev = rev;
        Ok(c)
    }

    fn default_balance(&self) -> rusqlite::Result<Option<f64>> {
        self.conn.query_row("SELECT v FROM meta WHERE k = 'default_balance'", [], |r| r.get(0))
    }

    /// Writes what changed and commits, releasing the lock.
    pub fn commit(&mut self, w: &mut Pending<'_>) -> Result<(), WorldError> {
        if !self.in_tx {
            return Ok(());
        }
        let result = self.write(w).and_then(|()| self.conn.execute_batch("COMMIT"));
        self.in_tx = false;
        if let Err(e) = result {
            self.rollback();
            // Memory may now be ahead of the file: read everything again.
            self.epoch = -1;
            return Err(sql_err(&self.path, e));
        }
        Ok(())
    }

    fn rollback(&mut self) {
        let _ = self.conn.execute_batch("ROLLBACK");
        self.in_tx = false;
    }

    fn write(&mut self, w: &mut Pending<'_>) -> rusqlite::Result<()> {
        if w.is_empty() {
            return Ok(());
        }
        let rev = self.meta_i64("rev")? + 1;
        for (key, account) in w.accounts.iter_mut() {
            if account.dirty.wallet {
                self.conn
                    .prepare_cached(
                        "INSERT INTO accounts VALUES (?1, ?2, ?3)
                         ON CONFLICT(key) DO UPDATE SET wallet_usd = ?2, rev = ?3",
                    )?
                    .execute(params![key, account.wallet_usd(), rev])?;
            }
            for idx in std::mem::take(&mut account.dirty.videos) {
                let v = &account.videos[idx];
                let body = serde_json::to_string(v)
                    .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
                self.conn
                    .prepare_cached(
                        "INSERT INTO videos VALUES (?1, ?2, ?3, ?4, ?5)
                         ON CONFLICT(id) DO UPDATE SET body = ?4, rev = ?5",
                    )?
                    .execute(params![v.id, key, v.seq as i64, body, rev])?;
            }
            for scope in std::mem::take(&mut account.dirty.idempotency) {
                let body = match account.idem(&scope) {
                    Some(e) => Some(
                        serde_json::to_string(e)
                            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?,
                    ),
                    None => None,
                };
                self.conn
                    .prepare_cached(
                        "INSERT INTO idempotency VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT(account, scope) DO UPDATE SET body = ?3, rev = ?4",
                    )?
                    .execute(params![key, scope, body, rev])?;
            }
            account.dirty.wallet = false;
        }
        self.conn
            .prepare_cached("UPDATE meta SET v = ?2 WHERE k = ?1")?
            .execute(params!["counter", *w.counter as i64])?;
        if let Some(balance) = w.default_balance.take() {
            self.conn
                .prepare_cached("UPDATE meta SET v = ?2 WHERE k = ?1")?
                .execute(params!["default_balance", balance])?;
        }
        self.conn
            .prepare_cached("UPDATE meta SET v = ?2 WHERE k = ?1")?
            .execute(params!["rev", rev])?;
        self.rev = rev;
        Ok(())
    }

    /// Forgets every account, video and idempotency key. The id counter
    /// and nonce stay, so no id is ever handed out twice.
    pub fn reset(&mut self) -> Result<(), WorldError> {
        let run = |conn: &mut Connection| -> rusqlite::Result<()> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute_batch(
                "DELETE FROM accounts; DELETE FROM videos; DELETE FROM idempotency;
                 UPDATE meta SET v = v + 1 WHERE k IN ('epoch', 'rev');
                 UPDATE meta SET v = NULL WHERE k = 'default_balance';",
            )?;
            tx.commit()
        };
        run(&mut self.conn).map_err(|e| sql_err(&self.path, e))?;
        // Give the space back; not needed for correctness.
        let _ = self.conn.execute_batch("VACUUM");
        Ok(())
    }

    /// How many videos the file holds (deleted ones included).
    pub fn video_rows(&self) -> Result<u64, WorldError> {
        self.conn
            .query_row("SELECT COUNT(*) FROM videos", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| sql_err(&self.path, e))
    }
}

/// What a request changed, for [`Store::commit`].
pub struct Pending<'a> {
    /// Accounts (their dirty marks say what to write).
    pub accounts: &'a mut std::collections::HashMap<String, Account>,
    /// The id counter.
    pub counter: &'a u64,
    /// A new default balance for new accounts, if set.
    pub default_balance: Option<f64>,
    /// Whether anything at all changed (the counter included).
    pub changed: bool,
}

impl Pending<'_> {
    fn is_empty(&self) -> bool {
        !self.changed
    }
}
