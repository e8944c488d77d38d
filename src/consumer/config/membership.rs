//! Static membership: `group.instance.id` written as a template, so that one configuration
//! file gives each process its own id (`"{hostname}-{env:WORKER_INDEX}"`).

use std::collections::BTreeMap;

use super::ConfigError;

/// The librdkafka property of static membership (KIP-345).
pub(super) const INSTANCE_ID: &str = "group.instance.id";

/// Replaces `{hostname}` and `{env:NAME}` in `kafka."group.instance.id"`, if set.
pub(super) fn resolve_instance_id(
    mut kafka: BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, ConfigError> {
    if let Some(template) = kafka.get(INSTANCE_ID) {
        let id = expand(template, &hostname, &|name| std::env::var(name).ok())?;
        kafka.insert(INSTANCE_ID.to_owned(), id);
    }
    Ok(kafka)
}

fn expand(
    template: &str,
    hostname: &dyn Fn() -> Option<String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ConfigError> {
    let invalid = |why: String| ConfigError::InvalidInstanceId {
        template: template.to_owned(),
        why,
    };
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| invalid("an unclosed '{'".to_owned()))?;
        let placeholder = &rest[open + 1..open + close];
        let value = match placeholder.strip_prefix("env:") {
            _ if placeholder == "hostname" => {
                hostname().ok_or_else(|| invalid("the host name is unknown".to_owned()))?
            }
            Some(name) => env(name)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| invalid(format!("the environment variable {name} is not set")))?,
            None => {
                return Err(invalid(format!(
                    "unknown placeholder {{{placeholder}}}: use {{hostname}} or {{env:NAME}}"
                )))
            }
        };
        out.push_str(&value);
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    if out.trim().is_empty() {
        return Err(invalid("it is empty".to_owned()));
    }
    Ok(out)
}

/// The host name: the kernel's (Linux), else `$HOSTNAME`.
fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Placeholders are replaced; a missing variable or an unknown placeholder is refused.
    #[test]
    fn templates_expand_per_process() {
        let host = || Some("worker-3".to_owned());
        let env = |name: &str| (name == "WORKER_INDEX").then(|| "2".to_owned());
        assert_eq!(
            expand("{hostname}-{env:WORKER_INDEX}", &host, &env).unwrap(),
            "worker-3-2"
        );
        assert_eq!(expand("billing-1", &host, &env).unwrap(), "billing-1");
        let e = expand("{hostname}-{env:MISSING}", &host, &env).unwrap_err();
        assert!(e.to_string().contains("MISSING is not set"), "{e}");
        let e = expand("{pid}", &host, &env).unwrap_err();
        assert!(e.to_string().contains("unknown placeholder {pid}"), "{e}");
        assert!(expand("{hostname", &host, &env).is_err());
        assert!(hostname().is_some());
    }
}
