//! The network side: accept loop, TLS, and the frames (2-byte big-endian
//! length, TPDU, header, message). Answers swap the TPDU addresses and keep
//! the header.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use poskit_iso8583::frame;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use super::host::{Host, Reply};

/// A frame longer than this is not a POS message: the connection closes.
pub(crate) const MAX_FRAME: usize = 8 * 1024;
/// An idle (or held, amount rule 98) connection is closed after this.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Once a length has arrived, the rest of the frame must follow this soon.
const FRAME_TIMEOUT: Duration = Duration::from_secs(30);

/// What the server and the handle share.
pub(crate) struct Shared {
    pub(crate) host: Mutex<Host>,
    pub(crate) responses_sent: AtomicUsize,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Host> {
        // A panic elsewhere must not take the simulator down with it.
        self.host.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Accepts connections until `shutdown` changes or its sender is dropped.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    shutdown: watch::Receiver<bool>,
) {
    crate::net::accept_loop(listener, tls, shutdown, move |stream| {
        serve_connection(stream, shared.clone())
    })
    .await;
}

/// Reads frames and answers each, until the peer closes, a frame is
/// garbled (bad length or TPDU: there is no telling where the next frame
/// starts, so the connection closes) or the connection idles too long.
async fn serve_connection<S>(mut stream: S, shared: Arc<Shared>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        let mut len = [0u8; 2];
        match tokio::time::timeout(IDLE_TIMEOUT, stream.read_exact(&mut len)).await {
            Ok(Ok(_)) => {}
            _ => return,
        }
        let len = usize::from(u16::from_be_bytes(len));
        if len == 0 || len > MAX_FRAME {
            return;
        }
        let mut body = vec![0u8; len];
        match tokio::time::timeout(FRAME_TIMEOUT, stream.read_exact(&mut body)).await {
            Ok(Ok(_)) => {}
            _ => return,
        }
        let Ok(parsed) = frame::parse(&body) else {
            return;
        };
        let reply = shared.lock().handle(parsed.message);
        match reply {
            Reply::Send(message) => {
                let Ok(out) = frame::wrap(&parsed.tpdu.swapped(), &parsed.header, &message) else {
                    return;
                };
                if stream.write_all(&out).await.is_err() || stream.flush().await.is_err() {
                    return;
                }
                shared.responses_sent.fetch_add(1, Ordering::SeqCst);
            }
            Reply::Hold => {}
            Reply::Close => return,
        }
    }
}
