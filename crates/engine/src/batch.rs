//! Group commit: small writes from many tasks share one transaction.
//!
//! SQLite has one write lock, and each statement is a round trip to the
//! connection's thread; a transaction of its own for every webhook stored,
//! every delivery finished and every progress point recorded spends most
//! of that lock on `BEGIN` and `COMMIT` and on waiting in line. Writes sent
//! here are run one after another in the next transaction; whatever
//! arrives while one commits goes into the following one. Each caller
//! waits until its write is committed (or has failed), so nothing is
//! answered or acted on before it is durable.
//!
//! A batch that fails is written again one write per transaction, so one
//! bad write fails alone; a write must therefore be repeatable (it is
//! rolled back before it runs again).

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use cairn_store::{Store, StoreError, StoreTx};
use tokio::sync::{mpsc, oneshot};

/// Most writes in one transaction.
const BATCH: usize = 128;

/// One write, with what it returns to whoever sent it.
#[async_trait]
pub(crate) trait BatchWrite: Send + 'static {
    type Output: Send + 'static;
    /// Writes inside the shared transaction.
    async fn write(&mut self, tx: &mut dyn StoreTx) -> Result<Self::Output, StoreError>;
}

/// A write waiting for its turn; the engine's writes are erased to this.
#[async_trait]
trait Pending: Send {
    async fn write(&mut self, tx: &mut dyn StoreTx) -> Result<(), StoreError>;
    fn committed(self: Box<Self>);
    fn failed(self: Box<Self>, error: StoreError);
    fn abandoned(&self) -> bool;
}

struct Queued<W: BatchWrite> {
    write: W,
    output: Option<W::Output>,
    reply: oneshot::Sender<Result<W::Output, StoreError>>,
}

#[async_trait]
impl<W: BatchWrite> Pending for Queued<W> {
    async fn write(&mut self, tx: &mut dyn StoreTx) -> Result<(), StoreError> {
        self.output = Some(self.write.write(tx).await?);
        Ok(())
    }

    fn committed(self: Box<Self>) {
        if let Some(output) = self.output {
            let _ = self.reply.send(Ok(output));
        }
    }

    fn failed(self: Box<Self>, error: StoreError) {
        let _ = self.reply.send(Err(error));
    }

    fn abandoned(&self) -> bool {
        self.reply.is_closed()
    }
}

/// Why a write was not committed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BatchError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The writer task is gone (its runtime shut down).
    #[error("the batched writer stopped")]
    Stopped,
}

/// The queue of writes and the task that commits them (started on first use).
pub(crate) struct Batcher {
    store: Arc<dyn Store>,
    queue: OnceLock<mpsc::UnboundedSender<Box<dyn Pending>>>,
}

impl Batcher {
    pub(crate) fn new(store: Arc<dyn Store>) -> Self {
        Batcher {
            store,
            queue: OnceLock::new(),
        }
    }

    /// Runs `write` in the next batch; returns once that batch committed.
    pub(crate) async fn write<W: BatchWrite>(&self, write: W) -> Result<W::Output, BatchError> {
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(run(self.store.clone(), rx));
            tx
        });
        let (reply, answer) = oneshot::channel();
        queue
            .send(Box::new(Queued {
                write,
                output: None,
                reply,
            }))
            .map_err(|_| BatchError::Stopped)?;
        Ok(answer.await.map_err(|_| BatchError::Stopped)??)
    }
}

async fn commit_all(store: &dyn Store, writes: &mut [Box<dyn Pending>]) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    for write in writes.iter_mut() {
        write.write(&mut *tx).await?;
    }
    tx.commit().await
}

async fn run(store: Arc<dyn Store>, mut queue: mpsc::UnboundedReceiver<Box<dyn Pending>>) {
    let mut buffer = Vec::with_capacity(BATCH);
    while queue.recv_many(&mut buffer, BATCH).await > 0 {
        // Nobody waits for a write whose caller went away.
        let mut writes: Vec<Box<dyn Pending>> =
            buffer.drain(..).filter(|w| !w.abandoned()).collect();
        if writes.is_empty() {
            continue;
        }
        match commit_all(&*store, &mut writes).await {
            Ok(()) => writes.into_iter().for_each(|w| w.committed()),
            Err(error) if writes.len() == 1 => {
                if let Some(write) = writes.pop() {
                    write.failed(error);
                }
            }
            Err(_) => {
                for mut write in writes {
                    match commit_all(&*store, std::slice::from_mut(&mut write)).await {
                        Ok(()) => write.committed(),
                        Err(error) => write.failed(error),
                    }
                }
            }
        }
    }
}
