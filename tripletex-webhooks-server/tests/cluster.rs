//! Several server processes on one PostgreSQL database share delivery work:
//! 10,000 events go to a loopback receiver while one instance is killed with
//! SIGKILL mid-run (after it has delivered); every instance delivers a share
//! (the sender of a callback is the process owning its connection), every
//! event is delivered at least once, duplicates are counted, and no object's
//! version ever goes back at the receiver.
//!
//! Needs `DATABASE_URL` (PostgreSQL); skips with a message without it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use common::process::ServerProcess;
use common::receiver::Receiver;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

const EMPLOYEE_TOKEN: &str = "cluster-employee-token";
const PRODUCTS: usize = 2_000;
const UPDATES_PER_PRODUCT: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_share_the_work_and_survive_a_sigkill() {
    let Some(base_url) = test_support::services::url("DATABASE_URL") else {
        return;
    };
    let database = common::fresh_schema_url(&base_url);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let receiver = Receiver::start().await;
    let mut instances = Vec::new();
    for _ in 0..3 {
        instances.push(
            ServerProcess::start(&database, EMPLOYEE_TOKEN, &["--attempt-timeout", "2s"]).await,
        );
    }
    for instance in &instances {
        instance.wait_until_up(&http, Duration::from_secs(60)).await;
    }
    let bases: Vec<String> = instances.iter().map(ServerProcess::base).collect();
    // Which instance sent a callback: the process owning its connection.
    let pids: Vec<u32> = instances.iter().map(ServerProcess::pid).collect();

    let token = instances[0].session_token(&http).await;
    for event in ["product.create", "product.update"] {
        let response = http
            .post(format!("{}/event/subscription", bases[0]))
            .basic_auth("0", Some(&token))
            .json(&json!({"event": event, "targetUrl": receiver.url("/cluster")}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201);
    }

    // 2,000 creates and 8,000 updates, spread over the two instances that stay up.
    let limit = Arc::new(Semaphore::new(16));
    let mut tasks = Vec::new();
    for n in 0..PRODUCTS {
        let permit = Arc::clone(&limit).acquire_owned().await.unwrap();
        let (http, token, base) = (http.clone(), token.clone(), bases[1 + n % 2].clone());
        tasks.push(tokio::spawn(async move {
            let created: Value = http
                .post(format!("{base}/product"))
                .basic_auth("0", Some(&token))
                .json(&json!({"name": format!("p{n}")}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let id = created["value"]["id"].as_i64().unwrap();
            for version in 1..=UPDATES_PER_PRODUCT {
                let response = http
                    .put(format!("{base}/product/{id}"))
                    .basic_auth("0", Some(&token))
                    .json(&json!({"name": format!("p{n} v{version}")}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status().as_u16(), 200);
            }
            drop(permit);
            id
        }));
        if n == PRODUCTS / 4 {
            // Instance 0 is delivering too (awaited: it has sent a callback);
            // kill it mid-run.
            test_support::eventually("instance 0 to deliver", || async {
                let sent = receiver
                    .received()
                    .iter()
                    .any(|c| c.sender_pid == Some(pids[0]));
                sent.then_some(())
            })
            .await;
            instances[0].kill().await;
        }
    }
    let mut ids = Vec::with_capacity(PRODUCTS);
    for task in tasks {
        ids.push(task.await.unwrap());
    }

    // Every object's create and its final version arrive (bounded wait); the
    // killed instance's leases expire (attempt timeout + 30 s) and are taken over.
    let final_version = i64::try_from(UPDATES_PER_PRODUCT).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let arrivals = loop {
        tick.tick().await;
        let mut arrivals: HashMap<i64, Vec<(String, i64)>> = HashMap::new();
        for callback in receiver.received() {
            let body = callback.json();
            arrivals
                .entry(body["id"].as_i64().unwrap())
                .or_default()
                .push((
                    body["event"].as_str().unwrap().to_owned(),
                    body["value"]["version"].as_i64().unwrap(),
                ));
        }
        let complete = ids.iter().all(|id| {
            arrivals.get(id).is_some_and(|a| {
                a.iter().any(|(e, _)| e == "product.create")
                    && a.iter()
                        .any(|(e, v)| e == "product.update" && *v == final_version)
            })
        });
        if complete {
            break arrivals;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not every event arrived"
        );
    };

    // Every instance delivered a share.
    let mut shares: HashMap<Option<u32>, usize> = HashMap::new();
    for callback in receiver.received() {
        *shares.entry(callback.sender_pid).or_default() += 1;
    }
    let per_instance: Vec<usize> = pids
        .iter()
        .map(|pid| shares.get(&Some(*pid)).copied().unwrap_or(0))
        .collect();
    println!("cluster: callbacks per instance {per_instance:?}, of {shares:?} by sender pid");
    assert!(
        per_instance.iter().all(|&share| share > 0),
        "every instance delivers a share: {per_instance:?} (by pid {shares:?})"
    );

    let mut duplicates = 0;
    for (id, events) in &arrivals {
        let updates: Vec<i64> = events
            .iter()
            .filter(|(e, _)| e == "product.update")
            .map(|(_, v)| *v)
            .collect();
        assert!(
            updates.windows(2).all(|w| w[0] <= w[1]),
            "product {id} went back: {updates:?}"
        );
        duplicates += updates.windows(2).filter(|w| w[0] == w[1]).count();
        duplicates += events.iter().filter(|(e, _)| e == "product.create").count() - 1;
    }
    let total: usize = arrivals.values().map(Vec::len).sum();
    let distinct: usize = arrivals
        .values()
        .map(|events| {
            events
                .iter()
                .collect::<std::collections::BTreeSet<_>>()
                .len()
        })
        .sum();
    let committed = PRODUCTS * (1 + UPDATES_PER_PRODUCT);
    println!(
        "cluster: {} objects, {committed} events committed ({PRODUCTS} creates + {} updates), {total} callbacks, \
         {duplicates} duplicates, {} intermediate versions coalesced away (every create and every final version arrived), 1 SIGKILL",
        ids.len(),
        PRODUCTS * UPDATES_PER_PRODUCT,
        committed - distinct
    );
}
