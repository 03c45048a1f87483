//! How PostgreSQL's answer to a planned statement reads: the statement returns text arrays
//! (`ARRAY[…]::text[]`, nested lists as array literals inside them), which is what the database
//! makes cheapest, and [`Out`] writes the JSON the resolvers would have written from them.
//! Building JSON in PostgreSQL (`json_build_object` looks up the type of every argument of every
//! call) costs more than twice the statement's other work; PostGraphile answers the same way.
//! SQLite's JSON functions are cheap, so its statements build the JSON themselves ([`Out::Json`]).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::Error;

/// How the elements of a planned answer read, in order.
#[derive(Debug, Clone)]
pub enum Out {
    /// The answer is the JSON itself (SQLite).
    Json,
    /// An object whose values are read, in order, from the current elements.
    Object(Vec<(String, Out)>),
    /// A JSON text known when planning (`__typename`); reads no element.
    Const(String),
    /// One element: a string.
    Str,
    /// One element written as it is: a number, `true` or `false`.
    Raw,
    /// One element: the UUID of a global ID of this type.
    Id(&'static str),
    /// One element: an array literal whose elements `Out` reads; NULL is `null`.
    Nested(Box<Out>),
    /// One element: a two-dimensional array literal, a row per list item, each read by `Out`;
    /// NULL is `[]`.
    List(Box<Out>),
}

impl Out {
    /// How many array literals deep its values lie (each level escapes its text once more).
    pub(super) fn depth(&self) -> usize {
        match self {
            Out::Object(fields) => fields.iter().map(|(_, o)| o.depth()).max().unwrap_or(0),
            Out::Nested(inner) | Out::List(inner) => 1 + inner.depth(),
            _ => 0,
        }
    }

    /// The JSON of `text`, a statement's answer: the one element this reads (for
    /// [`Out::Json`], the JSON itself: SQLite's JSON functions write it without whitespace),
    /// appended to `json`.
    pub fn write(&self, text: Option<&str>, json: &mut Vec<u8>) -> Result<(), Error> {
        if let Out::Json = self {
            json.extend_from_slice(text.unwrap_or("null").as_bytes());
            return Ok(());
        }
        let element = text.map_or(Element::Null, |t| Element::Text(t.to_owned()));
        let mut it = vec![element].into_iter();
        self.write_from(&mut it, json)
    }

    fn write_from(
        &self,
        it: &mut std::vec::IntoIter<Element>,
        json: &mut Vec<u8>,
    ) -> Result<(), Error> {
        match self {
            Out::Json => return Err(malformed()),
            Out::Object(fields) => {
                json.push(b'{');
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        json.push(b',');
                    }
                    // Response keys are GraphQL names: nothing to escape.
                    json.push(b'"');
                    json.extend_from_slice(key.as_bytes());
                    json.extend_from_slice(b"\":");
                    value.write_from(it, json)?;
                }
                json.push(b'}');
            }
            Out::Const(text) => json.extend_from_slice(text.as_bytes()),
            leaf => {
                let element = it.next().ok_or_else(malformed)?;
                let text = match element {
                    Element::Null => {
                        json.extend_from_slice(match leaf {
                            Out::List(_) => b"[]",
                            _ => b"null",
                        });
                        return Ok(());
                    }
                    Element::Text(text) => text,
                    Element::Array(rows) => return leaf.write_array(rows, json),
                };
                match leaf {
                    Out::Str => string(&text, json),
                    Out::Raw => json.extend_from_slice(text.as_bytes()),
                    Out::Id(type_name) => {
                        json.push(b'"');
                        let gid = URL_SAFE_NO_PAD.encode(format!("{type_name}:{text}"));
                        json.extend_from_slice(gid.as_bytes());
                        json.push(b'"');
                    }
                    Out::Nested(_) | Out::List(_) => leaf.write_array(parse(&text)?, json)?,
                    Out::Json | Out::Object(_) | Out::Const(_) => return Err(malformed()),
                }
            }
        }
        Ok(())
    }

    /// A nested object or a list from its parsed array.
    fn write_array(&self, elements: Vec<Element>, json: &mut Vec<u8>) -> Result<(), Error> {
        match self {
            Out::Nested(inner) => inner.write_from(&mut elements.into_iter(), json),
            Out::List(row) => {
                json.push(b'[');
                for (i, element) in elements.into_iter().enumerate() {
                    if i > 0 {
                        json.push(b',');
                    }
                    let Element::Array(cells) = element else {
                        return Err(malformed());
                    };
                    row.write_from(&mut cells.into_iter(), json)?;
                }
                json.push(b']');
                Ok(())
            }
            _ => Err(malformed()),
        }
    }
}

fn malformed() -> Error {
    Error::internal(anyhow::anyhow!(
        "a planned answer did not read as its plan says"
    ))
}

/// A JSON string as serde_json writes it (what the resolvers' answers are made with).
fn string(text: &str, json: &mut Vec<u8>) {
    // Writing to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *json, text);
}

/// An element of a PostgreSQL array literal.
#[derive(Debug, PartialEq)]
enum Element {
    Null,
    Text(String),
    /// A sub-array (the rows of a two-dimensional array).
    Array(Vec<Element>),
}

/// The elements of an array literal as PostgreSQL's `array_out` writes it: `{a,"b c",NULL}`,
/// sub-arrays in braces, quoted elements with `\` escapes.
fn parse(text: &str) -> Result<Vec<Element>, Error> {
    let bytes = text.as_bytes();
    let mut at = 0;
    let elements = parse_array(bytes, &mut at)?;
    if at != bytes.len() {
        return Err(malformed());
    }
    Ok(elements)
}

fn parse_array(bytes: &[u8], at: &mut usize) -> Result<Vec<Element>, Error> {
    if bytes.get(*at) != Some(&b'{') {
        return Err(malformed());
    }
    *at += 1;
    let mut elements = Vec::new();
    if bytes.get(*at) == Some(&b'}') {
        *at += 1;
        return Ok(elements);
    }
    loop {
        let element = match bytes.get(*at) {
            Some(b'{') => Element::Array(parse_array(bytes, at)?),
            Some(b'"') => {
                *at += 1;
                let mut text = Vec::new();
                loop {
                    match bytes.get(*at) {
                        Some(b'"') => break,
                        Some(b'\\') => {
                            text.push(*bytes.get(*at + 1).ok_or_else(malformed)?);
                            *at += 2;
                        }
                        Some(&b) => {
                            text.push(b);
                            *at += 1;
                        }
                        None => return Err(malformed()),
                    }
                }
                *at += 1;
                Element::Text(String::from_utf8(text).map_err(|_| malformed())?)
            }
            Some(_) => {
                let start = *at;
                while !matches!(bytes.get(*at), Some(b',' | b'}') | None) {
                    *at += 1;
                }
                let raw = std::str::from_utf8(&bytes[start..*at]).map_err(|_| malformed())?;
                if raw == "NULL" {
                    Element::Null
                } else {
                    Element::Text(raw.to_owned())
                }
            }
            None => return Err(malformed()),
        };
        elements.push(element);
        match bytes.get(*at) {
            Some(b',') => *at += 1,
            Some(b'}') => {
                *at += 1;
                return Ok(elements);
            }
            _ => return Err(malformed()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Element, Out, parse};

    #[test]
    fn array_literals_read_as_postgresql_writes_them() {
        assert_eq!(
            parse(r#"{a,"b c",NULL,"NULL","x \"y\" \\z",{1,2}}"#).unwrap(),
            vec![
                Element::Text("a".into()),
                Element::Text("b c".into()),
                Element::Null,
                Element::Text("NULL".into()),
                Element::Text(r#"x "y" \z"#.into()),
                Element::Array(vec![Element::Text("1".into()), Element::Text("2".into())]),
            ]
        );
        assert_eq!(parse("{}").unwrap(), vec![]);
        for bad in ["", "{", "{a", "{\"a}", "{a}b", "a"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn templates_write_the_json_of_the_elements() {
        let out = Out::Nested(Box::new(Out::Object(vec![
            ("__typename".into(), Out::Const("\"Customer\"".into())),
            ("name".into(), Out::Str),
            ("n".into(), Out::Raw),
            (
                "rep".into(),
                Out::Nested(Box::new(Out::Object(vec![("name".into(), Out::Str)]))),
            ),
            (
                "items".into(),
                Out::List(Box::new(Out::Object(vec![("d".into(), Out::Str)]))),
            ),
            ("none".into(), Out::List(Box::new(Out::Str))),
        ])));
        let mut json = Vec::new();
        out.write(
            Some(
                r#"{"A \"q\"
",3,NULL,"{{x},{\"y z\"}}",NULL}"#,
            ),
            &mut json,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(json).unwrap(),
            r#"{"__typename":"Customer","name":"A \"q\"\n","n":3,"rep":null,"items":[{"d":"x"},{"d":"y z"}],"none":[]}"#
        );
    }
}
