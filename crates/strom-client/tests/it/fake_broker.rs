//! A fake broker on loopback: it decodes each request and lets the test's handler decide which
//! response frames to write (possibly none yet, possibly several, in any order), so tests can
//! script old brokers, errors and out-of-order answers.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::BytesMut;
use strom_protocol::messages::api_versions::ApiVersionsResponse;
use strom_protocol::{
    ApiKey, Request, RequestHeader, Response, api_versions_table, decode_request, encode_response,
    split_frame,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One response frame to write: correlation id, body version, body.
pub type Reply = (i32, i16, Response);

/// Decides the replies to each request, seeing the request's header.
pub type Handler = Box<dyn FnMut(&RequestHeader, Request) -> Vec<Reply> + Send>;

/// A listening fake broker.
pub struct FakeBroker {
    pub addr: SocketAddr,
}

impl FakeBroker {
    /// Starts a fake broker whose connections all share `handler`.
    pub async fn start(handler: Handler) -> FakeBroker {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let handler = Arc::new(Mutex::new(handler));
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let handler = handler.clone();
                tokio::spawn(async move {
                    let mut buf = BytesMut::new();
                    loop {
                        while let Some(frame) = split_frame(&mut buf, 1 << 20).unwrap() {
                            let (header, request) = decode_request(frame).unwrap();
                            let replies = (handler.lock().unwrap())(&header, request);
                            let mut out = BytesMut::new();
                            for (correlation_id, version, response) in replies {
                                encode_response(correlation_id, version, &response, &mut out)
                                    .unwrap();
                            }
                            if stream.write_all(&out).await.is_err() {
                                return;
                            }
                        }
                        match stream.read_buf(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        }
                    }
                });
            }
        });
        FakeBroker { addr }
    }
}

/// A successful ApiVersions response advertising every API this crate speaks.
pub fn full_api_versions() -> Response {
    Response::from(ApiVersionsResponse {
        api_keys: api_versions_table(ApiKey::all()),
        ..ApiVersionsResponse::default()
    })
}

/// The reply a modern broker gives an ApiVersions request.
pub fn answer_api_versions(header: &RequestHeader) -> Vec<Reply> {
    vec![(
        header.correlation_id,
        header.api_version,
        full_api_versions(),
    )]
}
