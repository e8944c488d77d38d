//! What a failed run leads to: another try after a backoff, the dead letter queue, a forward
//! to another topic, or (the job class's `discard_on`) nothing more. A pure decision from the topic's settings, the pause settings,
//! the failure and the attempt number; the partition task carries it out (`failure.rs`).

use std::time::Duration;

use crate::consumer::config::{BadMessagePolicy, PauseConfig, TopicConfig};
use crate::consumer::failure::JobFailure;

/// What happens after a failed run.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Next {
    /// Pause the partition this long, then run the same message again.
    Retry(Duration),
    /// Copy the message to the topic's dead letter queue, then go on after it.
    DeadLetter,
    /// Copy the message unchanged to this topic, then go on after it.
    Forward(String),
    /// Mark the message consumed and go on: its job class discards this error (`discard_on`).
    Discard,
}

/// Karafka's rule: a failing job is retried while `attempt <= max_retries` (forever without a
/// dead letter queue), then dispatched; a bad message (tombstone, undecodable, unknown class)
/// follows its topic's [`BadMessagePolicy`], which by default is the same retry path. The job
/// class's policies come first: `discard_on` ends the message there, `dead_letter_on` sends it to
/// the dead letter queue at once (to the retry path on a topic without one).
/// `attempt` counts runs of the message, starting at 1.
pub(super) fn next_after(
    topic: &TopicConfig,
    pause: &PauseConfig,
    failure: &JobFailure,
    attempt: u32,
) -> Next {
    let by_retries = || match &topic.dead_letter_queue {
        Some(dlq) if attempt > dlq.max_retries => Next::DeadLetter,
        _ => Next::Retry(pause.backoff(attempt)),
    };
    match failure {
        JobFailure::DiscardOn(_) => return Next::Discard,
        JobFailure::DeadLetterOn(_) if topic.dead_letter_queue.is_some() => {
            return Next::DeadLetter
        }
        _ => {}
    }
    match failure.bad_message_kind() {
        None => by_retries(),
        Some(kind) => match topic.bad_messages.for_kind(kind) {
            BadMessagePolicy::Retry => by_retries(),
            BadMessagePolicy::DeadLetter => Next::DeadLetter,
            BadMessagePolicy::Forward(to) => Next::Forward(to.clone()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consumer::failure::BadMessageKind;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn decisions_follow_karafkas_retry_rule_and_the_bad_message_policies() {
        let pause = PauseConfig::default();
        let plain = TopicConfig::new("t");
        let dlq = TopicConfig::new("t").dead_letter_queue("t_dlq", 2);
        let strict = TopicConfig::new("t")
            .dead_letter_queue("t_dlq", 2)
            .on_bad_message(BadMessageKind::Tombstone, BadMessagePolicy::DeadLetter)
            .on_bad_message(
                BadMessageKind::UnknownJobClass,
                BadMessagePolicy::Forward("ruby".into()),
            );
        let failed = JobFailure::Failed("boom".into());
        let tombstone = JobFailure::Tombstone;
        let unknown = JobFailure::UnknownJobClass("RubyJob".into());
        let undecodable = JobFailure::Undecodable("not JSON".into());
        let discard = JobFailure::DiscardOn("RecordGone: gone".into());
        let dead_letter = JobFailure::DeadLetterOn("Invalid: never works".into());
        let table: &[(&TopicConfig, &JobFailure, u32, Next)] = &[
            // No DLQ: retry forever, 1 s × 2^attempt capped at 30 s.
            (&plain, &failed, 1, Next::Retry(secs(2))),
            (&plain, &failed, 4, Next::Retry(secs(16))),
            (&plain, &failed, 50, Next::Retry(secs(30))),
            (&plain, &tombstone, 1, Next::Retry(secs(2))),
            (&plain, &unknown, 3, Next::Retry(secs(8))),
            // With max_retries = 2: attempts 1 and 2 retry, the third run's failure dispatches.
            (&dlq, &failed, 2, Next::Retry(secs(4))),
            (&dlq, &failed, 3, Next::DeadLetter),
            (&dlq, &undecodable, 3, Next::DeadLetter),
            // Policies act on the first failure; the others keep the retry path.
            (&strict, &tombstone, 1, Next::DeadLetter),
            (&strict, &unknown, 1, Next::Forward("ruby".into())),
            (&strict, &undecodable, 1, Next::Retry(secs(2))),
            (&strict, &failed, 3, Next::DeadLetter),
            // The job class's policies: discard at once; dead-letter at once where a DLQ is.
            (&plain, &discard, 1, Next::Discard),
            (&dlq, &discard, 1, Next::Discard),
            (&dlq, &dead_letter, 1, Next::DeadLetter),
            (&plain, &dead_letter, 1, Next::Retry(secs(2))),
        ];
        for (topic, failure, attempt, want) in table {
            assert_eq!(
                &next_after(topic, &pause, failure, *attempt),
                want,
                "{failure} at attempt {attempt}"
            );
        }
    }

    #[test]
    fn without_exponential_backoff_every_pause_is_the_timeout() {
        let pause = PauseConfig {
            with_exponential_backoff: false,
            ..PauseConfig::default()
        };
        let got = next_after(&TopicConfig::new("t"), &pause, &JobFailure::Tombstone, 7);
        assert_eq!(got, Next::Retry(secs(1)));
    }
}
