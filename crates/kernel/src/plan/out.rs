//! How PostgreSQL's answer to a planned statement reads: the statement returns text arrays
//! (`ARRAY[…]::text[]`, nested lists as array literals inside them), which is what the database
//! makes cheapest, and [`Out`] writes the JSON the resolvers would have written from them.
//! Building JSON in PostgreSQL (`json_build_object` looks up the type of every argument of every
//! call) costs more than twice the statement's other work; PostGraphile answers the same way.
//! SQLite's JSON functions are cheap, so its statements build the JSON themselves ([`Out::Json`]).

use std::borrow::Cow;

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
        let mut literal = Literal::one(text);
        self.write_from(&mut literal, json)?;
        literal.read_one()
    }

    /// The values this reads, in order, from the elements `literal` yields next.
    fn write_from(&self, literal: &mut Literal<'_>, json: &mut Vec<u8>) -> Result<(), Error> {
        match self {
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
                    value.write_from(literal, json)?;
                }
                json.push(b'}');
            }
            Out::Const(text) => json.extend_from_slice(text.as_bytes()),
            leaf => match literal.next()? {
                Some(Element::Null) => leaf.write_null(json),
                Some(Element::Text(text)) => leaf.write_text(&text, json)?,
                Some(Element::Open) | None => return Err(malformed()),
            },
        }
        Ok(())
    }

    /// Whether this reads no element (constants alone).
    fn reads_nothing(&self) -> bool {
        match self {
            Out::Const(_) => true,
            Out::Object(fields) => fields.iter().all(|(_, o)| o.reads_nothing()),
            _ => false,
        }
    }

    /// Reads the NULL that stands in an array whose object reads nothing (`placeholder`:
    /// [`Out::reads_nothing`]; an array needs an element, see `json::pg_array`).
    fn skip_placeholder(placeholder: bool, literal: &mut Literal<'_>) -> Result<(), Error> {
        if placeholder && literal.next()? != Some(Element::Null) {
            return Err(malformed());
        }
        Ok(())
    }

    /// A NULL element: `[]` for a list, `null` otherwise.
    fn write_null(&self, json: &mut Vec<u8>) {
        json.extend_from_slice(match self {
            Out::List(_) => b"[]",
            _ => b"null",
        });
    }

    /// One element's text, as this leaf reads it.
    fn write_text(&self, text: &str, json: &mut Vec<u8>) -> Result<(), Error> {
        match self {
            Out::Str => string(text, json),
            Out::Raw => json.extend_from_slice(text.as_bytes()),
            Out::Id(type_name) => {
                json.push(b'"');
                let gid = URL_SAFE_NO_PAD.encode(format!("{type_name}:{text}"));
                json.extend_from_slice(gid.as_bytes());
                json.push(b'"');
            }
            Out::Nested(inner) => {
                let mut literal = Literal::open(text)?;
                inner.write_from(&mut literal, json)?;
                Out::skip_placeholder(inner.reads_nothing(), &mut literal)?;
                literal.end()?;
            }
            Out::List(row) => {
                let mut literal = Literal::open(text)?;
                // Whether each row holds a placeholder: judged once for all rows.
                let placeholder = row.reads_nothing();
                json.push(b'[');
                let mut first = true;
                while let Some(element) = literal.next()? {
                    // Each row is a sub-array of the two-dimensional array.
                    let Element::Open = element else {
                        return Err(malformed());
                    };
                    if !first {
                        json.push(b',');
                    }
                    first = false;
                    row.write_from(&mut literal, json)?;
                    Out::skip_placeholder(placeholder, &mut literal)?;
                    if literal.next()?.is_some() {
                        return Err(malformed());
                    }
                }
                json.push(b']');
                literal.close()?;
            }
            Out::Json | Out::Object(_) | Out::Const(_) => return Err(malformed()),
        }
        Ok(())
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
enum Element<'a> {
    Null,
    /// Borrowed from the literal unless it had to be unescaped.
    Text(Cow<'a, str>),
    /// A sub-array (a row of a two-dimensional array) begins: its elements come next, then
    /// its end.
    Open,
}

/// An array literal as PostgreSQL's `array_out` writes it (`{a,"b c",NULL}`, sub-arrays in
/// braces, quoted elements with `\` escapes), read element by element without copying what
/// needs no unescaping. A nested literal (an element that is itself an array's text) is read
/// from its unescaped text by a `Literal` of its own.
struct Literal<'a> {
    bytes: &'a [u8],
    at: usize,
    /// How many arrays (the literal's own and its open sub-arrays) are not yet closed.
    depth: usize,
    /// A single element not read yet (a statement's answer, see [`Literal::one`]).
    one: Option<Element<'a>>,
}

impl<'a> Literal<'a> {
    /// The literal `text`, positioned at its first element.
    fn open(text: &'a str) -> Result<Literal<'a>, Error> {
        if !text.starts_with('{') {
            return Err(malformed());
        }
        Ok(Literal {
            bytes: text.as_bytes(),
            at: 1,
            depth: 1,
            one: None,
        })
    }

    /// One element, `text` (NULL: `None`), as if it were the only one of an array.
    fn one(text: Option<&'a str>) -> Literal<'a> {
        Literal {
            bytes: b"",
            at: 0,
            depth: 1,
            one: Some(text.map_or(Element::Null, |t| Element::Text(Cow::Borrowed(t)))),
        }
    }

    /// Requires that the element of [`Literal::one`] was read.
    fn read_one(&self) -> Result<(), Error> {
        match self.one {
            None => Ok(()),
            Some(_) => Err(malformed()),
        }
    }

    /// Requires that the literal's elements were all read, and reads its end.
    fn end(&mut self) -> Result<(), Error> {
        match self.next()? {
            None => self.close(),
            Some(_) => Err(malformed()),
        }
    }

    /// Requires that the whole literal was read.
    fn close(&self) -> Result<(), Error> {
        if self.depth == 0 && self.at == self.bytes.len() {
            Ok(())
        } else {
            Err(malformed())
        }
    }

    /// The next element of the innermost open array; `None` at its end (which closes it).
    fn next(&mut self) -> Result<Option<Element<'a>>, Error> {
        if let Some(one) = self.one.take() {
            return Ok(Some(one));
        }
        if self.depth == 0 {
            return Err(malformed());
        }
        let bytes = self.bytes;
        let element = match bytes.get(self.at) {
            Some(b'}') => {
                self.at += 1;
                self.depth -= 1;
                self.separator()?;
                return Ok(None);
            }
            Some(b'{') => {
                self.at += 1;
                self.depth += 1;
                return Ok(Some(Element::Open));
            }
            Some(b'"') => {
                let start = self.at + 1;
                let mut at = start;
                let mut owned: Option<Vec<u8>> = None;
                loop {
                    let rest = bytes.get(at..).ok_or_else(malformed)?;
                    let stop = memchr::memchr2(b'"', b'\\', rest).ok_or_else(malformed)?;
                    if rest[stop] == b'"' {
                        if let Some(owned) = owned.as_mut() {
                            owned.extend_from_slice(&rest[..stop]);
                        }
                        self.at = at + stop + 1;
                        break;
                    }
                    // A backslash: the byte after it stands for itself.
                    let escaped = *rest.get(stop + 1).ok_or_else(malformed)?;
                    // (The first backslash is met in the first round: nothing before `at` to
                    // copy.)
                    let owned = owned.get_or_insert_with(|| Vec::with_capacity(rest.len()));
                    owned.extend_from_slice(&rest[..stop]);
                    owned.push(escaped);
                    at += stop + 2;
                }
                Element::Text(match owned {
                    Some(owned) => Cow::Owned(String::from_utf8(owned).map_err(|_| malformed())?),
                    None => Cow::Borrowed(
                        std::str::from_utf8(&bytes[start..self.at - 1]).map_err(|_| malformed())?,
                    ),
                })
            }
            Some(_) => {
                let start = self.at;
                let rest = &bytes[start..];
                // (PostgreSQL quotes an empty text: an unquoted element is never empty.)
                let end = memchr::memchr2(b',', b'}', rest)
                    .filter(|&end| end > 0)
                    .ok_or_else(malformed)?;
                self.at = start + end;
                match std::str::from_utf8(&rest[..end]).map_err(|_| malformed())? {
                    "NULL" => Element::Null,
                    raw => Element::Text(Cow::Borrowed(raw)),
                }
            }
            None => return Err(malformed()),
        };
        self.separator()?;
        Ok(Some(element))
    }

    /// After an element or a sub-array: a comma before the next one, or the end of the
    /// enclosing array (left for `next`), or the end of the literal.
    fn separator(&mut self) -> Result<(), Error> {
        match self.bytes.get(self.at) {
            Some(b',') if self.depth > 0 => {
                self.at += 1;
                match self.bytes.get(self.at) {
                    Some(b'}') | None => Err(malformed()),
                    Some(_) => Ok(()),
                }
            }
            Some(b'}') if self.depth > 0 => Ok(()),
            None if self.depth == 0 => Ok(()),
            _ => Err(malformed()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::{Element, Literal, Out};

    /// Every element of `text`, sub-arrays flattened between `Open` and `Close`.
    fn elements(text: &str) -> Result<Vec<String>, crate::Error> {
        let mut literal = Literal::open(text)?;
        let mut out = Vec::new();
        while literal.depth > 0 {
            out.push(match literal.next()? {
                None => "Close".to_owned(),
                Some(Element::Open) => "Open".to_owned(),
                Some(Element::Null) => "Null".to_owned(),
                Some(Element::Text(Cow::Borrowed(t))) => format!("b:{t}"),
                Some(Element::Text(Cow::Owned(t))) => format!("o:{t}"),
            });
        }
        literal.close()?;
        Ok(out)
    }

    #[test]
    fn array_literals_read_as_postgresql_writes_them() {
        assert_eq!(
            elements(r#"{a,"b c",NULL,"NULL","x \"y\" \\z",{1,2},"\\"}"#).unwrap(),
            [
                "b:a",
                "b:b c",
                "Null",
                "b:NULL",
                r#"o:x "y" \z"#,
                "Open",
                "b:1",
                "b:2",
                "Close",
                r"o:\",
                "Close",
            ]
        );
        assert_eq!(elements("{}").unwrap(), ["Close"]);
        assert_eq!(
            elements("{{a},{b}}").unwrap(),
            ["Open", "b:a", "Close", "Open", "b:b", "Close", "Close"]
        );
        for bad in [
            "", "{", "{a", "{\"a}", "{a}b", "a", "{a,}", "{,a}", "{\"a\\", "{{a}", "{{a}b}",
        ] {
            assert!(elements(bad).is_err(), "{bad}");
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
        // A reference that is there, and lists that are empty or hold nested lists.
        let out = Out::Nested(Box::new(Out::Object(vec![
            (
                "rep".into(),
                Out::Nested(Box::new(Out::Object(vec![("name".into(), Out::Str)]))),
            ),
            (
                "quotes".into(),
                Out::List(Box::new(Out::Object(vec![(
                    "items".into(),
                    Out::List(Box::new(Out::Object(vec![("d".into(), Out::Str)]))),
                )]))),
            ),
            ("empty".into(), Out::List(Box::new(Out::Str))),
        ])));
        let mut json = Vec::new();
        out.write(
            // What PostgreSQL 15 answers to `SELECT ARRAY[(ARRAY['a "b"'])::text,
            // (ARRAY[ARRAY[(ARRAY[ARRAY['x'], ARRAY['y,z']])::text], ARRAY[NULL]])::text,
            // '{}']::text`.
            Some(r#"{"{\"a \\\"b\\\"\"}","{{\"{{x},{\\\"y,z\\\"}}\"},{NULL}}","{}"}"#),
            &mut json,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(json).unwrap(),
            r#"{"rep":{"name":"a \"b\""},"quotes":[{"items":[{"d":"x"},{"d":"y,z"}]},{"items":[]}],"empty":[]}"#
        );
        // A connection adds no level: its object reads the statement's one answer.
        let out = Out::Object(vec![
            ("__typename".into(), Out::Const("\"C\"".into())),
            ("edges".into(), Out::List(Box::new(Out::Str))),
        ]);
        let mut json = Vec::new();
        out.write(Some("{{a},{b}}"), &mut json).unwrap();
        assert_eq!(json, br#"{"__typename":"C","edges":["a","b"]}"#);
        let mut json = Vec::new();
        out.write(None, &mut json).unwrap();
        assert_eq!(json, br#"{"__typename":"C","edges":[]}"#);
        // Rows of constants alone hold a NULL each (`ARRAY[NULL]`: an array needs one).
        let out = Out::List(Box::new(Out::Object(vec![(
            "__typename".into(),
            Out::Const("\"E\"".into()),
        )])));
        let mut json = Vec::new();
        out.write(Some("{{NULL},{NULL}}"), &mut json).unwrap();
        assert_eq!(json, br#"[{"__typename":"E"},{"__typename":"E"}]"#);
        assert!(out.write(Some("{{NULL,NULL}}"), &mut Vec::new()).is_err());
        assert!(
            Out::Const("1".into())
                .write(Some("x"), &mut Vec::new())
                .is_err()
        );
        // Fewer or more elements than the template reads.
        for bad in ["{a}", "{a,b,c}"] {
            let out = Out::Nested(Box::new(Out::Object(vec![
                ("x".into(), Out::Str),
                ("y".into(), Out::Str),
            ])));
            assert!(out.write(Some(bad), &mut Vec::new()).is_err(), "{bad}");
        }
    }
}
