//! Bad input and limits on the customer socket: each gets a typed error
//! frame or a standard close code, nothing acknowledged is lost, and the
//! server keeps serving.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::handoff::{agent, agent_socket};
use crate::helpers::*;

/// Everything the server sends until it closes the connection; fails if
/// it is still open after [`FRAME_WAIT`].
async fn until_closed(tcp: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let read_all = async {
        let mut buf = [0u8; 1024];
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(FRAME_WAIT, read_all)
        .await
        .expect("the server closes the connection");
    received
}

/// The raw websocket handshake for `/v1/chat`.
fn handshake(app: &TestApp, connection: &str) -> String {
    format!(
        "GET /v1/chat HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: {connection}\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        app.addr
    )
}

/// The status line and the JSON body of a whole HTTP response.
fn status_and_body(response: &[u8]) -> (String, Value) {
    let text = String::from_utf8_lossy(response);
    let (head, body) = text.split_once("\r\n\r\n").expect("a whole response");
    let status = head.lines().next().unwrap_or_default().to_owned();
    let body = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {text}"));
    (status, body)
}

async fn expect_error(chat: &mut Chat, code: &str) -> serde_json::Value {
    let frame = chat.recv_type("error").await;
    assert_eq!(frame["code"], code, "{frame}");
    assert!(frame["message"].as_str().is_some_and(|m| !m.is_empty()));
    frame
}

#[tokio::test]
async fn malformed_and_unknown_frames_get_bad_frame_and_the_socket_lives_on() {
    let app = spawn_app().await;
    let mut chat = app.chat().await;
    chat.send(json!({"type": "message", "client_id": "c0", "text": "before hello"}))
        .await;
    expect_error(&mut chat, "bad_frame").await;
    chat.send_raw(Message::Text("{nope".into())).await;
    expect_error(&mut chat, "bad_frame").await;
    chat.send(json!({"no_type": 1})).await;
    expect_error(&mut chat, "bad_frame").await;
    chat.send(json!({"type": "dance"})).await;
    expect_error(&mut chat, "bad_frame").await;
    chat.send_raw(Message::Binary(vec![1, 2, 3].into())).await;
    expect_error(&mut chat, "bad_frame").await;

    chat.send(json!({"type": "hello"})).await;
    chat.recv_type("welcome").await;
    chat.send(json!({"type": "hello"})).await;
    expect_error(&mut chat, "conflict").await;
    chat.send(json!({"type": "message", "client_id": "c1"}))
        .await;
    let e = expect_error(&mut chat, "bad_frame").await;
    assert_eq!(e["client_id"], "c1");
    chat.send(json!({"type": "message", "client_id": "x".repeat(65), "text": "hi"}))
        .await;
    expect_error(&mut chat, "bad_frame").await;
    chat.send(json!({"type": "message", "client_id": "c2", "text": "   "}))
        .await;
    expect_error(&mut chat, "bad_frame").await;
    chat.send(json!({"type": "rating", "score": 9})).await;
    expect_error(&mut chat, "bad_frame").await;
    chat.send(json!({"type": "feedback", "seq": 99, "helpful": false}))
        .await;
    expect_error(&mut chat, "not_found").await;

    let (ack, _) = chat.ask("c3", "How do I reset my password?").await;
    assert_eq!(ack["seq"], 1, "rejected frames stored nothing");
}

#[tokio::test]
async fn oversized_frames_get_too_large_then_close_1009() {
    let app = spawn_with(|c| {
        c.limits.max_frame_bytes = 1024;
        c.limits.hard_max_frame_bytes = 4096;
        c.limits.max_message_chars = 100;
    })
    .await;
    let (mut chat, _) = app.conversation().await;
    chat.send(json!({"type": "message", "client_id": "long", "text": "a".repeat(101)}))
        .await;
    let e = expect_error(&mut chat, "too_large").await;
    assert_eq!(e["client_id"], "long");
    chat.send(json!({"type": "message", "client_id": "big", "text": "a".repeat(2000)}))
        .await;
    expect_error(&mut chat, "too_large").await;
    let (ack, _) = chat.ask("ok", "How do I reset my password?").await;
    assert_eq!(ack["seq"], 1);

    chat.send(json!({"type": "message", "client_id": "huge", "text": "a".repeat(10_000)}))
        .await;
    let frame = chat.closed().await.expect("a close frame");
    assert_eq!(u16::from(frame.code), 1009);
    let (status, _) = app.get("/healthz", OPERATOR).await;
    assert_eq!(status, 200, "the server lives on");
}

#[tokio::test]
async fn sending_too_fast_is_rate_limited_and_acked_messages_survive() {
    let app = spawn_with(|c| {
        c.limits.messages_per_second = 0.001;
        c.limits.message_burst = 4;
        c.limits.max_strikes = 3;
        // The same question three times would go to a person.
        c.escalation.repeated_answers = 10;
    })
    .await;
    let (mut chat, welcome) = app.conversation().await; // hello takes one token
    for i in 0..3 {
        let (ack, _) = chat
            .ask(&format!("ok{i}"), "How much does shipping cost?")
            .await;
        assert_eq!(ack["seq"], 1 + 2 * i);
    }
    chat.send(json!({"type": "message", "client_id": "fast1", "text": "again"}))
        .await;
    let e = expect_error(&mut chat, "rate_limited").await;
    assert_eq!(e["client_id"], "fast1");
    chat.send(json!({"type": "message", "client_id": "fast2", "text": "again"}))
        .await;
    expect_error(&mut chat, "rate_limited").await;
    chat.send(json!({"type": "message", "client_id": "fast3", "text": "again"}))
        .await;
    expect_error(&mut chat, "rate_limited").await;
    let frame = chat.closed().await.expect("a close frame");
    assert_eq!(u16::from(frame.code), 1008);

    let messages = app
        .transcript(welcome["conversation_id"].as_str().unwrap())
        .await;
    assert_eq!(messages.len(), 6, "the three acked turns are all there");
}

#[tokio::test]
async fn connections_per_ip_are_refused_before_the_upgrade() {
    let app = spawn_with(|c| c.limits.connections_per_ip = 2).await;
    let _a = app.chat().await;
    let mut b = app.chat().await;
    let refused = tokio_tungstenite::connect_async(app.ws_url())
        .await
        .expect_err("over the limit");
    match refused {
        tokio_tungstenite::tungstenite::Error::Http(response) => {
            assert_eq!(response.status(), 429)
        }
        other => panic!("expected an HTTP 429, got {other:?}"),
    }
    // The same refusal, read whole: `close` lets the server end the
    // connection after its answer.
    let mut tcp = TcpStream::connect(app.addr).await.unwrap();
    tcp.write_all(handshake(&app, "Upgrade, close").as_bytes())
        .await
        .unwrap();
    let (status, body) = status_and_body(&until_closed(&mut tcp).await);
    assert!(status.starts_with("HTTP/1.1 429"), "{status}");
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    // The two admitted sockets still work.
    b.send(json!({"type": "hello"})).await;
    b.recv_type("welcome").await;
}

#[tokio::test]
async fn foreign_origins_are_refused_and_allowed_ones_admitted() {
    let app = spawn_with(|c| c.origins.allow = vec!["https://shop.example".into()]).await;
    let mut request = app.ws_url().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    let err = tokio_tungstenite::connect_async(request)
        .await
        .expect_err("refused");
    match err {
        tokio_tungstenite::tungstenite::Error::Http(response) => assert_eq!(response.status(), 403),
        other => panic!("expected an HTTP 403, got {other:?}"),
    }
    let own = format!("http://{}", app.addr);
    let own_by_name = format!("http://localhost:{}", app.addr.port());
    for origin in ["https://shop.example", own.as_str(), own_by_name.as_str()] {
        let mut request = app.ws_url().into_client_request().unwrap();
        request
            .headers_mut()
            .insert("origin", origin.parse().unwrap());
        assert!(
            tokio_tungstenite::connect_async(request).await.is_ok(),
            "{origin}"
        );
    }
    // Another local port is another site; an Origin matching a forged Host
    // (DNS rebinding) proves nothing.
    for (origin, host) in [
        ("http://localhost:5173", None),
        ("http://rebind.example:8080", Some("rebind.example:8080")),
    ] {
        let mut request = app.ws_url().into_client_request().unwrap();
        request
            .headers_mut()
            .insert("origin", origin.parse().unwrap());
        if let Some(host) = host {
            request.headers_mut().insert("host", host.parse().unwrap());
        }
        assert!(
            tokio_tungstenite::connect_async(request).await.is_err(),
            "{origin}"
        );
    }
}

/// A peer that completes the handshake and then never answers a ping is
/// closed with 1001 after the idle timeout.
#[tokio::test]
async fn a_silent_peer_is_closed_after_the_idle_timeout() {
    let app = spawn_with(|c| {
        c.limits.ping_interval = Duration::from_millis(100);
        c.limits.idle_timeout = Duration::from_millis(400);
    })
    .await;
    let mut tcp = TcpStream::connect(app.addr).await.unwrap();
    tcp.write_all(handshake(&app, "Upgrade").as_bytes())
        .await
        .unwrap();
    let received = until_closed(&mut tcp).await;
    // An unmasked close frame (0x88) whose payload starts with 1001.
    let close = received
        .windows(4)
        .any(|w| w[0] == 0x88 && w[2..4] == 1001u16.to_be_bytes());
    assert!(
        close,
        "no 1001 close frame in {:?}",
        String::from_utf8_lossy(&received)
    );
}

/// A socket that said `hello` and then goes silent (no pongs) is closed
/// with 1001 after the idle timeout, as one that never said it is.
#[tokio::test]
async fn a_greeted_peer_that_goes_silent_is_closed_after_the_idle_timeout() {
    let app = spawn_with(|c| {
        c.limits.ping_interval = Duration::from_millis(100);
        c.limits.idle_timeout = Duration::from_millis(400);
    })
    .await;
    let mut tcp = TcpStream::connect(app.addr).await.unwrap();
    tcp.write_all(handshake(&app, "Upgrade").as_bytes())
        .await
        .unwrap();
    // A masked text frame (the all-zero mask leaves the payload as it is).
    let hello = br#"{"type":"hello"}"#;
    let mut frame = vec![0x81, 0x80 | hello.len() as u8, 0, 0, 0, 0];
    frame.extend_from_slice(hello);
    tcp.write_all(&frame).await.unwrap();
    let received = until_closed(&mut tcp).await;
    let text = String::from_utf8_lossy(&received);
    assert!(
        text.contains(r#""type":"welcome""#),
        "no welcome in {text:?}"
    );
    let close = received
        .windows(4)
        .any(|w| w[0] == 0x88 && w[2..4] == 1001u16.to_be_bytes());
    assert!(close, "no 1001 close frame in {text:?}");
}

#[tokio::test]
async fn an_unknown_resume_token_starts_a_new_conversation() {
    let app = spawn_app().await;
    let mut chat = app.chat().await;
    chat.send(json!({"type": "hello", "resume_token": "rt_forged", "last_seq": 7}))
        .await;
    let welcome = chat.recv_type("welcome").await;
    assert_eq!(welcome["resumed"], false);
    assert_ne!(welcome["resume_token"], "rt_forged");
    let (ack, _) = chat.ask("c1", "hi").await;
    assert_eq!(ack["seq"], 1);
}

#[tokio::test]
async fn agent_sockets_share_the_connection_limit() {
    let app = spawn_with(|c| c.limits.connections_per_ip = 2).await;
    let _customer = app.chat().await;
    let token = app.agent_token("Alex").await;
    let (_console, _) = agent(&app, &token).await;
    let refused = tokio_tungstenite::connect_async(format!("ws://{}/v1/agent", app.addr))
        .await
        .expect_err("over the limit");
    match refused {
        tokio_tungstenite::tungstenite::Error::Http(response) => {
            assert_eq!(response.status(), 429)
        }
        other => panic!("expected an HTTP 429, got {other:?}"),
    }
}

/// Health checks are cheap and capped per address: a flood from one
/// address gets 429s instead of slowing the server down.
#[tokio::test]
async fn a_flood_of_health_checks_is_rate_limited() {
    let app = spawn_app().await;
    let http = app.http();
    let mut statuses = Vec::new();
    for path in ["/readyz", "/healthz"].iter().cycle().take(300) {
        statuses.push(
            http.get(app.url(path))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    assert!(statuses[..20].iter().all(|s| *s == 200), "{statuses:?}");
    assert!(statuses.contains(&429), "never limited");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 429));
}

/// A client that strikes out with frames still in flight, without
/// reading, gets every error frame and the 1008 close frame, not a reset;
/// a text frame that is not UTF-8 closes with 1007.
#[tokio::test]
async fn closing_sockets_send_their_errors_and_close_code() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;

    let app = spawn_with(|c| c.limits.max_strikes = 5).await;
    let mut chat = app.chat().await;
    for _ in 0..40 {
        chat.send_raw(Message::Text("{not json".into())).await;
    }
    let mut errors = 0;
    let close = loop {
        match tokio::time::timeout(FRAME_WAIT, chat.ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                assert!(t.contains("bad_frame"), "{t}");
                errors += 1;
            }
            Ok(Some(Ok(Message::Close(frame)))) => break frame,
            Ok(Some(Ok(_))) => {}
            other => panic!("the socket ended without a close frame: {other:?}"),
        }
    };
    assert_eq!(errors, 5);
    assert_eq!(u16::from(close.expect("a close frame").code), 1008);

    let mut chat = app.chat().await;
    let invalid = Frame::message(vec![b'{', 0xff, 0xfe, b'}'], OpCode::Data(Data::Text), true);
    chat.send_raw(Message::Frame(invalid)).await;
    let close = chat.closed().await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1007);
}

/// One address may not open conversations without end: past the burst a
/// new `hello` is `rate_limited`, while resuming one still works.
#[tokio::test]
async fn new_conversations_per_address_are_limited() {
    let app = spawn_with(|c| {
        c.limits.conversations_per_minute = 1.0;
        c.limits.conversation_burst = 3;
    })
    .await;
    let mut tokens = Vec::new();
    for _ in 0..3 {
        let (mut chat, welcome) = app.conversation().await;
        chat.ask("c1", "How much does shipping cost?").await;
        tokens.push(welcome["resume_token"].as_str().unwrap().to_owned());
    }
    let mut chat = app.chat().await;
    chat.send(json!({"type": "hello"})).await;
    let refused = chat.recv().await;
    assert_eq!(refused["code"], "rate_limited", "{refused}");
    chat.send(json!({"type": "hello", "resume_token": tokens[0]}))
        .await;
    let welcome = chat.recv_type("welcome").await;
    assert_eq!(welcome["resumed"], true);
}

/// A client that sends half a request line and then nothing, and one that
/// sends nothing at all, each hold a descriptor only until the header read
/// timeout.
#[tokio::test]
async fn half_sent_and_silent_connections_are_closed_after_the_header_timeout() {
    let app = spawn_with(|c| c.limits.header_read_timeout = Duration::from_millis(300)).await;
    let mut half = TcpStream::connect(app.addr).await.unwrap();
    half.write_all(b"GET /healthz HT").await.unwrap();
    let mut silent = TcpStream::connect(app.addr).await.unwrap();
    until_closed(&mut half).await;
    until_closed(&mut silent).await;
    let (status, _) = app.get("/healthz", OPERATOR).await;
    assert_eq!(status, 200, "the server lives on");
}

/// With room for three connections, a websocket and two idle connections
/// fill the server: the next connection gets a 503 and is closed, and
/// once one closes the server answers again.
#[tokio::test]
async fn connections_over_the_cap_get_503_until_one_closes() {
    let app = spawn_with(|c| {
        c.limits.max_connections = 3;
        // The idle connections must outlive the test.
        c.limits.header_read_timeout = Duration::from_secs(600);
    })
    .await;
    let _chat = app.chat().await;
    let mut idle = vec![
        TcpStream::connect(app.addr).await.unwrap(),
        TcpStream::connect(app.addr).await.unwrap(),
    ];

    // The server accepts in order, so this is the fourth connection.
    let mut fourth = TcpStream::connect(app.addr).await.unwrap();
    fourth
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: frontdesk\r\n\r\n")
        .await
        .unwrap();
    let response = until_closed(&mut fourth).await;
    let (status, body) = status_and_body(&response);
    assert!(status.starts_with("HTTP/1.1 503"), "{status}");
    assert_eq!(
        body,
        json!({"error": {
            "code": "unavailable",
            "message": "the server has too many open connections; try again shortly"
        }})
    );
    let head = String::from_utf8_lossy(&response).to_ascii_lowercase();
    assert!(head.contains("\r\nconnection: close\r\n"), "{head}");

    // Close one idle connection and wait for the server to close its end:
    // its place is free by then.
    let mut one = idle.pop().unwrap();
    one.shutdown().await.unwrap();
    until_closed(&mut one).await;
    let (status, _) = app.get("/healthz", OPERATOR).await;
    assert_eq!(status, 200);
}

/// A customer socket and an agent console that never say `hello` are
/// told why and closed with 1008; a socket that did say it stays open
/// past the same deadline.
#[tokio::test]
async fn sockets_that_never_say_hello_are_closed_with_1008() {
    let app = spawn_with(|c| c.limits.hello_timeout = Duration::from_millis(300)).await;
    let (mut greeted, _) = app.conversation().await;

    let mut chat = app.chat().await;
    let e = expect_error(&mut chat, "bad_frame").await;
    assert!(e["message"].as_str().unwrap().contains("hello"), "{e}");
    assert_eq!(u16::from(chat.closed().await.expect("close").code), 1008);

    let mut console = agent_socket(&app).await;
    expect_error(&mut console, "bad_frame").await;
    assert_eq!(u16::from(console.closed().await.expect("close").code), 1008);

    // `greeted` connected before `chat`, so its deadline has passed too.
    let (ack, _) = greeted.ask("c1", "How do I reset my password?").await;
    assert_eq!(ack["seq"], 1);
}
