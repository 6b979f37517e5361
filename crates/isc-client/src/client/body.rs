//! Reading response bodies with a size cap, chunk by chunk, so no tenant answer (an endless
//! body, a lying `Content-Length`) can make the client buffer more than it allows.

use bytes::{Bytes, BytesMut};

/// The most of an error (or token) body that is read; the rest is dropped unread.
pub const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

/// Why a capped body could not be read.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// The body is longer than the cap.
    TooLarge,
    /// The connection failed while reading.
    Transport(reqwest::Error),
}

/// The whole body, or [`BodyError::TooLarge`] as soon as it passes `cap` bytes.
pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    cap: usize,
) -> Result<Bytes, BodyError> {
    if response
        .content_length()
        .is_some_and(|n| n > u64::try_from(cap).unwrap_or(u64::MAX))
    {
        return Err(BodyError::TooLarge);
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if body.len().saturating_add(chunk.len()) > cap {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// At most the first `cap` bytes of the body; a read error ends it early. Used for error
/// bodies, which only ever feed a short message.
pub(crate) async fn read_truncated(mut response: reqwest::Response, cap: usize) -> Bytes {
    let mut body = BytesMut::new();
    while body.len() < cap {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let take = chunk.len().min(cap - body.len());
                body.extend_from_slice(&chunk[..take]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    body.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(body: Vec<u8>) -> reqwest::Response {
        reqwest::Response::from(http_response(body))
    }

    fn http_response(body: Vec<u8>) -> ::http::Response<Vec<u8>> {
        ::http::Response::new(body)
    }

    #[tokio::test]
    async fn a_body_within_the_cap_is_read_whole() {
        let body = read_capped(response(b"hello".to_vec()), 5).await.unwrap();
        assert_eq!(&body[..], b"hello");
    }

    #[tokio::test]
    async fn a_body_over_the_cap_is_an_error() {
        let err = read_capped(response(vec![b'x'; 6]), 5).await.unwrap_err();
        assert!(matches!(err, BodyError::TooLarge), "{err:?}");
    }

    #[tokio::test]
    async fn an_error_body_is_truncated() {
        let body = read_truncated(response(vec![b'x'; 100_000]), 10).await;
        assert_eq!(body.len(), 10);
    }
}
