//! A cluster: several `b24wa serve` processes on one PostgreSQL database and one Redis, behind a
//! round-robin balancer.

use std::{ops::Deref, time::Duration};

use b24wa::config::Settings;
use secrecy::SecretString;
use serde_json::Value;

use super::process::free_port;
use super::{settings_env, Backend, Fixture, Peers, ProcessApp};
use crate::sim::BitrixSimConfig;

/// Several `b24wa serve` processes on one PostgreSQL database and one Redis (under a key prefix
/// of their own), behind a round-robin balancer: the simulators and the tests use only the
/// balancer's URL, as Meta and Bitrix24 would use a load balancer's.
pub struct ProcessCluster {
    pub nodes: Vec<ProcessApp>,
    pub balancer: Balancer,
    pub redis_prefix: String,
    peers: Peers,
    _dir: tempfile::TempDir,
}

impl Deref for ProcessCluster {
    type Target = Peers;
    fn deref(&self) -> &Peers {
        &self.peers
    }
}

pub const REDIS_TEST_URL: &str = "redis://127.0.0.1:6379/";

/// `n` nodes (`node-0`, …) on PostgreSQL and the machine's Redis; `tweak` sees each node's
/// settings (and its index).
pub async fn spawn_cluster(
    n: usize,
    b24_cfg: BitrixSimConfig,
    tweak: impl Fn(usize, &mut Settings),
) -> ProcessCluster {
    spawn_cluster_pinned(n, b24_cfg, tweak, false).await
}

/// `spawn_cluster`; with `pin`, node `i` runs on CPU `i` (modulo the cores): the benchmark's
/// stand-in for one machine per node.
pub async fn spawn_cluster_pinned(
    n: usize,
    b24_cfg: BitrixSimConfig,
    tweak: impl Fn(usize, &mut Settings),
    pin: bool,
) -> ProcessCluster {
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let Fixture {
        b24,
        graph,
        dir,
        settings: base,
    } = Fixture::new(Backend::Postgres, b24_cfg).await;
    let ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
    let balancer = Balancer::start(
        ports
            .iter()
            .map(|p| format!("http://127.0.0.1:{p}"))
            .collect(),
    )
    .await;
    let redis_prefix = format!("b24wa-test-{}", crate::sim::random_hex(6));
    let redis_url = std::env::var("REDIS_TEST_URL").unwrap_or_else(|_| REDIS_TEST_URL.into());
    let mut nodes = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let mut s = base.clone();
        s.port = *port;
        s.debug_faults = false;
        s.log = std::env::var("B24WA_TEST_CHILD_LOG").unwrap_or_else(|_| "warn".into());
        s.public_url = Some(balancer.url.clone());
        s.redis_url = Some(SecretString::from(redis_url.clone()));
        s.redis_prefix = redis_prefix.clone();
        s.node_id = Some(format!("node-{i}"));
        tweak(i, &mut s);
        let node_dir = tempfile::tempdir().expect("tempdir");
        let env = settings_env(&s);
        let peers = Peers::new(balancer.url.clone(), b24.clone(), graph.clone());
        let cpu = pin.then_some(i % cores);
        nodes.push(ProcessApp::launch(s, env, peers, node_dir, cpu).await);
    }
    ProcessCluster {
        nodes,
        peers: Peers::new(balancer.url.clone(), b24, graph),
        balancer,
        redis_prefix,
        _dir: dir,
    }
}

impl ProcessCluster {
    /// `GET /api/v1/cluster` on one node (`None`: it did not answer).
    pub async fn state_on(&self, node: usize) -> Option<Value> {
        let r = self
            .http
            .get(format!("{}/api/v1/cluster", self.nodes[node].node_url()))
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(3))
            .send()
            .await
            .ok()?;
        if !r.status().is_success() {
            return None;
        }
        r.json().await.ok()
    }

    /// The sum of a metric's series in one node's `/metrics` (`None`: it did not answer).
    pub async fn metric_on(&self, node: usize, name: &str) -> Option<f64> {
        let text = self
            .http
            .get(format!("{}/metrics", self.nodes[node].node_url()))
            .timeout(Duration::from_secs(3))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        Some(
            text.lines()
                .filter(|l| l.split(['{', ' ']).next() == Some(name))
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .sum(),
        )
    }
}

/// A round-robin HTTP balancer on 127.0.0.1: each request goes to the next node; a node that
/// refuses the connection is skipped (what a balancer's health check achieves), any other
/// failure is a 502 for the caller to retry, as Meta and Bitrix24 do.
pub struct Balancer {
    pub url: String,
    handle: actix_web::dev::ServerHandle,
}

struct Upstreams {
    nodes: Vec<String>,
    next: std::sync::atomic::AtomicUsize,
    client: reqwest::Client,
}

impl Balancer {
    pub async fn start(nodes: Vec<String>) -> Self {
        use actix_web::{web, App, HttpServer};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the balancer");
        let port = listener.local_addr().expect("balancer address").port();
        let state = web::Data::new(Upstreams {
            nodes,
            next: Default::default(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .expect("balancer client"),
        });
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(web::PayloadConfig::new(64 << 20))
                .default_service(web::to(proxy))
        })
        .workers(2)
        .listen(listener)
        .expect("balancer listens")
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Self {
            url: format!("http://127.0.0.1:{port}"),
            handle,
        }
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        use futures::FutureExt;
        let _ = self.handle.stop(false).now_or_never();
    }
}

async fn proxy(
    req: actix_web::HttpRequest,
    body: actix_web::web::Bytes,
    up: actix_web::web::Data<Upstreams>,
) -> actix_web::HttpResponse {
    use actix_web::http::{header, StatusCode};
    let n = up.nodes.len();
    let first = up.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let Ok(method) = reqwest::Method::from_bytes(req.method().as_str().as_bytes()) else {
        return actix_web::HttpResponse::MethodNotAllowed().finish();
    };
    for k in 0..n {
        let node = &up.nodes[(first + k) % n];
        let mut rb = up
            .client
            .request(method.clone(), format!("{node}{path}"))
            .body(body.clone());
        for (name, value) in req.headers() {
            if name != header::HOST && name != header::CONTENT_LENGTH {
                rb = rb.header(name.as_str(), value.as_bytes());
            }
        }
        match rb.send().await {
            Ok(resp) => {
                let status =
                    StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
                let mut out = actix_web::HttpResponse::build(status);
                for (name, value) in resp.headers() {
                    if name.as_str().eq_ignore_ascii_case("transfer-encoding")
                        || name.as_str().eq_ignore_ascii_case("content-length")
                    {
                        continue;
                    }
                    if let (Ok(name), Ok(value)) = (
                        header::HeaderName::from_bytes(name.as_str().as_bytes()),
                        header::HeaderValue::from_bytes(value.as_bytes()),
                    ) {
                        out.append_header((name, value));
                    }
                }
                return match resp.bytes().await {
                    Ok(bytes) => out.body(bytes),
                    Err(_) => actix_web::HttpResponse::BadGateway().finish(),
                };
            }
            // Nothing reached that node: the next one may take it.
            Err(e) if e.is_connect() => continue,
            Err(_) => return actix_web::HttpResponse::BadGateway().finish(),
        }
    }
    actix_web::HttpResponse::BadGateway().finish()
}
