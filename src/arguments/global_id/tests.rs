use super::*;

fn single(id: &str) -> ModelId {
    ModelId::Single(id.to_owned())
}

fn composite(parts: &[&str]) -> ModelId {
    ModelId::Composite(parts.iter().map(|p| (*p).to_owned()).collect())
}

/// Each id segment reads as GlobalID 1.4 reads it (observed with Ruby 3.3 + globalid 1.4.0:
/// `GlobalID.parse("gid://shop/User/#{segment}").model_id`).
#[test]
fn id_segments_read_as_globalid_reads_them() {
    let cases = [
        ("1", Some(single("1"))),
        ("a%2Fb", Some(single("a/b"))),
        ("2024%2F05%2F7", Some(single("2024/05/7"))),
        ("1/2", Some(composite(&["1", "2"]))),
        ("1//2", Some(composite(&["1", "2"]))),
        ("7/", Some(single("7"))),
        ("/", None),
        ("+", Some(single(" "))),
        ("%20", Some(single(" "))),
        ("a+b", Some(single("a b"))),
        ("~", Some(single("~"))),
        ("%zz", None),
        ("%", None),
        ("%+1", None),
        ("%C3%28", None),
        ("a[1]", None),
        ("a]", None),
        ("a:b@c", Some(single("a:b@c"))),
        ("a%41", Some(single("aA"))),
        ("", None),
    ];
    for (segment, want) in cases {
        let got = GlobalId::parse(&format!("gid://shop/User/{segment}")).map(|g| g.model_id);
        assert_eq!(got, want, "{segment:?}");
    }
    let twenty: Vec<String> = (1..=20).map(|i| i.to_string()).collect();
    let got = GlobalId::parse(&format!("gid://shop/User/{}", twenty.join("/")));
    assert_eq!(got.map(|g| g.model_id), Some(ModelId::Composite(twenty)));
    let twenty_one: Vec<String> = (1..=21).map(|i| i.to_string()).collect();
    assert_eq!(
        GlobalId::parse(&format!("gid://shop/User/{}", twenty_one.join("/"))),
        None
    );
}

/// The app is the URI's host: user info and port are not part of it; params and fragment are
/// not part of the id, and the params are kept.
#[test]
fn app_params_and_fragment_read_as_uri_reads_them() {
    let gid = GlobalId::parse("gid://u@shop:3000/User/1?database=x&b=1#frag").expect("parses");
    assert_eq!(gid.app, "shop");
    assert_eq!(gid.model_id, single("1"));
    assert_eq!(gid.params.as_deref(), Some("database=x&b=1"));
    assert_eq!(gid.uri(), "gid://shop/User/1?database=x&b=1");
    assert_eq!(
        GlobalId::parse("gid://a:b/User/1"),
        None,
        "a port is digits"
    );
    assert_eq!(
        GlobalId::parse("gid://[::1]/User/1").map(|g| g.app),
        Some("[::1]".to_owned())
    );
}

/// `GlobalId::new(.., "a/b")` is the record "a/b": written `a%2Fb`, which GlobalID reads back
/// as "a/b" (not as the composite key ["a", "b"]).
#[test]
fn an_id_with_a_slash_is_written_escaped() {
    let gid = GlobalId::new("shop", "Billing::Invoice", "2024/05/7");
    assert_eq!(gid.uri(), "gid://shop/Billing::Invoice/2024%2F05%2F7");
    assert_eq!(GlobalId::parse(&gid.uri()), Some(gid));
    let key = GlobalId::composite("shop", "Order", ["3", "a/b"]);
    assert_eq!(key.uri(), "gid://shop/Order/3/a%2Fb");
    assert_eq!(GlobalId::parse(&key.uri()), Some(key));
}

/// Every id, whatever bytes it holds, is read back exactly.
#[test]
fn every_character_survives_escaping() {
    let mut all: String = (1u8..0x80).map(char::from).collect();
    all.push_str("zażółć 日本 🎉");
    for id in [all.as_str(), " ", "+", "%", "%2F", "/", "//", "a/", "/a"] {
        let gid = GlobalId::new("shop", "User", id);
        assert_eq!(gid.check(), Ok(()), "{id:?}");
        assert_eq!(GlobalId::parse(&gid.uri()), Some(gid), "{id:?}");
    }
}

/// What GlobalID cannot parse back is refused (rules of `URI::GID` in globalid 1.4).
#[test]
fn check_refuses_what_globalid_cannot_parse() {
    let refused = [
        GlobalId::new("", "User", "1"),
        GlobalId::new("my shop", "User", "1"),
        GlobalId::new("a:b", "User", "1"),
        GlobalId::new("a/b", "User", "1"),
        GlobalId::new("a%zz", "User", "1"),
        GlobalId::new("shop", "", "1"),
        GlobalId::new("shop", "Bad Model", "1"),
        GlobalId::new("shop", "user", "1"),
        GlobalId::new("shop", "::User", "1"),
        GlobalId::new("shop", "Billing/Invoice", "1"),
        GlobalId::new("shop", "User", ""),
        GlobalId::composite("shop", "Order", ["1"]),
        GlobalId::composite("shop", "Order", ["1", ""]),
        GlobalId::composite("shop", "Order", (0..21).map(|i| i.to_string())),
        GlobalId {
            params: Some("a=1#b".to_owned()),
            ..GlobalId::new("shop", "User", "1")
        },
        GlobalId {
            params: Some("a b".to_owned()),
            ..GlobalId::new("shop", "User", "1")
        },
    ];
    for gid in refused {
        assert!(gid.check().is_err(), "{gid:?} should be refused");
    }
    for gid in [
        GlobalId::new("shop-1.example_x", "Billing::Invoice", " "),
        GlobalId::new("a%41b!$&'()*+,;=~", "User", "1"),
        GlobalId::composite("shop", "Order", (0..20).map(|i| i.to_string())),
        GlobalId {
            params: Some("database=x&b=1".to_owned()),
            ..GlobalId::new("shop", "User", "1")
        },
    ] {
        assert_eq!(gid.check(), Ok(()), "{gid:?}");
        assert_eq!(GlobalId::parse(&gid.uri()), Some(gid));
    }
}

#[test]
fn model_id_prints_as_ruby_to_s() {
    assert_eq!(single("7").to_string(), "7");
    assert_eq!(composite(&["3", "a\"b"]).to_string(), r#"["3", "a\"b"]"#);
}

/// A URI taken as printed as written is one GlobalID reads and prints back exactly; the forms
/// it leaves to the full reading are the ones that print differently or do not parse.
#[test]
fn uris_taken_as_written_print_back_unchanged() {
    let taken = [
        "gid://shop/User/7",
        "gid://shop/Billing::Invoice/3f1b9c1e-5b6d-4d6e-9c55-7f0d2a8b1c11",
        "gid://my-app.example/Doc/a_b.c~d",
    ];
    for uri in taken {
        assert!(prints_as_written(uri), "{uri}");
        assert_eq!(
            GlobalId::parse(uri).map(|gid| gid.uri()).as_deref(),
            Some(uri)
        );
    }
    let left = [
        "gid://shop/User/a%2Fb",
        "gid://shop/User/a+b",
        "gid://shop/Order/3/17",
        "gid://shop/User/7?database=replica",
        "gid://shop/User/7#frag",
        "gid://user@shop/User/7",
        "gid://shop:3000/User/7",
        "gid://shop/User/",
        "gid://shop//7",
        "gid:///User/7",
        "gid://shop/User",
        "gid://shop/Us er/7",
        "gid://shop/User/é",
        "gid://shop/User/7/",
        "http://shop/User/7",
    ];
    for uri in left {
        assert!(!prints_as_written(uri), "{uri}");
    }
}

proptest::proptest! {
    /// Over URIs of GlobalID's bytes: whatever is taken as written parses and prints back
    /// exactly.
    #[test]
    fn taken_as_written_means_printed_back(uri in "gid://[a-z:%+/._~@?#_-]{0,6}/[A-Za-z:_/%+.-]{0,8}/[a-zA-Z0-9%+/._~?#-]{0,8}") {
        if prints_as_written(&uri) {
            proptest::prop_assert_eq!(GlobalId::parse(&uri).map(|gid| gid.uri()), Some(uri));
        }
    }
}
