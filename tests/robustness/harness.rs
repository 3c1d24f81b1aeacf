//! The real binary on 127.0.0.1 port 0 (its address read from its JSON log), a small blocking
//! HTTP/1.1 client with keep-alive, and bounded polling.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Time allowed for anything the tests wait on (generous: the CI machine has 2 loaded cores).
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A valid triage request.
pub const TRIAGE_BODY: &str = r#"{"region":"lumbar","procedure":"intra_articular_injection","percent_relief":60,"relief_duration":{"value":2,"unit":"wk"},"radicular_symptoms":false}"#;

/// The repository's pathway file.
pub fn pathway_text() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("pathways/facet-pain.toml"))
        .unwrap()
}

/// `sha256:<hex>` of `bytes`, as the server names a pathway file.
pub fn digest(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// A running `facet-triage serve`, killed on drop if still running.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    /// The `addr` of the `serving /metrics on its own address` line, with `--metrics-addr`.
    pub metrics_addr: Option<SocketAddr>,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts the server on a free port with `args` and `env`, and waits until `/healthz` answers.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_facet-triage"))
            .args(["serve", "--addr", "127.0.0.1:0", "--log-format", "json"])
            .args(args)
            .env("RUST_LOG", "info")
            .env_remove("FACET_TRIAGE_API_TOKENS")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (addresses, found) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let lines = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) {
                    let fields = &event["fields"];
                    if let Some(addr) = fields["addr"].as_str() {
                        let _ = addresses.send((
                            fields["message"].as_str().unwrap_or_default().to_owned(),
                            addr.parse::<SocketAddr>().unwrap(),
                        ));
                    }
                }
                lines.lock().unwrap().push(line);
            }
        });
        let mut addr = None;
        let mut metrics_addr = None;
        let deadline = Instant::now() + PATIENCE;
        while addr.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            match found.recv_timeout(left) {
                Ok((message, at)) if message == "listening" => addr = Some(at),
                Ok((message, at)) if message.contains("/metrics") => metrics_addr = Some(at),
                Ok(_) => {}
                Err(_) => {
                    let _ = child.kill();
                    panic!("the server did not start: {:?}", log.lock().unwrap());
                }
            }
        }
        let server = Server {
            child,
            addr: addr.unwrap(),
            metrics_addr,
            log,
        };
        assert!(
            eventually(|| server.get("/healthz").is_ok_and(|r| r.status == 200)),
            "no /healthz"
        );
        server
    }

    pub fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// Sends a signal (`HUP`, `TERM`) with `kill`.
    pub fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .args([format!("-{name}"), self.pid()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -{name} failed");
    }

    pub fn connect(&self) -> Conn {
        Conn::open(self.addr).unwrap()
    }

    /// One GET on a fresh connection.
    pub fn get(&self, path: &str) -> std::io::Result<Reply> {
        Conn::open(self.addr)?.send("GET", path, &[], b"")
    }

    /// The log lines so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Waits (bounded) for the process to exit.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|error| panic!("{error}: {}", String::from_utf8_lossy(&self.body)))
    }
}

/// An HTTP/1.1 connection, kept alive across requests.
pub struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    pub fn open(addr: SocketAddr) -> std::io::Result<Conn> {
        let stream = TcpStream::connect_timeout(&addr, PATIENCE)?;
        stream.set_read_timeout(Some(PATIENCE))?;
        stream.set_write_timeout(Some(PATIENCE))?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            reader: BufReader::new(stream),
        })
    }

    /// Writes bytes as they are (to send part of a request).
    pub fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let stream = self.reader.get_mut();
        stream.write_all(bytes)?;
        stream.flush()
    }

    /// Whether the server has sent something (or closed) without being asked again: a request that
    /// was answered early, before its body was complete.
    pub fn answered_early(&mut self) -> bool {
        let stream = self.reader.get_ref();
        stream.set_nonblocking(true).unwrap();
        let answered = match self.reader.fill_buf() {
            Ok(_) => true,
            Err(error) => error.kind() != std::io::ErrorKind::WouldBlock,
        };
        self.reader.get_ref().set_nonblocking(false).unwrap();
        answered
    }

    /// The head of a request with a body of `length` bytes.
    pub fn head(method: &str, path: &str, headers: &[(&str, &str)], length: usize) -> String {
        let mut head =
            format!("{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Length: {length}\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        head
    }

    pub fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<Reply> {
        let mut request = Conn::head(method, path, headers, body.len()).into_bytes();
        request.extend_from_slice(body);
        self.write(&request)?;
        self.read_reply()
    }

    /// POST /v1/triage with [`TRIAGE_BODY`].
    pub fn triage(&mut self, headers: &[(&str, &str)]) -> std::io::Result<Reply> {
        let mut all = vec![("Content-Type", "application/json")];
        all.extend_from_slice(headers);
        self.send("POST", "/v1/triage", &all, TRIAGE_BODY.as_bytes())
    }

    /// Reads one response (Content-Length or chunked body).
    pub fn read_reply(&mut self) -> std::io::Result<Reply> {
        let broken =
            |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "closed before a response",
            ));
        }
        let status = line
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| broken("no status line"))?;
        let mut headers = Vec::new();
        loop {
            line.clear();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(broken("closed in the headers"));
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').ok_or_else(|| broken("bad header"))?;
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
        let reply = Reply {
            status,
            headers,
            body: Vec::new(),
        };
        let mut body = Vec::new();
        if let Some(length) = reply.header("content-length") {
            let length: usize = length.parse().map_err(|_| broken("bad length"))?;
            body.resize(length, 0);
            self.reader.read_exact(&mut body)?;
        } else if reply
            .header("transfer-encoding")
            .is_some_and(|value| value.eq_ignore_ascii_case("chunked"))
        {
            loop {
                line.clear();
                self.reader.read_line(&mut line)?;
                let size = usize::from_str_radix(line.trim(), 16).map_err(|_| broken("chunk"))?;
                let mut chunk = vec![0; size + 2];
                self.reader.read_exact(&mut chunk)?;
                if size == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..size]);
            }
        }
        Ok(Reply { body, ..reply })
    }
}

/// Polls `check` every 20 ms until it holds or [`PATIENCE`] passes.
pub fn eventually(mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// A throwaway directory, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("facet-triage-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Replaces `name` atomically: writes a temporary file (not `*.toml`), then renames it.
    pub fn replace(&self, name: &str, bytes: &[u8]) {
        let temporary = self.0.join(format!(".{name}.partial"));
        std::fs::write(&temporary, bytes).unwrap();
        std::fs::rename(&temporary, self.0.join(name)).unwrap();
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The value of the first Prometheus sample line starting with `prefix`, 0 when absent.
pub fn sample(metrics: &str, prefix: &str) -> f64 {
    metrics
        .lines()
        .find(|line| line.starts_with(prefix))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0.0)
}
