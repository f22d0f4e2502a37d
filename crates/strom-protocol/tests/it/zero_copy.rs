//! Record sets are not copied: a decoded Produce request's records are a slice of the frame
//! buffer, and decoding a 1 MiB produce allocates only a few hundred bytes.

use bytes::{Bytes, BytesMut};
use strom_protocol::messages::produce::{PartitionProduceData, ProduceRequest, TopicProduceData};
use strom_protocol::{ApiKey, Request, RequestHeader, decode_request, encode_request, split_frame};

use crate::alloc_counter::allocated_by;

#[test]
fn produce_records_point_into_the_frame() {
    for version in [3, 8, 9, 12] {
        let records = Bytes::from(vec![0xab; 1 << 20]);
        let request = Request::from(ProduceRequest {
            acks: -1,
            timeout_ms: 30_000,
            topic_data: vec![TopicProduceData {
                name: "events".to_owned(),
                partition_data: vec![PartitionProduceData {
                    index: 0,
                    records: Some(records.clone()),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        });
        let mut buf = BytesMut::new();
        encode_request(
            &RequestHeader::new(ApiKey::Produce, version, 5),
            &request,
            &mut buf,
        )
        .unwrap();
        let frame = split_frame(&mut buf, 2 << 20).unwrap().unwrap();
        let frame_range = frame.as_ptr_range();

        let (res, allocated) = allocated_by(|| decode_request(frame.clone()));
        let (_, decoded) = res.unwrap();
        let Request::Produce(produce) = decoded else {
            panic!("not a produce request");
        };
        let decoded_records = produce.topic_data[0].partition_data[0]
            .records
            .clone()
            .unwrap();
        assert_eq!(decoded_records, records);
        let records_range = decoded_records.as_ptr_range();
        assert!(
            frame_range.start <= records_range.start && records_range.end <= frame_range.end,
            "version {version}: records were copied out of the frame"
        );
        assert!(
            allocated < 4096,
            "version {version}: decoding allocated {allocated} bytes"
        );
    }
}
