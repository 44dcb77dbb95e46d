//! The plumbing of sled transactions shared by the record types: aborting
//! with a store error or the caller's own refusal, encoding inside a
//! transaction, and unwrapping the result.

use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::store::{encode_record, StoreError};

/// Why a transaction gave up: a store failure or the caller's own
/// refusal, `E`.
pub(super) struct Abort<E>(pub E);

pub(super) type TxResult<T, E = StoreError> = Result<T, ConflictableTransactionError<Abort<E>>>;

pub(super) fn abort<T, E>(e: impl Into<E>) -> TxResult<T, E> {
    Err(ConflictableTransactionError::Abort(Abort(e.into())))
}

/// Encode a record inside a transaction; a failure aborts it.
pub(super) fn encode_tx<T: serde::Serialize, E: From<StoreError>>(
    what: &'static str,
    value: &T,
) -> TxResult<Vec<u8>, E> {
    match encode_record(what, value) {
        Ok(bytes) => Ok(bytes),
        Err(e) => abort(e),
    }
}

/// A store result inside a transaction; a failure aborts it.
pub(super) fn tx_try<T, E: From<StoreError>>(r: Result<T, StoreError>) -> TxResult<T, E> {
    match r {
        Ok(v) => Ok(v),
        Err(e) => abort(e),
    }
}

pub(super) fn unwrap_tx<T, E: From<StoreError>>(
    r: Result<T, TransactionError<Abort<E>>>,
) -> Result<T, E> {
    match r {
        Ok(v) => Ok(v),
        Err(TransactionError::Storage(e)) => Err(StoreError::Sled(e).into()),
        Err(TransactionError::Abort(Abort(e))) => Err(e),
    }
}
