//! The Evolution API client and webhook parser against the Evolution simulator, over real HTTP,
//! without the app: instances, QR until linked, sends and their status webhooks, the customers'
//! side, faults as the right error kinds, and webhooks duplicated, shuffled, retried, early.
//! Contract: /work/shared/contracts/evolution.md.

mod evolution_harness;
mod sim;

use std::time::Duration;

use b24wa::whatsapp::evolution::webhook::{parse, Author, EvoEvent};
use b24wa::whatsapp::evolution::{
    ConnState, Connect, CreateInstance, EvolutionClient, EvolutionError, Instance, Media,
    MediaType, MessageKey, WebhookConfig, SECRET_HEADER,
};
use b24wa::whatsapp::Action;
use evolution_harness::*;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use sim::*;

// ----- tests -----

#[actix_web::test]
async fn create_connect_qr_and_link() {
    let evo = EvolutionSim::start(EvolutionSimConfig::default()).await;
    let rx = Receiver::start().await;
    let c = client();
    let admin = instance(&evo, &evo.global_key());
    let created = c
        .create_instance(
            &admin,
            &CreateInstance {
                number: Some(OWN.into()),
                qrcode: true,
                webhook: Some(webhook(&rx)),
            },
        )
        .await
        .expect("create");
    assert_eq!(created.status.as_deref(), Some("connecting"));
    let qr = created.qr.expect("qrcode:true gives the first QR");
    assert!(qr.pairing_code.as_deref().is_some_and(|p| p.len() == 8));
    assert!(
        qr.png_base64().is_some_and(|p| p.starts_with("iVBOR")),
        "a PNG"
    );
    // The name is taken now.
    assert!(matches!(
        c.create_instance(&admin, &CreateInstance::default()).await,
        Err(EvolutionError::Forbidden(ref m)) if m.contains("already in use")
    ));
    // The instance's own token works for its routes; a wrong key does not.
    let token = created.hash.expect("hash").expose_secret().to_string();
    let inst = instance(&evo, &token);
    assert_eq!(
        c.connection_state(&inst).await.expect("state"),
        ConnState::Connecting
    );
    let Ok(Connect::Qr(again)) = c.connect(&inst, None).await else {
        panic!("a QR while connecting");
    };
    assert_eq!(again.count, 1);
    assert!(matches!(
        c.connection_state(&instance(&evo, "wrong")).await,
        Err(EvolutionError::Unauthorized)
    ));
    // An unknown instance is 404 before the key is checked.
    let ghost = Instance {
        name: "ghost".into(),
        ..instance(&evo, "wrong")
    };
    assert!(matches!(
        c.connection_state(&ghost).await,
        Err(EvolutionError::UnknownInstance(_))
    ));
    let ghost_global = Instance {
        name: "ghost".into(),
        ..admin.clone()
    };
    assert_eq!(c.fetch_instance(&ghost_global).await.expect("fetch"), None);
    // QR webhooks, then the scan.
    evo.rotate_qr(NAME).await;
    assert_eq!(evo.link(NAME, OWN).await, 200);
    assert!(
        rx.wait_until(|r| r.events().iter().any(|(_, e)| matches!(
            e,
            EvoEvent::State {
                state: ConnState::Open,
                ..
            }
        )))
        .await
    );
    let events = rx.events();
    assert!(events
        .iter()
        .any(|(_, e)| matches!(e, EvoEvent::Qr(q) if q.code.is_some())));
    assert!(events.iter().any(|(_, e)| matches!(e,
        EvoEvent::State { state: ConnState::Open, reason: Some(200), wuid: Some(w), .. } if w == &format!("{OWN}@s.whatsapp.net"))));
    assert_eq!(
        c.connection_state(&inst).await.expect("state"),
        ConnState::Open
    );
    assert_eq!(
        c.connect(&inst, None).await.expect("connect"),
        Connect::State(ConnState::Open)
    );
    let info = c
        .fetch_instance(&inst)
        .await
        .expect("fetch")
        .expect("listed");
    assert_eq!(info.state, Some(ConnState::Open));
    assert_eq!(info.owner_jid, Some(format!("{OWN}@s.whatsapp.net")));
    // Webhook re-set and read back.
    c.set_webhook(&inst, &webhook(&rx)).await.expect("set");
    let row = c.find_webhook(&inst).await.expect("find").expect("row");
    assert_eq!(row["url"], json!(rx.url));
    assert_eq!(row["headers"][SECRET_HEADER], json!(SECRET));
    assert_eq!(row["enabled"], json!(true));
}

#[actix_web::test]
async fn sends_and_their_status_webhooks() {
    let (evo, rx, inst) = linked(EvolutionSimConfig::default()).await;
    let c = client();
    let sent = c
        .send_text(&inst, MARIA, "Posso enviar o boleto?", None)
        .await
        .expect("send");
    assert!(sent.id.starts_with("3EB0"));
    assert_eq!(sent.remote_jid, format!("{MARIA}@s.whatsapp.net"));
    assert_eq!(sent.status.as_deref(), Some("PENDING"));
    assert!(
        rx.wait_until(|r| r.statuses().iter().filter(|(id, _)| *id == sent.id).count() == 3)
            .await
    );
    let ours: Vec<String> = rx
        .statuses()
        .into_iter()
        .filter(|(id, _)| *id == sent.id)
        .map(|(_, s)| s)
        .collect();
    assert_eq!(ours, ["sent", "delivered", "read"]);
    // Our own send comes back as send.message, by the API.
    assert!(rx
        .messages()
        .iter()
        .any(|m| m.id == sent.id && m.author == Author::Api && m.text == "Posso enviar o boleto?"));
    // A reply, media, a voice note, a reaction.
    let quoted = MessageKey {
        from_me: false,
        ..maria_key("3AC1")
    };
    let reply = c
        .send_text(&inst, MARIA, "sim", Some(&quoted))
        .await
        .expect("reply");
    assert_eq!(
        evo.sent_message(&reply.id).and_then(|m| m.quoted_id),
        Some("3AC1".into())
    );
    let media = Media {
        kind: MediaType::Document,
        media: "https://files.example/boleto.pdf",
        mime: Some("application/pdf"),
        file_name: Some("boleto.pdf"),
        caption: Some("segue"),
    };
    let doc = c
        .send_media(&inst, MARIA, &media, None)
        .await
        .expect("media");
    let voice = c
        .send_voice(&inst, MARIA, "T2dnUw==", None)
        .await
        .expect("voice");
    c.send_reaction(
        &inst,
        &MessageKey {
            from_me: false,
            ..maria_key("3AC1")
        },
        "👍",
    )
    .await
    .expect("reaction");
    let kinds: Vec<String> = evo.sent().iter().map(|m| m.kind.clone()).collect();
    assert_eq!(kinds, ["text", "text", "document", "voice", "reaction"]);
    assert_eq!(
        evo.sent_message(&doc.id).map(|m| m.text),
        Some("segue".into())
    );
    assert!(evo.sent_message(&voice.id).is_some());
    // Edit and delete for everyone; their echoes parse as ours.
    c.edit_text(
        &inst,
        MARIA,
        &maria_key(&sent.id),
        "Posso enviar o boleto agora?",
    )
    .await
    .expect("edit");
    assert_eq!(
        evo.sent_message(&sent.id)
            .map(|m| m.current_text().to_string()),
        Some("Posso enviar o boleto agora?".into())
    );
    c.delete_for_everyone(&inst, &maria_key(&doc.id))
        .await
        .expect("delete");
    assert!(evo.sent_message(&doc.id).is_some_and(|m| m.deleted));
    assert!(rx
        .wait_until(|r| {
            let m = r.messages();
            m.iter().any(|m| m.author == Author::Api && matches!(&m.action, Action::Edit { original, text } if *original == sent.id && text == "Posso enviar o boleto agora?"))
                && m.iter().any(|m| m.author == Author::Api && matches!(&m.action, Action::Revoke { original } if *original == doc.id))
        })
        .await);
    // An edit of an unknown message is refused (permanent).
    let e = c
        .edit_text(&inst, MARIA, &maria_key("3EB0NOPE"), "x")
        .await
        .expect_err("unknown");
    assert!(matches!(e, EvolutionError::Rejected { status: 404, .. }) && !e.is_transient());
    // Reads (an @lid key is skipped, as Evolution does), avatars.
    let lid = MessageKey {
        remote_jid: "777@lid".into(),
        from_me: false,
        id: "L1".into(),
        participant: None,
    };
    c.mark_read(
        &inst,
        &[
            MessageKey {
                from_me: false,
                ..maria_key("3AC1")
            },
            lid,
        ],
    )
    .await
    .expect("read");
    assert_eq!(evo.reads().len(), 1);
    assert_eq!(evo.reads()[0].id, "3AC1");
    assert_eq!(
        c.profile_picture_url(&inst, MARIA).await.expect("pic"),
        None
    );
    evo.set_profile_picture(MARIA, "https://pps.whatsapp.net/m.jpg");
    assert_eq!(
        c.profile_picture_url(&inst, MARIA)
            .await
            .expect("pic")
            .as_deref(),
        Some("https://pps.whatsapp.net/m.jpg")
    );
    // Every call carried the instance token in the header.
    assert!(evo
        .calls()
        .iter()
        .filter(|call| call.action != "create")
        .all(|call| call.apikey.as_deref() == Some(inst.api_key.expose_secret())));
}

#[actix_web::test]
async fn the_customers_side_parses() {
    let (evo, rx, inst) = linked(EvolutionSimConfig::default()).await;
    let maria = EvolutionCustomer::phone(MARIA, "Maria");
    let (t1, s) = evo
        .customer_text(NAME, &maria, "Oi *tudo* bem?", None)
        .await;
    assert_eq!(s, 200);
    let (t2, _) = evo.customer_text(NAME, &maria, "sim", Some("3EB0X")).await;
    let (v1, _) = evo
        .customer_media(
            NAME,
            &maria,
            EvolutionFile {
                kind: "voice".into(),
                mime: "audio/ogg; codecs=opus".into(),
                file_name: None,
                caption: None,
                bytes: b"OggS voice".to_vec(),
            },
        )
        .await;
    let (r1, _) = evo.customer_reaction(NAME, &maria, "3EB0X", "❤️").await;
    evo.customer_edit(NAME, &maria, &t1, "Oi, tudo bem?").await;
    evo.customer_delete(NAME, &maria, &t2).await;
    evo.phone_text(NAME, &maria, "typed on the phone").await;
    let with_phone = EvolutionCustomer::lid_with_phone("123456789012345", "5511977776666", "Ana");
    let lid_only = EvolutionCustomer::lid_only("999999999999999", "?");
    let (l1, _) = evo.customer_text(NAME, &with_phone, "via lid", None).await;
    let (l2, _) = evo.customer_text(NAME, &lid_only, "no phone", None).await;
    assert!(rx.wait_until(|r| r.messages().len() >= 9).await);
    let msgs = rx.messages();
    let by_id = |id: &str| {
        msgs.iter()
            .find(|m| m.id == id)
            .unwrap_or_else(|| panic!("{id} in {msgs:?}"))
            .clone()
    };
    let m = by_id(&t1);
    assert_eq!(
        (m.text.as_str(), m.author, m.name.as_str()),
        ("Oi [b]tudo[/b] bem?", Author::Customer, "Maria")
    );
    assert_eq!(m.peer.phone.as_deref(), Some(MARIA));
    assert_eq!(by_id(&t2).reply_to.as_deref(), Some("3EB0X"));
    let v = by_id(&v1).media.expect("voice");
    assert_eq!((v.kind.as_str(), v.inline_base64), ("voice", None));
    // The file comes from getBase64FromMediaMessage.
    let file = client()
        .media_base64(&inst, &v.message_id)
        .await
        .expect("file");
    assert_eq!(file.bytes, b"OggS voice");
    assert_eq!(file.mime.as_deref(), Some("audio/ogg; codecs=opus"));
    assert!(matches!(
        client().media_base64(&inst, "nope").await,
        Err(EvolutionError::Rejected { status: 400, .. })
    ));
    assert_eq!(
        by_id(&r1).action,
        Action::Reaction {
            target: "3EB0X".into(),
            emoji: "❤️".into()
        }
    );
    assert!(msgs.iter().any(|m| m.action
        == Action::Edit {
            original: t1.clone(),
            text: "Oi, tudo bem?".into()
        }
        && m.id != t1));
    assert!(msgs.iter().any(|m| m.action
        == Action::Revoke {
            original: t2.clone()
        }
        && m.author == Author::Customer));
    assert!(msgs
        .iter()
        .any(|m| m.author == Author::Phone && m.text == "typed on the phone"));
    let l = by_id(&l1);
    assert_eq!(l.peer.phone.as_deref(), Some("5511977776666"));
    assert_eq!(l.peer.lid.as_deref(), Some("123456789012345"));
    let l = by_id(&l2);
    assert!(l.peer.lid_only());
    assert_eq!(l.peer.key(), "999999999999999@lid");
    // With webhook base64 on, files come inline.
    let mut cfg = webhook(&rx);
    cfg.base64 = true;
    client().set_webhook(&inst, &cfg).await.expect("set");
    let (img, _) = evo
        .customer_media(
            NAME,
            &maria,
            EvolutionFile {
                kind: "image".into(),
                mime: "image/jpeg".into(),
                file_name: None,
                caption: Some("nota".into()),
                bytes: b"jpeg".to_vec(),
            },
        )
        .await;
    assert!(
        rx.wait_until(|r| r.messages().iter().any(|m| m.id == img))
            .await
    );
    let m = rx
        .messages()
        .into_iter()
        .find(|m| m.id == img)
        .expect("image");
    assert_eq!(m.text, "nota");
    assert_eq!(
        m.media.and_then(|x| x.inline_base64).as_deref(),
        Some("anBlZw==")
    );
}

#[actix_web::test]
async fn faults_surface_as_the_right_error_kinds() {
    let (evo, _rx, inst) = linked(EvolutionSimConfig::default()).await;
    let c = client();
    evo.inject_for("sendText", EvolutionFault::Http5xx, 1);
    let e = c.send_text(&inst, MARIA, "x", None).await.expect_err("5xx");
    assert!(
        matches!(e, EvolutionError::Server { status: 500, .. }) && e.is_transient(),
        "{e:?}"
    );
    evo.inject(EvolutionFault::BadGateway, 1);
    let e = c.connection_state(&inst).await.expect_err("502");
    assert!(matches!(e, EvolutionError::Server { status: 502, .. }) && e.is_transient());
    evo.inject_for(
        "connect",
        EvolutionFault::ErrorOnOk("Connection Closed".into()),
        1,
    );
    let e = c.connect(&inst, None).await.expect_err("error body");
    assert!(
        matches!(e, EvolutionError::ErrorBody(ref m) if m == "Connection Closed")
            && e.is_transient()
    );
    evo.inject_for(
        "sendText",
        EvolutionFault::Status(400, json!(["instance requires property \"text\""])),
        1,
    );
    let e = c.send_text(&inst, MARIA, "x", None).await.expect_err("400");
    assert!(
        matches!(e, EvolutionError::Rejected { status: 400, ref message } if message.contains("\"text\""))
            && !e.is_transient()
    );
    // A timeout, and the send happened anyway (a retry would duplicate it).
    evo.inject_for(
        "sendText",
        EvolutionFault::Timeout(Duration::from_millis(800)),
        1,
    );
    let quick = EvolutionClient::new(Duration::from_millis(200)).expect("client");
    let before = evo.sent().len();
    let e = quick
        .send_text(&inst, MARIA, "slow", None)
        .await
        .expect_err("timeout");
    assert!(
        matches!(e, EvolutionError::Timeout) && e.is_transient(),
        "{e:?}"
    );
    assert!(
        evo.wait_for(Duration::from_secs(3), |s| s.sent().len() == before + 1)
            .await
    );
    // Not on WhatsApp; empty text.
    evo.set_not_on_whatsapp("5511000000000", true);
    let checks = c
        .check_numbers(&inst, &["+55 11 98888-7777", "5511000000000"])
        .await
        .expect("check");
    assert_eq!(
        checks
            .iter()
            .map(|n| (n.number.as_str(), n.exists))
            .collect::<Vec<_>>(),
        [(MARIA, true), ("5511000000000", false)]
    );
    let e = c
        .send_text(&inst, "5511000000000", "x", None)
        .await
        .expect_err("no account");
    assert!(
        matches!(e, EvolutionError::NotOnWhatsApp(ref n) if n == "5511000000000")
            && !e.is_transient()
    );
    assert!(matches!(
        c.send_text(&inst, MARIA, "", None).await,
        Err(EvolutionError::Rejected { status: 400, ref message }) if message == "Text is required"
    ));
    // The server down behind its proxy.
    evo.set_down(true);
    assert!(matches!(
        c.connection_state(&inst).await,
        Err(EvolutionError::Server { status: 502, .. })
    ));
    evo.set_down(false);
    // The network: nothing listens there.
    let nowhere = Instance {
        base_url: "http://127.0.0.1:1".into(),
        ..inst.clone()
    };
    let e = c
        .connection_state(&nowhere)
        .await
        .expect_err("nothing listens");
    assert!(matches!(e, EvolutionError::Network(_)) && e.is_transient());
    // A key no header can carry is refused before any call; no error shows the key.
    let pasted = Instance {
        api_key: SecretString::from("key\nwith a newline"),
        ..inst.clone()
    };
    let e = c.connection_state(&pasted).await.expect_err("bad key");
    assert!(matches!(e, EvolutionError::BadKey) && e.needs_admin());
    let token = inst.api_key.expose_secret().to_string();
    for e in [e, EvolutionError::Unauthorized] {
        assert!(!format!("{e} {e:?}").contains(&token));
    }
    // Logged out: sends say so, logout again is refused, restart is an error body.
    c.logout(&inst).await.expect("logout");
    assert_eq!(
        c.connection_state(&inst).await.expect("state"),
        ConnState::Close
    );
    let e = c
        .send_text(&inst, MARIA, "x", None)
        .await
        .expect_err("closed");
    assert!(matches!(e, EvolutionError::NotConnected(_)) && e.needs_admin());
    assert!(matches!(
        c.logout(&inst).await,
        Err(EvolutionError::NotConnected(_))
    ));
    assert!(matches!(
        c.restart(&inst).await,
        Err(EvolutionError::ErrorBody(_))
    ));
    // connect without a QR yet (issues #2385, #2437).
    evo.inject_for("connect", EvolutionFault::NoQr, 1);
    assert_eq!(
        c.connect(&inst, None).await.expect("connect"),
        Connect::NoQr
    );
    assert!(
        matches!(c.connect(&inst, Some(OWN)).await, Ok(Connect::Qr(q)) if q.pairing_code.is_some())
    );
    assert_eq!(evo.pending_faults(), 0);
    c.delete_instance(&inst).await.expect("delete");
    assert!(!evo.has_instance(NAME));
}

#[actix_web::test]
async fn webhooks_duplicated_shuffled_retried_and_early() {
    let cfg = EvolutionSimConfig {
        duplicate_webhooks: true,
        shuffle_statuses: true,
        statuses_before_reply: true,
        status_delay: Duration::from_millis(1),
        ..Default::default()
    };
    let (evo, rx, inst) = linked(cfg).await;
    let sent = client()
        .send_text(&inst, MARIA, "hi", None)
        .await
        .expect("send");
    // The statuses were posted before the send answered.
    let early: Vec<String> = rx
        .statuses()
        .into_iter()
        .filter(|(id, _)| *id == sent.id)
        .map(|(_, s)| s)
        .collect();
    assert!(!early.is_empty(), "a status before the send's answer");
    // Each twice (a retry's copy); deduplicated, each once.
    assert!(
        rx.wait_until(|r| r.statuses().iter().filter(|(id, _)| *id == sent.id).count() == 6)
            .await
    );
    let mut seen: Vec<String> = rx.statuses().into_iter().map(|(_, s)| s).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen, ["delivered", "read", "sent"]);
    // A webhook answered 500 is retried until 2xx; one answered 401 is not.
    evo.configure(|c| c.duplicate_webhooks = false);
    rx.answer_next(&[500, 503]);
    let maria = EvolutionCustomer::phone(MARIA, "Maria");
    let (id, first) = evo.customer_text(NAME, &maria, "retry me", None).await;
    assert_eq!(first, 500);
    assert!(
        evo.wait_for(Duration::from_secs(3), |s| s.deliveries().iter().any(|d| d
            .key_id
            .as_deref()
            == Some(id.as_str())
            && d.status == 200))
            .await
    );
    let attempts: Vec<u32> = evo
        .deliveries()
        .iter()
        .filter(|d| d.key_id.as_deref() == Some(id.as_str()))
        .map(|d| d.attempt)
        .collect();
    assert_eq!(attempts, [1, 2, 3]);
    rx.answer_next(&[401]);
    let (id, first) = evo.customer_text(NAME, &maria, "forged?", None).await;
    assert_eq!(first, 401);
    actix_web::rt::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        evo.deliveries()
            .iter()
            .filter(|d| d.key_id.as_deref() == Some(id.as_str()))
            .count(),
        1
    );
    // Shuffled statuses pushed by hand: the receiver gets them in the order posted.
    for s in ["READ", "SERVER_ACK", "DELIVERY_ACK", "READ"] {
        evo.push_status(NAME, &sent.id, s).await;
    }
    assert_eq!(
        evo.sent_message(&sent.id).map(|m| m.statuses.len()),
        Some(7)
    );
}

#[actix_web::test]
async fn session_changes_and_other_auth_options() {
    let cfg = EvolutionSimConfig {
        qr_limit: 2,
        expose_apikey: true,
        ..Default::default()
    };
    let (evo, rx, inst) = linked(cfg).await;
    evo.reconnect(NAME).await;
    evo.logout_phone(NAME).await;
    assert!(
        rx.wait_until(|r| r.events().iter().any(|(_, e)| matches!(
            e,
            EvoEvent::State {
                state: ConnState::Close,
                reason: Some(401),
                ..
            }
        )))
        .await
    );
    let states: Vec<ConnState> = rx
        .events()
        .into_iter()
        .filter_map(|(_, e)| match e {
            EvoEvent::State { state, .. } => Some(state),
            _ => None,
        })
        .collect();
    assert_eq!(
        states,
        [
            ConnState::Connecting,
            ConnState::Open,
            ConnState::Connecting,
            ConnState::Open,
            ConnState::Close
        ]
    );
    // The envelope's apikey, when exposed, is the instance token.
    let w = parse(&rx.hits()[0].body).expect("parses");
    assert_eq!(
        w.apikey.map(|k| k.expose_secret().to_string()),
        Some(inst.api_key.expose_secret().to_string())
    );
    // The QR runs out: refused.
    client().connect(&inst, None).await.expect("connect");
    evo.rotate_qr(NAME).await;
    evo.rotate_qr(NAME).await;
    assert!(
        rx.wait_until(|r| r
            .events()
            .iter()
            .any(|(_, e)| matches!(e, EvoEvent::QrLimit(_))))
            .await
    );
    assert!(rx.events().iter().any(|(_, e)| matches!(
        e,
        EvoEvent::State {
            state: ConnState::Refused,
            ..
        }
    )));
    assert_eq!(evo.state(NAME), "close");
    // Option (b): a jwt_key header becomes a Bearer JWT signed with it; by-event paths.
    let rx2 = Receiver::start().await;
    evo.set_webhook(
        NAME,
        &rx2.url,
        json!({"jwt_key": "s3cr3t", SECRET_HEADER: SECRET}),
    );
    evo.post_raw(NAME, "connection.update", json!({"state": "connecting"}))
        .await;
    let hit = rx2.hits().into_iter().next().expect("posted");
    let token = hit
        .authorization
        .and_then(|a| a.strip_prefix("Bearer ").map(str::to_string))
        .expect("bearer");
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    v.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Value>(
        &token,
        &jsonwebtoken::DecodingKey::from_secret(b"s3cr3t"),
        &v,
    )
    .expect("signed with jwt_key")
    .claims;
    assert_eq!(claims["app"], json!("evolution"));
    assert_eq!(hit.path, "/evo/hook");
    // Events not subscribed are not posted.
    let rx3 = Receiver::start().await;
    client()
        .set_webhook(
            &inst,
            &WebhookConfig {
                events: vec!["MESSAGES_UPDATE".into()],
                ..webhook(&rx3)
            },
        )
        .await
        .expect("set");
    assert_eq!(
        evo.post_raw(NAME, "connection.update", json!({"state": "open"}))
            .await,
        0
    );
    assert_eq!(
        evo.post_raw(
            NAME,
            "messages.update",
            json!({"keyId": "k", "remoteJid": "1@s.whatsapp.net", "fromMe": true, "status": "READ"})
        )
        .await,
        200
    );
}
