//! The progress bar of a long replay.

use std::sync::Arc;
use std::time::{Duration, Instant};

/// A progress bar that appears only once a run has lasted a second, on a terminal.
#[derive(Clone)]
pub(super) struct ProgressBar {
    bar: indicatif::ProgressBar,
    shown: Option<Arc<std::sync::atomic::AtomicBool>>,
    started: Instant,
}

impl ProgressBar {
    const DELAY: Duration = Duration::from_secs(1);

    pub(super) fn new(enabled: bool, total: u64) -> Self {
        use std::io::IsTerminal;
        let enabled = enabled && std::io::stderr().is_terminal();
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(total),
            indicatif::ProgressDrawTarget::hidden(),
        );
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "replaying {wide_bar} {pos}/{len} jobs, {elapsed} elapsed, about {eta} left",
        ) {
            bar.set_style(style);
        }
        ProgressBar {
            bar,
            shown: enabled.then(Arc::default),
            started: Instant::now(),
        }
    }

    pub(super) fn inc(&self) {
        self.bar.inc(1);
        if let Some(shown) = &self.shown {
            if self.started.elapsed() >= Self::DELAY
                && !shown.swap(true, std::sync::atomic::Ordering::Relaxed)
            {
                self.bar
                    .set_draw_target(indicatif::ProgressDrawTarget::stderr());
            }
        }
    }

    pub(super) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
