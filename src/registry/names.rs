//! Which names a job class can have, and which registered class an unknown one resembles.

/// `job_class`, when it can be what Rails writes as `job_class`: a Ruby class's full name.
///
/// # Panics
///
/// Otherwise, saying why; see [`Registry::register`](super::Registry::register).
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

/// How far `registered` is from `wanted`, when it is close enough to be what was meant: 0 for
/// the same name up to letter case or namespace, otherwise the edit distance (Damerau-
/// Levenshtein, a swap counting once) when it is at most a quarter of the shorter name's length,
/// and at least 1 (`ImporJob` is 1 from `ImportJob`, close; `MailJob` is 4 from `ImportJob`, far).
pub(super) fn resemblance(registered: &str, wanted: &str) -> Option<usize> {
    if registered.eq_ignore_ascii_case(wanted) || last_constant(registered) == last_constant(wanted)
    {
        return Some(0);
    }
    let shorter = registered.chars().count().min(wanted.chars().count());
    let distance = strsim::damerau_levenshtein(registered, wanted);
    (distance <= (shorter / 4).max(1)).then_some(distance)
}
