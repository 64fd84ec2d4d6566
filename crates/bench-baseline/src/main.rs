//! The least an actix-web server can do: the baseline every workload of `scripts/bench.sh` is
//! compared with. `GET /` answers a fixed body; `POST /token` reads the form body and answers a
//! fixed JSON. Same framework, same worker count (one per core), same machine, same run.
//!
//!   bench-baseline [PORT]      (default 18000)

use actix_web::{web, App, HttpResponse, HttpServer};

async fn hello() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain;charset=UTF-8")
        .body("hi , 1111")
}

async fn token(_form: web::Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json;charset=UTF-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(r#"{"access_token":"vdWbC4TRHEKGzgqshlbu2bF6UbVfwx0fpZe7U3ytvO8","token_type":"bearer","expires_in":3600,"scope":"app"}"#)
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(18000);
    HttpServer::new(|| {
        App::new()
            .route("/", web::get().to(hello))
            .route("/token", web::post().to(token))
    })
    .bind(("127.0.0.1", port))?
    .run()
    .await
}
