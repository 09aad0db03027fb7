//! Generated messages as payloads, without a server: round trips in both codecs, the proto3
//! JSON mapping cross-checked against pbjson's serde implementations (which this crate
//! generates too), and the same bytes for the same message every time.

use std::collections::BTreeMap;

use restate_e2e::e2e::everything::Choice;
use restate_e2e::e2e::nesting::r#type::Self_;
use restate_e2e::e2e::{Audience, Everything, Mood, nesting};
use restate_runtime::{Codec, Payload};

fn everything() -> Everything {
    let child = Everything {
        text: "child".to_owned(),
        choice: Some(Choice::Count(-7)),
        ..Everything::default()
    };
    Everything {
        text: "héllo \"quoted\"".to_owned(),
        big: i64::MIN,
        unsigned_big: u64::MAX,
        ratio: 0.25,
        flag: true,
        blob: vec![0, 1, 2, 254, 255],
        mood: Mood::Grumpy as i32,
        labels: vec!["a".to_owned(), "b".to_owned()],
        counters: (0..20)
            .map(|n| (format!("counter-{n}"), n * 1_000))
            .collect(),
        children: BTreeMap::from([(3, child.clone()), (-1, child)]),
        note: Some(String::new()),
        choice: Some(Choice::Word("word".to_owned())),
        at: Some(pbjson_types::Timestamp {
            seconds: 1_700_000_000,
            nanos: 5_000_000,
        }),
        took: Some(pbjson_types::Duration {
            seconds: 90,
            nanos: 500_000_000,
        }),
        extra: Some(pbjson_types::Struct {
            fields: [
                ("z".to_owned(), pbjson_types::Value::from(1.5)),
                ("a".to_owned(), pbjson_types::Value::from("text".to_owned())),
                ("m".to_owned(), pbjson_types::Value::from(true)),
            ]
            .into_iter()
            .collect(),
        }),
        wrapped: Some(pbjson_types::Int64Value { value: 42 }),
        deepest: Some(Self_ { n: 9 }),
        mask: Some(pbjson_types::FieldMask {
            paths: vec!["text".to_owned(), "unsigned_big".to_owned()],
        }),
        audience: Audience::Self_ as i32,
        nested_list: vec![nesting::Type {
            labels: [("y", "2"), ("x", "1")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        }],
    }
}

#[test]
fn messages_round_trip_in_both_codecs() {
    let message = everything();
    for codec in [Codec::Json, Codec::Protobuf] {
        let bytes = message.encode_payload(codec).unwrap();
        let back = Everything::decode_payload(codec, &bytes).unwrap();
        assert_eq!(back, message, "{codec:?}");
    }
    assert_eq!(
        Everything::decode_payload(Codec::Json, b"").unwrap(),
        Everything::default()
    );
}

#[test]
fn json_agrees_with_pbjson_both_ways() {
    // pbjson-types writes a FieldMask as an object, not as the mapping's string; the cross-check
    // leaves it out (ours is checked below).
    let message = Everything {
        mask: None,
        ..everything()
    };
    let ours = message.encode_payload(Codec::Json).unwrap();
    let read_by_pbjson: Everything = serde_json::from_slice(&ours).unwrap();
    assert_eq!(read_by_pbjson, message);

    let pbjson = serde_json::to_vec(&message).unwrap();
    let read_by_ours = Everything::decode_payload(Codec::Json, &pbjson).unwrap();
    assert_eq!(read_by_ours, message);

    let ours = everything().encode_payload(Codec::Json).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&ours).unwrap();
    assert_eq!(json["big"], "-9223372036854775808", "int64 is a string");
    assert_eq!(json["unsignedBig"], "18446744073709551615");
    assert_eq!(json["mood"], "MOOD_GRUMPY", "enums by name");
    assert_eq!(json["blob"], "AAEC/v8=", "bytes in base64");
    assert_eq!(json["took"], "90.500s");
    assert_eq!(json["mask"], "text,unsignedBig");
    assert_eq!(json["wrapped"], "42");
    assert_eq!(json["note"], "", "an optional field that is set stays");
    assert_eq!(
        json["audience"], "AUDIENCE_SELF",
        "the `Self_` variant by its proto name"
    );
}

#[test]
fn json_is_the_same_every_time_with_maps_in_key_order() {
    let message = everything();
    let first = message.encode_payload(Codec::Json).unwrap();
    for _ in 0..50 {
        assert_eq!(message.encode_payload(Codec::Json).unwrap(), first);
    }
    let text = std::str::from_utf8(&first).unwrap();
    let position = |needle: &str| text.find(needle).unwrap_or_else(|| panic!("{needle}"));
    assert!(position("\"counter-0\"") < position("\"counter-1\""));
    assert!(position("\"counter-1\"") < position("\"counter-10\""));
    assert!(position("\"x\"") < position("\"y\""));
}

#[test]
fn malformed_json_is_an_error_not_a_default() {
    for bad in [
        &b"{\"text\": 5}"[..],
        b"{\"mood\": \"MOOD_UNKNOWN\"}",
        b"{\"unknownField\": 1}",
        b"[]",
        b"{\"big\": \"12x\"}",
    ] {
        assert!(
            Everything::decode_payload(Codec::Json, bad).is_err(),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}
