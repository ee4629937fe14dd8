//! The admin web app (`admin-web/`, built by `make web`) under `/admin/`, served from its build
//! folder (`B24WA_ADMIN_WEB_DIR`, default `admin-web/dist`). Hashed assets under `assets/` are
//! cached for a year; `index.html` is revalidated on every load so a new build is picked up at
//! once; any other path without a file extension is a client route and gets `index.html`.

use std::{
    io,
    path::{Path, PathBuf},
    time::UNIX_EPOCH,
};

use actix_web::{
    http::{
        header::{self, HeaderValue},
        StatusCode,
    },
    web, HttpRequest, HttpResponse, ResponseError,
};

use super::AppState;

/// Where the app is mounted (Vite's `base` in admin-web/vite.config.ts says the same).
pub const MOUNT: &str = "/admin";

/// Vite writes content-hashed file names under this folder: they never change, so they may be
/// cached for good.
const HASHED_DIR: &str = "assets";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// The page's own scripts and styles only; Mantine and the charts set inline styles, the QR is a
/// `data:` image.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' data:; connect-src 'self'; font-src 'self' data:; \
                   object-src 'none'; base-uri 'self'; frame-ancestors 'none'";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(MOUNT, web::get().to(to_mount))
        .route(MOUNT, web::head().to(to_mount))
        .route(&format!("{MOUNT}/{{tail:.*}}"), web::get().to(serve))
        .route(&format!("{MOUNT}/{{tail:.*}}"), web::head().to(serve));
}

#[derive(Debug, thiserror::Error)]
pub enum AdminWebError {
    /// The build folder has no `index.html`: nobody ran `make web` (or the path is wrong).
    #[error("the admin web app is not built in {0}")]
    NotBuilt(PathBuf),
    #[error("not found")]
    NotFound,
    #[error("reading {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

impl ResponseError for AdminWebError {
    fn status_code(&self) -> StatusCode {
        match self {
            AdminWebError::NotBuilt(_) => StatusCode::SERVICE_UNAVAILABLE,
            AdminWebError::NotFound => StatusCode::NOT_FOUND,
            AdminWebError::Io { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
        match self {
            AdminWebError::NotBuilt(dir) => res
                .insert_header((header::RETRY_AFTER, "30"))
                .content_type("text/html; charset=utf-8")
                .body(not_built_page(dir)),
            AdminWebError::NotFound => res
                .content_type("text/plain; charset=utf-8")
                .body("not found\n"),
            AdminWebError::Io { path, source } => {
                tracing::error!(path = %path.display(), error = %source, "admin web: read failed");
                res.content_type("text/plain; charset=utf-8")
                    .body("internal error\n")
            }
        }
    }
}

fn not_built_page(dir: &Path) -> String {
    let dir = html_escape(&dir.display().to_string());
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>b24wa admin: not built</title>\
         <style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#212529}}\
         code{{background:#f1f3f5;padding:.1rem .3rem;border-radius:4px}}</style></head><body>\
         <h1>The admin web app is not built</h1>\
         <p>This service serves the admin app from <code>{dir}</code>, which has no \
         <code>index.html</code>.</p>\
         <p>Run <code>make web</code> in the repository (it runs <code>npm ci</code> and \
         <code>vite build</code> in <code>admin-web/</code>), or point \
         <code>B24WA_ADMIN_WEB_DIR</code> at a build folder. The JSON API under \
         <code>/api/v1</code> works without it.</p></body></html>\n"
    )
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `/admin` → `/admin/`: the app's relative URLs are resolved against the folder.
async fn to_mount() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, format!("{MOUNT}/")))
        .finish()
}

/// The request's path below the mount as checked segments, or `None` if it tries to leave the
/// folder or names a hidden file. actix has already percent-decoded `tail`.
fn segments(tail: &str) -> Option<Vec<&str>> {
    let parts: Vec<&str> = tail.split('/').filter(|s| !s.is_empty()).collect();
    let ok = parts
        .iter()
        .all(|s| !s.starts_with('.') && !s.contains('\\') && !s.contains('\0') && !s.contains(':'));
    ok.then_some(parts)
}

/// What a path below the mount is answered with.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    /// A file of the build.
    File(PathBuf),
    /// A client route (no file extension): the app's `index.html`.
    App,
}

/// A path that does not name a file of the build is a client route, unless its last segment
/// has an extension: a missing script must be a 404, not a page (a browser would then report
/// a MIME error instead of the missing file).
fn looks_like_file(parts: &[&str]) -> bool {
    parts
        .last()
        .and_then(|last| last.rsplit_once('.'))
        .is_some_and(|(stem, ext)| !stem.is_empty() && !ext.is_empty())
}

async fn resolve(root: &Path, parts: &[&str]) -> Result<Target, AdminWebError> {
    if parts.is_empty() {
        return Ok(Target::App);
    }
    let path = parts.iter().fold(root.to_path_buf(), |p, s| p.join(s));
    match tokio::fs::metadata(&path).await {
        Ok(m) if m.is_file() => {
            // A symlink inside the build must not lead outside it.
            let real =
                tokio::fs::canonicalize(&path)
                    .await
                    .map_err(|source| AdminWebError::Io {
                        path: path.clone(),
                        source,
                    })?;
            let real_root =
                tokio::fs::canonicalize(root)
                    .await
                    .map_err(|source| AdminWebError::Io {
                        path: root.to_path_buf(),
                        source,
                    })?;
            if real.starts_with(&real_root) {
                Ok(Target::File(path))
            } else {
                Err(AdminWebError::NotFound)
            }
        }
        Ok(_) | Err(_) if looks_like_file(parts) => Err(AdminWebError::NotFound),
        _ => Ok(Target::App),
    }
}

/// A validator for the file as it is on disk (size and modification time), so a reload of
/// `index.html` costs a 304.
fn etag(meta: &std::fs::Metadata) -> String {
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!("\"{:x}-{:x}\"", meta.len(), mtime)
}

fn content_type(path: &Path) -> String {
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let text = mime.type_() == mime_guess::mime::TEXT
        || matches!(mime.subtype().as_str(), "javascript" | "json" | "svg");
    if text {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_string()
    }
}

async fn serve(
    req: HttpRequest,
    state: web::Data<AppState>,
    tail: web::Path<String>,
) -> Result<HttpResponse, AdminWebError> {
    let root = state.ctx.settings.admin_web_dir.clone();
    let index = root.join("index.html");
    if !tokio::fs::try_exists(&index).await.unwrap_or(false) {
        return Err(AdminWebError::NotBuilt(root));
    }
    let parts = segments(&tail).ok_or(AdminWebError::NotFound)?;
    let (path, cache) = match resolve(&root, &parts).await? {
        Target::File(p) if parts.first() == Some(&HASHED_DIR) => (p, IMMUTABLE),
        Target::File(p) => (p, REVALIDATE),
        Target::App => (index, REVALIDATE),
    };
    let io_err = |source| AdminWebError::Io {
        path: path.clone(),
        source,
    };
    let meta = tokio::fs::metadata(&path).await.map_err(io_err)?;
    let tag = etag(&meta);
    let mut res = HttpResponse::Ok();
    res.insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::ETAG, tag.as_str()));
    let html = path.extension().is_some_and(|e| e == "html");
    if html {
        res.insert_header((header::CONTENT_SECURITY_POLICY, CSP))
            .insert_header((header::X_FRAME_OPTIONS, "DENY"))
            .insert_header((header::REFERRER_POLICY, "same-origin"));
    }
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    if fresh {
        return Ok(res.status(StatusCode::NOT_MODIFIED).finish());
    }
    let body = tokio::fs::read(&path).await.map_err(io_err)?;
    res.insert_header((
        header::CONTENT_TYPE,
        HeaderValue::from_str(&content_type(&path))
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    ));
    Ok(res.body(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_leave_the_folder_or_are_hidden_are_refused() {
        assert_eq!(segments(""), Some(vec![]));
        assert_eq!(
            segments("assets/index-abc.js"),
            Some(vec!["assets", "index-abc.js"])
        );
        assert_eq!(segments("numbers//3/qr/"), Some(vec!["numbers", "3", "qr"]));
        assert_eq!(segments("../Cargo.toml"), None);
        assert_eq!(segments("assets/../../x"), None);
        assert_eq!(segments(".env"), None);
        assert_eq!(segments("a\\..\\b"), None);
        assert_eq!(segments("c:/x"), None);
    }

    #[test]
    fn only_names_with_an_extension_look_like_files() {
        assert!(looks_like_file(&["assets", "index-abc.js"]));
        assert!(looks_like_file(&["favicon.svg"]));
        assert!(!looks_like_file(&["numbers", "3", "qr"]));
        assert!(!looks_like_file(&["conversations", "1", "380991234567"]));
        assert!(!looks_like_file(&[]));
    }

    #[test]
    fn text_types_say_utf8() {
        assert_eq!(
            content_type(Path::new("a/index.html")),
            "text/html; charset=utf-8"
        );
        assert_eq!(
            content_type(Path::new("x.js")),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("x.css")), "text/css; charset=utf-8");
        assert_eq!(
            content_type(Path::new("x.svg")),
            "image/svg+xml; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("x.png")), "image/png");
        assert_eq!(content_type(Path::new("x.woff2")), "font/woff2");
    }

    #[actix_web::test]
    async fn client_routes_get_the_app_and_missing_files_a_404() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("assets")).expect("mkdir");
        std::fs::write(dir.path().join("assets/app-1.js"), "x").expect("write");
        let root = dir.path();
        assert_eq!(
            resolve(root, &["assets", "app-1.js"]).await.ok(),
            Some(Target::File(root.join("assets/app-1.js")))
        );
        assert_eq!(resolve(root, &[]).await.ok(), Some(Target::App));
        assert_eq!(
            resolve(root, &["numbers", "3", "qr"]).await.ok(),
            Some(Target::App)
        );
        // A folder is not a file: the app answers.
        assert_eq!(resolve(root, &["assets"]).await.ok(), Some(Target::App));
        assert!(matches!(
            resolve(root, &["assets", "gone-2.js"]).await,
            Err(AdminWebError::NotFound)
        ));
    }
}
