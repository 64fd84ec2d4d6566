//! A client that sends a request's body a byte at a time, as a slow-loris attacker does.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What the server did with a trickled body.
#[derive(Debug)]
pub struct Trickled {
    /// The status of the answer, if one came.
    pub status: Option<u16>,
    /// Whether the server closed the connection after answering.
    pub closed: bool,
    /// When the answer (or the close) came, from the end of the request head.
    pub after: Duration,
}

/// Sends `POST path` to `address` (`127.0.0.1:PORT`) declaring `length` bytes of form body, then
/// one byte every `every`, until the server answers or closes, or `give_up` passes.
pub async fn trickle_body(
    address: &str,
    path: &str,
    length: usize,
    every: Duration,
    give_up: Duration,
) -> Trickled {
    let mut stream = TcpStream::connect(address)
        .await
        .expect("the server listens");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("head sent");
    let started = Instant::now();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    let mut sent = 0;
    while started.elapsed() < give_up {
        tokio::select! {
            read = stream.read(&mut buffer) => match read {
                Ok(0) | Err(_) => {
                    return Trickled { status: status_of(&answer), closed: true, after: started.elapsed() };
                }
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
            },
            _ = tokio::time::sleep(every) => {
                if sent < length && stream.write_all(b"a").await.is_ok() {
                    sent += 1;
                }
            }
        }
    }
    Trickled {
        status: status_of(&answer),
        closed: false,
        after: started.elapsed(),
    }
}

fn status_of(answer: &[u8]) -> Option<u16> {
    let line = std::str::from_utf8(answer).ok()?.lines().next()?;
    line.split(' ').nth(1)?.parse().ok()
}

/// `count` clients trickling a body to `path` at once, and, once they are all waiting on the
/// server, the time `served` took: the server must go on answering others meanwhile.
pub async fn many_trickling<F: std::future::Future>(
    address: &str,
    path: &str,
    count: usize,
    served: F,
) -> (Vec<Trickled>, Duration, F::Output) {
    let senders: Vec<_> = (0..count)
        .map(|_| {
            let (address, path) = (address.to_owned(), path.to_owned());
            tokio::spawn(async move {
                trickle_body(
                    &address,
                    &path,
                    16_000,
                    Duration::from_millis(100),
                    Duration::from_secs(15),
                )
                .await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let output = served.await;
    let took = started.elapsed();
    let mut trickled = Vec::new();
    for sender in senders {
        trickled.push(sender.await.expect("the sender ran"));
    }
    (trickled, took, output)
}

/// Every trickled body was answered `408` and its connection closed, within a second of the
/// `deadline` or so (never the sender's 15 s).
pub fn assert_cut_off(trickled: &[Trickled], deadline: Duration) {
    for one in trickled {
        assert_eq!(one.status, Some(408), "{one:?}");
        assert!(one.closed, "the connection is closed: {one:?}");
        assert!(
            one.after >= deadline && one.after < deadline + Duration::from_secs(3),
            "answered within the deadline: {one:?}"
        );
    }
}
