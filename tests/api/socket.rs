//! Over real sockets: the router served on port 0, the timeout, and the binary's graceful shutdown.

use crate::helpers::*;
use facet_triage::http::HttpOptions;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::pin::Pin;
use std::process::{Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

async fn serve(app: axum::Router) -> SocketAddr {
    serve_counting(app).await.0
}

/// Serves `app` on port 0; the count says how many bytes the server has read from its sockets.
async fn serve_counting(app: axum::Router) -> (SocketAddr, Arc<ReadSoFar>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let read = Arc::new(ReadSoFar::default());
    let counting = Counting {
        listener,
        read: Arc::clone(&read),
    };
    tokio::spawn(async move { axum::serve(counting, app).await.unwrap() });
    (addr, read)
}

/// The bytes the server has read from all its connections, so that a client can wait until the
/// server has read what it sent before it sends more.
#[derive(Default)]
struct ReadSoFar {
    bytes: Mutex<usize>,
    grown: Condvar,
}

impl ReadSoFar {
    fn now(&self) -> usize {
        *self.bytes.lock().unwrap()
    }

    /// Waits until the server has read `total` bytes in all; false if it has not within 30 s.
    fn wait_for(&self, total: usize) -> bool {
        let bytes = self.bytes.lock().unwrap();
        let (bytes, _) = self
            .grown
            .wait_timeout_while(bytes, Duration::from_secs(30), |read| *read < total)
            .unwrap();
        *bytes >= total
    }
}

/// A TCP listener whose connections add what they read to a [`ReadSoFar`].
struct Counting {
    listener: tokio::net::TcpListener,
    read: Arc<ReadSoFar>,
}

impl axum::serve::Listener for Counting {
    type Io = Counted;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Counted, SocketAddr) {
        let (stream, addr) = self.listener.accept().await.unwrap();
        let read = Arc::clone(&self.read);
        (Counted { stream, read }, addr)
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

/// An accepted connection that counts the bytes it reads.
struct Counted {
    stream: tokio::net::TcpStream,
    read: Arc<ReadSoFar>,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        let read = buf.filled().len() - before;
        if read > 0 {
            *self.read.bytes.lock().unwrap() += read;
            self.read.grown.notify_all();
        }
        polled
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, bytes)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[tokio::test]
async fn the_api_answers_over_a_real_socket() {
    let addr = serve(app()).await;
    let client = http_client();
    let response = client
        .post(format!("http://{addr}/v1/triage"))
        .header("content-type", "application/json")
        .body(valid_request().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["options"][0]["rank"], 1);

    let problem = client
        .post(format!("http://{addr}/v1/triage"))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(problem.status(), 415);
    assert_eq!(problem.headers()["content-type"], PROBLEM_JSON);

    let spec: serde_json::Value = client
        .get(format!("http://{addr}/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
}

/// Sends raw bytes and reads until the server closes or `timeout` passes.
fn exchange(stream: &mut TcpStream, timeout: Duration) -> String {
    stream.set_read_timeout(Some(timeout)).unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    String::from_utf8_lossy(&response).into_owned()
}

/// Sends `head`, then each of `parts` once the server has read everything sent before it (so the
/// server reads the body in several reads), and reads the answer until the server closes. The
/// server must have no other connection sending meanwhile.
fn send_in_parts(addr: SocketAddr, read: &ReadSoFar, head: &str, parts: &[&[u8]]) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    let mut sent = read.now() + head.len();
    stream.write_all(head.as_bytes()).unwrap();
    for part in parts {
        assert!(read.wait_for(sent), "the server has not read {sent} bytes");
        stream.write_all(part).unwrap();
        sent += part.len();
    }
    exchange(&mut stream, Duration::from_secs(30))
}

/// Reads the interim `100 Continue` that the server sends, for a request with
/// `Expect: 100-continue`, once its handler starts reading the body: the request is in flight.
fn await_continue(stream: &mut TcpStream) {
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 100 Continue\r\n"), "{head}");
}

/// The head of a `Connection: close` JSON `POST` to `path`, with `framing` (a length or chunking).
fn post_head(path: &str, framing: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n{framing}\r\n\r\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_arrives_in_parts_is_read_whole_and_within_the_limit() {
    let (addr, read) = serve_counting(app()).await;
    let counted = Arc::clone(&read);
    let (whole, parted) = tokio::task::spawn_blocking(move || {
        let body = valid_request().to_string().into_bytes();
        let (first, rest) = body.split_at(body.len() / 2);
        let head = post_head("/v1/triage", &format!("Content-Length: {}", body.len()));
        (
            send_in_parts(addr, &counted, &head, &[&body]),
            send_in_parts(addr, &counted, &head, &[first, rest]),
        )
    })
    .await
    .unwrap();
    assert!(parted.starts_with("HTTP/1.1 200"), "{parted}");
    let answer = |response: &str| response.split_once("\r\n\r\n").unwrap().1.to_owned();
    assert_eq!(answer(&parted), answer(&whole));

    // 64 KiB is the limit, wherever the frames end.
    let limit = 64 * 1024;
    let over = tokio::task::spawn_blocking(move || {
        let chunk = [
            format!("{:x}\r\n", limit / 2).into_bytes(),
            vec![b' '; limit / 2],
            b"\r\n".to_vec(),
        ]
        .concat();
        let head = post_head("/v1/triage", "Transfer-Encoding: chunked");
        send_in_parts(
            addr,
            &read,
            &head,
            &[&chunk, &chunk, b"1\r\n1\r\n0\r\n\r\n"],
        )
    })
    .await
    .unwrap();
    assert!(over.starts_with("HTTP/1.1 413"), "{over}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_length_over_the_limit_is_413_at_once_without_the_body() {
    let addr = serve(app()).await;
    let (triage, hook) = tokio::task::spawn_blocking(move || {
        let send = |path: &str, length: usize| {
            let mut stream = TcpStream::connect(addr).unwrap();
            let head = post_head(path, &format!("Content-Length: {length}"));
            stream.write_all(head.as_bytes()).unwrap();
            // Not a byte of the body is sent: the answer must not wait for it (the request
            // timeout is 10 s; reading stops after 5).
            exchange(&mut stream, Duration::from_secs(5))
        };
        (
            send("/v1/triage", 64 * 1024 + 1),
            send("/cds-services/facet-pain-next-step", 1024 * 1024 + 1),
        )
    })
    .await
    .unwrap();
    assert!(triage.starts_with("HTTP/1.1 413"), "{triage}");
    assert!(hook.starts_with("HTTP/1.1 413"), "{hook}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_chunked_body_is_400_not_413_on_triage_and_cds_hooks() {
    let (addr, read) = serve_counting(app()).await;
    let send = move |path: &str| {
        let head = post_head(path, "Transfer-Encoding: chunked");
        send_in_parts(addr, &read, &head, &[b"5\r\n{\"a\":\r\nzz\r\n"])
    };
    let (triage, hook) = tokio::task::spawn_blocking(move || {
        (
            send("/v1/triage"),
            send("/cds-services/facet-pain-next-step"),
        )
    })
    .await
    .unwrap();
    assert!(triage.starts_with("HTTP/1.1 400"), "{triage}");
    assert!(triage.contains("unreadable-body"), "{triage}");
    assert!(hook.starts_with("HTTP/1.1 400"), "{hook}");
    assert!(hook.contains("\"code\":\"structure\""), "{hook}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_never_arrives_is_408() {
    let addr = serve(app_with(HttpOptions {
        request_timeout: Duration::from_millis(200),
        ..HttpOptions::default()
    }))
    .await;
    let response = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        write!(
            stream,
            "POST /v1/triage HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
        )
        .unwrap();
        exchange(&mut stream, Duration::from_secs(30))
    })
    .await
    .unwrap();
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(response.contains("application/problem+json"), "{response}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_still_arriving_does_not_hold_the_only_place() {
    let addr = serve(app_with(HttpOptions {
        max_concurrency: 1,
        ..HttpOptions::default()
    }))
    .await;
    let body = valid_request().to_string();
    let (first, rest) = body.split_at(body.len() / 2);
    let mut holder = TcpStream::connect(addr).unwrap();
    let framing = format!("Content-Length: {}\r\nExpect: 100-continue", body.len());
    holder
        .write_all(post_head("/v1/triage", &framing).as_bytes())
        .unwrap();
    let mut holder = tokio::task::spawn_blocking(move || {
        await_continue(&mut holder);
        holder
    })
    .await
    .unwrap();
    holder.write_all(first.as_bytes()).unwrap();
    let client = http_client();
    for _ in 0..20 {
        let answer = client
            .post(format!("http://{addr}/v1/triage"))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
    }
    for path in ["/healthz", "/readyz", "/metrics"] {
        let answer = client.get(format!("http://{addr}{path}")).send().await;
        assert_eq!(answer.unwrap().status(), 200, "{path}");
    }
    assert!(
        !answered_early(&holder),
        "the slow request was answered early"
    );
    holder.write_all(rest.as_bytes()).unwrap();
    let slow = tokio::task::spawn_blocking(move || exchange(&mut holder, Duration::from_secs(30)))
        .await
        .unwrap();
    assert!(slow.starts_with("HTTP/1.1 200"), "{slow}");
}

/// Whether the server has answered (or closed) `stream` without being asked again.
fn answered_early(stream: &TcpStream) -> bool {
    stream.set_nonblocking(true).unwrap();
    let answered = match stream.peek(&mut [0]) {
        Ok(_) => true,
        Err(error) => error.kind() != std::io::ErrorKind::WouldBlock,
    };
    stream.set_nonblocking(false).unwrap();
    answered
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits (a bounded number of attempts) until `check` holds.
fn eventually(mut check: impl FnMut() -> bool) -> bool {
    for _ in 0..200 {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    false
}

#[test]
fn sigterm_lets_an_in_flight_request_finish() {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_facet-triage"))
        .args(["serve", "--addr", &addr.to_string(), "--log-format", "json"])
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        eventually(|| TcpStream::connect(addr).is_ok()),
        "server did not start"
    );

    // Start a request; once the server reads its body (its `100 Continue`), send half of it.
    let body = valid_request().to_string();
    let (head, tail) = body.split_at(body.len() / 2);
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST /v1/triage HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    )
    .unwrap();
    await_continue(&mut stream);
    stream.write_all(head.as_bytes()).unwrap();

    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // Shutdown has begun once new connections are refused.
    assert!(
        eventually(|| TcpStream::connect(addr).is_err()),
        "listener still open"
    );

    stream.write_all(tail.as_bytes()).unwrap();
    let response = exchange(&mut stream, Duration::from_secs(30));
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"options\""), "{response}");

    let status = server.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let mut log = String::new();
    server
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(log.contains("shutdown signal received"), "{log}");
    assert!(
        log.lines()
            .all(|line| serde_json::from_str::<serde_json::Value>(line).is_ok()),
        "{log}"
    );
}

/// An HTTP client for the tests. The crate builds reqwest without a TLS crypto provider of its own
/// (the FHIR fallback installs ring), so one is installed here before any client is built.
fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}
