//! The console's assets, built into the binary: no internet, no CDN.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

const FILES: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("assets/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/app.js"),
    ),
    (
        "orders.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/orders.js"),
    ),
    (
        "orders.css",
        "text/css; charset=utf-8",
        include_str!("assets/orders.css"),
    ),
    (
        "icons.svg",
        "image/svg+xml",
        include_str!("assets/icons.svg"),
    ),
];

pub async fn serve(Path(file): Path<String>) -> Response {
    match FILES.iter().find(|(n, _, _)| *n == file) {
        Some((_, mime, body)) => (
            [
                (header::CONTENT_TYPE, *mime),
                (header::CACHE_CONTROL, "max-age=3600"),
            ],
            *body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "没有这个文件").into_response(),
    }
}
