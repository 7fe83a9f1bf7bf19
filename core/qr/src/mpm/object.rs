//! Data objects as they stand in a code, and writing them back.

use std::fmt::Write as _;

/// One data object: a two-digit id and its value, text or a template.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DataObject {
    id: u8,
    value: Value,
}

/// A data object's value, exactly as the code carries it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    Text(String),
    /// The data objects inside a template, in the order of the code.
    Template(Vec<DataObject>),
}

impl DataObject {
    pub fn text(id: u8, value: impl Into<String>) -> Self {
        DataObject {
            id,
            value: Value::Text(value.into()),
        }
    }

    pub fn template(id: u8, children: Vec<DataObject>) -> Self {
        DataObject {
            id,
            value: Value::Template(children),
        }
    }

    pub fn id(&self) -> u8 {
        self.id
    }

    pub fn value(&self) -> &Value {
        &self.value
    }

    pub(crate) fn value_mut(&mut self) -> &mut Value {
        &mut self.value
    }

    /// The text of a plain data object; `None` for a template.
    pub fn as_text(&self) -> Option<&str> {
        match &self.value {
            Value::Text(t) => Some(t),
            Value::Template(_) => None,
        }
    }

    /// The data objects inside a template; empty for a plain value.
    pub fn children(&self) -> &[DataObject] {
        match &self.value {
            Value::Template(children) => children,
            Value::Text(_) => &[],
        }
    }

    /// The text of the sub-object `id` of a template.
    pub fn child_text(&self, id: u8) -> Option<&str> {
        find(self.children(), id).and_then(DataObject::as_text)
    }
}

/// The first object with `id` among `objects`.
pub(crate) fn find(objects: &[DataObject], id: u8) -> Option<&DataObject> {
    objects.iter().find(|o| o.id == id)
}

/// Appends `objects` as id, two-digit length in characters, value.
pub(crate) fn write_objects(objects: &[DataObject], out: &mut String) {
    for object in objects {
        match &object.value {
            Value::Text(text) => {
                let _ = write!(out, "{:02}{:02}", object.id, text.chars().count());
                out.push_str(text);
            }
            Value::Template(children) => {
                let inner = encode_objects(children);
                let _ = write!(out, "{:02}{:02}", object.id, inner.chars().count());
                out.push_str(&inner);
            }
        }
    }
}

pub(crate) fn encode_objects(objects: &[DataObject]) -> String {
    let mut out = String::with_capacity(objects.len() * 16);
    write_objects(objects, &mut out);
    out
}
