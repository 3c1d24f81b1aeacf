//! Two server processes (the real binary) sharing one database and one pathway directory, as replicas
//! behind a load balancer: a `jti` accepted by one is refused by the other; feedback sent to one is
//! counted in the other's summary; a pathway file changed in the shared directory is served by both.
//! Against a shared SQLite file, and against a throwaway PostgreSQL cluster (Debian `postgresql`,
//! started here with `initdb`/`pg_ctl`), where stopping the database gives `503` on the CDS routes
//! and `/readyz` while `/v1/triage` keeps answering, and starting it again recovers without a
//! restart. Without PostgreSQL installed the PostgreSQL test is skipped, unless `CI` is set.
//!
//! The Kubernetes manifests that run these replicas (`deploy/kubernetes/`) are validated here too,
//! offline against the Kubernetes schemas with PyPI `kubernetes-validate` (skipped without it, unless
//! `CI` is set), and checked for what the contract asks of them.

use crate::harness::PATIENCE;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const PUBLIC_URL: &str = "https://cds.test.invalid";
const TEST_ISSUER: &str = "https://ehr.test.invalid";
const SERVICE: &str = "/cds-services/facet-pain-next-step";

/// A scratch directory under the system's temporary directory, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "facet-replicas-{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One `facet-triage serve` process, killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(database: &str, pathways: &Path, trust: &Path) -> Server {
        let addr = format!("127.0.0.1:{}", free_port());
        let child = Command::new(env!("CARGO_BIN_EXE_facet-triage"))
            .args(["serve", "--addr", &addr, "--database", database])
            .arg("--pathways")
            .arg(pathways)
            .arg("--cds-trust")
            .arg(trust)
            .args(["--public-url", PUBLIC_URL, "--log-format", "json"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Server {
            child,
            base: format!("http://{addr}"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Reply {
    status: u16,
    retry_after: Option<String>,
    json: Value,
}

async fn send(request: reqwest::RequestBuilder) -> Reply {
    let response = request
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let json = response.json().await.unwrap_or(Value::Null);
    Reply {
        status,
        retry_after,
        json,
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A fresh ES384 token of the test issuer for `path`, with the given `jti`.
fn token(path: &str, jti: &str) -> String {
    let pem = std::fs::read(format!("{ROOT}/tests/fixtures/jwt/es384-private.pem")).unwrap();
    let mut header = Header::new(Algorithm::ES384);
    header.kid = Some("test-es384".into());
    let now = now();
    let claims = json!({"iss": TEST_ISSUER, "aud": format!("{PUBLIC_URL}{path}"),
        "iat": now - 5, "exp": now + 120, "jti": jti});
    encode(&header, &claims, &EncodingKey::from_ec_pem(&pem).unwrap()).unwrap()
}

fn unique_jti() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "replica-{}-{}-{}",
        std::process::id(),
        now(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

struct Client {
    http: reqwest::Client,
}

impl Client {
    async fn get(&self, server: &Server, path: &str) -> Reply {
        send(self.http.get(format!("{}{path}", server.base))).await
    }

    /// A CDS Hooks call with a fresh token.
    async fn cds(&self, server: &Server, path: &str, body: Option<&Value>) -> Reply {
        self.cds_with(server, path, body, &unique_jti()).await
    }

    async fn cds_with(
        &self,
        server: &Server,
        path: &str,
        body: Option<&Value>,
        jti: &str,
    ) -> Reply {
        let url = format!("{}{path}", server.base);
        let request = match body {
            Some(body) => self.http.post(url).json(body),
            None => self.http.get(url),
        };
        send(request.bearer_auth(token(path, jti))).await
    }

    async fn wait_until(&self, what: &str, mut done: impl AsyncFnMut() -> bool) {
        let deadline = Instant::now() + PATIENCE;
        while !done().await {
            assert!(Instant::now() < deadline, "timed out waiting: {what}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn ready(&self, server: &Server) -> bool {
        match self
            .http
            .get(format!("{}/readyz", server.base))
            .timeout(Duration::from_secs(5))
            .send()
            .await
        {
            Ok(response) => response.status().as_u16() == 200,
            Err(_) => false,
        }
    }
}

fn contract_request() -> Value {
    let example: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{ROOT}/tests/fixtures/cds/contract-example.json"))
            .unwrap(),
    )
    .unwrap();
    example["request"].clone()
}

/// How the pathway directory both servers watch is laid out, and how it changes.
#[derive(Clone, Copy)]
enum Layout {
    /// Plain files, edited in place.
    Files,
    /// As the kubelet mounts a ConfigMap: `NAME -> ..data/NAME`, `..data -> ..VERSION/`, and an
    /// update swaps `..data` atomically to a new version directory.
    ConfigMap,
}

const PATHWAY_FILE: &str = "facet-pain.toml";

/// The shared pathway directory: a copy of the project's pathway file.
fn pathway_dir(scratch: &Scratch, layout: Layout) -> PathBuf {
    let dir = scratch.0.join("pathways");
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(format!("{ROOT}/pathways/{PATHWAY_FILE}")).unwrap();
    match layout {
        Layout::Files => std::fs::write(dir.join(PATHWAY_FILE), text).unwrap(),
        Layout::ConfigMap => {
            std::fs::create_dir(dir.join("..v1")).unwrap();
            std::fs::write(dir.join("..v1").join(PATHWAY_FILE), text).unwrap();
            std::os::unix::fs::symlink("..v1", dir.join("..data")).unwrap();
            std::os::unix::fs::symlink(format!("..data/{PATHWAY_FILE}"), dir.join(PATHWAY_FILE))
                .unwrap();
        }
    }
    dir
}

/// Replaces the pathway file's text as `layout` does.
fn change_pathway(dir: &Path, layout: Layout, text: &str) {
    match layout {
        Layout::Files => std::fs::write(dir.join(PATHWAY_FILE), text).unwrap(),
        Layout::ConfigMap => {
            std::fs::create_dir(dir.join("..v2")).unwrap();
            std::fs::write(dir.join("..v2").join(PATHWAY_FILE), text).unwrap();
            std::os::unix::fs::symlink("..v2", dir.join("..data_tmp")).unwrap();
            std::fs::rename(dir.join("..data_tmp"), dir.join("..data")).unwrap();
            std::fs::remove_dir_all(dir.join("..v1")).unwrap();
        }
    }
}

/// What the replicas share, proven on two servers; returns the triage request and the number of
/// accepted feedback items on the recommended option so far.
async fn replicas_share(
    client: &Client,
    a: &Server,
    b: &Server,
    pathways: &Path,
    layout: Layout,
) -> Value {
    for server in [a, b] {
        client
            .wait_until("a replica is ready", || client.ready(server))
            .await;
    }

    // A token accepted by one replica is refused by the other.
    let jti = unique_jti();
    assert_eq!(
        client.cds_with(a, "/cds-services", None, &jti).await.status,
        200
    );
    let replayed = client.cds_with(b, "/cds-services", None, &jti).await;
    assert_eq!(replayed.status, 401, "{}", replayed.json);
    assert!(
        replayed.json["issue"][0]["diagnostics"]
            .as_str()
            .unwrap()
            .contains("replayed")
    );

    // Feedback sent to one replica is counted in the other's summary.
    let answer = client.cds(a, SERVICE, Some(&contract_request())).await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    let card = answer.json["cards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|card| card["suggestions"].is_array())
        .unwrap()
        .clone();
    let recommended = card["extension"]["org.facet-triage.options"][0].clone();
    let feedback = json!({"feedback": [{"card": card["uuid"], "outcome": "accepted",
        "acceptedSuggestions": [{"id": recommended["suggestion"]}],
        "outcomeTimestamp": "2026-11-03T09:00:00Z"}]});
    let path = format!("{SERVICE}/feedback");
    let stored = client.cds(a, &path, Some(&feedback)).await;
    assert_eq!((stored.status, &stored.json["accepted"]), (200, &json!(1)));
    let repeat = client.cds(b, &path, Some(&feedback)).await;
    assert_eq!(
        (repeat.status, &repeat.json["duplicates"]),
        (200, &json!(1)),
        "an exact repeat sent to the other replica is recognised"
    );
    let summary = client
        .get(b, "/v1/feedback/summary?service=facet-pain-next-step")
        .await;
    assert_eq!(summary.status, 200, "{}", summary.json);
    let option = summary.json["services"][0]["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|option| option["option"] == recommended["id"])
        .unwrap_or_else(|| panic!("no {} in {}", recommended["id"], summary.json));
    assert_eq!(option["accepted"], 1);

    // A pathway file changed in the shared directory is served by both.
    let text = std::fs::read_to_string(pathways.join(PATHWAY_FILE)).unwrap();
    let version = "version = \"2.0.0\"";
    assert!(
        text.contains(version),
        "the fixture's pathway version moved"
    );
    let changed = text.replacen(version, "version = \"2.0.1-replica\"", 1);
    change_pathway(pathways, layout, &changed);
    for server in [a, b] {
        client
            .wait_until("both replicas serve the changed pathway", async || {
                client.get(server, "/v1/pathways").await.json["pathways"][0]["version"]
                    == "2.0.1-replica"
            })
            .await;
    }
    card["extension"]["org.facet-triage.request"].clone()
}

#[tokio::test]
async fn replicas_share_a_sqlite_file() {
    let scratch = Scratch::new("sqlite");
    let pathways = pathway_dir(&scratch, Layout::Files);
    let trust = PathBuf::from(format!("{ROOT}/tests/fixtures/jwt/trusted-issuers.json"));
    let database = format!("sqlite://{}", scratch.0.join("shared.db").display());
    let a = Server::start(&database, &pathways, &trust);
    let b = Server::start(&database, &pathways, &trust);
    let client = Client {
        http: http_client(),
    };
    replicas_share(&client, &a, &b, &pathways, Layout::Files).await;
}

/// A throwaway PostgreSQL cluster on a random port, stopped when dropped.
struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    /// `runuser -u postgres --` when running as root (initdb refuses root).
    as_user: Vec<String>,
    _scratch: Scratch,
}

impl Cluster {
    /// `None` (skipped) when PostgreSQL's server programs are not installed and `CI` is not set.
    fn create() -> Option<Cluster> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .filter_map(|entry| Some(entry.ok()?.path().join("bin")))
            .filter(|bin| bin.join("initdb").exists() && bin.join("pg_ctl").exists())
            .max();
        let Some(bin) = bin else {
            assert!(
                std::env::var_os("CI").is_none(),
                "PostgreSQL is not installed (/usr/lib/postgresql/*/bin/initdb): .ci/run installs \
                 the Debian package postgresql"
            );
            eprintln!("skipped: PostgreSQL not installed (Debian package postgresql)");
            return None;
        };
        let scratch = Scratch::new("postgres");
        let data = scratch.0.join("data");
        let is_root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|out| out.stdout.trim_ascii() == b"0");
        let as_user: Vec<String> = if is_root {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&scratch.0)
                .status()
                .unwrap();
            assert!(status.success(), "chown to the postgres user failed");
            ["runuser", "-u", "postgres", "--"]
                .map(String::from)
                .to_vec()
        } else {
            Vec::new()
        };
        let cluster = Cluster {
            bin,
            data,
            port: free_port(),
            as_user,
            _scratch: scratch,
        };
        let initdb = cluster
            .command("initdb")
            .args(["--auth=trust", "--username=postgres", "--no-sync", "-D"])
            .arg(&cluster.data)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(initdb.success(), "initdb failed");
        cluster.start();
        Some(cluster)
    }

    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        match self.as_user.split_first() {
            Some((runner, args)) => {
                let mut command = Command::new(runner);
                command.args(args).arg(program);
                command
            }
            None => Command::new(program),
        }
    }

    fn pg_ctl(&self, args: &[&str]) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.data.display()
        );
        let status = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-o", &options, "-l"])
            .arg(self.data.join("log"))
            .args(args)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "pg_ctl {args:?} failed");
    }

    fn start(&self) {
        self.pg_ctl(&["-w", "-t", "30", "start"]);
    }

    fn stop(&self) {
        self.pg_ctl(&["-w", "-t", "30", "-m", "fast", "stop"]);
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

#[tokio::test]
async fn replicas_share_postgresql_and_survive_its_outage() {
    let Some(cluster) = Cluster::create() else {
        return;
    };
    let scratch = Scratch::new("pg-replicas");
    // Laid out as a mounted ConfigMap, as in deploy/kubernetes: its update is hot-reloaded too.
    let pathways = pathway_dir(&scratch, Layout::ConfigMap);
    let trust = PathBuf::from(format!("{ROOT}/tests/fixtures/jwt/trusted-issuers.json"));
    let a = Server::start(&cluster.url(), &pathways, &trust);
    let b = Server::start(&cluster.url(), &pathways, &trust);
    let client = Client {
        http: http_client(),
    };
    let triage_request = replicas_share(&client, &a, &b, &pathways, Layout::ConfigMap).await;

    // The database stops: the routes that need it answer 503 with Retry-After, triage keeps going.
    cluster.stop();
    let readyz = client.get(&a, "/readyz").await;
    assert_eq!(readyz.status, 503);
    assert!(
        readyz.json["detail"].as_str().unwrap().contains("postgres"),
        "{}",
        readyz.json
    );
    for path in [
        "/cds-services".to_owned(),
        format!("{SERVICE}/feedback"),
        SERVICE.to_owned(),
    ] {
        let body = (path != "/cds-services").then(|| json!({"feedback": []}));
        let refused = client.cds(&b, &path, body.as_ref()).await;
        assert_eq!(refused.status, 503, "{path}: {}", refused.json);
        assert_eq!(refused.retry_after.as_deref(), Some("5"), "{path}");
    }
    let summary = client.get(&a, "/v1/feedback/summary").await;
    assert_eq!((summary.status, summary.retry_after.is_some()), (503, true));
    let triage = send(
        client
            .http
            .post(format!("{}/v1/triage", a.base))
            .json(&triage_request),
    )
    .await;
    assert_eq!(triage.status, 200, "{}", triage.json);

    // It starts again: both recover without a restart, and what they accept is stored.
    cluster.start();
    for server in [&a, &b] {
        client
            .wait_until("a replica recovers", || client.ready(server))
            .await;
    }
    let overridden = json!({"feedback": [{"card": "0b5e1f7a-3c2d-8e4f-9a1b-2c3d4e5f6a7b",
        "outcome": "overridden", "overrideReason": {"userComment": "a comment"},
        "outcomeTimestamp": "2026-11-03T10:00:00Z"}]});
    let stored = client
        .cds(&b, &format!("{SERVICE}/feedback"), Some(&overridden))
        .await;
    assert_eq!(
        (stored.status, &stored.json["overridden"]),
        (200, &json!(1))
    );
    let summary = client
        .get(&a, "/v1/feedback/summary?since=2026-11-03T09:30:00Z")
        .await;
    assert_eq!(summary.status, 200);
    assert_eq!(summary.json["services"][0]["options"][0]["overridden"], 1);
    assert_eq!(
        summary.json["services"][0]["options"][0]["option"],
        Value::Null
    );
}

/// Runs a tool; `None` (skipped) when it is not installed and `CI` is not set.
fn run_tool(program: &str, args: &[String], install: &str) -> Option<std::process::Output> {
    match Command::new(program).args(args).output() {
        Ok(output) => Some(output),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{program} is not installed: .ci/run installs {install}"
            );
            eprintln!("skipped: {program} not installed ({install})");
            None
        }
        Err(error) => panic!("cannot run {program}: {error}"),
    }
}

#[test]
fn the_kubernetes_manifests_validate_and_hold_what_replicas_need() {
    let mut files: Vec<String> = std::fs::read_dir(format!("{ROOT}/deploy/kubernetes"))
        .unwrap()
        .map(|entry| entry.unwrap().path().display().to_string())
        .filter(|path| path.ends_with(".yaml"))
        .collect();
    files.sort();
    let mut args: Vec<String> = ["--strict", "--quiet", "-k", "1.31"]
        .map(String::from)
        .to_vec();
    args.extend(files.iter().cloned());
    let Some(validated) = run_tool("kubernetes-validate", &args, "PyPI kubernetes-validate") else {
        return;
    };
    assert!(
        validated.status.success(),
        "{}{}",
        String::from_utf8_lossy(&validated.stdout),
        String::from_utf8_lossy(&validated.stderr)
    );

    // The documents as JSON, read by PyYAML (a dependency of kubernetes-validate).
    let mut args = vec![
        "-c".to_owned(),
        "import json, sys, yaml; print(json.dumps([d for f in sys.argv[1:] \
         for d in yaml.safe_load_all(open(f)) if d]))"
            .to_owned(),
    ];
    args.extend(files);
    let Some(read) = run_tool("python3", &args, "python3 with PyYAML") else {
        return;
    };
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let documents: Vec<Value> = serde_json::from_slice(&read.stdout).unwrap();
    let of_kind = |kind: &str| {
        documents
            .iter()
            .find(|document| document["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} in deploy/kubernetes"))
    };
    for kind in ["Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"] {
        of_kind(kind);
    }
    let deployment = of_kind("Deployment");
    assert!(deployment["spec"]["replicas"].as_u64().unwrap() >= 2);
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    for bound in ["requests", "limits"] {
        for resource in ["cpu", "memory"] {
            assert!(
                container["resources"][bound][resource].is_string(),
                "{bound}.{resource}"
            );
        }
    }
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    let env = |name: &str| {
        container["env"]
            .as_array()
            .unwrap()
            .iter()
            .find(|var| var["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in the container's environment"))
    };

    // The pathway ConfigMap is the pathway directory, mounted whole (a subPath is never updated),
    // and holds exactly the project's pathway files.
    let config_map = of_kind("ConfigMap");
    let volume = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|volume| volume["configMap"]["name"] == config_map["metadata"]["name"])
        .expect("the pathway ConfigMap is a volume");
    let mount = container["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|mount| mount["name"] == volume["name"])
        .expect("the pathway volume is mounted");
    assert!(mount.get("subPath").is_none());
    assert_eq!(env("FACET_TRIAGE_PATHWAYS")["value"], mount["mountPath"]);
    let mut expected = serde_json::Map::new();
    for entry in std::fs::read_dir(format!("{ROOT}/pathways")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        expected.insert(name, Value::String(std::fs::read_to_string(&path).unwrap()));
    }
    assert!(
        config_map["data"] == Value::Object(expected),
        "deploy/kubernetes/pathways-configmap.yaml differs from pathways/: regenerate it \
         (docs/operations.md)"
    );

    // The database URL and the trusted issuers come from the Secret.
    let secret = of_kind("Secret");
    let database = &env("FACET_TRIAGE_DATABASE")["valueFrom"]["secretKeyRef"];
    assert_eq!(database["name"], secret["metadata"]["name"]);
    let url = secret["stringData"][database["key"].as_str().unwrap()]
        .as_str()
        .unwrap();
    assert!(url.starts_with("postgres://"));
    assert!(secret["stringData"]["trusted-issuers.json"].is_string());
    assert!(env("FACET_TRIAGE_CDS_TRUST").is_object());
}

/// An HTTP client for the tests. The crate builds reqwest without a TLS crypto provider of its own
/// (the FHIR fallback installs ring), so one is installed here before any client is built.
fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}
