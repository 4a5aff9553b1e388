//! The store's thread: takes jobs in order, runs each batch of operations in one
//! transaction, and answers them after it commits; a job that must run outside of a
//! transaction (`VACUUM`, a WAL checkpoint) runs alone, between two batches.

use std::sync::mpsc;

use rusqlite::Connection;

use super::sealing::Sealing;
use super::types::StoreError;

/// What a write answers once its transaction's fate is known: committed, or why not.
pub(super) type Answer = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

/// What an operation runs on: the transaction's connection, and the keys values are sealed
/// and opened with.
#[derive(Clone, Copy)]
pub(super) struct Db<'a> {
    /// The connection, inside the batch's transaction.
    pub sql: &'a Connection,
    /// The keys.
    pub sealing: &'a Sealing,
}

/// One operation, run inside a transaction (or, if the transaction cannot begin, given the
/// cause instead). A read answers at once; a write returns what answers it after the commit.
pub(super) type Op = Box<dyn FnOnce(Result<Db<'_>, StoreError>) -> Option<Answer> + Send>;

/// The write operation running `work`: `answer` gets its result once its transaction
/// committed, or its error at once (a failed write waits for no commit).
pub(super) fn write_op<T: Send + 'static>(
    work: impl FnOnce(Db) -> Result<T, StoreError> + Send + 'static,
    answer: impl FnOnce(Result<T, StoreError>) + Send + 'static,
) -> Op {
    Box::new(move |db| match db.and_then(work) {
        Ok(value) => Some(Box::new(move |committed: Result<(), StoreError>| answer(committed.map(|()| value)))),
        Err(error) => {
            answer(Err(error));
            None
        }
    })
}

/// Work of the store's thread outside of any transaction; it may change the keys.
pub(super) type Maintenance = Box<dyn FnOnce(&mut Connection, &mut Sealing) + Send>;

/// A job of the store's thread.
pub(super) enum Job {
    /// An operation, batched with the ones queued beside it into one transaction.
    Op(Op),
    /// Work outside of any transaction, alone, which may change the keys (the end of a pass).
    Alone(Maintenance),
}

/// Most operations one transaction takes from the queue.
const MAX_BATCH: usize = 1024;

/// The thread's loop, until every sender is gone.
pub(super) fn run(mut connection: Connection, mut sealing: Sealing, queue: mpsc::Receiver<Job>) {
    let mut next = queue.recv().ok();
    while let Some(job) = next.take() {
        match job {
            Job::Alone(job) => job(&mut connection, &mut sealing),
            Job::Op(first) => {
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match queue.try_recv() {
                        Ok(Job::Op(op)) => batch.push(op),
                        Ok(alone) => {
                            next = Some(alone);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                let mut ops = batch.into_iter().peekable();
                while ops.peek().is_some() {
                    execute(&mut connection, &sealing, &mut ops);
                }
            }
        }
        if next.is_none() {
            next = queue.recv().ok();
        }
    }
}

/// Runs operations of `ops` in one transaction, until none is left or SQLite rolls the
/// transaction back (on an I/O error, say): the writes done in it are then answered as
/// failed, since none of them is on disk, and the next operations wait for the next
/// transaction instead of running, and committing, outside of one. Reads are answered at
/// once; writes once the transaction's fate is known, so that what a save reports is what
/// is on disk.
fn execute(connection: &mut Connection, sealing: &Sealing, ops: &mut impl Iterator<Item = Op>) {
    let transaction = match connection.transaction() {
        Ok(transaction) => transaction,
        Err(error) => {
            for op in ops {
                op(Err(StoreError::Sqlite(clone_error(&error))));
            }
            return;
        }
    };
    let mut answers: Vec<Answer> = Vec::new();
    for op in ops.by_ref() {
        answers.extend(op(Ok(Db { sql: &transaction, sealing })));
        // Back in autocommit mode: SQLite rolled the transaction back.
        if transaction.is_autocommit() {
            for answer in answers {
                answer(Err(StoreError::RolledBack));
            }
            return;
        }
    }
    let committed = transaction.commit();
    for answer in answers {
        answer(committed.as_ref().map(|_| ()).map_err(|error| StoreError::Sqlite(clone_error(error))));
    }
}

/// `rusqlite::Error` is not `Clone`; a batch's commit error is reported to every waiter.
fn clone_error(error: &rusqlite::Error) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(error.to_string().into())
}

#[cfg(test)]
mod tests {
    use tokio::sync::oneshot;

    use super::*;

    #[test]
    fn a_batch_whose_transaction_cannot_begin_is_answered_with_the_cause() {
        let mut connection = Connection::open_in_memory().unwrap();
        // A transaction already open: `BEGIN` fails.
        connection.execute_batch("BEGIN").unwrap();
        let (reply, mut answer) = oneshot::channel::<Result<(), StoreError>>();
        let op: Op = Box::new(move |db| {
            let _ = reply.send(db.map(drop));
            None
        });
        execute(&mut connection, &Sealing::plain(), &mut [op].into_iter());
        let error = answer.try_recv().expect("answered").unwrap_err();
        assert!(matches!(error, StoreError::Sqlite(_)), "{error}");
    }
}
