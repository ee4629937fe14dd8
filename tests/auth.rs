//! Tenants, users, roles and sessions over HTTP: login, JWT expiry and key rotation, refresh
//! tokens, login brute-force limits, what each role may see and do, the audit log, the
//! `b24wa user` command, and the tenant an install creates.

mod common;
mod sim;

use std::{
    io::Write,
    process::{Command, Stdio},
};

use b24wa::http::api::auth::{JwtKeys, Role};
use common::{spawn_app, spawn_app_with, Backend, TestApp};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};
use sim::{BitrixSim, BitrixSimConfig};

on_both_databases!(
    login_answers_alike_for_wrong_password_and_unknown_user,
    expired_token_is_refused_as_expired,
    previous_key_is_accepted_while_listed_and_refused_once_removed,
    tokens_of_unknown_keys_are_refused,
    refresh_gives_a_new_pair_and_is_no_access_token,
    failed_logins_for_one_account_are_rate_limited,
    failed_logins_from_one_ip_are_rate_limited,
    tenant_admin_sees_only_its_own_tenant,
    billing_reads_every_tenant_and_changes_nothing,
    support_actions_are_audited_with_before_and_after,
    user_create_command_then_login,
    install_creates_a_tenant_and_reinstall_keeps_it,
);

const PASSWORD: &str = "correct horse battery staple";

struct Answer {
    status: u16,
    body: Value,
    retry_after: Option<u64>,
}

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Answer {
    // Password hashing (argon2) is deliberately slow: a loaded CI machine gets more than the
    // harness's usual 5 s before a call counts as failed.
    let mut req = app
        .http
        .request(method, format!("{}{path}", app.url))
        .timeout(std::time::Duration::from_secs(30));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.expect("api call");
    let status = r.status().as_u16();
    let retry_after = r
        .headers()
        .get("Retry-After")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let body = r.json().await.unwrap_or(Value::Null);
    Answer {
        status,
        body,
        retry_after,
    }
}

async fn get(app: &TestApp, token: &str, path: &str) -> Answer {
    call(app, Method::GET, path, Some(token), None).await
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> Answer {
    call(app, Method::POST, path, Some(token), Some(body)).await
}

async fn login(app: &TestApp, email: &str, password: &str) -> Answer {
    call(
        app,
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"email": email, "password": password})),
    )
    .await
}

fn code(a: &Answer) -> &str {
    a.body["error"]["code"].as_str().unwrap_or("")
}

/// A tenant created by support (the harness token); its id.
async fn tenant(app: &TestApp, name: &str) -> i64 {
    let a = post(app, &app.token, "/api/v1/tenants", json!({"name": name})).await;
    assert_eq!(a.status, 201, "create tenant: {}", a.body);
    a.body["id"].as_i64().expect("tenant id")
}

/// A tenant admin created by support; its user id.
async fn tenant_admin(app: &TestApp, tenant: i64, email: &str) -> i64 {
    let a = post(
        app,
        &app.token,
        &format!("/api/v1/tenants/{tenant}/users"),
        json!({"email": email, "password": PASSWORD}),
    )
    .await;
    assert_eq!(a.status, 201, "create user: {}", a.body);
    a.body["id"].as_i64().expect("user id")
}

/// Logs in and returns the access token.
async fn access_token(app: &TestApp, email: &str) -> String {
    let a = login(app, email, PASSWORD).await;
    assert_eq!(a.status, 200, "login {email}: {}", a.body);
    a.body["access_token"]
        .as_str()
        .expect("access token")
        .to_string()
}

fn keys(secret: &str) -> JwtKeys {
    JwtKeys::new(SecretString::from(secret.to_string()))
}

fn harness_keys(app: &TestApp) -> JwtKeys {
    JwtKeys::new(app.settings.jwt_secret.clone().expect("jwt secret"))
}

/// The real binary with only the environment given (no inherited B24WA_*), in `dir`.
fn b24wa_command(app: &TestApp, dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_b24wa"));
    cmd.env_clear()
        .env("DATABASE_URL", app.settings.database_url())
        .env("B24WA_DATA_DIR", dir)
        .env("B24WA_LOG", "warn")
        .env("B24WA_TRANSCRIBE_MODEL", "off")
        .current_dir(dir);
    cmd
}

/// Runs `b24wa user create …` with `stdin` as its standard input: (success, stdout, stderr).
fn user_create(
    app: &TestApp,
    dir: &std::path::Path,
    args: &[&str],
    stdin: &str,
) -> (bool, String, String) {
    let mut child = b24wa_command(app, dir)
        .args(["user", "create"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn b24wa user create");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write the password");
    let out = child.wait_with_output().expect("b24wa user create");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn login_answers_alike_for_wrong_password_and_unknown_user(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = tenant(&app, "Acme").await;
    let id = tenant_admin(&app, t, "Admin@Acme.test").await;

    let ok = login(&app, "admin@acme.test", PASSWORD).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["token_type"], "Bearer");
    assert_eq!(ok.body["expires_in"], 3600);
    assert_eq!(ok.body["user"]["id"], id);
    assert_eq!(ok.body["user"]["email"], "admin@acme.test");
    assert_eq!(ok.body["user"]["role"], "tenant_admin");
    assert_eq!(ok.body["user"]["tenant_id"], t);
    assert!(
        ok.body["user"].get("password_hash").is_none(),
        "{}",
        ok.body
    );
    assert!(ok.body["refresh_token"].is_string());
    // Emails are not case-sensitive.
    assert_eq!(login(&app, " ADMIN@acme.TEST", PASSWORD).await.status, 200);

    let me = get(
        &app,
        ok.body["access_token"].as_str().expect("token"),
        "/api/v1/auth/me",
    )
    .await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.body["role"], "tenant_admin");
    assert_eq!(me.body["tenant"], t);
    assert_eq!(me.body["user"]["email"], "admin@acme.test");
    assert!(me.body["user"]["last_login_at"].is_i64());

    let wrong = login(&app, "admin@acme.test", "not the password at all").await;
    let unknown = login(&app, "nobody@acme.test", PASSWORD).await;
    assert_eq!(wrong.status, 401);
    assert_eq!(code(&wrong), "invalid_credentials");
    assert_eq!(
        (unknown.status, &unknown.body),
        (wrong.status, &wrong.body),
        "an unknown user and a wrong password must look the same"
    );
    assert!(
        !wrong.body.to_string().contains("password is")
            && !wrong.body.to_string().contains("no user"),
        "{}",
        wrong.body
    );
}

async fn expired_token_is_refused_as_expired(backend: Backend) {
    let app = spawn_app(backend).await;
    let expired = harness_keys(&app)
        .issue("tester", Role::Support, None, -3600)
        .expect("sign");
    let a = get(&app, &expired, "/api/v1/tenants").await;
    assert_eq!((a.status, code(&a)), (401, "token_expired"), "{}", a.body);
    let fresh = harness_keys(&app)
        .issue("tester", Role::Support, None, 60)
        .expect("sign");
    assert_eq!(get(&app, &fresh, "/api/v1/tenants").await.status, 200);
}

async fn previous_key_is_accepted_while_listed_and_refused_once_removed(backend: Backend) {
    let old = "the-old-jwt-secret";
    let mut app = spawn_app_with(backend, BitrixSimConfig::default(), |s| {
        s.jwt_secret = Some(SecretString::from("the-new-jwt-secret".to_string()));
        s.jwt_previous_secrets = vec![SecretString::from(old.to_string())];
    })
    .await;
    let by_old = keys(old)
        .issue("ops", Role::Support, None, 3600)
        .expect("sign");
    let by_new = keys("the-new-jwt-secret")
        .issue("ops", Role::Support, None, 3600)
        .expect("sign");
    assert_eq!(get(&app, &by_old, "/api/v1/tenants").await.status, 200);
    assert_eq!(get(&app, &by_new, "/api/v1/tenants").await.status, 200);
    // Tokens from a login are signed with the new key.
    let t = post(
        &app,
        &by_old,
        "/api/v1/tenants",
        json!({"name": "Rotating"}),
    )
    .await;
    assert_eq!(t.status, 201, "{}", t.body);
    let tid = t.body["id"].as_i64().expect("id");
    let u = post(
        &app,
        &by_new,
        &format!("/api/v1/tenants/{tid}/users"),
        json!({"email": "rot@example.test", "password": PASSWORD}),
    )
    .await;
    assert_eq!(u.status, 201, "{}", u.body);
    let from_login = access_token(&app, "rot@example.test").await;
    let kid = jsonwebtoken::decode_header(&from_login)
        .expect("header")
        .kid;
    assert_eq!(kid.as_deref(), Some(keys("the-new-jwt-secret").kid()));

    // The old key is dropped from the list: its tokens are refused, the new key's still work.
    app.stop().await;
    app.settings.jwt_previous_secrets.clear();
    app.restart().await;
    let a = get(&app, &by_old, "/api/v1/tenants").await;
    assert_eq!((a.status, code(&a)), (401, "token_invalid"), "{}", a.body);
    assert_eq!(get(&app, &by_new, "/api/v1/tenants").await.status, 200);
    assert_eq!(get(&app, &from_login, "/api/v1/auth/me").await.status, 200);
}

async fn tokens_of_unknown_keys_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let foreign = keys("somebody-elses-secret")
        .issue("tester", Role::Support, None, 3600)
        .expect("sign");
    let a = get(&app, &foreign, "/api/v1/tenants").await;
    assert_eq!((a.status, code(&a)), (401, "token_invalid"), "{}", a.body);

    // The right secret but no kid in the header: refused too.
    let now = chrono::Utc::now().timestamp();
    let secret = app.settings.jwt_secret.clone().expect("secret");
    let no_kid = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"sub": "tester", "role": "support", "iat": now, "exp": now + 3600}),
        &jsonwebtoken::EncodingKey::from_secret(
            secrecy::ExposeSecret::expose_secret(&secret).as_bytes(),
        ),
    )
    .expect("sign");
    let a = get(&app, &no_kid, "/api/v1/tenants").await;
    assert_eq!((a.status, code(&a)), (401, "token_invalid"), "{}", a.body);

    let a = get(&app, "not-a-jwt", "/api/v1/tenants").await;
    assert_eq!((a.status, code(&a)), (401, "token_invalid"), "{}", a.body);
    let a = call(&app, Method::GET, "/api/v1/tenants", None, None).await;
    assert_eq!((a.status, code(&a)), (401, "token_missing"), "{}", a.body);
}

async fn refresh_gives_a_new_pair_and_is_no_access_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = tenant(&app, "Refreshing").await;
    let uid = tenant_admin(&app, t, "fresh@example.test").await;
    let first = login(&app, "fresh@example.test", PASSWORD).await;
    assert_eq!(first.status, 200);
    let access = first.body["access_token"].as_str().expect("access");
    let refresh_token = first.body["refresh_token"].as_str().expect("refresh");

    let r = call(
        &app,
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": refresh_token})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["user"]["id"], uid);
    let new_access = r.body["access_token"].as_str().expect("new access");
    let me = get(&app, new_access, "/api/v1/auth/me").await;
    assert_eq!((me.status, &me.body["tenant"]), (200, &json!(t)));

    // A refresh token is not an access token, and an access token does not refresh.
    let a = get(&app, refresh_token, "/api/v1/auth/me").await;
    assert_eq!((a.status, code(&a)), (401, "token_invalid"), "{}", a.body);
    let a = call(
        &app,
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": access})),
    )
    .await;
    assert_eq!((a.status, code(&a)), (401, "token_invalid"), "{}", a.body);

    // A disabled user can neither refresh nor log in.
    let d = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/users/{uid}"),
        Some(&app.token),
        Some(json!({"disabled": true})),
    )
    .await;
    assert_eq!(d.status, 200, "{}", d.body);
    let a = call(
        &app,
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": refresh_token})),
    )
    .await;
    assert_eq!((a.status, code(&a)), (401, "token_invalid"), "{}", a.body);
    let a = login(&app, "fresh@example.test", PASSWORD).await;
    assert_eq!((a.status, code(&a)), (401, "invalid_credentials"));
}

async fn failed_logins_for_one_account_are_rate_limited(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = tenant(&app, "Guessed").await;
    tenant_admin(&app, t, "victim@example.test").await;
    tenant_admin(&app, t, "other@example.test").await;

    // A success resets the account's count.
    for _ in 0..4 {
        assert_eq!(
            login(&app, "victim@example.test", "wrong guess 123")
                .await
                .status,
            401
        );
    }
    assert_eq!(
        login(&app, "victim@example.test", PASSWORD).await.status,
        200
    );
    for i in 0..5 {
        let a = login(&app, "victim@example.test", "wrong guess 123").await;
        assert_eq!(
            (a.status, code(&a)),
            (401, "invalid_credentials"),
            "attempt {i}"
        );
    }
    // The sixth is refused without a check, even with the right password.
    for password in ["wrong guess 123", PASSWORD] {
        let a = login(&app, "VICTIM@example.test", password).await;
        assert_eq!((a.status, code(&a)), (429, "rate_limited"), "{}", a.body);
        let wait = a.retry_after.expect("Retry-After");
        assert!((1..=900).contains(&wait), "Retry-After {wait}");
    }
    // Another account from the same IP is not affected.
    assert_eq!(
        login(&app, "other@example.test", PASSWORD).await.status,
        200
    );
}

async fn failed_logins_from_one_ip_are_rate_limited(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = tenant(&app, "Sprayed").await;
    tenant_admin(&app, t, "real@example.test").await;
    // 20 failures spread over accounts (none reaches its own limit of 5)...
    for i in 0..20 {
        let a = login(
            &app,
            &format!("guess{}@example.test", i % 5),
            "wrong guess 123",
        )
        .await;
        assert_eq!(
            (a.status, code(&a)),
            (401, "invalid_credentials"),
            "attempt {i}"
        );
    }
    // ...and this IP is refused, whatever the account.
    let a = login(&app, "real@example.test", PASSWORD).await;
    assert_eq!((a.status, code(&a)), (429, "rate_limited"), "{}", a.body);
    assert!(a.retry_after.is_some_and(|s| (1..=900).contains(&s)));
}

async fn tenant_admin_sees_only_its_own_tenant(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = tenant(&app, "Tenant A").await;
    let b = tenant(&app, "Tenant B").await;
    tenant_admin(&app, a, "admin@a.test").await;
    tenant_admin(&app, b, "admin@b.test").await;
    let token = access_token(&app, "admin@a.test").await;

    let own = get(&app, &token, &format!("/api/v1/tenants/{a}")).await;
    assert_eq!(own.status, 200, "{}", own.body);
    assert_eq!(own.body["name"], "Tenant A");
    let users = get(&app, &token, &format!("/api/v1/tenants/{a}/users")).await;
    assert_eq!(users.status, 200);
    assert_eq!(users.body.as_array().map(Vec::len), Some(1));

    for path in [
        format!("/api/v1/tenants/{b}"),
        format!("/api/v1/tenants/{b}/users"),
        "/api/v1/tenants/999999".to_string(),
    ] {
        let x = get(&app, &token, &path).await;
        assert_eq!(
            (x.status, code(&x)),
            (404, "not_found"),
            "{path}: {}",
            x.body
        );
    }
    let list = get(&app, &token, "/api/v1/tenants").await;
    assert_eq!(
        (list.status, code(&list)),
        (403, "forbidden"),
        "{}",
        list.body
    );
    let create = post(&app, &token, "/api/v1/tenants", json!({"name": "Mine"})).await;
    assert_eq!((create.status, code(&create)), (403, "forbidden"));
    let user = post(
        &app,
        &token,
        &format!("/api/v1/tenants/{a}/users"),
        json!({"email": "second@a.test", "password": PASSWORD}),
    )
    .await;
    assert_eq!(user.status, 403, "{}", user.body);
    let audit = get(&app, &token, "/api/v1/audit").await;
    assert_eq!((audit.status, code(&audit)), (403, "forbidden"));
}

async fn billing_reads_every_tenant_and_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = tenant(&app, "Paying").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (ok, out, err) = user_create(
        &app,
        dir.path(),
        &["--email", "billing@example.test", "--role", "billing"],
        &format!("{PASSWORD}\n"),
    );
    assert!(ok, "user create: {out}{err}");
    let token = access_token(&app, "billing@example.test").await;
    let me = get(&app, &token, "/api/v1/auth/me").await;
    assert_eq!(me.body["role"], "billing");

    let list = get(&app, &token, "/api/v1/tenants").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.body["total"], 1);
    assert_eq!(
        get(&app, &token, &format!("/api/v1/tenants/{a}"))
            .await
            .status,
        200
    );

    let x = post(&app, &token, "/api/v1/tenants", json!({"name": "Nope"})).await;
    assert_eq!((x.status, code(&x)), (403, "forbidden"), "{}", x.body);
    let x = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/tenants/{a}"),
        Some(&token),
        Some(json!({"plan": "free-forever"})),
    )
    .await;
    assert_eq!((x.status, code(&x)), (403, "forbidden"));
    let x = post(
        &app,
        &token,
        &format!("/api/v1/tenants/{a}/users"),
        json!({"email": "sneaky@example.test", "password": PASSWORD}),
    )
    .await;
    assert_eq!((x.status, code(&x)), (403, "forbidden"));
    let x = get(&app, &token, "/api/v1/audit").await;
    assert_eq!((x.status, code(&x)), (403, "forbidden"));
    // Nothing changed.
    let list = get(&app, &app.token, "/api/v1/tenants").await;
    assert_eq!(list.body["total"], 1);
    assert_eq!(list.body["items"][0]["plan"], "free");
}

async fn support_actions_are_audited_with_before_and_after(backend: Backend) {
    let app = spawn_app(backend).await;
    // The harness token is a support token with the subject "tester".
    let t = tenant(&app, "Audited").await;
    let p = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/tenants/{t}"),
        Some(&app.token),
        Some(json!({"plan": "pro"})),
    )
    .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert_eq!(p.body["plan"], "pro");
    let uid = tenant_admin(&app, t, "audited@example.test").await;
    let d = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/users/{uid}"),
        Some(&app.token),
        Some(json!({"disabled": true})),
    )
    .await;
    assert_eq!(d.status, 200);
    // Invalid input is refused before anything is written (and audited).
    let bad = post(&app, &app.token, "/api/v1/tenants", json!({"name": "  "})).await;
    assert_eq!((bad.status, code(&bad)), (400, "invalid_field"));
    let weak = post(
        &app,
        &app.token,
        &format!("/api/v1/tenants/{t}/users"),
        json!({"email": "weak@example.test", "password": "short"}),
    )
    .await;
    assert_eq!((weak.status, code(&weak)), (400, "invalid_field"));
    let taken = post(
        &app,
        &app.token,
        &format!("/api/v1/tenants/{t}/users"),
        json!({"email": "AUDITED@example.test", "password": PASSWORD}),
    )
    .await;
    assert_eq!((taken.status, code(&taken)), (409, "email_taken"));

    let log = get(&app, &app.token, "/api/v1/audit").await;
    assert_eq!(log.status, 200, "{}", log.body);
    assert_eq!(log.body["total"], 4, "{}", log.body);
    let items = log.body["items"].as_array().expect("items");
    let actions: Vec<&str> = items.iter().filter_map(|i| i["action"].as_str()).collect();
    assert_eq!(
        actions,
        [
            "user.update",
            "user.create",
            "tenant.update",
            "tenant.create"
        ]
    );
    assert!(items
        .iter()
        .all(|i| i["actor"] == "tester" && i["at"].is_i64()));
    assert_eq!(items[0]["target"], format!("user:{uid}"));
    assert_eq!(items[0]["before"]["disabled"], false);
    assert_eq!(items[0]["after"]["disabled"], true);
    assert_eq!(items[1]["before"], Value::Null);
    assert_eq!(items[1]["after"]["email"], "audited@example.test");
    assert_eq!(items[2]["target"], format!("tenant:{t}"));
    assert_eq!(items[2]["before"]["plan"], "free");
    assert_eq!(items[2]["after"]["plan"], "pro");
    assert_eq!(items[3]["after"]["name"], "Audited");
    assert!(
        !log.body.to_string().contains("argon2"),
        "a password hash in the audit log: {}",
        log.body
    );

    // Filters and pages.
    let f = get(&app, &app.token, "/api/v1/audit?action=tenant.update").await;
    assert_eq!(f.body["total"], 1);
    let f = get(&app, &app.token, "/api/v1/audit?per_page=3&page=2").await;
    assert_eq!(f.body["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(f.body["items"][0]["action"], "tenant.create");
    let f = get(&app, &app.token, "/api/v1/audit?per_page=0").await;
    assert_eq!((f.status, code(&f)), (400, "invalid_field"));

    // A logged-in support user is recorded by email.
    let dir = tempfile::tempdir().expect("tempdir");
    let (ok, out, err) = user_create(
        &app,
        dir.path(),
        &["--email", "ops@example.test", "--role", "support"],
        &format!("{PASSWORD}\n"),
    );
    assert!(ok, "{out}{err}");
    let ops = access_token(&app, "ops@example.test").await;
    assert_eq!(
        post(&app, &ops, "/api/v1/tenants", json!({"name": "By ops"}))
            .await
            .status,
        201
    );
    let f = get(&app, &ops, "/api/v1/audit?actor=ops@example.test").await;
    assert_eq!(f.body["total"], 1, "{}", f.body);
    assert_eq!(f.body["items"][0]["action"], "tenant.create");
    // The command line's creation is audited too.
    let f = get(&app, &ops, "/api/v1/audit?actor=cli").await;
    assert_eq!(f.body["total"], 1, "{}", f.body);
    assert_eq!(f.body["items"][0]["after"]["email"], "ops@example.test");
}

async fn user_create_command_then_login(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().expect("tempdir");

    // Weak passwords and role/tenant mismatches are refused with a clear message.
    let (ok, _, err) = user_create(
        &app,
        dir.path(),
        &["--email", "root@example.test", "--role", "support"],
        "short\n",
    );
    assert!(!ok);
    assert!(err.contains("at least 12"), "{err}");
    let (ok, _, err) = user_create(
        &app,
        dir.path(),
        &["--email", "ta@example.test", "--role", "tenant_admin"],
        &format!("{PASSWORD}\n"),
    );
    assert!(!ok);
    assert!(err.contains("needs a tenant"), "{err}");
    let (ok, _, err) = user_create(
        &app,
        dir.path(),
        &["--email", "root@example.test", "--role", "support"],
        "",
    );
    assert!(!ok);
    assert!(err.contains("no password"), "{err}");

    let (ok, out, err) = user_create(
        &app,
        dir.path(),
        &["--email", "Root@Example.test", "--role", "support"],
        &format!("{PASSWORD}\n"),
    );
    assert!(ok, "{out}{err}");
    assert!(out.contains("root@example.test"), "{out}");
    assert!(!out.contains(PASSWORD) && !err.contains(PASSWORD));
    // The same email again is refused.
    let (ok, _, err) = user_create(
        &app,
        dir.path(),
        &["--email", "root@example.test", "--role", "billing"],
        &format!("{PASSWORD}\n"),
    );
    assert!(!ok);
    assert!(err.contains("exists"), "{err}");

    let token = access_token(&app, "root@example.test").await;
    let me = get(&app, &token, "/api/v1/auth/me").await;
    assert_eq!(me.body["role"], "support");
    assert_eq!(me.body["tenant"], Value::Null);

    // A tenant admin for a tenant, the password from the environment.
    let t = tenant(&app, "Via CLI").await;
    let out = b24wa_command(&app, dir.path())
        .args([
            "user",
            "create",
            "--email",
            "ta@example.test",
            "--role",
            "tenant_admin",
        ])
        .args(["--tenant", &t.to_string()])
        .env("B24WA_USER_PASSWORD", PASSWORD)
        .stdin(Stdio::null())
        .output()
        .expect("run b24wa");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = access_token(&app, "ta@example.test").await;
    assert_eq!(
        get(&app, &token, &format!("/api/v1/tenants/{t}"))
            .await
            .status,
        200
    );

    let out = b24wa_command(&app, dir.path())
        .args(["user", "list"])
        .output()
        .expect("run b24wa");
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        list.contains("root@example.test") && list.contains("ta@example.test"),
        "{list}"
    );
    assert!(!list.contains("argon2"), "{list}");
}

async fn install_creates_a_tenant_and_reinstall_keeps_it(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let list = get(&app, &app.token, "/api/v1/tenants").await;
    assert_eq!(list.body["total"], 1, "{}", list.body);
    let tenant = &list.body["items"][0];
    assert_eq!(tenant["name"], app.b24.domain());
    let id = tenant["id"].as_i64().expect("tenant id");
    let detail = get(&app, &app.token, &format!("/api/v1/tenants/{id}")).await;
    assert_eq!(detail.body["portals"][0]["member_id"], app.b24.member_id());

    // Reinstall (event, then the install page): the same tenant.
    app.install().await;
    let status = app
        .b24
        .install_via_page(&format!("{}/bitrix24/install", app.url))
        .await;
    assert_eq!(status, 200);
    let list = get(&app, &app.token, "/api/v1/tenants").await;
    assert_eq!(list.body["total"], 1, "{}", list.body);
    assert_eq!(list.body["items"][0]["id"], id);

    // Another portal: a tenant of its own.
    let other = BitrixSim::start(BitrixSimConfig::default()).await;
    let status = other
        .install_via_event(&format!("{}/bitrix24/install", app.url))
        .await;
    assert_eq!(status, 200);
    let list = get(&app, &app.token, "/api/v1/tenants").await;
    assert_eq!(list.body["total"], 2, "{}", list.body);
    let second = &list.body["items"][1];
    assert_eq!(second["name"], other.domain());
    let detail = get(
        &app,
        &app.token,
        &format!("/api/v1/tenants/{}", second["id"]),
    )
    .await;
    let portals = detail.body["portals"].as_array().expect("portals");
    assert_eq!(portals.len(), 1);
    assert_eq!(portals[0]["member_id"], other.member_id());
}

/// Portals installed before tenants existed get a tenant each from the migration.
#[actix_web::test]
async fn migration_gives_older_portals_a_tenant() {
    use migration::{Migrator, MigratorTrait};
    use sea_orm::ConnectionTrait;
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
    let db = b24wa::store::connect(&url).await.expect("connect");
    // The schema before tenants, with one portal.
    let before = Migrator::migrations()
        .iter()
        .position(|m| m.name().ends_with("_tenants"))
        .expect("the tenants migration");
    Migrator::up(&db, Some(before as u32))
        .await
        .expect("older migrations");
    db.execute_unprepared(
        "INSERT INTO portals (member_id, domain, client_endpoint, server_endpoint, \
         access_token_enc, refresh_token_enc, token_expires_at, application_token_enc, scope, \
         installed, created_at, updated_at) VALUES ('m-old', 'old.bitrix24.test', 'x', 'x', \
         'x', 'x', 0, 'x', 'x', true, 1, 1)",
    )
    .await
    .expect("insert an old portal");
    b24wa::store::migrate(&db).await.expect("migrate");
    let portal = b24wa::store::portals::find_by_member(&db, "m-old")
        .await
        .expect("query")
        .expect("portal");
    let tenant_id = portal.tenant_id.expect("a tenant was attached");
    let tenant = b24wa::store::tenants::get(&db, tenant_id)
        .await
        .expect("query")
        .expect("tenant");
    assert_eq!(tenant.name, "old.bitrix24.test");
    assert_eq!(tenant.plan, "free");
    db.close().await.expect("close");
}
