//! `perform_all_later` from Rust: 1 000 jobs of several classes in one `enqueue_all`, grouped
//! by dispatch method and producer as Karafka Pro groups them, all arriving once, in order per
//! key.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use activejob_karafka::arguments::Value;
use activejob_karafka::producer::{DispatchManyMethod, JobOptions};
use activejob_karafka::Job;
use support::scheduling::{job_producer, karafka_partition, Watcher};
use support::{create_topic, init_tracing, unique};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enqueue_all_of_1000_jobs_delivers_each_once_in_order_per_key() {
    init_tracing();
    let orders = unique("all-orders");
    let mails = unique("all-mails");
    create_topic(&orders, 4).await;
    create_topic(&mails, 2).await;
    let producer = job_producer()
        .job(
            "OrderJob",
            JobOptions::new()
                .partitioner(|job| match job.arguments.first() {
                    Some(Value::String(s)) => Some(s.clone()),
                    _ => None,
                })
                .dispatch_many_method(DispatchManyMethod::Sync),
        )
        // A class with its own producer settings forms a group of its own.
        .job(
            "AuditJob",
            JobOptions::new()
                .producer_config("linger.ms", "20")
                .dispatch_many_method(DispatchManyMethod::Sync),
        )
        .build()
        .unwrap();
    let watcher = Watcher::start(&[&orders, &mails]);

    let mut jobs = Vec::with_capacity(1000);
    for i in 0..1000u64 {
        let job = match i % 4 {
            0 | 1 => Job::new("OrderJob")
                .queue(&orders)
                .arg(format!("customer-{}", i % 7))
                .arg(i),
            2 => Job::new("MailJob").queue(&mails).arg(i),
            _ => Job::new("AuditJob").queue(&mails).arg(i),
        };
        jobs.push(job);
    }
    let sent = producer.enqueue_all(&jobs).await.unwrap();
    assert_eq!(sent.len(), 1000);
    for (job, e) in jobs.iter().zip(&sent) {
        assert_eq!(e.job_id, job.job_id, "results are in job order");
        let sync = job.job_class != "MailJob";
        assert_eq!(e.offset.is_some(), sync, "{}", job.job_class);
    }
    producer.flush(Duration::from_secs(10)).await.unwrap();

    let order_msgs = watcher
        .wait_for(&orders, 500, Duration::from_secs(30))
        .await;
    let mail_msgs = watcher.wait_for(&mails, 500, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(watcher.seen_on(&orders).len(), 500, "no duplicates");
    assert_eq!(watcher.seen_on(&mails).len(), 500, "no duplicates");

    let mut by_id = BTreeMap::new();
    for m in order_msgs.iter().chain(&mail_msgs) {
        assert!(by_id.insert(m.job_id().unwrap(), m.clone()).is_none());
    }
    // Per key, offsets follow the jobs' order (one produce_many in job order).
    let mut last: BTreeMap<String, i64> = BTreeMap::new();
    for job in &jobs {
        let m = &by_id[job.job_id.as_ref().unwrap()];
        if job.job_class == "OrderJob" {
            let key = m.key.clone().unwrap();
            assert_eq!(m.partition, karafka_partition(&key, 4));
            if let Some(prev) = last.insert(key.clone(), m.offset) {
                assert!(m.offset > prev, "{key}: offsets in job order");
            }
        } else {
            assert_eq!(m.key, None);
        }
    }
}
