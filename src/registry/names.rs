//! Which names a job class can have, and which registered class an unknown one resembles.

/// `job_class`, when it can be what Rails writes as `job_class`: a Ruby class's full name.
///
/// # Panics
///
/// Otherwise, saying why; see [`Registry::register`].
pub(super) fn ruby_class_name(job_class: String) -> String {
    if let Err(why) = check_ruby_class_name(&job_class) {
        panic!(
            "cannot register job class {job_class:?}: {why}; Rails writes job_class as the \
             class's full constant path, such as \"ImportJob\" or \"V1::StatisticsWorker\""
        );
    }
    job_class
}

/// Whether `name` is a Ruby constant path: `::`-separated constants, each starting with a
/// capital letter and made of letters, digits and underscores (Ruby allows any non-ASCII
/// character in an identifier).
pub(super) fn check_ruby_class_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the name is empty".to_owned());
    }
    for constant in name.split("::") {
        let mut chars = constant.chars();
        match chars.next() {
            None => return Err("an empty part between `::`".to_owned()),
            Some(first)
                if !(first.is_ascii_uppercase() || !first.is_ascii() && first.is_uppercase()) =>
            {
                return Err(format!("{constant:?} does not start with a capital letter"))
            }
            Some(_) => {}
        }
        if let Some(bad) =
            chars.find(|&c| !(c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii()))
        {
            return Err(format!("{constant:?} contains {bad:?}"));
        }
    }
    Ok(())
}

/// The class's own name, without its namespace.
pub(super) fn last_constant(job_class: &str) -> &str {
    job_class.rsplit("::").next().unwrap_or(job_class)
}
