//! InitProducerId (22): producer ids for idempotent producers, from the broker's durable counter,
//! at epoch 0. A producer that names its current id and epoch (v3+, KIP-360) gets the epoch
//! bumped. Transactions are not implemented: a transactional id gets `COORDINATOR_NOT_AVAILABLE`,
//! what Kafka answers while its transaction coordinator is unavailable.

use strom_protocol::ErrorCode;
use strom_protocol::messages::init_producer_id::{InitProducerIdRequest, InitProducerIdResponse};

use crate::broker::Broker;
use crate::handlers::broker_error_code;

/// Answers an InitProducerId request.
pub fn handle(broker: &Broker, request: InitProducerIdRequest) -> InitProducerIdResponse {
    let failed = |error_code: ErrorCode| InitProducerIdResponse {
        error_code: error_code.code(),
        producer_id: -1,
        producer_epoch: -1,
        ..InitProducerIdResponse::default()
    };
    if request.transactional_id.is_some() {
        return failed(ErrorCode::CoordinatorNotAvailable);
    }
    let bumpable = request.producer_id >= 0
        && request.producer_epoch >= 0
        && request.producer_epoch < i16::MAX - 1
        && broker.producer_id_was_allocated(request.producer_id);
    if bumpable {
        return InitProducerIdResponse {
            producer_id: request.producer_id,
            producer_epoch: request.producer_epoch + 1,
            ..InitProducerIdResponse::default()
        };
    }
    match broker.allocate_producer_id() {
        Ok(producer_id) => InitProducerIdResponse {
            producer_id,
            producer_epoch: 0,
            ..InitProducerIdResponse::default()
        },
        Err(error) => {
            tracing::warn!(%error, "cannot allocate a producer id");
            failed(broker_error_code(&error))
        }
    }
}
