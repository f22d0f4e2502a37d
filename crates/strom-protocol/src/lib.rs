//! strom-protocol: a sans-IO codec for the Kafka wire protocol. It frames bytes (4-byte size
//! prefix, capped before allocation), reads and writes request and response headers, and
//! decodes and encodes every supported message at every supported version, including flexible
//! versions with compact lengths and tagged fields. It does no I/O and decides nothing about
//! what a request means: the broker and the clients do that.
//!
//! Decoding treats input as untrusted: every length and count is checked against the bytes
//! that remain before anything is allocated, errors are typed ([`Error`]), and nothing panics.
//! Record sets stay [`bytes::Bytes`] slices of the frame, never copied.
//!
//! ```
//! use bytes::BytesMut;
//! use strom_protocol::messages::metadata::MetadataRequest;
//! use strom_protocol::{ApiKey, Request, RequestHeader, decode_request, encode_request, split_frame};
//!
//! let header = RequestHeader::new(ApiKey::Metadata, 12, 7);
//! let request = Request::from(MetadataRequest::default());
//! let mut buf = BytesMut::new();
//! encode_request(&header, &request, &mut buf).unwrap();
//! let frame = split_frame(&mut buf, 1 << 20).unwrap().unwrap();
//! let (decoded_header, decoded) = decode_request(frame).unwrap();
//! assert_eq!(decoded_header.correlation_id, 7);
//! assert_eq!(decoded, request);
//! ```
//!
//! # How to add a message
//!
//! Create `src/messages/<api>.rs` holding one `crate::wire_struct!` block that declares the
//! request struct, the response struct and their nested structs, each field written as
//! `name: Type [= default] => spec`, where `spec` is `since(v)` or `range(min, max)` refined with
//! `.nullable_since(v)` and `.tag(n)`; take names, types, versions, nullability, tags and
//! defaults from Kafka's JSON message spec (`int32` is `i32`, `string` is `String`, a nullable
//! field is `Option<..>`, `[]Foo` is `Vec<Foo>`, `records` is `Option<Bytes>`, `uuid` is
//! [`Uuid`]). Add `pub mod <api>;` to `src/messages.rs`, and one line to the `apis!` list at the
//! bottom of `src/api.rs` with the API key, the two type names, the version range to advertise
//! and the first flexible version (`i16::MAX` for an API with no flexible version); run the
//! `advertised_ranges` test in `api.rs` with `UPDATE_EXPECT=1` and review its new table line.
//! Finally add one line to the `round_trips!` list in `tests/it/round_trip.rs` and one to the
//! `differential!` list in `tests/it/differential.rs` (naming the `kafka_protocol::messages`
//! type); the frame, robustness and fuzz tests pick the new API up from `ApiKey::all()` by
//! themselves.
//!
//! The `testing` feature adds random message generation (`random`, `Request::random`) and the
//! fuzz check (`fuzzing`) for tests; production code does not enable it.

#![forbid(unsafe_code)]

pub mod api;
pub mod error_code;
pub mod field;
pub mod frame;
#[cfg(feature = "testing")]
pub mod fuzzing;
pub mod header;
pub mod messages;
pub mod primitives;
#[cfg(feature = "testing")]
pub mod random;
pub mod splice;

pub use api::{
    ApiKey, Message, Request, Response, VersionRange, api_versions_table,
    unsupported_api_versions_response,
};
pub use error_code::ErrorCode;
pub use frame::{
    DEFAULT_MAX_FRAME_SIZE, decode_request, decode_response, encode_request, encode_response,
    split_frame,
};
pub use header::{RequestHeader, RequestHeaderPrefix, ResponseHeader};
pub use primitives::Uuid;

/// Errors of this crate: malformed input, and values that cannot be encoded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input ended early.
    #[error("input truncated: needed {needed} bytes, {remaining} remain")]
    Truncated {
        /// Bytes the next read needed.
        needed: usize,
        /// Bytes that remained.
        remaining: usize,
    },
    /// A length or count is negative (other than -1 for null) or exceeds the remaining input.
    #[error("invalid length or count {0}")]
    InvalidLength(i64),
    /// A varint runs over its maximum size.
    #[error("invalid varint")]
    InvalidVarint,
    /// A string is not valid UTF-8.
    #[error("string is not valid utf-8")]
    InvalidUtf8,
    /// A null arrived in a field that is not nullable in this version.
    #[error("null in a field that is not nullable in this version")]
    UnexpectedNull,
    /// A `None` was given for a field that is not nullable in the version being encoded.
    #[error("cannot encode null in a field that is not nullable in this version")]
    NullNotAllowed,
    /// A string, byte string, array or frame is too long for its length prefix.
    #[error("length {0} does not fit its length prefix")]
    TooLong(usize),
    /// The API key is not one this crate supports.
    #[error("unknown api key {0}")]
    UnknownApiKey(i16),
    /// The API version is outside the supported range.
    #[error("unsupported version {version} of {api_key:?}")]
    UnsupportedVersion {
        /// The API.
        api_key: ApiKey,
        /// The version asked for.
        version: i16,
    },
    /// The error code is not one Kafka defines.
    #[error("unknown error code {0}")]
    UnknownErrorCode(i16),
    /// A frame's size prefix exceeds the configured cap.
    #[error("frame of {size} bytes exceeds the maximum of {max}")]
    FrameTooLarge {
        /// The size the prefix announced.
        size: u32,
        /// The cap.
        max: u32,
    },
    /// Bytes remained after the body of a frame.
    #[error("{0} bytes left over after the message")]
    TrailingBytes(usize),
    /// A request header names a different API than the request body.
    #[error("header is for {header:?} but body is {body:?}")]
    ApiKeyMismatch {
        /// The header's API.
        header: ApiKey,
        /// The body's API.
        body: ApiKey,
    },
    /// Tagged fields must come in strictly ascending tag order (KIP-482); a repeated or
    /// decreasing tag makes the section ambiguous.
    #[error("tagged field {tag} follows tagged field {previous}: tags must ascend")]
    TaggedFieldOrder {
        /// The tag that came out of order.
        tag: u32,
        /// The tag before it.
        previous: u32,
    },
}
