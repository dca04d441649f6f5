//! Panic containment at the FFI boundary.

use std::panic::{AssertUnwindSafe, catch_unwind};

use fieldseal_core::FieldsealError;

/// Runs an entry point, turning a panic into `FieldsealError::Internal`. The core never leaves a
/// half-written record behind a panic (writes are transactions that roll back on unwind), so
/// asserting unwind safety is sound here.
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T, FieldsealError>) -> Result<T, FieldsealError> {
    catch_unwind(AssertUnwindSafe(f))
        .unwrap_or_else(|payload| Err(FieldsealError::internal_panic(&panic_text(payload.as_ref()))))
}

/// Awaits blocking core work on the root object's runtime; a panic there arrives as a `JoinError`.
pub(crate) async fn guard_blocking<T: Send + 'static>(
    runtime: &tokio::runtime::Runtime,
    f: impl FnOnce() -> Result<T, FieldsealError> + Send + 'static,
) -> Result<T, FieldsealError> {
    match runtime.spawn_blocking(f).await {
        Ok(result) => result,
        Err(join) if join.is_panic() => {
            Err(FieldsealError::internal_panic(&panic_text(join.into_panic().as_ref())))
        }
        Err(_) => Err(FieldsealError::cancelled()),
    }
}

/// Awaits async core work (a sync pass) spawned on the root object's runtime, whose reactor reqwest
/// needs whatever executor the caller awaits from; a panic there arrives as a `JoinError`.
pub(crate) async fn guard_spawned<T: Send + 'static>(
    runtime: &tokio::runtime::Runtime,
    work: impl Future<Output = Result<T, FieldsealError>> + Send + 'static,
) -> Result<T, FieldsealError> {
    match runtime.spawn(work).await {
        Ok(result) => result,
        Err(join) if join.is_panic() => {
            Err(FieldsealError::internal_panic(&panic_text(join.into_panic().as_ref())))
        }
        Err(_) => Err(FieldsealError::cancelled()),
    }
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_internal_error_without_its_text() {
        let result: Result<(), _> = guard(|| panic!("boom: 张三"));
        match result {
            Err(e @ FieldsealError::Internal { .. }) => {
                assert_eq!(e.code(), "internal.panic");
                assert!(!e.message_en().contains("boom") && !e.message_zh().contains("张三"), "{e:?}");
            }
            other => panic!("expected Internal, got {other:?}"),
        }
    }

    #[test]
    fn a_panic_in_blocking_work_becomes_an_internal_error() {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).build().unwrap();
        let result: Result<(), _> = runtime.block_on(guard_blocking(&runtime, || panic!("deep")));
        assert!(matches!(result, Err(FieldsealError::Internal { .. })));
    }
}
