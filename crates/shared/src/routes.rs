//! Mounting paths with the methods they answer, in one way for both servers: any other method is
//! 405 with `Allow` (RFC 9110 §15.5.6), in the catalogue's JSON; and what was mounted can be
//! listed, so that each server's OpenAPI test holds its description to its routes.

use actix_web::dev::HttpServiceFactory;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::Method;
use actix_web::{web, FromRequest, Handler, HttpResponse, Resource, ResponseError, Route};

use crate::metrics::RouteMetrics;
use crate::{ApiError, ErrorCode};

/// A mounted path and the methods it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mounted {
    pub path: String,
    pub methods: Vec<Method>,
}

/// The metrics of the route that answered `request`, if it was routed to one: found in the
/// route's app data, rather than by `HttpRequest::match_pattern`, which matches the path again
/// and copies the pattern for every request.
pub fn metrics(request: &actix_web::HttpRequest) -> Option<&RouteMetrics> {
    request.app_data::<RouteMetrics>()
}

/// An app's routes as they are mounted, and the list of them.
pub struct Router<'a> {
    cfg: &'a mut web::ServiceConfig,
    mounted: Vec<Mounted>,
}

/// `GET` to `handler`.
pub fn get<F, Args>(handler: F) -> (Method, Route)
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    (Method::GET, web::to(handler))
}

/// `POST` to `handler`.
pub fn post<F, Args>(handler: F) -> (Method, Route)
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    (Method::POST, web::to(handler))
}

impl<'a> Router<'a> {
    pub fn new(cfg: &'a mut web::ServiceConfig) -> Self {
        Self {
            cfg,
            mounted: Vec::new(),
        }
    }

    /// `path`, answering each of `routes` (one resource per path: a resource with a list of paths
    /// is matched by a regex set, which took 2% of every request routed past it).
    pub fn mount(
        &mut self,
        path: &str,
        routes: impl IntoIterator<Item = (Method, Route)>,
    ) -> &mut Self {
        self.mount_with(path, routes, |resource| resource)
    }

    /// The same, with `wrap` applied to the resource (its middleware).
    pub fn mount_with<R: HttpServiceFactory + 'static>(
        &mut self,
        path: &str,
        routes: impl IntoIterator<Item = (Method, Route)>,
        wrap: impl FnOnce(Resource) -> R,
    ) -> &mut Self {
        let mut resource = web::resource(path).app_data(RouteMetrics::new(path));
        let mut methods = Vec::new();
        for (method, route) in routes {
            resource = resource.route(route.method(method.clone()));
            methods.push(method);
        }
        let names: Vec<&str> = methods.iter().map(Method::as_str).collect();
        // Method names are tokens, always a valid header value.
        let allow = HeaderValue::from_str(&names.join(", ")).ok();
        resource = resource.default_service(web::to(move || {
            let allow = allow.clone();
            async move { method_not_allowed(allow) }
        }));
        self.cfg.service(wrap(resource));
        self.mounted.push(Mounted {
            path: path.to_owned(),
            methods,
        });
        self
    }

    /// What was mounted, in order.
    pub fn mounted(self) -> Vec<Mounted> {
        self.mounted
    }
}

fn method_not_allowed(allow: Option<HeaderValue>) -> HttpResponse {
    let mut response = ApiError::new(ErrorCode::MethodNotAllowed).error_response();
    if let Some(allow) = allow {
        response.headers_mut().insert(header::ALLOW, allow);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{test, App};

    async fn ok() -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    #[actix_web::test]
    async fn other_methods_are_405_naming_the_mounted_ones() {
        let mut mounted = Vec::new();
        let app = test::init_service(App::new().configure(|cfg| {
            let mut router = Router::new(cfg);
            router.mount("/a", [get(ok), post(ok)]);
            mounted = router.mounted();
        }))
        .await;
        assert_eq!(
            mounted,
            [Mounted {
                path: "/a".into(),
                methods: vec![Method::GET, Method::POST]
            }]
        );
        let request = test::TestRequest::default()
            .method(Method::TRACE)
            .uri("/a")
            .to_request();
        let response = test::call_service(&app, request).await;
        assert_eq!(response.status(), 405);
        assert_eq!(response.headers().get(header::ALLOW).unwrap(), "GET, POST");
        assert_eq!(response.headers().get("x-error-code").unwrap(), "1010");
        let request = test::TestRequest::post().uri("/a").to_request();
        assert_eq!(test::call_service(&app, request).await.status(), 200);
    }
}
