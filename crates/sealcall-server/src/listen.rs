//! The listening socket: plain TCP, or TLS (rustls) on the same port for HTTPS and WSS.
//!
//! An accept task takes TCP connections and, with TLS, runs each handshake in its own task
//! (at most [`MAX_PENDING_HANDSHAKES`] at once, each within [`HANDSHAKE_TIMEOUT`]), so a slow or
//! silent client delays nobody else; finished connections reach axum through a channel.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long a client has to finish the TLS handshake.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Most TLS handshakes in progress at once; more connections wait in the kernel's backlog.
pub(crate) const MAX_PENDING_HANDSHAKES: usize = 256;

/// The byte stream of an accepted connection.
enum Stream {
    /// Plain TCP (loopback, or behind a TLS-terminating proxy).
    Plain(TcpStream),
    /// TLS over TCP.
    Tls(Box<TlsStream<TcpStream>>),
}

/// One accepted connection. Reading fails with `TimedOut` once nothing has been read or written
/// for the idle timeout, which ends the connection: a client that opens a connection and sends
/// nothing (or stops half-way through a request) does not hold it for ever.
pub(crate) struct Conn {
    stream: Stream,
    idle: Duration,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl Conn {
    fn new(stream: Stream, idle: Duration) -> Self {
        Self {
            stream,
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
        }
    }

    fn active(&mut self) {
        let next = tokio::time::Instant::now() + self.idle;
        self.deadline.as_mut().reset(next);
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = match &mut this.stream {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        };
        match polled {
            Poll::Ready(Ok(())) if buf.filled().len() > before => {
                this.active();
                Poll::Ready(Ok(()))
            }
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "idle connection",
                ))),
                Poll::Pending => Poll::Pending,
            },
            other => other,
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = match &mut this.stream {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        };
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.active();
        }
        polled
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().stream {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().stream {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// The listener axum serves from.
pub(crate) struct Incoming {
    addr: SocketAddr,
    rx: mpsc::Receiver<(Conn, SocketAddr)>,
}

/// The TCP peer of a request (the proxy's address when behind one; see `Config::trusted_proxies`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer(pub SocketAddr);

impl Connected<IncomingStream<'_, Incoming>> for Peer {
    fn connect_info(stream: IncomingStream<'_, Incoming>) -> Self {
        Peer(*stream.remote_addr())
    }
}

impl Listener for Incoming {
    type Io = Conn;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Conn, SocketAddr) {
        match self.rx.recv().await {
            Some(c) => c,
            // The accept task ended (shutdown): nothing will come any more.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.addr)
    }
}

impl Incoming {
    /// Starts accepting on `listener` (with TLS when `tls` is given) until `shutdown` turns true.
    pub(crate) fn start(
        listener: TcpListener,
        tls: Option<Arc<rustls::ServerConfig>>,
        idle: Duration,
        mut shutdown: watch::Receiver<bool>,
    ) -> io::Result<Self> {
        let addr = listener.local_addr()?;
        let (tx, rx) = mpsc::channel(64);
        let acceptor = tls.map(TlsAcceptor::from);
        let pending = Arc::new(Semaphore::new(MAX_PENDING_HANDSHAKES));
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    a = listener.accept() => a,
                    _ = shutdown.wait_for(|s| *s) => return,
                };
                let (tcp, peer) = match accepted {
                    Ok(a) => a,
                    Err(_) => {
                        // Out of file descriptors and the like: back off a little.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                let Some(acceptor) = acceptor.clone() else {
                    if tx
                        .send((Conn::new(Stream::Plain(tcp), idle), peer))
                        .await
                        .is_err()
                    {
                        return;
                    }
                    continue;
                };
                let Ok(permit) = Arc::clone(&pending).acquire_owned().await else {
                    return;
                };
                let tx = tx.clone();
                tokio::spawn(async move {
                    let handshake =
                        tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await;
                    drop(permit);
                    if let Ok(Ok(stream)) = handshake {
                        let conn = Conn::new(Stream::Tls(Box::new(stream)), idle);
                        let _ = tx.send((conn, peer)).await;
                    }
                });
            }
        });
        Ok(Self { addr, rx })
    }
}
