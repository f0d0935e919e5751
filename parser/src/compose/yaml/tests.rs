use serde_json::json;

use super::{emit, parse, Node, Pos, Value};

fn json_of(text: &str) -> serde_json::Value {
    parse(text, "t.yaml").unwrap().to_json()
}

fn err_of(text: &str) -> String {
    parse(text, "t.yaml").unwrap_err().to_string()
}

#[test]
fn yaml_1_2_scalars_resolve_as_go_yaml_v3_does() {
    let doc = "a: 8000:8000\nb: yes\nc: on\nd: 010\ne: 0x1F\nf: 1_000\ng: 1.5\nh: .5\ni: ~\nj:\nk: 'true'\nl: True\nm: 1e3\nn: 1.2.3\no: 0o17\np: -12\nq: \"12\"\nr: 08000\n";
    assert_eq!(
        json_of(doc),
        json!({"a": "8000:8000", "b": "yes", "c": "on", "d": 8, "e": 31, "f": 1000, "g": 1.5,
               "h": 0.5, "i": null, "j": null, "k": "true", "l": true, "m": 1000.0, "n": "1.2.3",
               "o": 15, "p": -12, "q": "12", "r": 8000.0})
    );
}

#[test]
fn a_port_list_stays_strings() {
    assert_eq!(json_of("- 8000:8000\n- 80\n"), json!(["8000:8000", 80]));
}

#[test]
fn core_tags_force_types_and_custom_tags_are_kept() {
    let node = parse("a: !!str 12\nb: !reset []\nc: !override {x: 1}\n", "t").unwrap();
    assert_eq!(node.get("a").unwrap().value, Value::Str("12".into()));
    assert_eq!(node.get("b").unwrap().tag.as_deref(), Some("!reset"));
    assert_eq!(node.get("c").unwrap().tag.as_deref(), Some("!override"));
    assert_eq!(node.get("c").unwrap().to_json(), json!({"x": 1}));
}

#[test]
fn positions_are_one_based_line_and_column() {
    let node = parse("services:\n  web:\n    image: nginx\n", "t").unwrap();
    let image = node
        .get("services")
        .unwrap()
        .get("web")
        .unwrap()
        .get("image")
        .unwrap();
    assert_eq!(image.pos, Pos { line: 3, col: 12 });
    let Value::Map(entries) = &node.get("services").unwrap().value else {
        panic!()
    };
    assert_eq!(entries[0].0.pos, Pos { line: 2, col: 3 });
}

#[test]
fn anchors_aliases_and_merge_keys() {
    let doc = "x-base: &base\n  image: a\n  environment: {A: 1}\nx-more: &more\n  image: b\n  user: u\nservices:\n  web:\n    <<: [*base, *more]\n    image: c\n";
    assert_eq!(
        json_of(doc)["services"]["web"],
        json!({"image": "c", "environment": {"A": 1}, "user": "u"})
    );
}

#[test]
fn the_earlier_merged_mapping_wins() {
    let doc = "a: &a {k: 1}\nb: &b {k: 2, j: 3}\nc:\n  <<: [*a, *b]\n";
    assert_eq!(json_of(doc)["c"], json!({"k": 1, "j": 3}));
}

#[test]
fn a_quoted_merge_key_is_an_ordinary_key() {
    assert_eq!(
        json_of("a:\n  '<<': {k: 1}\n"),
        json!({"a": {"<<": {"k": 1}}})
    );
}

#[test]
fn non_string_keys_are_refused_with_their_path() {
    assert!(err_of("123:\n  foo: {}\n").contains("non-string key at top level: 123"));
    assert!(err_of("services:\n  foo: {}\n  123: {}\n").contains("non-string key in services: 123"));
    let doc = "networks:\n  default:\n    ipam:\n      config:\n        - 123: oh dear\n";
    assert!(err_of(doc).contains("non-string key in networks.default.ipam.config[0]: 123"));
}

#[test]
fn duplicate_keys_are_refused() {
    let e = err_of("a: 1\nb: 2\na: 3\n");
    assert_eq!(e, "t.yaml:3:1: mapping key \"a\" already defined at line 1");
}

#[test]
fn tabs_in_indentation_are_refused() {
    let e = err_of("services:\n  web:\n    image: nginx\n\tbuild: .");
    assert!(
        e.contains("found a tab character that violates indentation"),
        "{e}"
    );
}

#[test]
fn billion_laughs_is_refused() {
    let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        doc.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    assert!(err_of(&doc).contains("excessive aliasing"));
}

#[test]
fn deep_nesting_is_refused_without_overflow() {
    let doc = "[".repeat(100_000);
    assert!(parse(&doc, "t").is_err());
}

#[test]
fn empty_document_is_null_and_several_documents_are_refused() {
    assert_eq!(parse("# nothing\n", "t").unwrap().value, Value::Null);
    assert!(err_of("a: 1\n---\nb: 2\n").contains("single YAML document"));
    let docs = super::parse_documents("a: 1\n---\nb: 2\n", "t").unwrap();
    assert_eq!(
        docs.iter().map(Node::to_json).collect::<Vec<_>>(),
        vec![json!({"a": 1}), json!({"b": 2})]
    );
}

#[test]
fn emit_reads_back_as_the_same_tree() {
    let doc = "name: p\nservices:\n  web:\n    command: [\"a b\", \"c: d\", \"#x\", \"\", \"true\", \"12\", \"-x\", \"- y\", \"multi\\nline\"]\n    ports:\n      - target: 80\n        published: \"8080\"\n    empty: {}\n    list: []\n    n: null\n    f: 1.5\n";
    let node = parse(doc, "t").unwrap();
    let text = emit(&node);
    assert_eq!(
        parse(&text, "out").unwrap().to_json(),
        node.to_json(),
        "{text}"
    );
    assert!(
        text.contains("services:\n  web:\n    command:\n      - a b\n"),
        "{text}"
    );
}

#[test]
fn flow_indicators_inside_a_string_stay_plain() {
    let doc = "ports:\n  - ${PORT:-8080}:80\n  - a,b\n  - x[0]{1}\n  - \"[a]\"\n  - \"{a}\"\n";
    let node = parse(doc, "t").unwrap();
    let text = emit(&node);
    assert_eq!(
        parse(&text, "out").unwrap().to_json(),
        node.to_json(),
        "{text}"
    );
    assert!(
        text.contains("  - ${PORT:-8080}:80\n  - a,b\n  - x[0]{1}\n  - \"[a]\"\n"),
        "{text}"
    );
}

#[test]
fn from_json_round_trips() {
    let j = json!({"a": [1, "x", null, {"b": true}], "c": 2.5});
    assert_eq!(Node::from_json(&j).to_json(), j);
}

#[test]
fn an_alias_inside_its_own_anchor_is_a_cycle() {
    let doc = "name: test\nx-h: &h\n  svc:\n    <<: *h\n";
    let err = parse(doc, "c.yaml").unwrap_err();
    assert_eq!(
        err.to_string(),
        "c.yaml:4:9: cycle detected: node at path x-h.svc.<< references node at path x-h"
    );
}

#[test]
fn a_long_key_is_written_as_an_explicit_key() {
    let long = "k".repeat(1100);
    let doc =
        format!("services:\n  ? {long}\n  :\n    image: x\n  short: [a]\n? \"{long}z\"\n: 1\n");
    let node = parse(&doc, "t").unwrap();
    let text = emit(&node);
    assert!(
        text.contains(&format!("  ? {long}\n  :\n    image: x\n")),
        "{text}"
    );
    assert_eq!(
        parse(&text, "out").unwrap().to_json(),
        node.to_json(),
        "{text}"
    );
}

#[test]
fn large_integral_floats_stay_floats() {
    let node = parse("a: 8710962479251732707000\nb: 1e300\nc: -2.5e20\n", "t").unwrap();
    let text = emit(&node);
    assert_eq!(
        parse(&text, "out").unwrap().to_json(),
        node.to_json(),
        "{text}"
    );
}
