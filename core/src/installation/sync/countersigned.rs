//! 会签核验 — the province's countersignatures of trail anchors, checked for the trail verification:
//! each filled slot must hold intake's receipt verifying under the intake key kept at enrolment, for
//! the trail-head statement naming that very anchor (`crate::sync::receipt::Countersignature`).
//! One that does not is reported, never counted: only sync fills the slot, after checking the
//! receipt, so a slot that fails here was filled or changed by someone else — or the device has
//! since been enrolled with another intake, which the message says too.

use crate::{
    Result,
    store::{Store, anchors},
    sync::{
        enrolment,
        receipt::{AnchorToCountersign, Countersignature},
    },
    trail::anchor::VerifiedAnchors,
};

/// A countersignature that does not hold, by anchor counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::installation) struct Refused {
    pub counter: u64,
    pub reason: &'static str,
}

/// How many of `verified`'s anchors carry a countersignature that holds, and those that do not.
pub(in crate::installation) fn check(
    store: &Store,
    verified: &VerifiedAnchors,
) -> Result<(u64, Vec<Refused>)> {
    let (slots, enrolled) =
        store.read(|conn, keys| Ok((anchors::countersignatures(conn)?, enrolment::load(conn, keys)?)))?;
    let server_key = enrolled.map(|e| e.server_public_key()).transpose()?;
    let mut held = 0;
    let mut refused = Vec::new();
    for (counter, bytes) in slots {
        let outcome = (|| {
            let key = server_key.as_deref().ok_or("this device is not enrolled with an intake")?;
            let index = usize::try_from(counter.checked_sub(1).ok_or("no such anchor")?)
                .map_err(|_| "no such anchor")?;
            let (statement, hash) = verified.statements.get(index).ok_or("the anchor did not verify")?;
            let anchor = AnchorToCountersign {
                counter,
                anchor_hash: hash,
                stream: &statement.stream,
                seq: statement.seq,
            };
            Countersignature::from_bytes(&bytes)?.check(key, anchor).map(|_| ())
        })();
        match outcome {
            Ok(()) => held += 1,
            Err(reason) => refused.push(Refused { counter, reason }),
        }
    }
    Ok((held, refused))
}
