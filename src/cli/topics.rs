//! `topics plan` / `topics migrate`: the command-line face of [`crate::topics`].

use std::process::ExitCode;
use std::time::Duration;

use super::args::{TopicsAction, TopicsArgs};
use super::commands::{fail, worker_config};
use super::{EXIT_ERROR, EXIT_TOPICS_CHANGED};
use crate::topics::{Topics, TopicsError};

pub(super) async fn topics(program: &str, args: &TopicsArgs) -> ExitCode {
    let config = match worker_config(program, &args.config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let topics = Topics::new(&config).timeout(Duration::from_secs(args.timeout));
    let changed = match args.action {
        TopicsAction::Plan => topics.plan().await.map(|plan| {
            print!("{}", plan.render());
            !plan.is_empty()
        }),
        TopicsAction::Migrate => topics.migrate().await.map(|done| {
            print!("{}", done.render());
            !done.is_empty()
        }),
    };
    match changed {
        Ok(true) if args.detailed_exitcode => ExitCode::from(EXIT_TOPICS_CHANGED),
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            // What a partly refused migration did change must still be said.
            if let TopicsError::Refused { applied, .. } = &e {
                for change in applied {
                    println!("{}", change.done_line());
                }
            }
            fail(
                program,
                EXIT_ERROR,
                &format!("topics {}: {e}", action_name(args.action)),
            )
        }
    }
}

fn action_name(action: TopicsAction) -> &'static str {
    match action {
        TopicsAction::Plan => "plan",
        TopicsAction::Migrate => "migrate",
    }
}
