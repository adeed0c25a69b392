//! Shadow traffic: a request body that streams to the primary upstream and,
//! without buffering, copies each frame to a second (shadow) request.
//!
//! The copy goes through a bounded channel with `try_send`, so a slow shadow
//! upstream can never slow the client: when the channel is full the shadow
//! is abandoned (its body ends in an error, so no truncated request is sent
//! as if complete) and the primary goes on untouched.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::mpsc;

use crate::forward::{BoxError, ProxyBody};

/// Frames buffered for the shadow before it is abandoned.
const SHADOW_BUFFER_FRAMES: usize = 64;

/// The shadow copy was abandoned (it fell behind, or the client's body failed).
#[derive(Debug, thiserror::Error)]
#[error("shadow copy abandoned: the primary body ended early or the shadow fell behind")]
pub struct ShadowAbandoned;

/// Splits `body` into the primary body and the shadow body, plus a flag
/// that tells (once the shadow request has ended) whether it was abandoned.
pub fn tee(body: ProxyBody) -> (ProxyBody, ProxyBody, Arc<AtomicBool>) {
    let (tx, rx) = mpsc::channel(SHADOW_BUFFER_FRAMES);
    let abandoned = Arc::new(AtomicBool::new(false));
    let hint = body.size_hint();
    let primary = TeeBody {
        inner: body,
        tx: Some(tx),
        abandoned: abandoned.clone(),
    };
    let shadow = ChannelBody {
        rx,
        abandoned: abandoned.clone(),
        hint,
    };
    (primary.boxed_unsync(), shadow.boxed_unsync(), abandoned)
}

struct TeeBody {
    inner: ProxyBody,
    tx: Option<mpsc::Sender<Frame<Bytes>>>,
    abandoned: Arc<AtomicBool>,
}

impl TeeBody {
    fn abandon(&mut self) {
        if self.tx.take().is_some() {
            // Set before the sender drops, so the receiver sees it on close.
            self.abandoned.store(true, Ordering::Release);
        }
    }
}

impl Drop for TeeBody {
    fn drop(&mut self) {
        self.abandon();
    }
}

impl Body for TeeBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                let copy = if let Some(data) = frame.data_ref() {
                    Some(Frame::data(data.clone()))
                } else {
                    frame.trailers_ref().map(|t| Frame::trailers(t.clone()))
                };
                if let (Some(copy), Some(tx)) = (copy, &this.tx)
                    && tx.try_send(copy).is_err()
                {
                    this.abandon();
                }
            }
            Poll::Ready(Some(Err(_))) => this.abandon(),
            // Complete: dropping the sender ends the shadow body normally.
            Poll::Ready(None) => this.tx = None,
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

struct ChannelBody {
    rx: mpsc::Receiver<Frame<Bytes>>,
    abandoned: Arc<AtomicBool>,
    hint: SizeHint,
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(frame)) => Poll::Ready(Some(Ok(frame))),
            Poll::Ready(None) if self.abandoned.load(Ordering::Acquire) => {
                Poll::Ready(Some(Err(Box::new(ShadowAbandoned))))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn size_hint(&self) -> SizeHint {
        self.hint
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// A body that yields the given chunks one frame at a time.
    struct Chunks(VecDeque<Bytes>);

    impl Body for Chunks {
        type Data = Bytes;
        type Error = BoxError;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
            Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
        }
    }

    fn body_of(chunks: Vec<String>) -> ProxyBody {
        Chunks(chunks.into_iter().map(Bytes::from).collect()).boxed_unsync()
    }

    #[tokio::test]
    async fn both_sides_get_every_byte() {
        let (p, s, abandoned) = tee(body_of(vec!["ab".into(), "cd".into(), "ef".into()]));
        let primary = p.collect().await.unwrap().to_bytes();
        let shadow = s.collect().await.unwrap().to_bytes();
        assert_eq!(primary, "abcdef");
        assert_eq!(shadow, "abcdef");
        assert!(!abandoned.load(Ordering::Acquire));
    }

    #[tokio::test]
    async fn a_stalled_shadow_is_abandoned_not_waited_for() {
        let chunks: Vec<String> = (0..SHADOW_BUFFER_FRAMES * 2)
            .map(|i| format!("{i},"))
            .collect();
        let expected: String = chunks.concat();
        let (p, s, abandoned) = tee(body_of(chunks));
        // The shadow is not read while the primary streams everything.
        let primary = p.collect().await.unwrap().to_bytes();
        assert_eq!(primary, expected.as_bytes());
        assert!(abandoned.load(Ordering::Acquire));
        assert!(
            s.collect().await.is_err(),
            "a truncated shadow must not look complete"
        );
    }
}
