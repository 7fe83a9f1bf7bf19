//! What the network simulators share: the TEST ONLY TLS server
//! configuration, the accept loop with its shutdown, serving HTTP/1.1 with
//! JSON bodies, and running a simulator until the process ends.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::CONTENT_TYPE;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::platform::SimClock;

/// A client has this long to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// An accepted connection, TLS or plain.
pub(crate) trait Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static {}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> Stream for S {}

/// The acceptor for the simulators' TEST ONLY server certificate, or
/// `None` for plain TCP.
pub(crate) fn acceptor(tls: bool) -> io::Result<Option<TlsAcceptor>> {
    Ok(if tls {
        Some(TlsAcceptor::from(crate::certs::server_config()?))
    } else {
        None
    })
}

/// Accepts connections until `shutdown` changes or its sender is dropped,
/// and hands each (after the TLS handshake) to `serve` on a task of its
/// own. A shutdown also ends the connections being served.
pub(crate) async fn accept_loop<F, Fut>(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    mut shutdown: watch::Receiver<bool>,
    serve: F,
) where
    F: Fn(Box<dyn Stream>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let serve = Arc::new(serve);
    loop {
        let accepted = tokio::select! {
            _ = shutdown.changed() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((tcp, _peer)) = accepted else {
            // Out of descriptors or similar: give the system a moment.
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let serve = serve.clone();
        let tls = tls.clone();
        let mut shutdown = shutdown.clone();
        tokio::spawn(async move {
            let connection = async move {
                match tls {
                    Some(acceptor) => {
                        if let Ok(Ok(stream)) =
                            tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await
                        {
                            serve(Box::new(stream)).await;
                        }
                    }
                    None => serve(Box::new(tcp)).await,
                }
            };
            tokio::select! {
                _ = connection => {}
                _ = shutdown.changed() => {}
            }
        });
    }
}

/// A simulator's state behind a lock, with its clock: what its server
/// and its handle share.
#[derive(Debug)]
pub(crate) struct Shared<T> {
    pub(crate) state: Mutex<T>,
    pub(crate) clock: SimClock,
}

impl<T> Shared<T> {
    pub(crate) fn new(state: T, clock: SimClock) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(state),
            clock,
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        // A panic elsewhere must not take the simulator down with it.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Binds `listen` and serves HTTP (HTTPS with `tls`) on the current
/// runtime: each request goes to `handle` with `shared`. Returns the bound
/// address and the sender that stops the server (a send, or its drop).
pub(crate) async fn start_http<S, H, Fut>(
    listen: SocketAddr,
    tls: bool,
    shared: Arc<S>,
    handle: H,
) -> io::Result<(SocketAddr, watch::Sender<bool>)>
where
    S: Send + Sync + 'static,
    H: Fn(Arc<S>, Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Option<HttpResponse>> + Send + 'static,
{
    let tls = acceptor(tls)?;
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let (shutdown, shutdown_rx) = watch::channel(false);
    tokio::spawn(accept_loop(listener, tls, shutdown_rx, move |stream| {
        let shared = shared.clone();
        let handle = handle.clone();
        serve_http(stream, move |request| handle(shared.clone(), request))
    }));
    Ok((addr, shutdown))
}

/// A handler's decision not to answer: the connection closes with no
/// answer at all, as when a server dies mid-request.
#[derive(Debug)]
pub(crate) struct NoAnswer;

impl std::fmt::Display for NoAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the simulator drops this answer")
    }
}

impl std::error::Error for NoAnswer {}

pub(crate) type HttpResponse = Response<Full<Bytes>>;

/// Serves HTTP/1.1 on one connection; `handle` answers each request, or
/// returns `None` to close the connection without an answer.
pub(crate) async fn serve_http<H, Fut>(stream: Box<dyn Stream>, handle: H)
where
    H: Fn(Request<Incoming>) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Option<HttpResponse>> + Send + 'static,
{
    let service = hyper::service::service_fn(move |request| {
        let handle = handle.clone();
        async move { handle(request).await.ok_or(NoAnswer) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30))
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// A JSON answer.
pub(crate) fn json<T: Serialize>(status: StatusCode, body: &T) -> HttpResponse {
    json_bytes(
        status,
        serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec()),
    )
}

/// An answer with a JSON body already encoded.
pub(crate) fn json_bytes(status: StatusCode, bytes: Vec<u8>) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::from(bytes)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

/// The whole request body, or `None` when it cannot be read or is larger
/// than `max` bytes.
pub(crate) async fn read_body(request: Request<Incoming>, max: usize) -> Option<Bytes> {
    Limited::new(request.into_body(), max)
        .collect()
        .await
        .ok()
        .map(|collected| collected.to_bytes())
}

/// Runs `start` on a two-thread runtime, then serves until the process
/// ends (for `posctl sim ...`). `start` binds, prints where it listens and
/// returns the simulator handle, which stays alive.
pub(crate) fn serve_until_killed<S, Fut>(start: Fut) -> io::Result<()>
where
    Fut: Future<Output = io::Result<S>>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let sim = start.await?;
        std::future::pending::<()>().await;
        drop(sim);
        Ok(())
    })
}
