//! Fuzz target: any bytes, as a request frame without its size prefix, either fail to decode
//! with a typed error or decode to a request that re-encodes and decodes to itself. Never a
//! panic. The corpus in `corpus/decode_request/` is replayed by `tests/it/fuzz_corpus.rs`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = strom_protocol::fuzzing::check_request_frame(data);
});
