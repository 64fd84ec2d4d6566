//! A reader of Java's object serialization stream (Java Object Serialization Specification, §6
//! "Object Serialization Stream Protocol"), for the blobs Spring's `JdbcTokenStore` wrote.
//!
//! It only reads data: class descriptions are names and field lists, never classes, so nothing is
//! instantiated and no code runs, whatever the stream says (a gadget chain is a tree of names here).
//! What Spring's token store never wrote (proxy classes, exceptions, resets, old externalizable
//! data) is refused, and every length is checked against what is left, so a hostile or truncated
//! blob is an [`Unreadable`] error, never a panic or an allocation it did not pay for.

use std::fmt;

const MAGIC: u16 = 0xACED;
const VERSION: u16 = 5;
const BASE_HANDLE: u32 = 0x7E_0000;

const TC_NULL: u8 = 0x70;
const TC_REFERENCE: u8 = 0x71;
const TC_CLASSDESC: u8 = 0x72;
const TC_OBJECT: u8 = 0x73;
const TC_STRING: u8 = 0x74;
const TC_ARRAY: u8 = 0x75;
const TC_CLASS: u8 = 0x76;
const TC_BLOCKDATA: u8 = 0x77;
const TC_ENDBLOCKDATA: u8 = 0x78;
const TC_BLOCKDATALONG: u8 = 0x7A;
const TC_LONGSTRING: u8 = 0x7C;
const TC_ENUM: u8 = 0x7E;

const SC_WRITE_METHOD: u8 = 0x01;
const SC_SERIALIZABLE: u8 = 0x02;
const SC_EXTERNALIZABLE: u8 = 0x04;
const SC_BLOCK_DATA: u8 = 0x08;

/// Nesting deeper than any token Spring wrote (a token holds an authentication holding a request
/// holding collections): a deeper stream is refused rather than recursed into.
const MAX_DEPTH: usize = 64;
/// Handles (objects, strings, class descriptions) in one stream.
const MAX_HANDLES: usize = 100_000;

/// Why a stream could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable(pub String);

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn unreadable<T>(why: impl Into<String>) -> Result<T, Unreadable> {
    Err(Unreadable(why.into()))
}

/// A value in a stream: a primitive, null, or one of the stream's entries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Null,
    /// An object, string, array, enum constant or class, by its index among the entries.
    Entry(usize),
    Boolean(bool),
    Byte(i8),
    Char(u16),
    Short(i16),
    Int(i32),
    Long(i64),
    Float(f32),
    Double(f64),
}

/// What `writeObject` methods wrote after the fields: raw bytes, and objects.
#[derive(Debug, Clone, PartialEq)]
pub enum Annotation {
    Block(Vec<u8>),
    Value(Value),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClassDesc {
    pub name: String,
    pub serial_version_uid: i64,
    flags: u8,
    fields: Vec<(String, u8)>,
    super_class: Option<usize>,
}

/// One class's part of an object: its fields, and what its `writeObject` added.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassData {
    pub class: usize,
    pub fields: Vec<(String, Value)>,
    pub annotations: Vec<Annotation>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// Assigned a handle, still being read.
    Pending,
    Class(ClassDesc),
    ClassObject(usize),
    String(String),
    /// Topmost superclass first, as written.
    Object {
        class: usize,
        data: Vec<ClassData>,
    },
    Array {
        class: usize,
        values: Vec<Value>,
    },
    Enum {
        class: usize,
        constant: String,
    },
}

/// A whole stream: its entries, and the top-level contents in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Stream {
    entries: Vec<Entry>,
    pub contents: Vec<Annotation>,
}

/// An object of a stream, to read its fields by name.
#[derive(Clone, Copy)]
pub struct Object<'a> {
    stream: &'a Stream,
    class: usize,
    data: &'a [ClassData],
}

impl Stream {
    /// Reads a whole stream: it must end where its last content does.
    pub fn parse(bytes: &[u8]) -> Result<Self, Unreadable> {
        let mut reader = Reader {
            input: bytes,
            entries: Vec::new(),
            depth: 0,
        };
        if reader.u16()? != MAGIC {
            return unreadable("not a Java serialization stream (no 0xACED magic)");
        }
        let version = reader.u16()?;
        if version != VERSION {
            return unreadable(format!("serialization stream version {version}, not 5"));
        }
        let mut contents = Vec::new();
        while !reader.input.is_empty() {
            contents.push(reader.content()?);
        }
        Ok(Stream {
            entries: reader.entries,
            contents,
        })
    }

    /// The first object written, as `ObjectInputStream.readObject` would return it.
    pub fn root(&self) -> Option<Object<'_>> {
        match self.contents.first()? {
            Annotation::Value(value) => self.object(*value),
            Annotation::Block(_) => None,
        }
    }

    pub fn object(&self, value: Value) -> Option<Object<'_>> {
        match (value, self.entry(value)?) {
            (_, Entry::Object { class, data }) => Some(Object {
                stream: self,
                class: *class,
                data,
            }),
            _ => None,
        }
    }

    pub fn string(&self, value: Value) -> Option<&str> {
        match self.entry(value)? {
            Entry::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn array(&self, value: Value) -> Option<&[Value]> {
        match self.entry(value)? {
            Entry::Array { values, .. } => Some(values),
            _ => None,
        }
    }

    fn entry(&self, value: Value) -> Option<&Entry> {
        match value {
            Value::Entry(index) => self.entries.get(index),
            _ => None,
        }
    }

    pub fn class_name(&self, class: usize) -> &str {
        match self.entries.get(class) {
            Some(Entry::Class(desc)) => &desc.name,
            _ => "",
        }
    }
}

impl<'a> Object<'a> {
    pub fn class_name(&self) -> &'a str {
        self.stream.class_name(self.class)
    }

    /// Whether the object is of class `name` or has it among its serializable superclasses.
    pub fn is(&self, name: &str) -> bool {
        self.data
            .iter()
            .any(|part| self.stream.class_name(part.class) == name)
    }

    /// The field `name`, looked for from the object's own class up to its topmost superclass.
    pub fn field(&self, name: &str) -> Option<Value> {
        self.data.iter().rev().find_map(|part| {
            part.fields
                .iter()
                .find(|(field, _)| field == name)
                .map(|(_, value)| *value)
        })
    }

    pub fn string_field(&self, name: &str) -> Option<&'a str> {
        self.stream.string(self.field(name)?)
    }

    pub fn object_field(&self, name: &str) -> Option<Object<'a>> {
        self.stream.object(self.field(name)?)
    }

    pub fn bool_field(&self, name: &str) -> Option<bool> {
        match self.field(name)? {
            Value::Boolean(b) => Some(b),
            _ => None,
        }
    }

    /// What the most derived class with a `writeObject` that wrote anything wrote after its
    /// fields: a `LinkedHashSet`'s elements are written by `HashSet.writeObject`.
    pub fn annotations(&self) -> &'a [Annotation] {
        self.data
            .iter()
            .rev()
            .find(|part| !part.annotations.is_empty())
            .map(|part| part.annotations.as_slice())
            .unwrap_or_default()
    }

    pub fn stream(&self) -> &'a Stream {
        self.stream
    }
}

struct Reader<'a> {
    input: &'a [u8],
    entries: Vec<Entry>,
    depth: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Unreadable> {
        if self.input.len() < n {
            return unreadable("the stream ends too early");
        }
        let (taken, rest) = self.input.split_at(n);
        self.input = rest;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Unreadable> {
        let mut bytes = [0; N];
        bytes.copy_from_slice(self.take(N)?);
        Ok(bytes)
    }

    fn u8(&mut self) -> Result<u8, Unreadable> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, Unreadable> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn i32(&mut self) -> Result<i32, Unreadable> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    fn i64(&mut self) -> Result<i64, Unreadable> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    fn peek(&self) -> Result<u8, Unreadable> {
        match self.input.first() {
            Some(byte) => Ok(*byte),
            None => unreadable("the stream ends too early"),
        }
    }

    /// A length that must fit in what is left, each unit at least `unit` bytes.
    fn length(&self, n: i64, unit: usize) -> Result<usize, Unreadable> {
        match usize::try_from(n) {
            Ok(n) if n.saturating_mul(unit) <= self.input.len() => Ok(n),
            _ => unreadable(format!("a length of {n} does not fit in the stream")),
        }
    }

    /// Java's modified UTF-8 (`DataInput.readUTF`).
    fn utf(&mut self, len: usize) -> Result<String, Unreadable> {
        let bytes = self.take(len)?;
        match cesu8::from_java_cesu8(bytes) {
            Ok(text) => Ok(text.into_owned()),
            Err(_) => unreadable("a string is not modified UTF-8"),
        }
    }

    fn new_handle(&mut self) -> Result<usize, Unreadable> {
        if self.entries.len() >= MAX_HANDLES {
            return unreadable("too many objects in one stream");
        }
        self.entries.push(Entry::Pending);
        Ok(self.entries.len() - 1)
    }

    fn reference(&mut self) -> Result<usize, Unreadable> {
        let handle = self.i32()? as u32;
        match handle.checked_sub(BASE_HANDLE).map(|i| i as usize) {
            Some(index) if index < self.entries.len() => Ok(index),
            _ => unreadable(format!("a reference to handle {handle:#x}, never assigned")),
        }
    }

    fn nested<T>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Result<T, Unreadable>,
    ) -> Result<T, Unreadable> {
        if self.depth >= MAX_DEPTH {
            return unreadable("objects nested too deeply");
        }
        self.depth += 1;
        let result = read(self);
        self.depth -= 1;
        result
    }

    /// `content`: block data, or an object.
    fn content(&mut self) -> Result<Annotation, Unreadable> {
        match self.peek()? {
            TC_BLOCKDATA => {
                self.u8()?;
                let len = self.u8()? as usize;
                Ok(Annotation::Block(self.take(len)?.to_vec()))
            }
            TC_BLOCKDATALONG => {
                self.u8()?;
                let len = self.i32()?;
                let len = self.length(len.into(), 1)?;
                Ok(Annotation::Block(self.take(len)?.to_vec()))
            }
            _ => Ok(Annotation::Value(self.object()?)),
        }
    }

    /// `object`: anything that is a value.
    fn object(&mut self) -> Result<Value, Unreadable> {
        self.nested(|reader| {
            let tag = reader.u8()?;
            match tag {
                TC_NULL => Ok(Value::Null),
                TC_REFERENCE => Ok(Value::Entry(reader.reference()?)),
                TC_STRING | TC_LONGSTRING => reader.new_string(tag).map(Value::Entry),
                TC_CLASSDESC => reader.new_class_desc().map(Value::Entry),
                TC_OBJECT => reader.new_object().map(Value::Entry),
                TC_ARRAY => reader.new_array().map(Value::Entry),
                TC_ENUM => reader.new_enum().map(Value::Entry),
                TC_CLASS => {
                    let class = reader.class_desc()?.ok_or_else(|| {
                        Unreadable("a class object without a class description".into())
                    })?;
                    let handle = reader.new_handle()?;
                    reader.entries[handle] = Entry::ClassObject(class);
                    Ok(Value::Entry(handle))
                }
                other => unreadable(format!("type code {other:#04x} is not read here")),
            }
        })
    }

    fn new_string(&mut self, tag: u8) -> Result<usize, Unreadable> {
        let handle = self.new_handle()?;
        let len = if tag == TC_STRING {
            i64::from(self.u16()?)
        } else {
            self.i64()?
        };
        let len = self.length(len, 1)?;
        self.entries[handle] = Entry::String(self.utf(len)?);
        Ok(handle)
    }

    /// `classDesc`: a new one, a reference to one, or null.
    fn class_desc(&mut self) -> Result<Option<usize>, Unreadable> {
        self.nested(|reader| match reader.u8()? {
            TC_NULL => Ok(None),
            TC_CLASSDESC => reader.new_class_desc().map(Some),
            TC_REFERENCE => {
                let index = reader.reference()?;
                match reader.entries[index] {
                    Entry::Class(_) => Ok(Some(index)),
                    _ => unreadable("a class description refers to something else"),
                }
            }
            other => unreadable(format!(
                "type code {other:#04x} where a class description belongs (proxy classes are not read)"
            )),
        })
    }

    fn new_class_desc(&mut self) -> Result<usize, Unreadable> {
        let len = self.u16()? as usize;
        let name = self.utf(len)?;
        let serial_version_uid = self.i64()?;
        let handle = self.new_handle()?;
        let flags = self.u8()?;
        let count = self.u16()?;
        let count = self.length(count.into(), 3)?;
        let mut fields = Vec::with_capacity(count);
        for _ in 0..count {
            let code = self.u8()?;
            let len = self.u16()? as usize;
            let field = self.utf(len)?;
            match code {
                b'B' | b'C' | b'D' | b'F' | b'I' | b'J' | b'S' | b'Z' => {}
                b'L' | b'[' => {
                    // The field's declared type: a string, new or referenced.
                    let type_name = self.object()?;
                    if !matches!(type_name, Value::Entry(i) if matches!(self.entries[i], Entry::String(_)))
                    {
                        return unreadable(format!("field {field} of {name} has no type name"));
                    }
                }
                other => {
                    return unreadable(format!(
                        "field {field} of {name} has type code {other:#04x}"
                    ))
                }
            }
            fields.push((field, code));
        }
        self.skip_annotations()?;
        let super_class = self.class_desc()?;
        self.entries[handle] = Entry::Class(ClassDesc {
            name,
            serial_version_uid,
            flags,
            fields,
            super_class,
        });
        Ok(handle)
    }

    /// Contents up to the end of block data; kept for objects, dropped for class descriptions.
    fn annotations(&mut self) -> Result<Vec<Annotation>, Unreadable> {
        let mut annotations = Vec::new();
        loop {
            if self.peek()? == TC_ENDBLOCKDATA {
                self.u8()?;
                return Ok(annotations);
            }
            annotations.push(self.content()?);
        }
    }

    fn skip_annotations(&mut self) -> Result<(), Unreadable> {
        self.annotations().map(drop)
    }

    fn desc(&self, class: usize) -> Result<&ClassDesc, Unreadable> {
        match self.entries.get(class) {
            Some(Entry::Class(desc)) => Ok(desc),
            _ => unreadable("a class description refers to something else"),
        }
    }

    /// The class and its superclasses, topmost first.
    fn hierarchy(&self, class: usize) -> Result<Vec<usize>, Unreadable> {
        let mut chain = vec![class];
        let mut next = self.desc(class)?.super_class;
        while let Some(parent) = next {
            if chain.contains(&parent) || chain.len() > MAX_DEPTH {
                return unreadable("a class is its own superclass");
            }
            chain.push(parent);
            next = self.desc(parent)?.super_class;
        }
        chain.reverse();
        Ok(chain)
    }

    fn new_object(&mut self) -> Result<usize, Unreadable> {
        let class = self
            .class_desc()?
            .ok_or_else(|| Unreadable("an object without a class description".into()))?;
        let handle = self.new_handle()?;
        let mut data = Vec::new();
        for part in self.hierarchy(class)? {
            let desc = self.desc(part)?.clone();
            if desc.flags & SC_EXTERNALIZABLE != 0 {
                if desc.flags & SC_BLOCK_DATA == 0 {
                    return unreadable(format!("{}: externalizable data of protocol 1", desc.name));
                }
                let annotations = self.annotations()?;
                data.push(ClassData {
                    class: part,
                    fields: Vec::new(),
                    annotations,
                });
                continue;
            }
            if desc.flags & SC_SERIALIZABLE == 0 {
                continue;
            }
            let mut fields = Vec::with_capacity(desc.fields.len());
            for (name, code) in &desc.fields {
                fields.push((name.clone(), self.field_value(*code)?));
            }
            let annotations = if desc.flags & SC_WRITE_METHOD != 0 {
                self.annotations()?
            } else {
                Vec::new()
            };
            data.push(ClassData {
                class: part,
                fields,
                annotations,
            });
        }
        self.entries[handle] = Entry::Object { class, data };
        Ok(handle)
    }

    fn field_value(&mut self, code: u8) -> Result<Value, Unreadable> {
        Ok(match code {
            b'B' => Value::Byte(self.u8()? as i8),
            b'C' => Value::Char(self.u16()?),
            b'D' => Value::Double(f64::from_bits(self.i64()? as u64)),
            b'F' => Value::Float(f32::from_bits(self.i32()? as u32)),
            b'I' => Value::Int(self.i32()?),
            b'J' => Value::Long(self.i64()?),
            b'S' => Value::Short(self.u16()? as i16),
            b'Z' => Value::Boolean(self.u8()? != 0),
            _ => self.object()?,
        })
    }

    fn new_array(&mut self) -> Result<usize, Unreadable> {
        let class = self
            .class_desc()?
            .ok_or_else(|| Unreadable("an array without a class description".into()))?;
        let handle = self.new_handle()?;
        let element = self
            .desc(class)?
            .name
            .as_bytes()
            .get(1)
            .copied()
            .unwrap_or(b'L');
        let len = self.i32()?;
        let len = self.length(len.into(), 1)?;
        let mut values = Vec::with_capacity(len);
        for _ in 0..len {
            values.push(self.field_value(element)?);
        }
        self.entries[handle] = Entry::Array { class, values };
        Ok(handle)
    }

    fn new_enum(&mut self) -> Result<usize, Unreadable> {
        let class = self
            .class_desc()?
            .ok_or_else(|| Unreadable("an enum constant without a class description".into()))?;
        let handle = self.new_handle()?;
        let constant = match self.object()? {
            Value::Entry(i) => match &self.entries[i] {
                Entry::String(s) => s.clone(),
                _ => return unreadable("an enum constant's name is not a string"),
            },
            _ => return unreadable("an enum constant without a name"),
        };
        self.entries[handle] = Entry::Enum { class, constant };
        Ok(handle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example at the end of §6.4 of the specification: `List` objects (value 17 and 19),
    /// the second written twice, as a reference the second time.
    const SPEC_EXAMPLE: &[u8] = &[
        0xAC, 0xED, 0x00, 0x05, 0x73, 0x72, 0x00, 0x04, 0x4C, 0x69, 0x73, 0x74, 0x69, 0xC8, 0x8A,
        0x15, 0x40, 0x16, 0xAE, 0x68, 0x02, 0x00, 0x02, 0x49, 0x00, 0x05, 0x76, 0x61, 0x6C, 0x75,
        0x65, 0x4C, 0x00, 0x04, 0x6E, 0x65, 0x78, 0x74, 0x74, 0x00, 0x06, 0x4C, 0x4C, 0x69, 0x73,
        0x74, 0x3B, 0x78, 0x70, 0x00, 0x00, 0x00, 0x11, 0x73, 0x71, 0x00, 0x7E, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x13, 0x70, 0x71, 0x00, 0x7E, 0x00, 0x03,
    ];

    #[test]
    fn the_specifications_example_reads_with_its_reference() {
        let stream = Stream::parse(SPEC_EXAMPLE).unwrap();
        let first = stream.root().unwrap();
        assert_eq!(first.class_name(), "List");
        assert_eq!(first.field("value"), Some(Value::Int(17)));
        let next = first.object_field("next").unwrap();
        assert_eq!(next.field("value"), Some(Value::Int(19)));
        assert_eq!(next.field("next"), Some(Value::Null));
        // The second top-level object is the same one, by reference.
        assert_eq!(stream.contents.len(), 2);
        assert_eq!(
            stream.contents[1],
            Annotation::Value(first.field("next").unwrap())
        );
    }

    #[test]
    fn every_truncation_and_a_wrong_magic_are_refused_without_a_panic() {
        // Cut anywhere but between the header and the first object, or between the two objects.
        let first_object_ends = SPEC_EXAMPLE.len() - 5;
        for end in (0..4).chain(5..first_object_ends) {
            assert!(Stream::parse(&SPEC_EXAMPLE[..end]).is_err(), "{end}");
        }
        let mut wrong = SPEC_EXAMPLE.to_vec();
        wrong[0] = 0;
        assert!(Stream::parse(&wrong).unwrap_err().0.contains("magic"));
    }

    #[test]
    fn a_reference_to_nothing_and_absurd_lengths_are_refused() {
        // TC_REFERENCE to a handle never assigned.
        assert!(Stream::parse(&[0xAC, 0xED, 0, 5, 0x71, 0, 0x7E, 0, 9]).is_err());
        // A long string claiming 2^62 bytes.
        let mut long = vec![0xAC, 0xED, 0, 5, 0x7C];
        long.extend_from_slice(&(1i64 << 62).to_be_bytes());
        assert!(Stream::parse(&long).unwrap_err().0.contains("does not fit"));
    }

    #[test]
    fn deep_nesting_is_refused_not_recursed_into() {
        // An Object[] holding an Object[] holding ... : the class once, then by reference.
        let mut bytes = vec![0xAC, 0xED, 0, 5, 0x75, 0x72, 0, 19];
        bytes.extend_from_slice(b"[Ljava.lang.Object;");
        bytes.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1, 0x02, 0, 0, 0x78, 0x70, 0, 0, 0, 1]);
        for _ in 0..10_000 {
            bytes.extend_from_slice(&[0x75, 0x71, 0, 0x7E, 0, 0, 0, 0, 0, 1]);
        }
        bytes.push(0x70);
        let refused = Stream::parse(&bytes).unwrap_err();
        assert!(refused.0.contains("nested too deeply"), "{refused}");
        // Shallow enough, the same shape reads.
        let shallow_len = 44 + 10 * 10;
        let mut shallow = bytes[..shallow_len].to_vec();
        shallow.push(0x70);
        assert!(Stream::parse(&shallow).is_ok());
    }
}
