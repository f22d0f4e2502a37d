//! Request and response headers. A request header is v1 (api key, version, correlation id,
//! nullable client id) or v2 (v1 plus tagged fields) depending on whether the API version is
//! flexible; a response header is v0 (correlation id) or v1 (plus tagged fields). Which header
//! version an API version uses is decided in `api.rs`. Header v0 (no client id) is handled here,
//! but only ControlledShutdown v0 uses it, and this crate does not speak that API.

use bytes::{BufMut, Bytes, BytesMut};

use crate::Error;
use crate::api::ApiKey;
use crate::field::{self, RawTaggedField};
use crate::primitives::{self, LengthPrefix};

/// A decoded request header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHeader {
    /// The API of the request.
    pub api_key: ApiKey,
    /// The version of the request body.
    pub api_version: i16,
    /// Echoed in the response so the client can match it to the request.
    pub correlation_id: i32,
    /// The client's self-chosen id; a classic nullable string even in header v2.
    pub client_id: Option<String>,
    /// Tagged fields of header v2, kept raw.
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// The first three fields of a request header, readable for any API key and version, so a
/// broker can answer requests it cannot decode (for example ApiVersions at a version it does
/// not know, which Kafka answers with a v0 error response).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestHeaderPrefix {
    /// The raw API key.
    pub api_key: i16,
    /// The raw API version.
    pub api_version: i16,
    /// The correlation id.
    pub correlation_id: i32,
}

/// A decoded response header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHeader {
    /// The correlation id of the request this answers.
    pub correlation_id: i32,
    /// Tagged fields of header v1, kept raw.
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl RequestHeader {
    /// A header for a request of `api_key` at `api_version`.
    pub fn new(api_key: ApiKey, api_version: i16, correlation_id: i32) -> RequestHeader {
        RequestHeader {
            api_key,
            api_version,
            correlation_id,
            client_id: None,
            unknown_tagged_fields: Vec::new(),
        }
    }

    /// Reads the first fields of a request header without consuming anything.
    pub fn peek(frame: &[u8]) -> Result<RequestHeaderPrefix, Error> {
        let Some(&[k0, k1, v0, v1, c0, c1, c2, c3]) = frame.get(..8) else {
            return Err(Error::Truncated {
                needed: 8,
                remaining: frame.len(),
            });
        };
        Ok(RequestHeaderPrefix {
            api_key: i16::from_be_bytes([k0, k1]),
            api_version: i16::from_be_bytes([v0, v1]),
            correlation_id: i32::from_be_bytes([c0, c1, c2, c3]),
        })
    }

    /// Decodes a request header from the front of `buf`. The version is not checked against
    /// the supported range here; decoding the body checks it.
    pub fn decode(buf: &mut Bytes) -> Result<RequestHeader, Error> {
        let api_key = ApiKey::try_from(primitives::read_i16(buf)?)?;
        let api_version = primitives::read_i16(buf)?;
        let correlation_id = primitives::read_i32(buf)?;
        let header_version = api_key.request_header_version(api_version);
        let client_id = match header_version {
            0 => None,
            _ => match primitives::read_length(buf, LengthPrefix::Int16)? {
                Some(len) => Some(primitives::read_str(buf, len)?),
                None => None,
            },
        };
        let unknown_tagged_fields = if header_version >= 2 {
            field::read_raw_tagged_fields(buf)?
        } else {
            Vec::new()
        };
        Ok(RequestHeader {
            api_key,
            api_version,
            correlation_id,
            client_id,
            unknown_tagged_fields,
        })
    }

    /// Appends the header, in the header version its API version uses, to `buf`.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), Error> {
        buf.put_i16(self.api_key.code());
        buf.put_i16(self.api_version);
        buf.put_i32(self.correlation_id);
        let header_version = self.api_key.request_header_version(self.api_version);
        if header_version >= 1 {
            primitives::write_length(
                buf,
                LengthPrefix::Int16,
                self.client_id.as_ref().map(String::len),
            )?;
            if let Some(client_id) = &self.client_id {
                buf.put_slice(client_id.as_bytes());
            }
        }
        if header_version >= 2 {
            field::write_tagged_fields(buf, Vec::new(), &self.unknown_tagged_fields)?;
        }
        Ok(())
    }
}

impl ResponseHeader {
    /// A header answering `correlation_id`.
    pub fn new(correlation_id: i32) -> ResponseHeader {
        ResponseHeader {
            correlation_id,
            unknown_tagged_fields: Vec::new(),
        }
    }

    /// Decodes a response header of `header_version` (0 or 1) from the front of `buf`.
    pub fn decode(buf: &mut Bytes, header_version: i16) -> Result<ResponseHeader, Error> {
        let correlation_id = primitives::read_i32(buf)?;
        let unknown_tagged_fields = if header_version >= 1 {
            field::read_raw_tagged_fields(buf)?
        } else {
            Vec::new()
        };
        Ok(ResponseHeader {
            correlation_id,
            unknown_tagged_fields,
        })
    }

    /// Appends the header in `header_version` (0 or 1) to `buf`.
    pub fn encode(&self, buf: &mut BytesMut, header_version: i16) -> Result<(), Error> {
        buf.put_i32(self.correlation_id);
        if header_version >= 1 {
            field::write_tagged_fields(buf, Vec::new(), &self.unknown_tagged_fields)?;
        }
        Ok(())
    }
}
