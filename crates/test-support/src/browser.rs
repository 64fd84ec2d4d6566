//! A user agent with a cookie jar that does not follow redirects, so each hop can be checked.

use std::time::Duration;

use crate::{answer, csrf_of, field_of, Answer, TestApp};

pub struct Browser<'a> {
    pub app: &'a TestApp,
    pub http: reqwest::Client,
}

impl TestApp {
    pub fn browser(&self) -> Browser<'_> {
        Browser {
            app: self,
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .expect("an HTTP client"),
        }
    }
}

impl Browser<'_> {
    pub async fn get(&self, path: &str) -> Answer {
        answer(
            self.http
                .get(self.app.url(path))
                .send()
                .await
                .expect("request sent"),
        )
        .await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Answer {
        answer(
            self.http
                .post(self.app.url(path))
                .form(form)
                .send()
                .await
                .expect("request sent"),
        )
        .await
    }

    /// Signs in through the login form; returns the answer to the POST.
    pub async fn sign_in(&self, username: &str, password: &str) -> Answer {
        let csrf = csrf_of(&self.get("/login").await.body);
        self.post(
            "/login",
            &[
                ("username", username),
                ("password", password),
                ("_csrf", &csrf),
            ],
        )
        .await
    }

    /// `GET /oauth/authorize?{query}`.
    pub async fn authorize(&self, query: &str) -> Answer {
        self.get(&format!("/oauth/authorize?{query}")).await
    }

    /// Posts the approval form with these `scope.<name>` choices.
    pub async fn decide(&self, approve: bool, scopes: &[(&str, bool)]) -> Answer {
        let page = self.get("/oauth/confirm_access").await;
        assert_eq!(page.status, 200, "{}", page.body);
        let csrf = csrf_of(&page.body);
        let fields: Vec<(String, String)> = scopes
            .iter()
            .map(|(s, ok)| (format!("scope.{s}"), ok.to_string()))
            .collect();
        let mut form: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        form.push((
            "user_oauth_approval",
            if approve { "true" } else { "false" },
        ));
        form.push(("_csrf", &csrf));
        let id = field_of(&page.body, "authorization_id");
        form.push(("authorization_id", &id));
        self.post("/oauth/authorize", &form).await
    }

    /// Signs in as admin and runs the code flow for `query`, approving everything; the redirect.
    pub async fn code_for(&self, query: &str) -> String {
        let first = self.authorize(query).await;
        if first.header("location") == "/login" {
            assert_eq!(self.sign_in("admin", "123456").await.status, 303);
        }
        let mut hop = self.authorize(query).await;
        if hop.header("location") == "/oauth/confirm_access" {
            hop = self.decide(true, &[]).await;
        }
        assert_eq!(hop.status, 303, "{}", hop.body);
        hop.header("location").to_owned()
    }
}
