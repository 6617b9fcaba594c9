//! The delivery log as the emulator API shows it: the store's records in
//! the wire types of [`tripletex_webhooks_types::emulator`], which the client
//! parses too. The conversions are exhaustive, so a field added on one side
//! fails to compile until it is mapped.

use tripletex_webhooks_types::emulator as wire;

use crate::store::outbox::{
    AttemptRecord, DeliveryRecord, Exchange, MessageRecord, RequestRecord, ResponseRecord,
};

/// A message of the delivery log, on the wire.
pub(crate) fn delivery(record: DeliveryRecord) -> wire::DeliveryRecord {
    let DeliveryRecord {
        id,
        subscription_id,
        event,
        object_id,
        object_version,
        idempotency_key,
        request_id,
        status,
        attempts,
        next_attempt_at_ms,
        created_at_ms,
        finished_at_ms,
        last_error,
        attempt_log,
    } = record;
    let Ok(status) = status.parse();
    wire::DeliveryRecord {
        id,
        subscription_id,
        event,
        object_id,
        object_version,
        idempotency_key,
        request_id,
        status,
        attempts: u32::try_from(attempts).unwrap_or(0),
        next_attempt_at_ms,
        created_at_ms,
        finished_at_ms,
        last_error,
        attempt_log: attempt_log.into_iter().map(attempt).collect(),
    }
}

/// An attempt of the delivery log, on the wire.
pub(crate) fn attempt(record: AttemptRecord) -> wire::AttemptRecord {
    let AttemptRecord {
        attempted_at_ms,
        duration_ms,
        status_code,
        error,
        exchange,
    } = record;
    wire::AttemptRecord {
        attempted_at_ms,
        duration_ms,
        status_code,
        error,
        exchange: exchange.map(|Exchange { request, response }| wire::Exchange {
            request: request.map(|RequestRecord { url, message: m }| wire::RequestRecord {
                url,
                message: message(m),
            }),
            response: response.map(
                |ResponseRecord { status, message: m }| wire::ResponseRecord {
                    status,
                    message: message(m),
                },
            ),
        }),
    }
}

fn message(record: MessageRecord) -> wire::MessageRecord {
    let MessageRecord {
        headers,
        body,
        body_truncated,
    } = record;
    wire::MessageRecord {
        headers,
        body,
        body_truncated,
    }
}
