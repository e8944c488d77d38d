//! The job both speed benches run: `make bench-e2e` produces it to Kafka, and the criterion
//! bench `registry/decode_and_run_noop_job` decodes and runs it without Kafka.

/// What `NoopJob.perform_later(i)` looks like when Rails 8.1 dispatches it through Karafka.
pub fn payload(i: u64) -> String {
    format!(
        concat!(
            r#"{{"job_class":"NoopJob","job_id":"{:08x}-7c1e-4b5d-9f3a-6a2b8c4d0e1f","provider_job_id":null,"#,
            r#""queue_name":"bench","priority":null,"arguments":[{}],"executions":0,"exception_executions":{{}},"#,
            r#""locale":"en","timezone":"UTC","enqueued_at":"2026-11-24T21:27:56.175007000Z","scheduled_at":null}}"#
        ),
        i, i
    )
}
