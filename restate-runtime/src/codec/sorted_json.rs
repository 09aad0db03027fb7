//! A JSON formatter that writes the entries of every object in key order.
//!
//! `prost-reflect` keeps map fields in hash maps, so their entries come out in a different order
//! in every process. Restate compares a replayed call's parameter (and state writes) with the
//! journal, so a payload must encode to the same bytes on every attempt: this formatter buffers
//! each object's entries and writes them sorted, leaving every value exactly as serde_json
//! formats it.

use std::io;

use serde_json::ser::{CharEscape, CompactFormatter, Formatter};

/// One object being written: its entries so far.
#[derive(Default)]
struct Object {
    /// Key and value, both as JSON text.
    entries: Vec<(Vec<u8>, Vec<u8>)>,
    /// Whether the last entry's key (not its value) is being written.
    in_key: bool,
}

/// Writes objects with sorted keys; arrays and scalars as [`CompactFormatter`] does.
#[derive(Default)]
pub(super) struct SortedObjects {
    /// The objects being written, innermost last.
    open: Vec<Object>,
}

impl SortedObjects {
    /// Where output goes now: the key or value of the innermost open object, if any.
    fn buffer(&mut self) -> Option<&mut Vec<u8>> {
        let object = self.open.last_mut()?;
        let in_key = object.in_key;
        let (key, value) = object.entries.last_mut()?;
        Some(if in_key { key } else { value })
    }
}

/// Forwards a formatter method to [`CompactFormatter`], writing to the open object's buffer or,
/// outside any object, to the writer.
macro_rules! forward {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $method<W: ?Sized + io::Write>(&mut self, writer: &mut W $(, $arg: $ty)*) -> io::Result<()> {
            match self.buffer() {
                Some(buffer) => CompactFormatter.$method(buffer $(, $arg)*),
                None => CompactFormatter.$method(writer $(, $arg)*),
            }
        }
    )*};
}

impl Formatter for SortedObjects {
    forward! {
        write_null();
        write_bool(value: bool);
        write_i8(value: i8);
        write_i16(value: i16);
        write_i32(value: i32);
        write_i64(value: i64);
        write_i128(value: i128);
        write_u8(value: u8);
        write_u16(value: u16);
        write_u32(value: u32);
        write_u64(value: u64);
        write_u128(value: u128);
        write_f32(value: f32);
        write_f64(value: f64);
        write_number_str(value: &str);
        begin_string();
        end_string();
        write_string_fragment(fragment: &str);
        write_char_escape(escape: CharEscape);
        write_byte_array(value: &[u8]);
        begin_array();
        end_array();
        begin_array_value(first: bool);
        end_array_value();
        write_raw_fragment(fragment: &str);
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.open.push(Object::default());
        Ok(())
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        _writer: &mut W,
        _first: bool,
    ) -> io::Result<()> {
        if let Some(object) = self.open.last_mut() {
            object.entries.push((Vec::new(), Vec::new()));
            object.in_key = true;
        }
        Ok(())
    }

    fn end_object_key<W: ?Sized + io::Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        Ok(())
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        if let Some(object) = self.open.last_mut() {
            object.in_key = false;
        }
        Ok(())
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        Ok(())
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        let Some(mut object) = self.open.pop() else {
            return Err(io::Error::other("an object ended that never began"));
        };
        object.entries.sort_by(|a, b| a.0.cmp(&b.0));
        let size = object
            .entries
            .iter()
            .map(|(key, value)| key.len() + value.len() + 2)
            .sum::<usize>()
            + 2;
        let mut json = Vec::with_capacity(size);
        json.push(b'{');
        for (index, (key, value)) in object.entries.iter().enumerate() {
            if index > 0 {
                json.push(b',');
            }
            json.extend_from_slice(key);
            json.push(b':');
            json.extend_from_slice(value);
        }
        json.push(b'}');
        match self.buffer() {
            Some(buffer) => {
                buffer.extend_from_slice(&json);
                Ok(())
            }
            None => writer.write_all(&json),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Serialize;

    use super::*;

    fn sorted(value: &impl Serialize) -> String {
        let mut json = Vec::new();
        let mut serializer =
            serde_json::Serializer::with_formatter(&mut json, SortedObjects::default());
        value.serialize(&mut serializer).unwrap();
        String::from_utf8(json).unwrap()
    }

    #[test]
    fn objects_at_every_depth_come_out_sorted() {
        let value = serde_json::json!({
            "b": [{"z": 1, "a": {"y": null, "x": "\"quoted\""}}, 2.5],
            "a": {"k2": true, "k1": -3},
        });
        assert_eq!(
            sorted(&value),
            r#"{"a":{"k1":-3,"k2":true},"b":[{"a":{"x":"\"quoted\"","y":null},"z":1},2.5]}"#
        );
    }

    #[test]
    fn scalars_are_written_as_serde_json_writes_them() {
        assert_eq!(sorted(&0.1f32), "0.1");
        assert_eq!(sorted(&u64::MAX), u64::MAX.to_string());
        assert_eq!(sorted(&"line\nbreak"), r#""line\nbreak""#);
        assert_eq!(sorted(&Vec::<u8>::new()), "[]");
        assert_eq!(sorted(&serde_json::json!({})), "{}");
    }
}
