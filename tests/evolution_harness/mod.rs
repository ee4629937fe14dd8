//! The Evolution tests' harness: a receiver standing in for our webhook route (it checks the
//! per-number secret and parses every webhook), and an instance created, connected and linked
//! through the client.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use b24wa::sim::*;
use b24wa::whatsapp::evolution::webhook::{parse, EvoEvent, EvoMessage};
use b24wa::whatsapp::evolution::{
    Connect, CreateInstance, EvolutionClient, Instance, MessageKey, WebhookConfig, SECRET_HEADER,
    WEBHOOK_EVENTS,
};
use secrecy::{ExposeSecret, SecretString};

pub const NAME: &str = "shop-1";
pub const OWN: &str = "5511900000001";
pub const MARIA: &str = "5511988887777";
pub const SECRET: &str = "per-number-secret-1";

// ----- a receiver standing in for our webhook route -----

#[derive(Clone, Debug)]
pub struct Hit {
    pub secret: Option<String>,
    pub authorization: Option<String>,
    pub path: String,
    pub body: Vec<u8>,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    pub hits: Arc<Mutex<Vec<Hit>>>,
    /// What the next POSTs are answered, first to last (then 200).
    pub answers: Arc<Mutex<Vec<u16>>>,
}

impl Receiver {
    pub async fn start() -> Self {
        let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
        let answers: Arc<Mutex<Vec<u16>>> = Arc::default();
        let (h, a) = (hits.clone(), answers.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind receiver");
        let port = listener.local_addr().expect("addr").port();
        let server = HttpServer::new(move || {
            let (h, a) = (h.clone(), a.clone());
            App::new().default_service(web::route().to(
                move |req: HttpRequest, body: web::Bytes| {
                    let (h, a) = (h.clone(), a.clone());
                    async move {
                        let header = |n: &str| {
                            req.headers()
                                .get(n)
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_string)
                        };
                        h.lock().expect("lock").push(Hit {
                            secret: header(SECRET_HEADER),
                            authorization: header("authorization"),
                            path: req.path().to_string(),
                            body: body.to_vec(),
                        });
                        let mut a = a.lock().expect("lock");
                        let status = if a.is_empty() { 200 } else { a.remove(0) };
                        HttpResponse::build(
                            actix_web::http::StatusCode::from_u16(status).expect("status"),
                        )
                        .finish()
                    }
                },
            ))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("listen")
        .run();
        actix_web::rt::spawn(server);
        Self {
            url: format!("http://127.0.0.1:{port}/evo/hook"),
            hits,
            answers,
        }
    }

    pub fn answer_next(&self, statuses: &[u16]) {
        self.answers
            .lock()
            .expect("lock")
            .extend_from_slice(statuses);
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().expect("lock").clone()
    }

    /// Parsed webhooks (each checked to carry our secret, as the route would).
    pub fn events(&self) -> Vec<(String, EvoEvent)> {
        self.hits()
            .iter()
            .map(|h| {
                assert_eq!(
                    h.secret.as_deref(),
                    Some(SECRET),
                    "webhook without our secret: {h:?}"
                );
                let w = parse(&h.body).expect("the sim's webhooks parse");
                assert_eq!(w.instance, NAME);
                (w.event, w.data)
            })
            .collect()
    }

    pub fn messages(&self) -> Vec<EvoMessage> {
        self.events()
            .into_iter()
            .filter_map(|(_, e)| match e {
                EvoEvent::Message(m) => Some(*m),
                _ => None,
            })
            .collect()
    }

    /// (id, status) of every status webhook, in arrival order.
    pub fn statuses(&self) -> Vec<(String, String)> {
        self.events()
            .into_iter()
            .filter_map(|(_, e)| match e {
                EvoEvent::Status { id, status, .. } => Some((id, status)),
                _ => None,
            })
            .collect()
    }

    pub async fn wait_until(&self, f: impl Fn(&Receiver) -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if f(self) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            actix_web::rt::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

// ----- helpers -----

pub fn client() -> EvolutionClient {
    EvolutionClient::new(Duration::from_secs(5)).expect("client")
}

pub fn instance(evo: &EvolutionSim, key: &str) -> Instance {
    Instance {
        base_url: evo.base_url(),
        name: NAME.into(),
        api_key: SecretString::from(key.to_string()),
    }
}

pub fn webhook(rx: &Receiver) -> WebhookConfig {
    WebhookConfig {
        url: rx.url.clone(),
        secret: SecretString::from(SECRET),
        events: WEBHOOK_EVENTS.iter().map(|e| e.to_string()).collect(),
        base64: false,
    }
}

/// A linked instance with our webhook, and the instance-token client handle.
pub async fn linked(cfg: EvolutionSimConfig) -> (EvolutionSim, Receiver, Instance) {
    let evo = EvolutionSim::start(cfg).await;
    let rx = Receiver::start().await;
    let admin = instance(&evo, &evo.global_key());
    let created = client()
        .create_instance(
            &admin,
            &CreateInstance {
                webhook: Some(webhook(&rx)),
                ..Default::default()
            },
        )
        .await
        .expect("create");
    let token = created.hash.expect("hash").expose_secret().to_string();
    let inst = instance(&evo, &token);
    assert!(matches!(
        client().connect(&inst, None).await,
        Ok(Connect::Qr(_))
    ));
    // connect's own webhooks (posted in the background) first, so the order below is known.
    assert!(
        evo.wait_for(Duration::from_secs(3), |s| {
            let d = s.deliveries();
            d.iter().any(|d| d.event == "connection.update")
                && d.iter().any(|d| d.event == "qrcode.updated")
        })
        .await
    );
    assert_eq!(evo.link(NAME, OWN).await, 200);
    (evo, rx, inst)
}

pub fn maria_key(id: &str) -> MessageKey {
    MessageKey {
        remote_jid: format!("{MARIA}@s.whatsapp.net"),
        from_me: true,
        id: id.into(),
        participant: None,
    }
}
