//! Tokens and roles on the REST API.

use reqwest::Method;
use serde_json::json;

use crate::handoff::{agent_socket, id};
use crate::helpers::*;

#[tokio::test]
async fn missing_and_wrong_tokens_are_unauthorized() {
    let app = spawn_app().await;
    let r = app
        .http()
        .get(app.url("/v1/conversations"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");

    for token in [
        "wrong",
        "fd_0000000000000000000000000000000000000000000000000000000000000000",
    ] {
        let (status, body) = app.get("/v1/conversations", token).await;
        assert_eq!(status, 401, "{body}");
    }
    let r = app
        .http()
        .get(app.url("/v1/faq"))
        .header("authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn roles_limit_what_a_token_may_do() {
    let app = spawn_app().await;
    let (status, agent) = app
        .send_json(Method::POST, "/v1/agents", OPERATOR, json!({"name": "Sam"}))
        .await;
    assert_eq!(status, 201, "{agent}");
    let agent_token = agent["token"].as_str().unwrap().to_owned();
    assert_eq!(agent["role"], "agent");
    let author = app.author_token().await;

    // Agents read the FAQ but cannot edit it or mint tokens.
    assert_eq!(app.get("/v1/faq", &agent_token).await.0, 200);
    let edit = json!({"question": "q", "answer": "a"});
    assert_eq!(
        app.send_json(Method::POST, "/v1/faq", &agent_token, edit.clone())
            .await
            .0,
        403
    );
    assert_eq!(
        app.send_json(
            Method::POST,
            "/v1/agents",
            &agent_token,
            json!({"name": "x"})
        )
        .await
        .0,
        403
    );
    // Authors edit the FAQ but read no customer data.
    assert_eq!(
        app.send_json(Method::POST, "/v1/faq", &author, edit)
            .await
            .0,
        201
    );
    assert_eq!(app.get("/v1/conversations", &author).await.0, 403);
    assert_eq!(
        app.send_json(Method::POST, "/v1/authors", &author, json!({"name": "x"}))
            .await
            .0,
        403
    );

    let (status, agents) = app.get("/v1/agents", OPERATOR).await;
    assert_eq!(status, 200);
    assert_eq!(agents[0]["name"], "Sam");
    assert!(agents[0].get("token").is_none(), "tokens are never listed");
}

#[tokio::test]
async fn a_generated_operator_token_is_issued_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = || frontdesk::Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_owned(),
        ..frontdesk::Config::default()
    };
    let models = understanding_for(&config()).await;
    let first = frontdesk::Application::build_with(config(), models.clone())
        .await
        .unwrap();
    let token = first
        .generated_operator_token
        .clone()
        .expect("generated on first start");
    assert!(token.starts_with("fd_"));
    drop(first);
    let second = frontdesk::Application::build_with(config(), models)
        .await
        .unwrap();
    assert!(
        second.generated_operator_token.is_none(),
        "not again on the next start"
    );
}

#[tokio::test]
async fn health_and_unknown_routes() {
    let app = spawn_app().await;
    assert_eq!(
        app.http()
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        app.http()
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let (status, body) = app.get("/v1/nope", OPERATOR).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
    let (status, _) = app.get("/v1/conversations/not-a-uuid", OPERATOR).await;
    assert_eq!(status, 404);
    let (status, body) = app.get("/v1/conversations?limit=lots", OPERATOR).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("bad_frame")),
        "{body}"
    );
    let (status, body) = app.get("/v1/faq/search", OPERATOR).await;
    assert_eq!(status, 400, "a search without q: {body}");
    let r = app.http().delete(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "method_not_allowed");
}

#[tokio::test]
async fn only_agents_reach_the_console() {
    let app = spawn_app().await;
    let (_, welcome) = app.conversation().await;
    let resume = id(&welcome, "resume_token");
    let author = app.author_token().await;
    for (token, code) in [
        ("fd_not_a_token", "unauthorized"),
        (resume.as_str(), "unauthorized"),
        (author.as_str(), "forbidden"),
    ] {
        let mut a = agent_socket(&app).await;
        a.send(json!({"type": "hello", "token": token})).await;
        let refused = a.recv().await;
        assert_eq!(refused["code"], code, "{refused}");
        assert_eq!(a.closed().await.map(|c| u16::from(c.code)), Some(1008));
    }
    // Nothing before hello.
    let mut a = agent_socket(&app).await;
    a.send(json!({"type": "claim", "conversation_id": welcome["conversation_id"]}))
        .await;
    assert_eq!(a.recv().await["code"], "bad_frame");

    // A customer cannot use agent frames on the chat socket.
    let (mut chat, _) = app.conversation().await;
    chat.send(json!({"type": "claim", "conversation_id": welcome["conversation_id"]}))
        .await;
    assert_eq!(chat.recv_type("error").await["code"], "bad_frame");

    // REST: nothing without a token; authors may not read the queue.
    let r = app.http().get(app.url("/v1/queue")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(app.get("/v1/queue", &author).await.0, 403);
    assert_eq!(app.get("/v1/stats", &author).await.0, 403);
    let agent = app.agent_token("Alex").await;
    assert_eq!(app.get("/v1/queue", &agent).await.0, 200);
    assert_eq!(app.get("/v1/stats?days=7", &agent).await.0, 200);
    assert_eq!(app.get("/v1/stats?days=0", &agent).await.0, 400);
}
